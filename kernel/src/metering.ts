/**
 * Per-module metering: calls, errors by code, wall-time percentiles, bytes in and out, memory
 * pages and cost units (priced by the roles' formula, `costUnits` in @mcp0/abi). Constant memory per
 * module: wall times go into a log-linear histogram.
 */
import { costUnits } from '@mcp0/abi';

/** Sub-buckets per power of two: percentiles are within about 19% of the true value. */
const SUB = 4;
const BUCKETS = 40 * SUB;

/** A log-linear histogram of microsecond durations. */
export class Histogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #max = 0;

  record(us: number): void {
    const v = Math.max(1, us);
    const exp = Math.floor(Math.log2(v));
    const frac = v / 2 ** exp - 1; // in [0, 1)
    const index = Math.min(BUCKETS - 1, exp * SUB + Math.floor(frac * SUB));
    this.#counts[index]!++;
    this.#count++;
    if (us > this.#max) this.#max = us;
  }

  /** The upper edge of the bucket holding quantile `q` (0..1), in µs; 0 when empty. */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.ceil(q * this.#count);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) {
        const exp = Math.floor(i / SUB);
        return Math.min(this.#max, 2 ** exp * (1 + ((i % SUB) + 1) / SUB));
      }
    }
    return this.#max;
  }

  get max(): number {
    return this.#max;
  }
}

/** A module's metrics, as returned by `kernel.metrics()`. */
export interface ModuleMetrics {
  calls: number;
  errors: number;
  errorsByCode: Record<string, number>;
  wallUs: { p50: number; p90: number; p99: number; max: number; total: number };
  bytesIn: number;
  bytesOut: number;
  costUnits: number;
  memoryPages: number | null;
  restarts: number;
}

/** The running meter of one module. */
export class Meter {
  readonly #wall = new Histogram();
  #calls = 0;
  #errors = 0;
  readonly #byCode: Record<string, number> = {};
  #wallTotal = 0;
  #bytesIn = 0;
  #bytesOut = 0;
  #cost = 0;
  #pages: number | null = null;
  restarts = 0;

  /** Record one call (positional, not a sample object: this runs on every call); returns its cost units. */
  record(wallUs: number, bytesIn: number, bytesOut: number, error?: string, memoryPages?: number): number {
    const cost = costUnits(wallUs, bytesIn, bytesOut);
    this.#calls++;
    this.#wall.record(wallUs);
    this.#wallTotal += wallUs;
    this.#bytesIn += bytesIn;
    this.#bytesOut += bytesOut;
    this.#cost += cost;
    if (memoryPages !== undefined) this.#pages = memoryPages;
    if (error !== undefined) {
      this.#errors++;
      this.#byCode[error] = (this.#byCode[error] ?? 0) + 1;
    }
    return cost;
  }

  snapshot(): ModuleMetrics {
    return {
      calls: this.#calls,
      errors: this.#errors,
      errorsByCode: { ...this.#byCode },
      wallUs: {
        p50: this.#wall.quantile(0.5),
        p90: this.#wall.quantile(0.9),
        p99: this.#wall.quantile(0.99),
        max: this.#wall.max,
        total: Math.round(this.#wallTotal),
      },
      bytesIn: this.#bytesIn,
      bytesOut: this.#bytesOut,
      costUnits: this.#cost,
      memoryPages: this.#pages,
      restarts: this.restarts,
    };
  }
}
