/**
 * The node's signed trace checkpoints: with an operator key, the node signs its trace head at an
 * interval whenever the head moved since the last checkpoint, and once more when it stops, and
 * keeps each one in its kv namespace (`CheckpointLog`). The timer never keeps the process alive,
 * never runs two signings at once, and reports failures as events: a checkpoint that could not be
 * signed must not take the node down, and the next tick tries again.
 */
import { Mcp0Error, type PrivateKey } from '@mcp0/abi';
import type { ClockProvider, KvProvider } from '@mcp0/kernel';
import { CheckpointLog, signCheckpoint, type TraceCheckpoint } from '../trace/checkpoint.js';
import { nodeTraceChain, type TraceHead, type TraceRoleCaller } from '../trace/chain.js';

/**
 * How often a node with an operator key signs its trace head, unless told otherwise (when the
 * head moved since the last checkpoint).
 * @example
 * await Node.start({ distribution, store, operatorKey, checkpointIntervalMs: DEFAULT_CHECKPOINT_INTERVAL_MS })
 */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 60_000;

/**
 * A repeating timer, replaceable in tests: `schedule(fn, ms)` runs `fn` every `ms` until cancelled.
 * @example
 * const schedule: Schedule = (fn, ms) => { const t = setInterval(fn, ms); t.unref(); return () => clearInterval(t) }
 */
export type Schedule = (tick: () => void, intervalMs: number) => () => void;

/** The default schedule: `setInterval`, unref'd so that checkpoints never keep a process alive. */
const intervalSchedule: Schedule = (tick, ms) => {
  const timer = setInterval(tick, ms);
  timer.unref();
  return () => clearInterval(timer);
};

/**
 * What a `Checkpointer` needs.
 * @example
 * const options: CheckpointerOptions = { key: operatorKey, kv: store.kv, head: () => readTraceHead(store.kv) }
 */
export interface CheckpointerOptions {
  /** The operator key that signs. */
  key: PrivateKey;
  /** Where checkpoints are kept (the node's kv; namespace `mcp0.node`). */
  kv: KvProvider;
  /** The current trace head, or undefined when there is nothing to sign (an empty chain, no trace role). */
  head: () => Promise<TraceHead | undefined>;
  /** Default DEFAULT_CHECKPOINT_INTERVAL_MS. */
  intervalMs?: number;
  /** Wall time in ms (default Date.now). */
  now?: () => number;
  /** Called with each checkpoint signed and stored. */
  onCheckpoint?: (checkpoint: TraceCheckpoint) => void;
  /** Called with a failure of a timed or final checkpoint (explicit `sign` calls throw instead). */
  onError?: (error: Error) => void;
  /** Default: setInterval, unref'd. */
  schedule?: Schedule;
}

/**
 * Signs and stores trace checkpoints for a node.
 * @example
 * const cp = new Checkpointer({ key, kv: store.kv, head: () => readTraceHead(store.kv) })
 * cp.start()
 * await cp.sign() // now
 * await cp.stop() // a last one if the head moved
 */
export class Checkpointer {
  readonly #key: PrivateKey;
  readonly #log: CheckpointLog;
  readonly #head: () => Promise<TraceHead | undefined>;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #onCheckpoint: (checkpoint: TraceCheckpoint) => void;
  readonly #onError: (error: Error) => void;
  readonly #schedule: Schedule;
  #cancel: (() => void) | undefined;
  /** Every signing runs after the one before it. */
  #tail: Promise<unknown> = Promise.resolve();
  #busy = 0;
  /** The head of the last checkpoint (read from the log on first need, so a restart does not re-sign). */
  #last: TraceHead | undefined | null = null;
  #stopped = false;

  constructor(options: CheckpointerOptions) {
    const interval = options.intervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
    if (!Number.isSafeInteger(interval) || interval < 1) {
      throw new Mcp0Error('EUSAGE', `checkpointIntervalMs: expected a positive integer of ms, got ${String(interval)}`, { intervalMs: interval });
    }
    this.#key = options.key;
    this.#log = new CheckpointLog(options.kv);
    this.#head = options.head;
    this.#intervalMs = interval;
    this.#now = options.now ?? Date.now;
    this.#onCheckpoint = options.onCheckpoint ?? (() => undefined);
    this.#onError = options.onError ?? (() => undefined);
    this.#schedule = options.schedule ?? intervalSchedule;
  }

  /**
   * The log the checkpoints go to.
   * @example
   * const newest = await checkpointer.log.latest()
   */
  get log(): CheckpointLog {
    return this.#log;
  }

  /**
   * Starts the timer. A tick while a signing is in progress is skipped, not queued.
   * @example
   * checkpointer.start()
   */
  start(): void {
    if (this.#cancel || this.#stopped) return;
    this.#cancel = this.#schedule(() => {
      if (this.#busy > 0 || this.#stopped) return;
      this.signIfMoved().catch((e: unknown) => this.#onError(e as Error));
    }, this.#intervalMs);
  }

  /**
   * Signs the current head now (even if it did not move: a fresher time for the same seq) and
   * stores it. ENOTFOUND when there is no head to sign.
   * @example
   * const cp = await checkpointer.sign()
   */
  sign(): Promise<TraceCheckpoint> {
    return this.#serial(async () => {
      const head = await this.#head();
      if (head === undefined) throw new Mcp0Error('ENOTFOUND', 'the trace is empty: no head to sign a checkpoint of', { reason: 'empty-trace' });
      return this.#signHead(head);
    });
  }

  /**
   * Signs the current head when it moved since the last checkpoint; undefined otherwise.
   * @example
   * const cp = await checkpointer.signIfMoved() // undefined when nothing happened since
   */
  signIfMoved(): Promise<TraceCheckpoint | undefined> {
    return this.#serial(async () => {
      const head = await this.#head();
      if (head === undefined) return undefined;
      if (this.#last === null) {
        const stored = await this.#log.latest();
        this.#last = stored === undefined ? undefined : { seq: stored.seq, head: stored.head };
      }
      if (this.#last !== undefined && this.#last.seq === head.seq && this.#last.head === head.head) return undefined;
      return this.#signHead(head);
    });
  }

  /**
   * Stops the timer, waits for a signing in progress, and signs a last checkpoint when the head
   * moved; failures go to `onError`, never thrown (a node must be able to stop).
   * @example
   * await checkpointer.stop()
   */
  async stop(): Promise<TraceCheckpoint | undefined> {
    if (this.#stopped) return undefined;
    this.#stopped = true;
    this.#cancel?.();
    this.#cancel = undefined;
    try {
      return await this.signIfMoved();
    } catch (e) {
      this.#onError(e as Error);
      return undefined;
    }
  }

  async #signHead(head: TraceHead): Promise<TraceCheckpoint> {
    const checkpoint = signCheckpoint({ seq: head.seq, head: head.head, time: this.#now() }, this.#key);
    await this.#log.put(checkpoint);
    this.#last = { seq: head.seq, head: head.head };
    this.#onCheckpoint(checkpoint);
    return checkpoint;
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    this.#busy++;
    const run = this.#tail.then(task, task);
    this.#tail = run.catch(() => undefined);
    return run.finally(() => this.#busy--);
  }
}

/**
 * What the node gives `nodeCheckpointer`: its trace role.
 * @example
 * const source: CheckpointSource = node
 */
export interface CheckpointSource {
  hasRole(role: 'trace'): boolean;
  readonly roles: { readonly trace: TraceRoleCaller };
}

/**
 * The node's checkpointer, started, or undefined when it has no operator key. The head is read
 * through the trace role (`head`); with no trace role there is nothing to sign, so timed and
 * final checkpoints are skipped.
 * @example
 * const checkpoints = nodeCheckpointer(node, store.kv, { operatorKey }, (cp) => node.emit('checkpoint', cp), (e) => node.emit('checkpoint-error', e))
 */
export function nodeCheckpointer(
  node: CheckpointSource,
  kv: KvProvider,
  options: { operatorKey?: PrivateKey; checkpointIntervalMs?: number; clock?: ClockProvider },
  onCheckpoint: (checkpoint: TraceCheckpoint) => void,
  onError: (error: Error) => void,
): Checkpointer | undefined {
  if (options.operatorKey === undefined) return undefined;
  const chain = nodeTraceChain(node.roles.trace);
  const clock = options.clock;
  const checkpointer = new Checkpointer({
    key: options.operatorKey,
    kv,
    head: async () => (node.hasRole('trace') ? chain.head() : undefined),
    ...(options.checkpointIntervalMs === undefined ? {} : { intervalMs: options.checkpointIntervalMs }),
    ...(clock === undefined ? {} : { now: () => clock.now() }),
    onCheckpoint,
    onError,
  });
  checkpointer.start();
  return checkpointer;
}
