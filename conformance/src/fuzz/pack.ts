/**
 * Packing a generated module the way a publisher would: a manifest listing its service exports
 * (kind plugin, every capability requested, small limits), then a signature by the campaign's
 * throwaway key, so that the module gets past the signature and manifest checks and reaches the
 * compiler, the instrumenter and the host functions. A module too broken to carry sections is
 * passed on as it is: the kernel's first check must refuse it.
 */
import {
  CAPABILITIES,
  Mcp0Error,
  RESERVED_EXPORT_PREFIX,
  appendManifest,
  concatBytes,
  encodeCustomSection,
  MANIFEST_SECTION,
  signModule,
  type Manifest,
  type PrivateKey,
} from '@mcp0/abi';
import type { Prng } from './prng.js';

/** The limits every fuzzed module runs under. */
export interface FuzzLimits {
  memoryPages: number;
  timeoutMs: number;
}

/** A packed module and how it was packed. */
export interface Packed {
  bytes: Uint8Array;
  manifest: Manifest;
  /** Why the module could not be packed normally, when it could not. */
  packing?: string;
}

/** Names a manifest may list as service exports (the schema's pattern, and at most 256). */
const EXPORT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * The manifest of a fuzzed module (`name` such as `fuzz.m7`): its service exports, every capability.
 * @example
 * fuzzManifest('fuzz.m7', ['f0', 'mcp0_abi_v1'], { memoryPages: 32, timeoutMs: 100 }).exports // [{ name: 'f0' }]
 */
export function fuzzManifest(name: string, exportNames: readonly string[], limits: FuzzLimits): Manifest {
  const exports = [...new Set(exportNames)]
    .filter((n) => EXPORT_NAME.test(n) && !n.startsWith(RESERVED_EXPORT_PREFIX))
    .slice(0, 256)
    .map((name) => ({ name }));
  return {
    name,
    version: '0.0.0',
    abi: '^1.0',
    kind: 'plugin',
    exports,
    capabilities: CAPABILITIES.map((name) => ({ name })),
    limits: { memoryPages: limits.memoryPages, timeoutMs: limits.timeoutMs },
  };
}

/**
 * Add the manifest and sign. When the module's sections cannot be parsed, the manifest is
 * appended as raw bytes and the module left unsigned. One module in twenty has bits flipped after
 * signing: the signature check must catch every such change.
 * @example
 * const { bytes } = pack(rng, module, manifest, key)
 */
export function pack(rng: Prng, module: Uint8Array, manifest: Manifest, key: PrivateKey): Packed {
  let bytes: Uint8Array;
  try {
    bytes = signModule(appendManifest(module, manifest), key);
  } catch (e) {
    if (!(e instanceof Mcp0Error)) throw e;
    const section = encodeCustomSection(MANIFEST_SECTION, new TextEncoder().encode(JSON.stringify(manifest)));
    return { bytes: concatBytes(module, section), manifest, packing: `unsigned: ${e.code}: ${e.message.slice(0, 200)}` };
  }
  if (rng.chance(0.05)) {
    bytes = bytes.slice();
    const flips = rng.range(1, 4);
    for (let i = 0; i < flips; i++) bytes[rng.int(bytes.length)]! ^= 1 << rng.int(8);
    return { bytes, manifest, packing: `${flips} bits flipped after signing` };
  }
  return { bytes, manifest };
}
