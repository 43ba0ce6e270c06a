/**
 * Permission globs: `*` matches any run of characters except `/`, `**` any run including `/`,
 * `?` one character except `/`; everything else matches itself. Dynamic programming over
 * (pattern, text), so a hostile pattern such as `*a*a*a*…b` costs O(|pattern|·|text|), never
 * exponential backtracking.
 */
const LIT: i32 = 0;
const ONE: i32 = 1;
const STAR: i32 = 2;
const DSTAR: i32 = 3;
const SLASH: i32 = 0x2f;

/** True when `text` matches `pattern` as a whole. */
export function globMatch(pattern: string, text: string): bool {
  // Tokenise: kinds and literal code units.
  const kinds = new Array<i32>();
  const chars = new Array<i32>();
  for (let i = 0, n = pattern.length; i < n; i++) {
    const c = pattern.charCodeAt(i);
    if (c == 0x2a) {
      if (i + 1 < n && pattern.charCodeAt(i + 1) == 0x2a) { kinds.push(DSTAR); i++; }
      else kinds.push(STAR);
      chars.push(0);
    } else if (c == 0x3f) { kinds.push(ONE); chars.push(0); }
    else { kinds.push(LIT); chars.push(c); }
  }
  const m = text.length;
  // prev[j]: the tokens so far match text[0..j).
  let prev = new StaticArray<bool>(m + 1);
  let next = new StaticArray<bool>(m + 1);
  prev[0] = true;
  for (let t = 0, k = kinds.length; t < k; t++) {
    const kind = unchecked(kinds[t]);
    const ch = unchecked(chars[t]);
    if (kind == STAR || kind == DSTAR) {
      next[0] = prev[0];
      for (let j = 1; j <= m; j++) {
        const c = text.charCodeAt(j - 1);
        next[j] = prev[j] || (next[j - 1] && (kind == DSTAR || c != SLASH));
      }
    } else {
      next[0] = false;
      for (let j = 1; j <= m; j++) {
        const c = text.charCodeAt(j - 1);
        next[j] = prev[j - 1] && (kind == ONE ? c != SLASH : c == ch);
      }
    }
    const swap = prev; prev = next; next = swap;
  }
  return prev[m];
}
