/**
 * The shapes of a distribution: the document as `distribution.json` stores it (the JSON Schema in
 * `abi/schema/distribution.schema.json` is the authority) and what a node gets from a verified one.
 */
import type { CborValue, Grant, PublicJwk, PublicKey } from '@mcp0/abi';

/**
 * The file every distribution directory holds.
 * @example
 * readFileSync(join(dir, DISTRIBUTION_FILE), 'utf8')
 */
export const DISTRIBUTION_FILE = 'distribution.json';

/**
 * Where `mcp0 dist add` copies plugin artifacts, inside the distribution directory.
 * @example
 * join(dir, PLUGINS_DIR, 'mcp0.trace.wasm')
 */
export const PLUGINS_DIR = 'plugins';

/**
 * Isolation tiers a distribution may assign (ABI.md §7).
 * @example
 * const tier: Isolation = doc.plugins[0]!.isolation // 'inline' or 'worker'
 */
export type Isolation = 'inline' | 'worker';

/**
 * A public key as the document stores it: an Ed25519 JWK with its RFC 7638 thumbprint.
 * @example
 * const entry: KeyEntry = keyEntry(publisher.publicKey) // { kty: 'OKP', crv: 'Ed25519', x, kid }
 */
export type KeyEntry = Required<PublicJwk>;

/**
 * One plugin of a distribution.
 * @example
 * const entry: PluginEntry = await addPlugin('my-dist', bytes, { grants: ['kv:trace/'] })
 * entry.file // 'plugins/mcp0.trace.wasm'
 */
export interface PluginEntry {
  name: string;
  version: string;
  /** The signed artifact, relative to the distribution directory. */
  file: string;
  /** Lower-case hex SHA-256 of the artifact. */
  sha256: string;
  /** Grant texts (`kv:trace/`, `call:mcp0.storage/get`, ...), as `parseGrant` reads them. */
  grants: string[];
  /** Passed to `mcp0_init`. */
  config: Record<string, unknown>;
  isolation: Isolation;
  preempt?: boolean;
}

/**
 * The order of the operation pipeline's hooks, by plugin name.
 * @example
 * const order: PipelineOrder = { admit: ['mcp0.agreements'], observe: ['mcp0.trace'] }
 * await setPipeline('my-dist', order)
 */
export interface PipelineOrder {
  admit: string[];
  observe: string[];
}

/**
 * Hardware budgets (ARCHITECTURE.md §8).
 * @example
 * const budgets: Budgets = dist.budgets // { cpuPercent: 27, rssPeakMB: 827, rssAvgMB: 640 }
 * checkBudgets(sampler.stop(), budgets)
 */
export interface Budgets {
  cpuPercent: number;
  rssPeakMB: number;
  rssAvgMB: number;
}

/**
 * The assembler's signature and the exact text it signed.
 * @example
 * const { kid, signed } = doc.signature! // signed: the canonical JSON the assembler signed
 */
export interface DistributionSignature {
  alg: 'Ed25519';
  kid: string;
  /** base64url of the 64-byte signature over the UTF-8 bytes of `signed`. */
  value: string;
  /** RFC 8785 canonical JSON of the document without `signature`, as it was when signed. */
  signed: string;
}

/**
 * `distribution.json`.
 * @example
 * const doc: DistributionDocument = await readDistribution('distributions/standard/build')
 * doc.plugins.map((p) => `${p.name}@${p.version}`)
 */
export interface DistributionDocument {
  name: string;
  version: string;
  abi: string;
  assembler: KeyEntry;
  publishers: KeyEntry[];
  plugins: PluginEntry[];
  pipeline: PipelineOrder;
  budgets: Budgets;
  signature?: DistributionSignature;
}

/**
 * The gates of ARCHITECTURE.md §8, the default budgets of a new distribution.
 * @example
 * const within = rssPeakMB < DEFAULT_BUDGETS.rssPeakMB
 */
export const DEFAULT_BUDGETS: Readonly<Budgets> = Object.freeze({ cpuPercent: 27, rssPeakMB: 827, rssAvgMB: 640 });

/**
 * A verified distribution, ready for a node to load: what the SDK's Node consumes.
 * @example
 * const dist: LoadedDistribution = await loadDistribution('distributions/standard/build', { trust: [assemblerKey] })
 * const node = await Node.start({ distribution: dist, store: 'lmdb:./data' })
 */
export interface LoadedDistribution {
  /** The distribution directory, absolute. */
  dir: string;
  name: string;
  version: string;
  /** Keys trusted to sign this distribution's plugins: the kernel's trust list. */
  publishers: PublicKey[];
  /** In load order. */
  plugins: {
    name: string;
    version: string;
    /** The signed artifact, already checked against the locked sha256 and the publishers. */
    bytes: Uint8Array;
    grants: Grant[];
    config: CborValue;
    isolation: Isolation;
    preempt?: boolean;
  }[];
  pipeline: PipelineOrder;
  budgets: Budgets;
}
