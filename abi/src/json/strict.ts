/**
 * Strict JSON text: `JSON.parse`, then refusing any object that names a member twice, at any
 * depth. `JSON.parse` keeps the last of duplicate members, while other readers (a person, a diff,
 * another parser) may show the first, so a document with a duplicate can show one set of terms to
 * a reader and sign another (RFC 8259 §4: names "SHOULD be unique"; I-JSON, RFC 7493 §2.3: MUST).
 * Agreements, `distribution.json` and manifests are read through here.
 *
 * The check is a scanner over text `JSON.parse` has already accepted, so it only tracks nesting,
 * strings and commas, and the values returned are exactly JSON.parse's. It keeps an explicit stack
 * (no recursion) and one set of names per open object, so a hostile document costs time linear in
 * its length. Names compare after unescaping: "a" and "\u0061" are the same name.
 */
import { Mcp0Error } from '../errors/index.js';

/**
 * A JSON text that is not JSON, or names a member twice (`details.key`, `details.path`: the
 * member's RFC 6901 JSON Pointer, `details.offset`: where its second name starts). Code `EINPUT`;
 * callers re-raise it with the code of the document they read.
 * @example
 * try { parseJson(text) } catch (e) { if (e instanceof JsonError) console.log(e.details.path) } // '/pricing/perCall'
 */
export class JsonError extends Mcp0Error {}

/** One open object or array while scanning. */
type Frame = { object: true; names: Set<string>; name: string } | { object: false; index: number };

/** A name or path for a message: hostile ones may be kilobytes. */
const cut = (text: string) => (text.length > 120 ? `${text.slice(0, 120)}…` : text);

/** RFC 6901: `~` → `~0`, `/` → `~1`. */
const pointerToken = (token: string) => token.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * The first member name that occurs twice in one object of `text`, which must be JSON that
 * `JSON.parse` accepts; undefined when there is none.
 * @example
 * findDuplicateName('{"a":{"b":1,"b":2}}') // { key: 'b', path: '/a/b', offset: 12 }
 */
export function findDuplicateName(text: string): { key: string; path: string; offset: number } | undefined {
  const stack: Frame[] = [];
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      stack.push({ object: true, names: new Set(), name: '' });
      expectName = true;
    } else if (c === 0x5b /* [ */) {
      stack.push({ object: false, index: 0 });
      expectName = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectName = false;
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1]!;
      if (top.object) expectName = true;
      else top.index++;
    } else if (c === 0x22 /* " */) {
      const start = i;
      let escaped = false;
      for (i++; text.charCodeAt(i) !== 0x22; i++) {
        if (text.charCodeAt(i) === 0x5c /* \ */) {
          escaped = true;
          i++;
        }
      }
      if (!expectName) continue;
      expectName = false;
      const top = stack[stack.length - 1] as Extract<Frame, { object: true }>;
      const name = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : text.slice(start + 1, i);
      top.name = name;
      if (top.names.has(name)) {
        const path = stack.map((f) => `/${f.object ? pointerToken(f.name) : f.index}`).join('');
        return { key: name, path, offset: start };
      }
      top.names.add(name);
    }
    // Anything else (white space, ':', numbers, true, false, null) neither nests nor names.
  }
  return undefined;
}

/**
 * `JSON.parse(text)`, refusing a member name that occurs twice in one object, at any depth.
 * Throws `JsonError` (EINPUT): for text that is not JSON, with JSON.parse's message; for a
 * duplicate, naming it and its path.
 * @example
 * parseJson('{"pricing":{"perCall":1,"perCall":0}}') // throws: duplicate member "perCall" at /pricing/perCall
 */
export function parseJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new JsonError('EINPUT', `expected JSON text, got a parse error (${(e as Error).message})`, { reason: 'syntax' }, { cause: e });
  }
  const duplicate = findDuplicateName(text);
  if (duplicate) {
    throw new JsonError(
      'EINPUT',
      `duplicate member ${JSON.stringify(cut(duplicate.key))} at ${cut(duplicate.path)} (offset ${duplicate.offset}): expected each name once per object, got it twice (JSON.parse would keep only the last)`,
      { reason: 'duplicate', ...duplicate },
    );
  }
  return value;
}
