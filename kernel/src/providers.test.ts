// MemoryKv: namespaces, and scans in UTF-8 byte order like the durable stores.
import { describe, expect, it } from 'vitest';
import { MemoryKv } from './providers.js';

describe('MemoryKv', () => {
  it('scans by prefix in UTF-8 byte order, after a key, up to a limit', () => {
    const kv = new MemoryKv();
    for (const k of ['a/\u{1F600}', 'a/\uFFFD', 'a/b', 'a/a', 'b/x']) kv.put('ns', k, new Uint8Array([1]));
    expect(kv.scan('ns', 'a/', 10).map(([k]) => k)).toEqual(['a/a', 'a/b', 'a/\uFFFD', 'a/\u{1F600}']);
    expect(kv.scan('ns', 'a/', 1, 'a/b').map(([k]) => k)).toEqual(['a/\uFFFD']);
    expect(kv.scan('other', '', 10)).toEqual([]);
  });

  it('keeps its own copy of a value', () => {
    const kv = new MemoryKv();
    const v = new Uint8Array([1, 2]);
    kv.put('ns', 'k', v);
    v[0] = 9;
    expect(kv.get('ns', 'k')).toEqual(new Uint8Array([1, 2]));
    expect(kv.delete('ns', 'k')).toBe(true);
    expect(kv.delete('ns', 'k')).toBe(false);
  });
});
