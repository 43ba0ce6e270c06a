// The memory and table caps read sections before the compiler does, so malformed ones (found by the
// fuzz campaign: a table section that claims more tables than it holds) must fail typed, as
// ENOTWASM, never as a TypeError; and well-formed tables get maxima within the cap.
import { describe, expect, it } from 'vitest';
import { LoadError, WASM_HEADER, concatBytes, encodeSection, encodeU32, parseSections } from '@mcp0/abi';
import { capMemory } from './memory-cap.js';

const TABLE = 4;
const withTables = (payload: Uint8Array) => concatBytes(WASM_HEADER, encodeSection(TABLE, payload));
const tablesOf = (bytes: Uint8Array) => parseSections(bytes).find((s) => s.id === TABLE)!.payload;

describe('capMemory on tables', () => {
  it.each([
    ['claims two tables, holds one', concatBytes(encodeU32(2), Uint8Array.of(0x70, 0x00), encodeU32(1))],
    ['ends before its first table', encodeU32(1)],
    ['ends inside the limits', Uint8Array.of(0x01, 0x70)],
    ['has bytes after its tables', concatBytes(encodeU32(1), Uint8Array.of(0x70, 0x00), encodeU32(1), Uint8Array.of(0xff))],
  ])('refuses a table section that %s with ENOTWASM', (_, payload) => {
    const e = (() => {
      try {
        capMemory(withTables(payload), 16);
      } catch (x) {
        return x;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(LoadError);
    expect(e).toMatchObject({ code: 'ENOTWASM', details: { check: 'wasm' } });
  });

  it('gives each table its minimum and shares the rest of the cap as growth room, first come', () => {
    // Two funcref tables: min 10 without a maximum, and min 5 with a maximum of 1,000,000.
    const payload = concatBytes(encodeU32(2), Uint8Array.of(0x70, 0x00), encodeU32(10), Uint8Array.of(0x70, 0x01), encodeU32(5), encodeU32(1_000_000));
    const capped = tablesOf(capMemory(withTables(payload), 16, 100));
    expect([...capped]).toEqual([
      ...concatBytes(encodeU32(2), Uint8Array.of(0x70, 0x01), encodeU32(10), encodeU32(95), Uint8Array.of(0x70, 0x01), encodeU32(5), encodeU32(5)),
    ]);
  });
});
