/**
 * Test subjects: fixtures and reference plugins built from source, signed with the test publisher
 * key, wrapped as the suites' PluginSubject.
 */
import { readManifest, signModule, type PrivateKey } from '@mcp0/abi';
import type { PluginSubject } from '../src/runner/subject.js';
import { PLUGIN_DIRS, publisher, trusted, unsigned } from '../../test/fixtures.js';

/**
 * The fixture `name` as a subject trusted by its signer (or signed by `key`, still trusting only the publisher).
 * @example
 * const s = await subject('storage')
 */
export async function subject(name: keyof typeof PLUGIN_DIRS, key: PrivateKey = publisher): Promise<PluginSubject> {
  const bytes = signModule(await unsigned(name), key);
  return subjectOf(bytes);
}

/**
 * A subject from signed bytes, trusting the test publisher.
 * @example
 * const s = subjectOf(signModule(wasm, publisher))
 */
export function subjectOf(bytes: Uint8Array): PluginSubject {
  const manifest = readManifest(bytes);
  return { name: manifest.name, version: manifest.version, manifest, bytes, trust: [trusted] };
}
