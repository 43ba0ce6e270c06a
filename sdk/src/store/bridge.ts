/**
 * MongoSyncStore: a Store on MongoDB whose every answer is synchronous, so inline-tier modules
 * (the storage plugin first) can use MongoDB. Blocks are immutable and named by their hash, so they
 * are served from a local LRU cache; a miss, a ref, a kv call or a write blocks the calling thread
 * in `Atomics.wait` while an I/O worker thread, with a MongoStore (and MongoClient) of its own,
 * does the call. The answer comes back through a MessagePort read with `receiveMessageOnPort`, so
 * its size is not bounded by a shared buffer.
 *
 * Measured against the worker tier over MongoStore (bench/bridge.js, ABI.md "Where the stores stand
 * today"): the worker tier pays a thread hand-off per host call, the bridge only per miss.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { CallError, type ErrorCode, UsageError } from '@mcp0/abi';
import type { BlockProvider, KvProvider } from '@mcp0/kernel';
import { hex } from './codec.js';
import type { MongoStoreOptions } from './mongo/index.js';
import type { BlockEntry, DeleteBlocksOptions, Store } from './types.js';

/**
 * Options of `MongoSyncStore.open`: MongoStore's, plus the cache and the wait bound. Of the fault
 * hooks (`faults`, for tests), only `opened` applies: the request hooks would have to run in the
 * I/O thread, which cannot call this thread back while it waits (EUSAGE).
 * @example
 * await MongoSyncStore.open(uri, { cacheBytes: 64 << 20, timeoutMs: 10_000 })
 */
export interface MongoSyncStoreOptions extends MongoStoreOptions {
  /** Bytes of blocks cached in the calling thread (default 32 MiB). */
  cacheBytes?: number;
  /** How long one call may block the calling thread before it fails with EUNAVAILABLE (default 65 s). */
  timeoutMs?: number;
}

const DEFAULT_CACHE = 32 << 20;
/** Longer than the driver's own bounds (5 s server selection, 60 s socket), which answer typed errors first. */
const DEFAULT_TIMEOUT = 65_000;

/** What the I/O thread posts back for request `seq`. */
interface Answer<T> {
  seq: number;
  ok?: T;
  err?: { code: ErrorCode; message: string; details: Record<string, unknown> };
}

/** `Atomics.waitAsync` (Node ≥ 16; missing from the ES2022 lib this package compiles against). */
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, t: number): { value: Promise<string> | string } }).waitAsync;

/** The worker's compiled file: beside this one in dist/; from the sources (tests), in the built dist/. */
function workerUrl(): URL {
  const here = new URL('.', import.meta.url);
  return here.pathname.endsWith('/src/store/') ? new URL('../../dist/store/bridge-worker.js', here) : new URL('./bridge-worker.js', here);
}

/**
 * A synchronous Store on MongoDB, for inline-tier modules.
 * @example
 * const store = await MongoSyncStore.open('mongodb://127.0.0.1:27017/mcp0')
 * const kernel = new Kernel({ trust, providers: { blocks: store.blocks } }) // inline tier is fine
 * await store.close()
 */
export class MongoSyncStore implements Store {
  readonly uri: string;
  readonly durable = true;
  readonly synchronous = true;
  /** The kv provider; every method answers synchronously. */
  readonly kv = {
    get: (namespace, key) => this.#call<Uint8Array | undefined>('kvGet', namespace, key) ?? undefined,
    put: (namespace, key, value) => void this.#call('kvPut', namespace, key, value),
    delete: (namespace, key) => this.#call<boolean>('kvDelete', namespace, key),
    scan: (namespace, prefix, limit, after?) => this.#call<[string, Uint8Array][]>('kvScan', namespace, prefix, limit, after),
  } satisfies KvProvider;
  /** The blocks provider; every method answers synchronously, blocks from the cache when it can. */
  readonly blocks = {
    put: (blocks) => this.#put(blocks),
    get: (id) => this.#get(id),
    has: (ids) => this.#call<boolean[]>('hasBlocks', ids),
    refGet: (namespace, name) => this.#call<{ root: Uint8Array; version: number } | undefined>('refGet', namespace, name) ?? undefined,
    refCas: (namespace, name, expect, root) => this.#call<number>('refCas', namespace, name, expect, root),
  } satisfies BlockProvider;
  /** Calls that went to the I/O thread, and block reads the cache answered. */
  readonly stats = { roundTrips: 0, hits: 0 };
  #worker: Worker | undefined;
  readonly #port: MessagePort;
  readonly #signal: Int32Array;
  readonly #timeoutMs: number;
  readonly #cache = new Map<string, Uint8Array>();
  readonly #cacheBytes: number;
  #cached = 0;
  /** The number of the last request (0: the connect answer). */
  #seq = 0;
  /** Set when the I/O thread has ended: calls then fail at once instead of waiting out the timeout. */
  #dead = false;

  private constructor(uri: string, worker: Worker, port: MessagePort, signal: Int32Array, options: MongoSyncStoreOptions) {
    this.uri = uri;
    this.#worker = worker;
    this.#port = port;
    this.#signal = signal;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT;
    this.#cacheBytes = options.cacheBytes ?? DEFAULT_CACHE;
  }

  /**
   * Starts the I/O thread and connects it (`EUNAVAILABLE` when the server cannot be reached, as
   * MongoStore.connect).
   * @example
   * const store = await MongoSyncStore.open('mongodb://127.0.0.1:27017/mcp0?directConnection=true')
   */
  static async open(uri: string, options: MongoSyncStoreOptions = {}): Promise<MongoSyncStore> {
    for (const name of ['cacheBytes', 'timeoutMs'] as const) {
      const v = options[name];
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 0))
        throw new UsageError('EUSAGE', `MongoSyncStore: ${name} must be a non-negative integer, got ${String(v)}`);
    }
    const { cacheBytes: _c, timeoutMs: _t, faults, ...storeOptions } = options;
    if (faults?.beforeRequest || faults?.afterWrite) {
      throw new UsageError(
        'EUSAGE',
        'MongoSyncStore: faults.beforeRequest and faults.afterWrite would run in its I/O thread, which cannot call back the thread that waits; inject them into a MongoStore',
      );
    }
    const flag = new SharedArrayBuffer(4);
    const signal = new Int32Array(flag);
    const { port1, port2 } = new MessageChannel();
    // execArgv: [] so the thread does not inherit loader flags (a test runner's `--conditions
    // source` would make it load TypeScript sources). The I/O thread's store accepts corruptBlock
    // only when this one was opened with faults.
    const damage = faults?.opened !== undefined;
    const worker = new Worker(workerUrl(), { workerData: { uri, options: storeOptions, damage, flag, port: port2 }, transferList: [port2], execArgv: [] });
    const store = new MongoSyncStore(uri, worker, port1, signal, options);
    // Connecting is awaited, not blocked on, so a thread that dies while starting is reported.
    const died = new Promise<never>((_, reject) => {
      worker.once('error', (e) => reject(new CallError('EINTERNAL', `mongodb bridge: the I/O thread failed: ${e.message}`, {}, { cause: e })));
      worker.once('exit', (code) => reject(new CallError('EINTERNAL', `mongodb bridge: the I/O thread exited (${code}) while connecting`)));
    });
    died.catch(() => {});
    try {
      await Promise.race([Promise.resolve(waitAsync(signal, 0, 0, store.#timeoutMs).value), died]);
      store.#wait('connect', 0);
    } catch (e) {
      await worker.terminate();
      throw e;
    }
    worker.on('exit', () => (store.#dead = true));
    worker.unref();
    faults?.opened?.({ corruptBlock: (id, bytes) => store.#corruptBlock(id, bytes) });
    return store;
  }

  /**
   * Blocks until the I/O thread answers request `seq`, then returns its answer or throws its typed
   * error. Answers to earlier requests that timed out are dropped on the way (each carries its seq).
   */
  #wait<T>(op: string, seq: number): T {
    const deadline = performance.now() + this.#timeoutMs;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0 || Atomics.wait(this.#signal, 0, 0, left) === 'timed-out') {
        throw new CallError('EUNAVAILABLE', `mongodb ${op}: no answer within ${this.#timeoutMs} ms`, { op, timeoutMs: this.#timeoutMs });
      }
      Atomics.store(this.#signal, 0, 0);
      for (let r = receiveMessageOnPort(this.#port); r; r = receiveMessageOnPort(this.#port)) {
        const m = r.message as Answer<T>;
        if (m.seq !== seq) continue;
        if (m.err) {
          const { code, message, details } = m.err;
          throw code === 'EUSAGE' || code === 'ESTATE' ? new UsageError(code, message, details) : new CallError(code, message, details);
        }
        return m.ok as T;
      }
    }
  }

  #call<T>(op: string, ...args: unknown[]): T {
    if (!this.#worker) throw new UsageError('ESTATE', `store ${this.uri} is closed`);
    if (this.#dead) throw new CallError('EUNAVAILABLE', `mongodb ${op}: the bridge's I/O thread has ended`, { op });
    this.stats.roundTrips++;
    const seq = ++this.#seq;
    Atomics.store(this.#signal, 0, 0);
    this.#port.postMessage({ seq, op, args });
    return this.#wait<T>(op, seq);
  }

  #remember(key: string, block: Uint8Array): void {
    if (block.length > this.#cacheBytes || this.#cache.has(key)) return;
    this.#cache.set(key, block);
    this.#cached += block.length;
    for (const [k, v] of this.#cache) {
      if (this.#cached <= this.#cacheBytes) break;
      this.#cache.delete(k);
      this.#cached -= v.length;
    }
  }

  #forget(ids: Uint8Array[]): void {
    for (const id of ids) {
      const key = hex(id);
      const v = this.#cache.get(key);
      if (v) {
        this.#cache.delete(key);
        this.#cached -= v.length;
      }
    }
  }

  #get(id: Uint8Array): Uint8Array | undefined {
    if (!this.#worker) throw new UsageError('ESTATE', `store ${this.uri} is closed`);
    if (!(id instanceof Uint8Array)) throw new UsageError('EUSAGE', `id: expected Uint8Array, got ${id === null ? 'null' : typeof id}`);
    const key = hex(id);
    const hit = this.#cache.get(key);
    if (hit) {
      this.stats.hits++;
      this.#cache.delete(key); // most recently used last
      this.#cache.set(key, hit);
      return new Uint8Array(hit);
    }
    const block = this.#call<Uint8Array | undefined>('getBlock', id) ?? undefined;
    if (block) this.#remember(key, new Uint8Array(block));
    return block;
  }

  #put(blocks: Uint8Array[]): Uint8Array[] {
    const ids = this.#call<Uint8Array[]>('putBlocks', blocks);
    ids.forEach((id, i) => this.#remember(hex(id), new Uint8Array(blocks[i]!)));
    return ids;
  }

  /**
   * Removes blocks (gc's sweep) and drops them from this process's cache; see Store.deleteBlocks.
   * @example
   * store.deleteBlocks(ids, { writtenBefore: Date.now() - 3_600_000 })
   */
  deleteBlocks(ids: Uint8Array[], options: DeleteBlocksOptions = {}): number {
    const n = this.#call<number>('deleteBlocks', ids, options);
    this.#forget(ids);
    return n;
  }

  /**
   * Stored block ids after `after`, with write times; see Store.listBlocks.
   * @example
   * store.listBlocks(undefined, 1000)
   */
  listBlocks(after: Uint8Array | undefined, limit: number): BlockEntry[] {
    return this.#call<BlockEntry[]>('listBlocks', after, limit);
  }

  /**
   * Ref names of a namespace by prefix; see Store.listRefs.
   * @example
   * store.listRefs('mcp0.storage', 'head/', 100)
   */
  listRefs(namespace: string, prefix: string, limit: number, after?: string): string[] {
    return this.#call<string[]>('listRefs', namespace, prefix, limit, after);
  }

  /** StoreDamage.corruptBlock: forgets the cached block and has the I/O thread's store write the raw bytes. */
  #corruptBlock(id: Uint8Array, bytes: Uint8Array): void {
    this.#forget([id]);
    this.#call('corruptBlock', id, bytes);
  }

  /**
   * Closes the I/O thread's connections and ends it; later calls throw `ESTATE`. Closing twice is a no-op.
   * @example
   * await store.close()
   */
  async close(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    try {
      if (!this.#dead) this.#call('close');
    } catch {
      // Closing is best effort: the thread is terminated below whatever it answered.
    } finally {
      this.#worker = undefined;
      this.#cache.clear();
      this.#port.close();
      await worker.terminate();
    }
  }
}
