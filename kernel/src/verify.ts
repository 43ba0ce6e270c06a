/**
 * The ordered loading checks of ABI.md §1: the bytes are WebAssembly (header and sections) → the signature verifies →
 * the signer is trusted → the manifest is valid → the ABI is compatible → the imports are within
 * ABI v1 → the requested capabilities are granted. The first failure throws a LoadError whose
 * `details.check` names it.
 */
import {
  LoadError,
  checkAbi,
  checkExports,
  checkImports,
  exportSchemas,
  parseSections,
  readManifest,
  verifyModule,
  type ExportSchemaChecks,
  type Grant,
  type Manifest,
  type PublicKey,
} from '@mcp0/abi';
import { createHash } from 'node:crypto';
import { DEFAULT_TABLE_ENTRIES, capMemory } from '@mcp0/sandbox';
import { CapabilitySet, effectiveCapabilities } from './capabilities.js';

/** What the checks need from the host. */
export interface VerifyOptions {
  /** Publisher keys this host trusts. */
  trust: readonly PublicKey[];
  /** What the host grants this module; `'as-requested'` skips the grant check (for `mcp0 verify`). */
  grants?: readonly Grant[] | 'as-requested';
  /** Host ceiling on memory pages; the module's own limit applies when lower. */
  memoryPages?: number;
  /** Table entries the module may have, over all its tables (default DEFAULT_TABLE_ENTRIES). */
  tableEntries?: number;
}

/** A module that passed every check, compiled with its memory and table caps. */
export interface VerifiedModule {
  manifest: Manifest;
  /** Key ids (RFC 7638 thumbprints) of the trusted keys that signed it. */
  signers: string[];
  /** Hex SHA-256 of the artifact as loaded. */
  sha256: string;
  capabilities: CapabilitySet;
  memoryPages: number;
  /** The artifact with its memory and table maxima rewritten to the caps: what the kernel runs. */
  capped: Uint8Array;
  compiled: WebAssembly.Module;
  /**
   * The exports' JSON Schemas (ABI 1.3), compiled once when the manifest was read and checked on
   * every call; exports without schemas are absent.
   */
  schemas: ReadonlyMap<string, ExportSchemaChecks>;
}

/** The memory cap when neither the host nor the manifest sets one: 16 MiB. */
export const DEFAULT_MEMORY_PAGES = 256;

/**
 * Run every loading check, in order.
 * @example
 * const v = await verifyArtifact(bytes, { trust: [publisherKey], grants: [parseGrant('kv:hello/')] })
 */
export async function verifyArtifact(bytes: Uint8Array, options: VerifyOptions): Promise<VerifiedModule> {
  // Structure only: the compiler does not see the bytes before the signature has vouched for them.
  parseSections(bytes);
  const { signers } = verifyModule(bytes, [...options.trust]);
  const manifest = readManifest(bytes);
  checkAbi(manifest);
  const memoryPages = Math.min(options.memoryPages ?? Infinity, manifest.limits?.memoryPages ?? DEFAULT_MEMORY_PAGES);
  const capped = capMemory(bytes, memoryPages, options.tableEntries ?? DEFAULT_TABLE_ENTRIES);
  let compiled: WebAssembly.Module;
  try {
    compiled = await WebAssembly.compile(capped as Uint8Array<ArrayBuffer>);
  } catch (e) {
    if (e instanceof LoadError) throw e;
    throw new LoadError('ENOTWASM', `the module does not compile: ${(e as Error).message}`, { check: 'wasm' }, { cause: e });
  }
  // From the bytes: WebAssembly.Module.imports has no types in Node 20.
  checkImports(bytes);
  checkExports(compiled, manifest);
  const grants = options.grants === 'as-requested' ? (manifest.capabilities ?? []) : (options.grants ?? []);
  const capabilities = effectiveCapabilities(manifest, grants);
  return {
    manifest,
    signers,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    capabilities,
    memoryPages,
    capped,
    compiled,
    // Compiled by readManifest's check already: this is the same compilation, not another.
    schemas: exportSchemas(manifest),
  };
}
