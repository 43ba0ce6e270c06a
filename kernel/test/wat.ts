// Hand-written modules for kernel tests: WAT text → binary (binaryen) → manifest → signed by the
// fixtures' publisher, as a hostile author would ship them.
import binaryen from 'binaryen';
import { appendManifest, hostileCorpus, parseGrant, signModule, type Grant, type HostileEntry, type Manifest } from '@mcp0/abi';
import { publisher } from '../../test/fixtures.js';

/** The version marker export every module needs. */
export const MARKER = '(func (export "mcp0_abi_v1") (result i32) (i32.const 0))';

/** A module from WAT with a manifest, signed by the publisher. */
export function fromWat(wat: string, manifest: Partial<Manifest> = {}): Uint8Array {
  const mod = binaryen.parseText(wat);
  const bytes = mod.emitBinary();
  mod.dispose();
  const full: Manifest = { name: 'test.wat', version: '1.0.0', abi: '^1.0', kind: 'plugin', exports: [], ...manifest };
  return signModule(appendManifest(bytes, full), publisher);
}

/**
 * A module of the hostile corpus (abi/corpus/hostile), packed with its manifest as `corpus.<name>`
 * and signed by the publisher, with the grants it is loaded with.
 * @example
 * const { bytes, grants } = corpusModule('armed-start')
 */
export function corpusModule(name: string): { bytes: Uint8Array; grants: Grant[]; entry: HostileEntry } {
  const entry = hostileCorpus().find((e) => e.name === name);
  if (!entry) throw new Error(`no corpus entry ${name}`);
  return { bytes: fromWat(entry.wat, { name: `corpus.${name}`, ...entry.manifest }), grants: entry.grants.map(parseGrant), entry };
}
