/**
 * Shared test fixtures: plugins built from source and signed with a throwaway key. Each plugin is
 * compiled once per run, not once per test file: every test process builds into one cache folder
 * incrementally, so the first compiles and the rest reuse its artifact while no input changed
 * (the builder writes atomically, so processes building at once never read half an artifact).
 * Lives outside the packages so that kernel tests can use the build without depending on tools.
 */
import { join, resolve } from 'node:path';
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
  rpc: 'plugins/rpc',
  counter: 'agents/counter',
  memory: 'agents/memory',
  faulty: 'sdk/test/fixtures/faulty',
  progress: 'sdk/test/fixtures/progress',
  'broken-storage': 'conformance/test/fixtures/broken-storage',
  'broken-trace': 'conformance/test/fixtures/broken-trace',
  'broken-chain': 'conformance/test/fixtures/broken-chain',
  'broken-agreements': 'conformance/test/fixtures/broken-agreements',
  'careless-agreements': 'conformance/test/fixtures/careless-agreements',
  'forgetful-rpc': 'conformance/test/fixtures/forgetful-rpc',
  nondeterministic: 'conformance/test/fixtures/nondeterministic',
  'masks-denial': 'conformance/test/fixtures/masks-denial',
} as const;

/** The publisher key every fixture is signed with. */
export const publisher: PrivateKey = generateKeyPair();
/** Its public half, the one key a test kernel trusts. */
export const trusted: PublicKey = publisher.publicKey;

/** Where the fixtures are built, shared by every test process and kept between runs. */
export const FIXTURE_CACHE = resolve(ROOT, 'node_modules', '.cache', 'mcp0-fixtures');

/** The file a fixture's unsigned artifact is at once `unsigned(name)` resolved (for child processes). */
export const fixtureFile = (name: keyof typeof PLUGIN_DIRS): string => join(FIXTURE_CACHE, `${name}.wasm`);

const built = new Map<string, Promise<Uint8Array>>();

/** The unsigned artifact of a fixture (compiled once per run, read once per process). */
export function unsigned(name: keyof typeof PLUGIN_DIRS): Promise<Uint8Array> {
  let p = built.get(name);
  if (!p) {
    p = buildPlugin(resolve(ROOT, PLUGIN_DIRS[name]), { out: fixtureFile(name), incremental: true }).then((r) => r.wasm);
    built.set(name, p);
  }
  return p;
}

/** The artifact signed by `publisher` (or another key). */
export async function signed(name: keyof typeof PLUGIN_DIRS, key: PrivateKey = publisher): Promise<Uint8Array> {
  return signModule(await unsigned(name), key);
}
