/**
 * Shared test fixtures: plugins built from source and signed with a throwaway key, once per test
 * process. Lives outside the packages so that kernel tests can use the tools' build without the
 * kernel package depending on tools.
 */
import { resolve } from 'node:path';
import { generateKeyPair, signModule, type PrivateKey, type PublicKey } from '@mcp0/abi';
import { buildPlugin } from '@mcp0/builder';

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, '..');

/** Plugin directories by fixture name. */
export const PLUGIN_DIRS = {
  hello: 'plugins/hello',
  hostile: 'kernel/test/fixtures/hostile',
  gate: 'kernel/test/fixtures/gate',
  caps: 'kernel/test/fixtures/caps',
  storage: 'plugins/storage',
  trace: 'plugins/trace',
  agreements: 'plugins/agreements',
  counter: 'agents/counter',
  memory: 'agents/memory',
  faulty: 'sdk/test/fixtures/faulty',
  'broken-storage': 'conformance/test/fixtures/broken-storage',
  'broken-trace': 'conformance/test/fixtures/broken-trace',
  'broken-chain': 'conformance/test/fixtures/broken-chain',
  'broken-agreements': 'conformance/test/fixtures/broken-agreements',
  'careless-agreements': 'conformance/test/fixtures/careless-agreements',
  nondeterministic: 'conformance/test/fixtures/nondeterministic',
  'masks-denial': 'conformance/test/fixtures/masks-denial',
} as const;

/** The publisher key every fixture is signed with. */
export const publisher: PrivateKey = generateKeyPair();
/** Its public half, the one key a test kernel trusts. */
export const trusted: PublicKey = publisher.publicKey;

const built = new Map<string, Promise<Uint8Array>>();

/** The unsigned artifact of a fixture (built once per process, into a temp dir). */
export function unsigned(name: keyof typeof PLUGIN_DIRS): Promise<Uint8Array> {
  let p = built.get(name);
  if (!p) {
    const out = resolve(process.env.TMPDIR ?? '/tmp', `mcp0-fixture-${process.pid}-${name}.wasm`);
    p = buildPlugin(resolve(ROOT, PLUGIN_DIRS[name]), { out }).then((r) => r.wasm);
    built.set(name, p);
  }
  return p;
}

/** The artifact signed by `publisher` (or another key). */
export async function signed(name: keyof typeof PLUGIN_DIRS, key: PrivateKey = publisher): Promise<Uint8Array> {
  return signModule(await unsigned(name), key);
}
