/**
 * Memory and table caps: rewrite the module's memory and table maxima before compiling, because
 * Extism 1.0.3 ignores `memory.maxPages` and nothing bounds tables. Past the cap `memory.grow` and
 * `table.grow` return -1; a module that asks for more at start is refused. Tables live on the V8
 * heap (two 10M-entry funcref tables are over 300 MB), so an uncapped one can abort the process.
 */
import { LoadError, concatBytes, decodeU32, encodeSection, encodeU32, parseSections, WASM_HEADER } from '@mcp0/abi';

const TABLE_SECTION = 4;
const MEMORY_SECTION = 5;

/**
 * Table entries a module may have, summed over its tables, when the host sets no other cap. An
 * AssemblyScript plugin has one table of its indirectly called functions: tens of entries.
 */
export const DEFAULT_TABLE_ENTRIES = 10_000;
/** Tables a module may define: toolchains make one, two with reference types. */
const MAX_TABLES = 8;

/**
 * A copy of `bytes` whose memory has `maximum = min(declared, memoryPages)` and whose tables'
 * maxima add up to at most `tableEntries`.
 * @example
 * const capped = capMemory(wasm, 16) // 1 MiB, and the default table cap
 */
export function capMemory(bytes: Uint8Array, memoryPages: number, tableEntries = DEFAULT_TABLE_ENTRIES): Uint8Array {
  const out: Uint8Array[] = [WASM_HEADER];
  for (const s of parseSections(bytes)) {
    const payload = s.id === MEMORY_SECTION ? capPages(s.payload, memoryPages) : s.id === TABLE_SECTION ? capTables(s.payload, tableEntries) : undefined;
    out.push(payload ? encodeSection(s.id, payload) : bytes.subarray(s.start, s.end));
  }
  return concatBytes(...out);
}

/**
 * The section is read here before the compiler has seen it (the caps must be written first), so a
 * malformed one must fail typed, as the compiler would have: ENOTWASM, check `wasm`.
 */
function truncated(what: string, at: number): LoadError {
  return new LoadError('ENOTWASM', `${what}: the section ends at byte ${at}, inside an entry`, { check: 'wasm', offset: at });
}

/** Limits `flags min [max]` at `at`, as far as ABI v1 allows them (no shared or 64-bit ones). */
function readLimits(payload: Uint8Array, at: number, what: string): { min: number; max: number | undefined; end: number } {
  if (at >= payload.length) throw truncated(`${what} limits`, at);
  const flags = payload[at];
  if (flags !== 0 && flags !== 1) {
    throw new LoadError('EIMPORT', `${what} limit flags 0x${(flags ?? 0).toString(16)} (shared or 64-bit) are not allowed in ABI v1`, { check: 'limits' });
  }
  const [min, afterMin] = decodeU32(payload, at + 1);
  if (flags === 0) return { min, max: undefined, end: afterMin };
  const [max, end] = decodeU32(payload, afterMin);
  return { min, max, end };
}

function limits(min: number, max: number): Uint8Array {
  return concatBytes(Uint8Array.of(1), encodeU32(min), encodeU32(max));
}

function capPages(payload: Uint8Array, capPages: number): Uint8Array {
  const [count, at] = decodeU32(payload, 0);
  if (count > 1) throw new LoadError('EIMPORT', `module defines ${count} memories; ABI v1 allows one`, { check: 'limits' });
  if (count === 0) return payload;
  const { min, max: declared, end } = readLimits(payload, at, 'memory');
  const max = Math.min(declared ?? capPages, capPages);
  if (min > max) {
    throw new LoadError('EMEMORY', `module needs ${min} memory pages at start, the cap is ${max}`, { check: 'limits', expected: `<= ${max}`, got: min });
  }
  return concatBytes(encodeU32(1), limits(min, max), payload.subarray(end));
}

/** Every table keeps its minimum; what the cap leaves above the minima is growth room, first come. */
function capTables(payload: Uint8Array, capEntries: number): Uint8Array {
  const [count, first] = decodeU32(payload, 0);
  if (count > MAX_TABLES)
    throw new LoadError('EMEMORY', `module defines ${count} tables, the cap is ${MAX_TABLES}`, { check: 'limits', expected: `<= ${MAX_TABLES}`, got: count });
  const tables: { type: number; min: number; max: number | undefined }[] = [];
  let at = first;
  for (let i = 0; i < count; i++) {
    if (at >= payload.length) throw truncated(`table ${i}`, at);
    const type = payload[at]!;
    // 0x40 starts a table with an initialiser expression (function references); v1 has none.
    if (type !== 0x70 && type !== 0x6f) throw new LoadError('EIMPORT', `table type 0x${type.toString(16)} is not allowed in ABI v1`, { check: 'limits' });
    const { min, max, end } = readLimits(payload, at + 1, 'table');
    tables.push({ type, min, max });
    at = end;
  }
  if (at !== payload.length)
    throw new LoadError('ENOTWASM', `table section: ${payload.length - at} bytes after its ${count} tables`, { check: 'wasm', offset: at });
  const needed = tables.reduce((n, t) => n + t.min, 0);
  if (needed > capEntries) {
    throw new LoadError('EMEMORY', `module needs ${needed} table entries at start (${count} tables), the cap is ${capEntries}`, {
      check: 'limits',
      expected: `<= ${capEntries}`,
      got: needed,
    });
  }
  let room = capEntries - needed;
  const out = tables.map((t) => {
    const max = Math.min(t.max ?? Infinity, t.min + room);
    room -= max - t.min;
    return concatBytes(Uint8Array.of(t.type), limits(t.min, max));
  });
  return concatBytes(encodeU32(count), ...out);
}
