/**
 * The reference workload of the budgets run (documented in conformance/README.md): a realistic
 * interactive load, stated exactly, because CPU against a budget means something only at a stated
 * rate — flat out, any loop takes a whole core.
 */
import type { CborValue } from '@mcp0/abi';

/** One kind of agent in the workload: which signed module (by the name passed to runBudgets) and how many instances. */
export interface WorkloadAgent {
  module: 'memory' | 'counter';
  count: number;
}

/** One step of the repeating operation mix. */
export interface WorkloadStep {
  module: WorkloadAgent['module'];
  intent: string;
}

/**
 * The reference workload: 8 agents (4 memory, 4 counter) under one signed agreement, 20 operations
 * a second in an open loop (each started at its slot, not after the previous one ends), notes of
 * 256 bytes, 60 s (5 s under --quick) after 2 s of warm-up. Every 50th operation is a `reset`,
 * which the agreement does not permit: the denial path is part of the load.
 * @example
 * REFERENCE_WORKLOAD.opsPerSecond * REFERENCE_WORKLOAD.durationS // 1200 operations
 */
export const REFERENCE_WORKLOAD = Object.freeze({
  agents: Object.freeze([
    Object.freeze({ module: 'memory', count: 4 }),
    Object.freeze({ module: 'counter', count: 4 }),
  ] as const satisfies readonly WorkloadAgent[]),
  opsPerSecond: 20,
  payloadBytes: 256,
  durationS: 60,
  quickDurationS: 5,
  /** Seconds of the same workload run first, neither sampled nor metered (start-up is not the steady load). */
  warmupS: 2,
  /** The mix, repeated: 40% remember, 10% recall, 10% list, 30% increment, 10% get. */
  mix: Object.freeze([
    { module: 'memory', intent: 'remember' },
    { module: 'counter', intent: 'increment' },
    { module: 'memory', intent: 'remember' },
    { module: 'counter', intent: 'get' },
    { module: 'memory', intent: 'recall' },
    { module: 'counter', intent: 'increment' },
    { module: 'memory', intent: 'remember' },
    { module: 'memory', intent: 'list' },
    { module: 'counter', intent: 'increment' },
    { module: 'memory', intent: 'remember' },
  ] as const satisfies readonly WorkloadStep[]),
  /** Every `denyEvery`-th operation is this intent, left out of the agreement's permissions. */
  denyEvery: 50,
  denied: Object.freeze({ module: 'counter', intent: 'reset' } as const satisfies WorkloadStep),
  /** The intents the workload's agreement permits. */
  permitted: Object.freeze(['remember', 'recall', 'list', 'increment', 'get']),
  /**
   * Samples per second of CPU and RSS asked of the sampler: 30, so that the rate achieved stays at
   * 10 Hz or more when a busy event loop delays the sampler's timer (late ticks push the next ones
   * back: asking 12 gave 9.9 Hz, asking 20 gave 12.8–20 Hz on a shared machine).
   */
  hz: 30,
});

/** An operation of the workload: which agent kind, which intent, what input. */
export interface PlannedOperation {
  module: WorkloadAgent['module'];
  /** Which instance of that kind (round robin). */
  instance: number;
  intent: string;
  input: CborValue;
}

/**
 * A note of exactly `bytes` ASCII bytes, different for each operation so no layer can cache it.
 * @example
 * notePayload(3, 32).length // 32
 */
export function notePayload(i: number, bytes: number): string {
  const head = `note ${i}: `;
  const filler = 'the node keeps what agents learn; ';
  let text = head;
  while (text.length < bytes) text += filler;
  return text.slice(0, bytes);
}

/**
 * The `i`-th operation of the workload (0-based): deterministic, so two runs do the same work.
 * @example
 * planOperation(0) // { module: 'memory', instance: 0, intent: 'remember', input: { text: 'note 0: …', tags: ['budgets'] } }
 */
export function planOperation(
  i: number,
  w: Pick<typeof REFERENCE_WORKLOAD, 'mix' | 'denyEvery' | 'denied' | 'payloadBytes' | 'agents'> = REFERENCE_WORKLOAD,
): PlannedOperation {
  const step: WorkloadStep = (i + 1) % w.denyEvery === 0 ? w.denied : w.mix[i % w.mix.length]!;
  const count = w.agents.find((a) => a.module === step.module)?.count ?? 1;
  // Spread each kind's operations over its instances: the k-th operation of a kind goes to instance k mod count.
  const instance = Math.floor(i / w.mix.length) % count;
  const input: CborValue =
    step.intent === 'remember'
      ? { text: notePayload(i, w.payloadBytes), tags: ['budgets'] }
      : step.intent === 'recall'
        ? { query: `note ${Math.max(0, i - 7)}:`, limit: 3 }
        : step.intent === 'list'
          ? { limit: 10 }
          : {};
  return { module: step.module, instance, intent: step.intent, input };
}
