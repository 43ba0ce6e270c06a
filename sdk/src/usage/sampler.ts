/**
 * Samples this process's CPU time (all threads: process.cpuUsage is getrusage(RUSAGE_SELF)) and
 * resident set size at a fixed rate, and sums them up against the hardware budgets. Used by the
 * main job's summary and by the conformance budgets.
 */

/**
 * One sample: time since the start (ms), CPU time used in the interval before it (µs), RSS (bytes).
 * @example
 * const samples: readonly UsageSample[] = sampler.samples
 * for (const { t, cpuUs, rss } of samples) console.log(t, cpuUs, rss)
 */
export interface UsageSample {
  t: number;
  cpuUs: number;
  rss: number;
}

/**
 * What a run used, with CPU as a share of one core here and normalised to the reference core.
 * @example
 * const u: UsageSummary = sampler.stop()
 * console.log(`${u.cpuPercentReference}% of the reference core, RSS peak ${u.rssPeakMB} MB`)
 */
export interface UsageSummary {
  durationMs: number;
  samples: number;
  /** CPU time over wall time, in percent of one core of this machine. */
  cpuPercent: number;
  /** The same, on the reference core (a 2.4 GHz i3): `cpuPercent × coreFactor`. */
  cpuPercentReference: number;
  coreFactor: number;
  rssPeakMB: number;
  rssAvgMB: number;
}

/**
 * The hardware budgets (the seed's): CPU on the reference core, RSS peak and average.
 * @example
 * checkBudgets(summary, BUDGETS).cpu.pass
 */
export const BUDGETS = { cpuPercent: 27, rssPeakMB: 827, rssAvgMB: 640 } as const;

/**
 * How much slower the reference core (a 2.4 GHz Intel Core i3) is than one core of the machines
 * these figures are measured on (AMD EPYC server cores): single-thread scores of a 2.4 GHz
 * Kaby Lake i3 are about 1/1.8 of a current EPYC core's (PassMark single thread ~1,600 vs
 * ~2,900). Work that takes 10% of a core here takes about 18% of the reference core. Override it
 * (`--core-factor`) when running elsewhere.
 * @example
 * const reference = cpuPercentHere * REFERENCE_CORE_FACTOR
 */
export const REFERENCE_CORE_FACTOR = 1.8;

const MB = 1024 * 1024;

/**
 * Samples at `hz` (default 10) until `stop()`.
 * @example
 * const sampler = UsageSampler.start()
 * await workload()
 * const { cpuPercentReference, rssPeakMB } = sampler.stop()
 */
export class UsageSampler {
  readonly #samples: UsageSample[] = [];
  readonly #start = performance.now();
  readonly #coreFactor: number;
  readonly #timer: NodeJS.Timeout;
  #lastCpu = cpuNow();
  #stopped: UsageSummary | undefined;

  private constructor(hz: number, coreFactor: number) {
    this.#coreFactor = coreFactor;
    // The first sample is the start itself: on a loaded machine reading the clock again here could
    // already be a few milliseconds later.
    this.#take(0);
    this.#timer = setInterval(() => this.#take(), 1000 / hz);
    this.#timer.unref();
  }

  /**
   * Starts sampling at `hz` (default 10, at most 1000); `coreFactor` defaults to REFERENCE_CORE_FACTOR.
   * @example
   * const sampler = UsageSampler.start({ hz: 20, coreFactor: 2 })
   */
  static start(options: { hz?: number; coreFactor?: number } = {}): UsageSampler {
    const hz = options.hz ?? 10;
    if (!(hz > 0 && hz <= 1000)) throw new RangeError(`hz: expected 0 < hz <= 1000, got ${hz}`);
    const factor = options.coreFactor ?? REFERENCE_CORE_FACTOR;
    if (!(factor > 0 && Number.isFinite(factor))) throw new RangeError(`coreFactor: expected a positive number, got ${factor}`);
    return new UsageSampler(hz, factor);
  }

  /**
   * The samples so far, the first at t = 0.
   * @example
   * sampler.samples[0]!.t // 0
   */
  get samples(): readonly UsageSample[] {
    return this.#samples;
  }

  /**
   * Takes a last sample, stops, and sums up; later calls return the same summary.
   * @example
   * const { cpuPercent, rssPeakMB, rssAvgMB } = sampler.stop()
   */
  stop(): UsageSummary {
    if (this.#stopped) return this.#stopped;
    clearInterval(this.#timer);
    this.#take();
    const durationMs = performance.now() - this.#start;
    const cpuUs = this.#samples.reduce((a, s) => a + s.cpuUs, 0);
    const cpuPercent = durationMs > 0 ? (cpuUs / 1000 / durationMs) * 100 : 0;
    const rss = this.#samples.map((s) => s.rss);
    this.#stopped = {
      durationMs: Math.round(durationMs),
      samples: this.#samples.length,
      cpuPercent: round2(cpuPercent),
      cpuPercentReference: round2(cpuPercent * this.#coreFactor),
      coreFactor: this.#coreFactor,
      rssPeakMB: round2(Math.max(...rss) / MB),
      rssAvgMB: round2(rss.reduce((a, b) => a + b, 0) / rss.length / MB),
    };
    return this.#stopped;
  }

  #take(t = Math.round(performance.now() - this.#start)): void {
    const cpu = cpuNow();
    this.#samples.push({ t, cpuUs: cpu - this.#lastCpu, rss: process.memoryUsage.rss() });
    this.#lastCpu = cpu;
  }
}

/**
 * Whether a summary is inside the budgets, gate by gate (each value must stay below its limit).
 * @example
 * const gates = checkBudgets(sampler.stop())
 * if (!gates.rssPeak.pass) console.log(`RSS peak ${gates.rssPeak.value} MB ≥ ${gates.rssPeak.limit}`)
 */
export function checkBudgets(u: UsageSummary, budgets: { cpuPercent: number; rssPeakMB: number; rssAvgMB: number } = BUDGETS) {
  return {
    cpu: { value: u.cpuPercentReference, limit: budgets.cpuPercent, pass: u.cpuPercentReference < budgets.cpuPercent },
    rssPeak: { value: u.rssPeakMB, limit: budgets.rssPeakMB, pass: u.rssPeakMB < budgets.rssPeakMB },
    rssAvg: { value: u.rssAvgMB, limit: budgets.rssAvgMB, pass: u.rssAvgMB < budgets.rssAvgMB },
  };
}

function cpuNow(): number {
  const c = process.cpuUsage();
  return c.user + c.system;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
