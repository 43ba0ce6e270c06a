// Strict JSON: a member named twice in one object is refused at any depth, naming the key and its
// JSON Pointer; everything else parses exactly as JSON.parse does. Known answers throughout.
import { describe, expect, it } from 'vitest';
import { Mcp0Error } from '../errors/index.js';
import { findDuplicateName, JsonError, parseJson } from './index.js';

function refused(text: string): JsonError {
  try {
    parseJson(text);
  } catch (e) {
    if (e instanceof JsonError) return e;
    throw e;
  }
  throw new Error(`expected a JsonError for ${text}`);
}

describe('findDuplicateName', () => {
  it.each([
    ['{"a":1,"a":2}', { key: 'a', path: '/a', offset: 7 }],
    ['{"pricing":{"perCall":1,"baseFee":2,"perCall":0}}', { key: 'perCall', path: '/pricing/perCall', offset: 36 }],
    ['{"plugins":[{"x":1},{"config":{"p":{"perCall":1,"perCall":0}}}]}', { key: 'perCall', path: '/plugins/1/config/p/perCall', offset: 48 }],
    ['[[1,2],{"k":1,"k":1}]', { key: 'k', path: '/1/k', offset: 14 }],
    ['{"a/b":{"c~d":1,"c~d":2}}', { key: 'c~d', path: '/a~1b/c~0d', offset: 16 }],
    ['{"perCall":1,"per\\u0043all":2}', { key: 'perCall', path: '/perCall', offset: 13 }],
    ['{"":1,"":2}', { key: '', path: '/', offset: 6 }],
    [' { "a" : 1 , "a" : 2 } ', { key: 'a', path: '/a', offset: 13 }],
  ])('%s → %j', (text, expected) => {
    expect(findDuplicateName(text)).toEqual(expected);
  });

  it.each([
    '{"a":1,"b":{"a":1},"c":[{"a":1},{"a":2}]}', // the same name in different objects
    '{"a":"\\"a\\":1,","b":"{\\"a\\":2}"}', // names, braces and commas inside strings
    '{"a\\\\":1,"a":2}', // "a\" and "a" differ
    '{"x":[],"y":{},"z":[[{}]]}',
    '[1,"a","a",{"a":1}]',
    '"{\\"a\\":1,\\"a\\":2}"',
    '42',
  ])('no duplicate in %s', (text) => {
    expect(findDuplicateName(text)).toBeUndefined();
    expect(parseJson(text)).toEqual(JSON.parse(text));
  });

  it('names differing only after unescaping are the same name; escapes of other characters are not', () => {
    expect(findDuplicateName('{"\\u00e9":1,"é":2}')).toMatchObject({ key: 'é' });
    expect(findDuplicateName('{"\\n":1,"n":2}')).toBeUndefined();
  });

  it('holds on deep nesting without recursion, and on wide objects', () => {
    const deep = `${'{"a":'.repeat(5000)}{"b":1,"b":2}${'}'.repeat(5000)}`;
    expect(findDuplicateName(deep)).toMatchObject({ key: 'b', path: `${'/a'.repeat(5000)}/b` });
    const wide = `{${Array.from({ length: 20_000 }, (_, i) => `"k${i}":${i}`).join(',')},"k19999":0}`;
    expect(findDuplicateName(wide)).toMatchObject({ key: 'k19999', path: '/k19999' });
  });
});

describe('parseJson', () => {
  it('returns what JSON.parse returns', () => {
    const text = '{"a":[1,2.5,-3e2,true,false,null,"x\\u0041"],"b":{"c":{}},"__proto__":{"d":1}}';
    expect(parseJson(text)).toEqual(JSON.parse(text));
    expect(Object.hasOwn(parseJson(text) as object, '__proto__')).toBe(true);
  });

  it('refuses a duplicate with EINPUT naming the key, its path and where', () => {
    const e = refused('{"pricing":{"currency":"EUR","perCall":100,"perCall":0}}');
    expect(e).toBeInstanceOf(Mcp0Error);
    expect(e.code).toBe('EINPUT');
    expect(e.details).toEqual({ reason: 'duplicate', key: 'perCall', path: '/pricing/perCall', offset: 43 });
    expect(e.message).toBe(
      'duplicate member "perCall" at /pricing/perCall (offset 43): expected each name once per object, got it twice (JSON.parse would keep only the last)',
    );
  });

  it("refuses text that is not JSON with EINPUT and JSON.parse's message", () => {
    const e = refused('{"a":');
    expect(e.details).toEqual({ reason: 'syntax' });
    expect(e.message).toMatch(/^expected JSON text, got a parse error \(.+\)$/);
    expect(e.cause).toBeInstanceOf(SyntaxError);
  });

  it('cuts a hostile name in the message, keeps it whole in details', () => {
    const name = 'n'.repeat(10_000);
    const e = refused(`{"${name}":1,"${name}":2}`);
    expect(e.details.key).toBe(name);
    expect(e.message.length).toBeLessThan(400);
  });
});
