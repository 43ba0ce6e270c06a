/**
 * The unit of the suite: a named case that passes, fails with a message naming what was expected
 * and what came, or is skipped with a reason. Cases throw `CaseFailure` (via `check`) to fail; any
 * other exception is also a failure, reported with its code when it is a typed MCP-ZERO error.
 */
import { Mcp0Error } from '@mcp0/abi';

/** A case's verdict. */
export type CaseStatus = 'pass' | 'fail' | 'skip';

/** One case's result, as reports carry it. */
export interface CaseResult {
  /** The plugin (manifest name) or distribution the case ran against. */
  subject: string;
  suite: string;
  case: string;
  status: CaseStatus;
  ms: number;
  /** Why it failed or was skipped. */
  message?: string;
  details?: Record<string, unknown>;
}

/** A failed expectation. */
export class CaseFailure extends Error {
  readonly details: Record<string, unknown>;
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'CaseFailure';
    this.details = details;
  }
}

/** Thrown by a case that does not apply: reported as skipped, with the reason. */
export class CaseSkip extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'CaseSkip';
  }
}

/**
 * Fails the case with `message` unless `ok`.
 * @example
 * check(out.length === 32, `root: expected 32 bytes, got ${out.length}`)
 */
export function check(ok: unknown, message: string, details: Record<string, unknown> = {}): asserts ok {
  if (!ok) throw new CaseFailure(message, details);
}

/**
 * Runs `work`, which must fail with a typed error whose code is one of `codes`; returns it.
 * @example
 * await rejectsWith(() => kernel.callValue(name, 'get', 7), ['EINPUT'], 'get with a number')
 */
export async function rejectsWith(work: () => Promise<unknown>, codes: readonly string[], what: string): Promise<Mcp0Error> {
  let result: unknown;
  try {
    result = await work();
  } catch (e) {
    if (e instanceof Mcp0Error && codes.includes(e.code)) return e;
    const got = e instanceof Mcp0Error ? `${e.code}: ${e.message}` : `${(e as Error)?.name ?? typeof e}: ${(e as Error)?.message ?? String(e)}`;
    throw new CaseFailure(`${what}: expected a typed error ${codes.join(' or ')}, got ${got}`);
  }
  throw new CaseFailure(`${what}: expected a typed error ${codes.join(' or ')}, but it succeeded with ${describe(result)}`);
}

function describe(v: unknown): string {
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  const text = JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? `<${x.length} bytes>` : x));
  return text === undefined ? String(v) : text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

/** A case of a suite whose cases share a context `C`. */
export interface Case<C> {
  name: string;
  /** Left out under `--quick` (slow cases: 16 MiB payloads, long loops). */
  slow?: boolean;
  /**
   * Earlier cases of the suite this one means nothing without (a module that does not load cannot
   * answer its version marker): when one of them failed, this case is skipped, naming it, rather
   * than failing again with the same message.
   */
  needs?: readonly string[];
  run(ctx: C): Promise<void>;
}

/**
 * Why a case does not run when one it needs failed.
 * @example
 * notRun('signature verifies against the trusted keys') // 'not run: it needs "signature verifies…", which failed'
 */
export const notRun = (needed: string): string => `not run: it needs "${needed}", which failed`;

/** A named group of cases with a shared set-up. */
export interface Suite<S, C> {
  name: string;
  /** Builds the cases' context from the subject; throwing fails every case with that message. */
  setup(subject: S): Promise<C>;
  teardown?(ctx: C): Promise<void>;
  cases: readonly Case<C>[];
}

/** Options every suite run takes. */
export interface RunOptions {
  quick?: boolean;
  /** Called after each case, for progress. */
  onResult?: (r: CaseResult) => void;
}

/**
 * Runs a suite's cases in order, each isolated from the others' failures.
 * @example
 * const results = await runSuite(abiSuite, plugin, { quick: true })
 */
export async function runSuite<S extends { name: string }, C>(suite: Suite<S, C>, subject: S, options: RunOptions = {}): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const emit = (r: Omit<CaseResult, 'subject'>) => {
    const full = { subject: subject.name, ...r };
    results.push(full);
    options.onResult?.(full);
  };
  let ctx: C;
  try {
    ctx = await suite.setup(subject);
  } catch (e) {
    const message = `set-up failed: ${messageOf(e)}`;
    for (const c of suite.cases) emit({ suite: suite.name, case: c.name, status: 'fail', ms: 0, message });
    return results;
  }
  const failed = new Set<string>();
  try {
    for (const c of suite.cases) {
      const unmet = c.needs?.find((n) => failed.has(n));
      if (unmet !== undefined) {
        emit({ suite: suite.name, case: c.name, status: 'skip', ms: 0, message: notRun(unmet) });
        continue;
      }
      if (options.quick && c.slow) {
        emit({ suite: suite.name, case: c.name, status: 'skip', ms: 0, message: 'slow: left out by --quick' });
        continue;
      }
      const t = performance.now();
      try {
        await c.run(ctx);
        emit({ suite: suite.name, case: c.name, status: 'pass', ms: Math.round(performance.now() - t) });
      } catch (e) {
        const status = e instanceof CaseSkip ? 'skip' : 'fail';
        if (status === 'fail') failed.add(c.name);
        emit({
          suite: suite.name,
          case: c.name,
          status,
          ms: Math.round(performance.now() - t),
          message: messageOf(e),
          ...(e instanceof CaseFailure && Object.keys(e.details).length > 0 ? { details: e.details } : {}),
        });
      }
    }
  } finally {
    await suite.teardown?.(ctx).catch(() => undefined);
  }
  return results;
}

/**
 * A suite's cases, each skipped for `reason` (its subject failed something every case needs).
 * @example
 * const results = skipSuite(storageSuite, plugin, notRun('signature verifies against the trusted keys'))
 */
export function skipSuite<S extends { name: string }, C>(suite: Suite<S, C>, subject: S, reason: string, options: RunOptions = {}): CaseResult[] {
  return suite.cases.map((c) => {
    const r: CaseResult = { subject: subject.name, suite: suite.name, case: c.name, status: 'skip', ms: 0, message: reason };
    options.onResult?.(r);
    return r;
  });
}

function messageOf(e: unknown): string {
  if (e instanceof CaseFailure || e instanceof CaseSkip) return e.message;
  if (e instanceof Mcp0Error) return `${e.code}: ${e.message}`;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
