/**
 * How precise a CPU figure is: the process's CPU per whole second of a run, and the standard error
 * of their mean, so that a difference between two runs is reported with its resolution.
 */
import type { UsageSample } from '@mcp0/sdk';

/**
 * CPU % of one core in each whole second of the samples (an incomplete last second is left out).
 * @example
 * cpuPerSecond(sampler.samples) // [14.2, 15.9, …]
 */
export function cpuPerSecond(samples: readonly UsageSample[]): number[] {
  const bins = new Map<number, number>();
  for (const s of samples) {
    // A sample carries the CPU of the interval before it: it belongs to the second that interval ended in.
    const second = Math.floor(Math.max(0, s.t - 1) / 1000);
    bins.set(second, (bins.get(second) ?? 0) + s.cpuUs);
  }
  const last = samples.length > 0 ? samples[samples.length - 1]!.t : 0;
  const whole = Math.floor(last / 1000);
  return [...bins.entries()]
    .filter(([second]) => second < whole)
    .sort((a, b) => a[0] - b[0])
    .map(([, us]) => us / 1e4);
}

/**
 * The standard error of the mean of `xs`; NaN with fewer than two values.
 * @example
 * standardError([10, 12, 11, 13]) // 0.645…
 */
export function standardError(xs: readonly number[]): number {
  if (xs.length < 2) return Number.NaN;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return Math.sqrt(variance / xs.length);
}
