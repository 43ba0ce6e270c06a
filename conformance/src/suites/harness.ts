/**
 * The test bench every suite shares: fresh kernels that trust the subject's keys, over in-memory
 * providers whose every effect can be read back (kv writes, blocks, refs), with a fixed clock and a
 * seeded random source so that two benches given the same calls must see the same bytes.
 */
import { createHash } from 'node:crypto';
import { Mcp0Error, encodeCbor, type CborValue, type Grant, type Manifest } from '@mcp0/abi';
import { Kernel, type KvProvider, type LoadedModule, type LoadOptions, type Providers } from '@mcp0/kernel';
import { MemoryStore } from '@mcp0/sdk';
import type { PluginSubject } from '../runner/subject.js';

/**
 * The logical "now" of every bench: a fixed instant, so clock reads cannot differ between runs.
 * @example
 * await kernel.execute({ agent, intent, input, time: BENCH_TIME + 1000 })
 */
export const BENCH_TIME = 1_800_000_000_000;

/**
 * A kv provider that records every write, in order, for the determinism and denial cases.
 * @example
 * const kv = new RecordingKv(); kv.put('mcp0.hello', 'hello/a', bytes); kv.writes // ['put mcp0.hello "hello/a" 9f…']
 */
export class RecordingKv implements KvProvider {
  readonly #inner = new MemoryStore().kv;
  /** Writes as `put ns key <sha256 of value>` / `delete ns key`, in call order. */
  readonly writes: string[] = [];
  readonly #namespaces = new Set<string>();

  get(ns: string, key: string): Uint8Array | undefined {
    return this.#inner.get(ns, key);
  }
  put(ns: string, key: string, value: Uint8Array): void {
    this.#namespaces.add(ns);
    this.writes.push(`put ${ns} ${JSON.stringify(key)} ${digest(value)}`);
    this.#inner.put(ns, key, value);
  }
  delete(ns: string, key: string): boolean {
    this.writes.push(`delete ${ns} ${JSON.stringify(key)}`);
    return this.#inner.delete(ns, key);
  }
  scan(ns: string, prefix: string, limit: number, after?: string): [string, Uint8Array][] {
    return this.#inner.scan(ns, prefix, limit, after);
  }
  /** Every stored entry, `ns key → sha256(value)`, in namespace then key order. */
  contents(): string[] {
    return [...this.#namespaces]
      .sort()
      .flatMap((ns) => this.#inner.scan(ns, '', Number.MAX_SAFE_INTEGER).map(([k, v]) => `${ns} ${JSON.stringify(k)} ${digest(v)}`));
  }
}

/**
 * Hex SHA-256, to keep transcripts short.
 * @example
 * digest(new Uint8Array(0)) // 'e3b0c442…'
 */
export function digest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * A deterministic random source (SHA-256 in counter mode over a seed).
 * @example
 * seededRandom('x').bytes(8) // the same 8 bytes on every run
 */
export function seededRandom(seed: string): { bytes(n: number): Uint8Array } {
  let counter = 0;
  return {
    bytes(n: number): Uint8Array {
      const out = new Uint8Array(n);
      for (let off = 0; off < n; off += 32) {
        const block = createHash('sha256').update(`${seed}/${counter++}`).digest();
        out.set(block.subarray(0, Math.min(32, n - off)), off);
      }
      return out;
    },
  };
}

/**
 * Grants for every capability the manifest requests, each with the scope it asks for.
 * @example
 * grantsAsRequested(helloManifest) // [{name: 'kv'}, {name: 'clock'}, {name: 'random'}]
 */
export function grantsAsRequested(manifest: Manifest): Grant[] {
  return (manifest.capabilities ?? []).map((c) => ({ name: c.name }));
}

/**
 * One kernel with the subject loaded, and the providers behind it.
 * @example
 * const { kernel, module, kv } = await bench(subject)
 */
export interface Bench {
  kernel: Kernel;
  module: LoadedModule;
  kv: RecordingKv;
  store: MemoryStore;
  close(): Promise<void>;
}

/**
 * Options of `bench`: load options, plus provider overrides.
 * @example
 * await bench(subject, { isolation: 'worker', providers: { blocks: store.blocks } })
 */
export interface BenchOptions extends LoadOptions {
  providers?: Partial<Providers>;
}

/**
 * A fresh kernel with the subject loaded (all requested capabilities granted unless told), over a
 * recording kv and an in-memory block store, with a fixed clock and seeded randomness. Failures
 * never mark the module failed here: the suites count them instead.
 * @example
 * const b = await bench(subject, { isolation: 'worker' }); try { … } finally { await b.close() }
 */
export async function bench(subject: PluginSubject, options: BenchOptions = {}): Promise<Bench> {
  const kv = new RecordingKv();
  const store = new MemoryStore();
  const { providers, ...load } = options;
  const kernel = new Kernel({
    trust: subject.trust,
    providers: { kv, agentKv: kv, blocks: store.blocks, clock: { now: () => BENCH_TIME }, random: seededRandom('mcp0.conformance'), ...providers },
    restart: { failureThreshold: 1_000_000 },
  });
  const module = await kernel.load(subject.bytes, { grants: grantsAsRequested(subject.manifest), ...load });
  return {
    kernel,
    module,
    kv,
    store,
    async close() {
      await kernel.stop().catch(() => undefined);
      await store.close().catch(() => undefined);
    },
  };
}

/**
 * The guest's exports a caller can reach: the listed service exports, then the declared hooks.
 * @example
 * callableExports(traceManifest) // ['poseidon', …, 'verifyRange', 'mcp0_observe']
 */
export function callableExports(manifest: Manifest): string[] {
  return [...manifest.exports.map((e) => e.name), ...(manifest.hooks ?? []).map((h) => `mcp0_${h}`)];
}

/**
 * Calls any export of a loaded module (hooks and markers too, which `kernel.call` does not reach),
 * through the module's queue and metering, as the kernel's own hook calls do.
 * @example
 * const out = await invoke(b.module, 'mcp0_abi_v1', new Uint8Array(0))
 */
export async function invoke(module: LoadedModule, exportName: string, input: Uint8Array): Promise<Uint8Array> {
  return (await module.invoke(exportName, input, module.rootState)).output;
}

/**
 * What one call gave: its output, or the error it threw.
 * @example
 * const o: Outcome = await outcome(() => invoke(m, 'get', input)); if (!o.ok) console.log(o.error)
 */
export type Outcome = { ok: true; output: Uint8Array } | { ok: false; error: unknown };

/**
 * Runs a call and captures its outcome instead of throwing.
 * @example
 * const o = await outcome(() => invoke(m, 'get', input))
 */
export async function outcome(work: () => Promise<Uint8Array>): Promise<Outcome> {
  try {
    return { ok: true, output: await work() };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * `ETRAP: …` for typed errors, `TypeError: …` for anything else.
 * @example
 * describeError(new CallError('EINPUT', 'bad')) // 'EINPUT: bad'
 */
export function describeError(e: unknown): string {
  if (e instanceof Mcp0Error) return `${e.code}: ${e.message.length > 200 ? `${e.message.slice(0, 200)}…` : e.message}`;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/**
 * A short text for an outcome in messages: "ok (12 bytes)" or the error.
 * @example
 * describeOutcome({ ok: true, output: new Uint8Array(12) }) // 'ok (12 bytes)'
 */
export function describeOutcome(o: Outcome): string {
  return o.ok ? `ok (${o.output.length} bytes)` : describeError(o.error);
}

/**
 * Inputs that exercise exports without knowing them: an empty map, and a map of the argument
 * names plugins commonly take, so that exports reach their capabilities (kv, blocks) and a narrowed
 * grant shows up as EPERM.
 */
function genericProbes(): CborValue[] {
  return [{}, { agent: 'conformance', key: 'conformance/probe', name: 'conformance', id: 'conformance', value: new Uint8Array([1, 2, 3]) }];
}

/** A well-formed input for a hook export at the bench's logical time. */
function hookInput(hook: string): CborValue | undefined {
  const op = { id: 'conformance-op-1', agent: 'conformance.agent', intent: 'probe', time: BENCH_TIME, inputBytes: 3 };
  if (hook === 'mcp0_admit') return { op };
  if (hook === 'mcp0_observe') {
    const h = new Uint8Array(32);
    return { op, outcome: { status: 'ok', cost: 1, wallUs: 10, bytesIn: 3, bytesOut: 3, inputHash: h, outputHash: h } };
  }
  if (hook === 'mcp0_tick') return { time: BENCH_TIME };
  return undefined;
}

/**
 * The inputs the determinism and denial cases send to `exportName`: a hook gets a well-formed hook
 * input, a service export an empty map and a map of commonly used argument names.
 * @example
 * for (const input of probesFor('count')) await invoke(m, 'count', input)
 */
export function probesFor(exportName: string): Uint8Array[] {
  const hook = hookInput(exportName);
  return (hook === undefined ? genericProbes() : [hook]).map((v) => encodeCbor(v));
}
