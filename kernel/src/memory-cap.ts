/**
 * The inline tier's memory cap: rewrite the module's memory maximum before compiling, because
 * Extism 1.0.3 ignores `memory.maxPages`. A module that grows past the cap gets -1 from
 * `memory.grow` and traps in its allocator; the host never runs out of memory on its behalf.
 */
import { LoadError, concatBytes, decodeU32, encodeSection, encodeU32, parseSections, WASM_HEADER } from '@mcp0/abi';

const MEMORY_SECTION = 5;

/**
 * A copy of `bytes` whose defined memory has `maximum = min(declared maximum, capPages)`.
 * @example
 * const capped = capMemory(wasm, 16) // 1 MiB
 */
export function capMemory(bytes: Uint8Array, capPages: number): Uint8Array {
  const sections = parseSections(bytes);
  const out: Uint8Array[] = [WASM_HEADER];
  for (const s of sections) {
    out.push(s.id === MEMORY_SECTION ? encodeSection(MEMORY_SECTION, capLimits(s.payload, capPages)) : bytes.subarray(s.start, s.end));
  }
  return concatBytes(...out);
}

function capLimits(payload: Uint8Array, capPages: number): Uint8Array {
  const [count, afterCount] = decodeU32(payload, 0);
  if (count > 1) throw new LoadError('EIMPORT', `module defines ${count} memories; ABI v1 allows one`, { check: 'limits' });
  if (count === 0) return payload;
  const flags = payload[afterCount];
  if (flags !== 0 && flags !== 1) {
    throw new LoadError('EIMPORT', `memory flags 0x${(flags ?? 0).toString(16)} (shared or 64-bit memory) are not allowed in ABI v1`, { check: 'limits' });
  }
  const [min, afterMin] = decodeU32(payload, afterCount + 1);
  let max = capPages;
  let rest = afterMin;
  if (flags === 1) {
    const [declared, afterMax] = decodeU32(payload, afterMin);
    max = Math.min(declared, capPages);
    rest = afterMax;
  }
  if (min > max) {
    throw new LoadError('EMEMORY', `module needs ${min} memory pages at start, the cap is ${max}`, { check: 'limits', expected: `<= ${max}`, got: min });
  }
  return concatBytes(encodeU32(1), Uint8Array.of(1), encodeU32(min), encodeU32(max), payload.subarray(rest));
}
