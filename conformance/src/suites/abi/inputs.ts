/**
 * Hostile inputs for the ABI suite, made deterministically so a failure can be replayed: random
 * bytes, truncated CBOR, CBOR nested far past the decoder's limit, and large payloads.
 */
import { encodeCbor } from '@mcp0/abi';
import { seededRandom } from '../harness.js';

/**
 * A named input.
 * @example
 * const i: HostileInput = { name: 'empty input', bytes: new Uint8Array(0) }
 */
export interface HostileInput {
  name: string;
  bytes: Uint8Array;
}

/**
 * `depth` nested one-element arrays around a 0: far past the 64 levels decoders accept.
 * @example
 * nestedArrays(2) // 0x81 0x81 0x00, i.e. [[0]]
 */
export function nestedArrays(depth: number): Uint8Array {
  const out = new Uint8Array(depth + 1).fill(0x81);
  out[depth] = 0x00;
  return out;
}

/**
 * `depth` nested one-entry maps {"a": {"a": … 0}}.
 * @example
 * nestedMaps(1) // 0xa1 0x61 0x61 0x00, i.e. {"a": 0}
 */
export function nestedMaps(depth: number): Uint8Array {
  const out = new Uint8Array(depth * 3 + 1);
  for (let i = 0; i < depth; i++) out.set([0xa1, 0x61, 0x61], i * 3);
  return out;
}

/**
 * A map of the argument names plugins commonly take, holding a byte string of `size` bytes.
 * @example
 * payload(3 << 20) // {agent, key, value: 3 MiB, data}
 */
export function payload(size: number): Uint8Array {
  return encodeCbor({ agent: 'conformance', key: 'conformance/big', value: new Uint8Array(size), data: 'x' });
}

/**
 * The hostile inputs every export gets. Small ones only: the large payloads are separate cases.
 * @example
 * for (const { name, bytes } of hostileInputs()) await kernel.call(plugin, 'get', bytes)
 */
export function hostileInputs(): HostileInput[] {
  const random = seededRandom('mcp0.conformance/hostile');
  const whole = encodeCbor({ agent: 'conformance', key: 'k', value: new Uint8Array(40).fill(7), list: [1, 2, 3], nested: { a: 'text' } });
  return [
    { name: 'empty input', bytes: new Uint8Array(0) },
    ...[1, 9, 64, 1000, 65_536].map((n) => ({ name: `${n} random bytes`, bytes: random.bytes(n) })),
    ...[1, 5, 17, whole.length - 1].map((n) => ({ name: `CBOR truncated to ${n} of ${whole.length} bytes`, bytes: whole.subarray(0, n) })),
    { name: 'indefinite-length map (not deterministic CBOR)', bytes: Uint8Array.of(0xbf, 0x61, 0x61, 0x01, 0xff) },
    { name: 'CBOR with trailing bytes', bytes: Uint8Array.of(...encodeCbor({}), 0x00) },
    { name: 'a CBOR array instead of a map', bytes: encodeCbor([1, 'two', new Uint8Array(3)]) },
    { name: 'CBOR text claiming 4 GiB', bytes: Uint8Array.of(0x7a, 0xff, 0xff, 0xff, 0xff, 0x61) },
    { name: '10,000 nested arrays', bytes: nestedArrays(10_000) },
    { name: '10,000 nested maps', bytes: nestedMaps(10_000) },
  ];
}
