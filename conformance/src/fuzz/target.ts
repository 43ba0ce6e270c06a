/**
 * The parent's handle on one target child: forks it, hands it modules, and watches it. A child
 * that exits unexpectedly, stays silent past the budget of the operation it announced (its event
 * loop is held), or grows past the RSS ceiling is a host crash; the child is then killed and the
 * campaign carries on with a fresh one.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError } from '@mcp0/abi';
import type { CrashMessage, DoneMessage, FromChild, InitMessage, ModuleMessage, PhaseMessage, RssMessage, SampleMessage } from './protocol.js';

/**
 * A host crash, as the campaign records it: what the child reported (without the wire fields), or
 * what the parent saw of a child that died, hung or grew too big.
 */
export interface Crash extends Omit<CrashMessage, 't' | 'kind' | 'fatal'> {
  kind: CrashMessage['kind'] | 'exit' | 'hang' | 'memory';
  /** The end of the child's stderr and stdout, when it died. */
  output?: string;
}

/** What running one module gave: its outcomes (unless the child died first) and its crashes. */
export interface ModuleRun {
  done?: DoneMessage;
  crashes: Crash[];
  /** The child is gone: start a new one. */
  dead: boolean;
}

/** What the RSS run gave. */
export interface RssRun {
  samples: SampleMessage[];
  outcomes: Record<string, number>;
  calls: number;
  crashes: Crash[];
}

/** How the parent watches its child. */
export interface TargetOptions {
  /** Extra time past an announced budget before the parent calls the child hung. */
  graceMs: number;
  /** RSS over which the child is killed as holding unbounded memory, in bytes. */
  maxRssBytes: number;
  /** V8's old-space limit of the child, in MiB: a heap blow-up ends as a crash, not as swapping. */
  maxOldSpaceMb: number;
}

/** Under the TypeScript sources (tests) the child is the built file, since node cannot run TypeScript. */
function childEntry(): string {
  const here = import.meta.url;
  const path = fileURLToPath(new URL(here.endsWith('.ts') ? '../../dist/fuzz/child.js' : './child.js', here));
  if (!existsSync(path)) throw new UsageError('EUSAGE', `the fuzz child ${path} is missing: expected a built conformance package (run npx tsc -b)`, { path });
  return path;
}

/** The RSS of a process from /proc (Linux); undefined where that cannot be read. */
function rssOf(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Listeners of the operation in progress. */
interface Pending {
  message(m: FromChild): void;
  ended(crash: Crash | undefined): void;
}

/** One target child. */
export class Target {
  readonly #child: ChildProcess;
  readonly #options: TargetOptions;
  #output = '';
  #pending: Pending | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  readonly #memoryPoll: NodeJS.Timeout;
  #last: Omit<PhaseMessage, 't'> = { seed: -1, phase: 'load', budgetMs: 0 };
  /** The child said it is about to exit (a fatal crash it reported itself). */
  #exiting = false;
  #dead = false;
  #ended: Crash | undefined;
  /** The child has announced an operation of the module in hand. */
  #started = false;
  #previousSeed: number | undefined;
  /** Crashes seen while no module was in hand (the child died between modules). */
  readonly #orphans: Crash[] = [];

  private constructor(options: TargetOptions) {
    this.#options = options;
    this.#child = fork(childEntry(), [], {
      serialization: 'advanced',
      execArgv: ['--no-warnings', '--expose-gc', `--max-old-space-size=${options.maxOldSpaceMb}`],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const keep = (d: Buffer) => {
      this.#output = (this.#output + d.toString()).slice(-8192);
    };
    this.#child.stdout!.on('data', keep);
    this.#child.stderr!.on('data', keep);
    this.#child.on('message', (m: FromChild) => {
      if (m.t === 'phase') {
        this.#last = m;
        this.#started = true;
        this.#arm(m.budgetMs);
      }
      if (m.t === 'crash' && m.fatal) this.#exiting = true;
      this.#pending?.message(m);
    });
    // 'close', not 'exit': it comes after stdout and stderr are drained, so a fatal error's last words are kept.
    this.#child.on('close', (code, signal) => {
      this.#dead = true;
      this.#disarm();
      clearInterval(this.#memoryPoll);
      let crash: Crash | undefined =
        this.#exiting || this.#ended
          ? this.#ended
          : { ...this.#where(), kind: 'exit', message: `the target process exited (${signal ?? `code ${code}`})`, output: this.#output.trim() };
      if (crash && !this.#started && this.#previousSeed !== undefined) {
        // Dead before it began the module in hand: what killed it may be left over from the one before.
        crash = { ...crash, message: `${crash.message}, before it started this module (the one before was seed ${this.#previousSeed})` };
      }
      if (this.#pending) this.#pending.ended(crash);
      else if (crash) this.#orphans.push(crash);
    });
    this.#child.on('error', () => undefined); // 'close' follows and reports
    this.#memoryPoll = setInterval(() => {
      const rss = this.#child.pid === undefined ? undefined : rssOf(this.#child.pid);
      if (rss !== undefined && rss > this.#options.maxRssBytes) {
        this.#kill({
          ...this.#where(),
          kind: 'memory',
          message: `the target process held ${Math.round(rss / 2 ** 20)} MiB, over the ${Math.round(this.#options.maxRssBytes / 2 ** 20)} MiB ceiling`,
        });
      }
    }, 500);
    this.#memoryPoll.unref();
  }

  /**
   * Fork a child and initialise its kernel (the hello plugin loaded in every tier). Throws EUSAGE
   * when that fails: then nothing can be fuzzed.
   */
  static async start(init: InitMessage, options: TargetOptions): Promise<Target> {
    const target = new Target(options);
    const ready = new Promise<void>((resolve, reject) => {
      target.#pending = {
        message: (m) => {
          if (m.t === 'ready') resolve();
          else if (m.t === 'crash') reject(new UsageError('EUSAGE', `the fuzz child could not start its kernel: ${m.message}`));
        },
        ended: (crash) =>
          reject(
            new UsageError(
              'EUSAGE',
              `the fuzz child exited while starting: ${crash?.message ?? 'no reason given'}; its output ends: ${target.#output.slice(-1000)}`,
            ),
          ),
      };
      target.#arm(60_000);
      target.#child.send(init);
    });
    try {
      await ready;
    } catch (e) {
      target.#pending = undefined;
      await target.close();
      throw e;
    } finally {
      target.#pending = undefined;
      target.#disarm();
    }
    return target;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get dead(): boolean {
    return this.#dead;
  }

  /** Crashes seen between modules, handed over once. */
  takeOrphans(): Crash[] {
    return this.#orphans.splice(0);
  }

  /** Start a module or the RSS run: its seed becomes where crashes are attributed. */
  #begin(seed: number): void {
    this.#previousSeed = this.#last.seed >= 0 ? this.#last.seed : undefined;
    this.#last = { seed, phase: 'load', budgetMs: 0 };
    this.#started = false;
  }

  #where(): Omit<Crash, 'kind' | 'message'> {
    const { seed, tier, phase, export: exportName, input } = this.#last;
    return { seed, phase, ...(tier ? { tier } : {}), ...(exportName ? { export: exportName } : {}), ...(input ? { input } : {}) };
  }

  #arm(budgetMs: number): void {
    this.#disarm();
    this.#watchdog = setTimeout(() => {
      this.#kill({
        ...this.#where(),
        kind: 'hang',
        message: `the target went silent during ${this.#last.phase} for over ${budgetMs + this.#options.graceMs} ms (its budget ${budgetMs} ms plus ${this.#options.graceMs} ms): its event loop was held`,
      });
    }, budgetMs + this.#options.graceMs);
  }

  #disarm(): void {
    if (this.#watchdog) clearTimeout(this.#watchdog);
    this.#watchdog = undefined;
  }

  /** Kill the child for a crash the parent saw; its 'close' then reports that crash. */
  #kill(crash: Crash): void {
    if (this.#dead || this.#ended) return;
    this.#ended = { ...crash, output: this.#output.trim() };
    this.#child.kill('SIGKILL');
  }

  /**
   * Load and call one module; resolves when the child reports it done or dies.
   * @example
   * const run = await target.run({ t: 'module', seed, bytes, exports })
   */
  run(message: ModuleMessage): Promise<ModuleRun> {
    return new Promise((resolve) => {
      const crashes: Crash[] = [];
      if (this.#dead) return resolve({ crashes: this.takeOrphans(), dead: true });
      this.#begin(message.seed);
      this.#pending = {
        message: (m) => {
          if (m.t === 'crash')
            crashes.push({
              seed: m.seed,
              kind: m.kind,
              ...(m.tier ? { tier: m.tier } : {}),
              ...(m.phase ? { phase: m.phase } : {}),
              ...(m.export ? { export: m.export } : {}),
              ...(m.input ? { input: m.input } : {}),
              message: m.message,
              ...(m.stack ? { stack: m.stack } : {}),
            });
          if (m.t === 'done') {
            this.#pending = undefined;
            this.#disarm();
            if (m.rss > this.#options.maxRssBytes) {
              crashes.push({
                seed: m.seed,
                kind: 'memory',
                message: `the target process held ${Math.round(m.rss / 2 ** 20)} MiB after the module, over the ceiling`,
              });
              this.#kill(crashes[crashes.length - 1]!);
              return resolve({ done: m, crashes, dead: true });
            }
            resolve({ done: m, crashes, dead: false });
          }
        },
        ended: (crash) => {
          this.#pending = undefined;
          if (crash) crashes.push(crash);
          resolve({ crashes, dead: true });
        },
      };
      this.#arm(30_000);
      this.#child.send(message);
    });
  }

  /**
   * The RSS run: calls against a fixed set of modules, with samples.
   * @example
   * const { samples } = await target.rss({ t: 'rss', seed, modules, calls: 10_000, sampleEvery: 500 })
   */
  rss(message: RssMessage, onSample: (s: SampleMessage) => void): Promise<RssRun> {
    return new Promise((resolve) => {
      const run: RssRun = { samples: [], outcomes: {}, calls: 0, crashes: [] };
      if (this.#dead) return resolve({ ...run, crashes: this.takeOrphans() });
      this.#begin(message.seed);
      this.#pending = {
        message: (m) => {
          if (m.t === 'sample') {
            run.samples.push(m);
            onSample(m);
          } else if (m.t === 'crash') {
            run.crashes.push({
              seed: m.seed,
              kind: m.kind,
              ...(m.tier ? { tier: m.tier } : {}),
              ...(m.phase ? { phase: m.phase } : {}),
              ...(m.export ? { export: m.export } : {}),
              ...(m.input ? { input: m.input } : {}),
              message: m.message,
              ...(m.stack ? { stack: m.stack } : {}),
            });
          } else if (m.t === 'rss-done') {
            this.#pending = undefined;
            this.#disarm();
            resolve({ ...run, outcomes: m.outcomes, calls: m.calls });
          }
        },
        ended: (crash) => {
          this.#pending = undefined;
          if (crash) run.crashes.push(crash);
          resolve(run);
        },
      };
      this.#arm(60_000);
      this.#child.send(message);
    });
  }

  /** End the child (between modules, or at the end of the campaign). */
  async close(): Promise<void> {
    this.#disarm();
    clearInterval(this.#memoryPoll);
    if (this.#dead) return;
    const exited = new Promise<void>((resolve) => this.#child.once('close', () => resolve()));
    this.#ended ??= { seed: -1, kind: 'exit', message: 'closed' };
    this.#child.kill('SIGKILL');
    await exited;
  }
}
