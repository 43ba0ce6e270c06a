/**
 * The I/O thread of MongoSyncStore (bridge.ts): it owns a MongoStore, runs each request it gets on
 * its port, posts the answer back on the same port and wakes the caller, which is blocked in
 * `Atomics.wait` on the shared flag and then reads the answer with `receiveMessageOnPort`.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import { Mcp0Error } from '@mcp0/abi';
import type { StoreDamage } from './faults.js';
import { MongoStore, type MongoStoreOptions } from './mongo/index.js';

interface Data {
  uri: string;
  options: MongoStoreOptions;
  /** The bridge was opened with fault hooks (for tests): serve `corruptBlock`. */
  damage: boolean;
  flag: SharedArrayBuffer;
  port: MessagePort;
}

const { uri, options, damage: withDamage, flag, port } = workerData as Data;
const signal = new Int32Array(flag);

/** Hands the answer to request `seq` to the caller and wakes it. */
function answer(seq: number, message: { ok?: unknown; err?: unknown }): void {
  port.postMessage({ seq, ...message });
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
}

/** An error as plain data (typed errors keep code, message and details). */
function wire(e: unknown): { code: string; message: string; details: Record<string, unknown> } {
  if (e instanceof Mcp0Error) return { code: e.code, message: e.message, details: e.details };
  return { code: 'EINTERNAL', message: e instanceof Error ? e.message : String(e), details: {} };
}

let store: MongoStore;
let damage: StoreDamage | undefined;
try {
  const hooks = withDamage ? { faults: { opened: (d: StoreDamage) => (damage = d) } } : {};
  store = await MongoStore.connect(uri, { ...options, cacheBytes: 0, ...hooks }); // the calling thread caches
  answer(0, { ok: null });
} catch (e) {
  answer(0, { err: wire(e) });
  process.exit(0);
}

port.on('message', async ({ seq, op, args }: { seq: number; op: string; args: unknown[] }) => {
  if (op === 'close') {
    await store.close().catch(() => {});
    answer(seq, { ok: null });
    port.close();
    return;
  }
  try {
    if (op === 'corruptBlock' && damage) {
      const [id, bytes] = args as [Uint8Array, Uint8Array];
      answer(seq, { ok: await damage.corruptBlock(id, bytes) });
      return;
    }
    const fn = (store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[op];
    if (typeof fn !== 'function') throw new Error(`bridge: no operation ${op}`);
    answer(seq, { ok: await fn.apply(store, args) });
  } catch (e) {
    answer(seq, { err: wire(e) });
  }
});
