/**
 * Measuring with tinybench 6, fairly: the tasks of a comparison run in several rounds, the order
 * reversed each round (A B, B A, A B …) so neither side always runs first, colder or on a busier
 * machine; each round warms every task up, and the heap is collected (with --expose-gc) before
 * each task's warm-up and run. The samples of all rounds are merged and summarised here.
 */
import { Bench, hrtimeNowTimestampProvider } from 'tinybench';

/** Collect garbage when Node runs with --expose-gc, so no task pays for another's garbage. */
export function collect() {
  if (typeof globalThis.gc === 'function') {
    globalThis.gc();
    globalThis.gc();
  }
}

/**
 * Statistics of latency samples in milliseconds, reported in µs. Percentiles interpolate linearly
 * between order statistics, as tinybench's do.
 */
export function summarise(samplesMs) {
  const s = Float64Array.from(samplesMs).sort();
  const n = s.length;
  if (n === 0) return undefined;
  const q = (p) => {
    const pos = (n - 1) * p;
    const lo = Math.floor(pos);
    const hi = Math.min(n - 1, lo + 1);
    return s[lo] + (s[hi] - s[lo]) * (pos - lo);
  };
  let sum = 0;
  for (const v of s) sum += v;
  const mean = sum / n;
  let sq = 0;
  for (const v of s) sq += (v - mean) ** 2;
  const sd = n > 1 ? Math.sqrt(sq / (n - 1)) : 0;
  const us = (ms) => ms * 1000;
  return {
    samples: n,
    opsPerSec: mean > 0 ? 1000 / mean : 0,
    meanUs: us(mean),
    p50Us: us(q(0.5)),
    p99Us: us(q(0.99)),
    minUs: us(s[0]),
    maxUs: us(s[n - 1]),
    sdUs: us(sd),
    /** Relative 95% margin of error of the mean, in percent (normal approximation). */
    rmePct: n > 1 && mean > 0 ? (100 * 1.96 * sd) / Math.sqrt(n) / mean : 0,
  };
}

/**
 * Run `tasks` ({ id, fn, async }) in `rounds` rounds of `timeMs / rounds` each, alternating their
 * order, and return the merged statistics by task id.
 * @param {{ id: string, fn: () => unknown, async?: boolean }[]} tasks
 * @param {{ timeMs: number, rounds?: number, warmupMs?: number, minIterations?: number, onRound?: (round: number) => void }} options
 */
export async function measure(tasks, { timeMs, rounds = 1, warmupMs = 200, minIterations = 32, onRound } = {}) {
  const merged = new Map(tasks.map((t) => [t.id, []]));
  for (let round = 0; round < rounds; round++) {
    onRound?.(round);
    const order = round % 2 === 0 ? tasks : [...tasks].reverse();
    const bench = new Bench({
      time: timeMs / rounds,
      iterations: minIterations,
      warmupTime: warmupMs,
      warmupIterations: 16,
      timestampProvider: hrtimeNowTimestampProvider,
      retainSamples: true,
      throws: true,
      setup: () => collect(),
    });
    for (const t of order) bench.add(t.id, t.fn, { async: t.async ?? true });
    await bench.run();
    for (const task of bench.tasks) {
      const r = task.result;
      if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state}${r.error ? `: ${r.error.message}` : ''}`);
      const samples = merged.get(task.name);
      for (const v of r.latency.samples ?? []) samples.push(v);
    }
  }
  return new Map([...merged].map(([id, samples]) => [id, summarise(samples)]));
}
