/**
 * The agreements plugin's permission globs, read host-side so `mcp0 mcp` can list the intents an
 * agreement permits (plugins/agreements/README.md "The document"): `*` matches any run without
 * `/`, `**` any run, `?` one character but `/`. The plugin stays the authority: a call is admitted
 * or denied by its `admit` hook, never by this listing.
 */

/** A pattern's pieces: a literal character, `?`, `*` or `**`. */
type Token = { kind: 'lit'; ch: string } | { kind: 'one' } | { kind: 'star' } | { kind: 'dstar' };

function tokens(pattern: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        out.push({ kind: 'dstar' });
        i++;
      } else out.push({ kind: 'star' });
    } else if (c === '?') out.push({ kind: 'one' });
    else out.push({ kind: 'lit', ch: c });
  }
  return out;
}

/**
 * True when `text` matches `pattern` as a whole. Dynamic programming over (pattern, text), as the
 * plugin does, so a hostile pattern costs O(|pattern|·|text|), never exponential backtracking.
 * @example
 * globMatch('get*', 'getAll') // true
 * globMatch('agent-1/*', 'agent-1/a/b') // false: * stops at /
 */
export function globMatch(pattern: string, text: string): boolean {
  const m = text.length;
  let prev: boolean[] = new Array<boolean>(m + 1).fill(false);
  prev[0] = true;
  for (const t of tokens(pattern)) {
    const next: boolean[] = new Array<boolean>(m + 1).fill(false);
    if (t.kind === 'star' || t.kind === 'dstar') {
      next[0] = prev[0]!;
      for (let j = 1; j <= m; j++) next[j] = prev[j]! || (next[j - 1]! && (t.kind === 'dstar' || text[j - 1] !== '/'));
    } else {
      for (let j = 1; j <= m; j++) next[j] = prev[j - 1]! && (t.kind === 'one' ? text[j - 1] !== '/' : text[j - 1] === t.ch);
    }
    prev = next;
  }
  return prev[m]!;
}
