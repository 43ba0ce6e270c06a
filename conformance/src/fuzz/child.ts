/**
 * The fuzz target: a child process holding one kernel, forked by the campaign. For each module it
 * is sent, it loads the module in each tier, calls every export with hostile inputs, unloads it,
 * and checks that the hello plugin still answers `greet`. Typed errors are counted by code; what
 * the kernel must never do is reported as a host crash: an uncaught exception or unhandled
 * rejection, an error that is not a typed Mcp0Error, an operation that does not settle or that
 * held the event loop past its budget, a kernel that stopped serving. When the process itself
 * dies or goes silent, the parent sees it. The RSS run also happens here.
 */
import { CAPABILITIES, Mcp0Error, isErrorCode, publicKeyFromBytes, type Grant } from '@mcp0/abi';
import { Kernel, type Tier } from '@mcp0/kernel';
import { hostileInput } from './inputs.js';
import { Prng } from './prng.js';
import type { ChildCrashKind, CrashMessage, FromChild, InitMessage, ModuleMessage, Phase, PhaseMessage, RssMessage, ToChild } from './protocol.js';
import { fuzzProviders } from './providers.js';

/** Every capability, unscoped: fuzzed modules get everything the host can give. */
const GRANTS: Grant[] = CAPABILITIES.map((name) => ({ name }));

/**
 * A worker-tier load may take the kernel's thread start allowance (10 s) on top of the module's
 * start function and `mcp0_init`; an inline load the start function and `mcp0_init`.
 */
const THREAD_START_MS = 10_000;

/** The greeting the hello plugin must keep answering. */
const GREETING = 'hello, fuzz';

let settings: InitMessage;
let kernel: Kernel;
/** Where the child is, for crash reports. */
let where: Omit<PhaseMessage, 't' | 'budgetMs'> = { seed: -1, phase: 'load' };
let maxLagMs = 0;

function send(message: FromChild): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send!(message, undefined, {}, () => resolve());
  });
}

function describeError(e: unknown): { message: string; stack?: string } {
  if (e instanceof Error) return { message: `${e.name}: ${e.message}`, ...(e.stack ? { stack: e.stack } : {}) };
  let text: string;
  try {
    text = typeof e === 'object' ? String(JSON.stringify(e)).slice(0, 500) : String(e);
  } catch {
    text = Object.prototype.toString.call(e); // circular, or holding a BigInt
  }
  return { message: `thrown non-error: ${text}` };
}

async function crash(kind: ChildCrashKind, message: string, fatal: boolean, stack?: string): Promise<void> {
  const m: CrashMessage = { t: 'crash', ...where, kind, message: message.slice(0, 4000), fatal, ...(stack ? { stack: stack.slice(0, 4000) } : {}) };
  await send(m);
  if (fatal) exit(70);
}

function exit(code: number): void {
  // Worker threads would keep the process alive; a crash must end it.
  process.exit(code);
}

process.on('uncaughtException', (e) => {
  const { message, stack } = describeError(e);
  void crash('uncaught-exception', message, true, stack);
  setTimeout(() => exit(70), 2000).unref();
});
process.on('unhandledRejection', (e) => {
  const { message, stack } = describeError(e);
  void crash('unhandled-rejection', message, true, stack);
  setTimeout(() => exit(70), 2000).unref();
});
process.on('disconnect', () => exit(0));

// The event loop's worst delay, sampled every 50 ms: a module that holds the loop outside any
// call (compiling, instrumenting, starting) shows here.
let tick = performance.now();
setInterval(() => {
  const now = performance.now();
  maxLagMs = Math.max(maxLagMs, now - tick - 50);
  tick = now;
}, 50).unref();

/** What one guarded kernel operation gave. */
type Result<T> = { ok: true; value: T } | { ok: false; error: unknown } | { unsettled: true };

/**
 * Run one kernel operation under a watchdog of `budgetMs`, announcing it to the parent first.
 * A call still pending at the deadline, or one that took longer (the loop was held, so the timer
 * could not fire), is a host crash.
 */
async function guarded<T>(at: Omit<PhaseMessage, 't' | 'seed' | 'budgetMs'>, budgetMs: number, op: () => Promise<T>): Promise<Result<T>> {
  where = { seed: where.seed, ...at };
  void send({ t: 'phase', ...where, budgetMs });
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  let pending: Promise<T>;
  try {
    pending = op();
  } catch (e) {
    pending = Promise.reject(e);
  }
  const settled = pending.then(
    (value): Result<T> => ({ ok: true, value }),
    (error: unknown): Result<T> => ({ ok: false, error }),
  );
  const deadline = new Promise<Result<T>>((resolve) => (timer = setTimeout(() => resolve({ unsettled: true }), budgetMs)));
  const result = await Promise.race([settled, deadline]);
  clearTimeout(timer);
  const elapsed = performance.now() - start;
  if ('unsettled' in result) {
    await crash('unsettled', `${at.phase} did not settle within ${budgetMs} ms`, true);
  } else if (elapsed > budgetMs) {
    await crash('overran', `${at.phase} took ${Math.round(elapsed)} ms, over its ${budgetMs} ms budget (the event loop was held)`, false);
  }
  return result;
}

/** The outcome key of a result (`load:ok`, `call:ETRAP`...); an untyped error is a host crash. */
async function outcome(phase: Phase, result: Result<unknown>, counts: Record<string, number>): Promise<void> {
  let key: string;
  if ('unsettled' in result) key = `${phase}:UNSETTLED`;
  else if (result.ok) key = `${phase}:ok`;
  else if (result.error instanceof Mcp0Error && isErrorCode(result.error.code)) {
    key = `${phase}:${result.error.code}`;
    if (result.error.code === 'EINTERNAL') await crash('internal-error', result.error.message, false, result.error.stack);
  } else {
    key = `${phase}:UNTYPED`;
    const { message, stack } = describeError(result.error);
    await crash('untyped-error', message, false, stack);
  }
  counts[key] = (counts[key] ?? 0) + 1;
}

const loadBudget = (tier: Tier) => (tier === 'worker' ? THREAD_START_MS : 0) + 2 * settings.limits.timeoutMs + settings.slackMs;
/**
 * A call that fails with a timeout or a trap also replaces its instance before it settles, which
 * in the worker tier means starting a thread: the kernel's own start allowance is added there.
 */
const callBudget = (tier: Tier) => (tier === 'worker' ? THREAD_START_MS : 0) + settings.limits.timeoutMs + settings.slackMs;

/** The hello plugin must still answer, in every tier. */
async function checkServing(): Promise<void> {
  for (const tier of settings.tiers) {
    const r = await guarded({ tier, phase: 'check', export: 'greet' }, callBudget(tier), () =>
      kernel.callValue(`fuzz.hello.${tier}`, 'greet', { name: 'fuzz' }),
    );
    if (!('ok' in r) || !r.ok || r.value !== GREETING) {
      const got = 'ok' in r ? (r.ok ? JSON.stringify(r.value) : describeError(r.error).message) : 'no answer';
      await crash('stopped-serving', `the hello plugin (${tier}) no longer answers greet: expected ${JSON.stringify(GREETING)}, got ${got}`, true);
    }
  }
}

async function start(message: InitMessage): Promise<void> {
  settings = message;
  kernel = new Kernel({
    trust: message.trust.map((k) => publicKeyFromBytes(k)),
    providers: fuzzProviders(),
    // Quick restarts, so that restarting a failed module happens while the campaign is looking.
    restart: { failureThreshold: 5, backoffMs: 5, maxBackoffMs: 50 },
  });
  for (const tier of settings.tiers) {
    await kernel.load(message.hello, { name: `fuzz.hello.${tier}`, isolation: tier, grants: GRANTS });
  }
  await checkServing();
  await send({ t: 'ready' });
}

/**
 * Calls in flight together, and in half the modules the unload among them: the call queue, the
 * instance replacements and `stop` must interleave without losing a call, the module or the
 * kernel. Each call and the unload is counted like a sequential one.
 */
async function runBurst(message: ModuleMessage, tier: Tier, name: string, counts: Record<string, number>): Promise<{ calls: number; unloaded: boolean }> {
  if (message.exports.length === 0) return { calls: 0, unloaded: false };
  const rng = new Prng(`fuzz/${message.seed}/${tier}/burst`);
  const n = rng.range(2, 6);
  const unloadAt = rng.chance(0.5) ? rng.int(n + 1) : -1;
  const ops: { phase: Phase; run: () => Promise<unknown> }[] = [];
  for (let i = 0; i <= n; i++) {
    if (i === unloadAt) ops.push({ phase: 'unload', run: () => kernel.unload(name) });
    if (i === n) break;
    const exportName = rng.pick(message.exports);
    // Small inputs only: several are alive at once.
    const input = hostileInput(rng, settings.maxInputBytes, false);
    ops.push({ phase: 'call', run: () => kernel.call(name, exportName, input.bytes) });
  }
  const settle = (op: () => Promise<unknown>): Promise<Result<unknown>> => {
    try {
      return op().then(
        (value): Result<unknown> => ({ ok: true, value }),
        (error: unknown): Result<unknown> => ({ ok: false, error }),
      );
    } catch (error) {
      return Promise.resolve({ ok: false, error });
    }
  };
  const r = await guarded({ tier, phase: 'burst' }, callBudget(tier) * ops.length, () => Promise.all(ops.map((op) => settle(op.run))));
  if (!('ok' in r) || !r.ok) return { calls: 0, unloaded: unloadAt >= 0 };
  for (const [i, result] of r.value.entries()) await outcome(ops[i]!.phase === 'unload' ? 'unload' : 'call', result, counts);
  return { calls: n, unloaded: unloadAt >= 0 };
}

async function runModule(message: ModuleMessage): Promise<void> {
  where = { seed: message.seed, phase: 'load' };
  maxLagMs = 0;
  const counts: Record<string, number> = {};
  const loaded: Tier[] = [];
  let calls = 0;
  for (const tier of settings.tiers) {
    const name = `fuzz.m${message.seed}.${tier}`;
    const options = { name, isolation: tier, grants: GRANTS, timeoutMs: settings.limits.timeoutMs, memoryPages: settings.limits.memoryPages };
    const load = await guarded({ tier, phase: 'load' }, loadBudget(tier), () => kernel.load(message.bytes, options));
    await outcome('load', load, counts);
    if (!('ok' in load) || !load.ok) continue;
    loaded.push(tier);
    for (const exportName of message.exports) {
      const rng = new Prng(`fuzz/${message.seed}/${tier}/${exportName}`);
      for (let i = 0; i < settings.inputsPerExport; i++) {
        const input = hostileInput(rng, settings.maxInputBytes);
        const r = await guarded({ tier, phase: 'call', export: exportName, input: input.kind }, callBudget(tier), () =>
          kernel.call(name, exportName, input.bytes),
        );
        await outcome('call', r, counts);
        calls++;
      }
    }
    const burst = await runBurst(message, tier, name, counts);
    calls += burst.calls;
    if (burst.unloaded && !kernel.modules().some((m) => m.name === name)) continue;
    // A module the restart policy marked failed comes back after its backoff: give it the time,
    // then call it once more, so a restart that goes wrong happens under watch.
    if (load.value.state === 'failed' && message.exports.length > 0) {
      await new Promise((resolve) => setTimeout(resolve, 60));
      const r = await guarded({ tier, phase: 'settle', export: message.exports[0]! }, callBudget(tier), () =>
        kernel.call(name, message.exports[0]!, new Uint8Array(0)),
      );
      await outcome('call', r, counts);
      calls++;
    }
    await outcome('unload', await guarded({ tier, phase: 'unload' }, callBudget(tier), () => kernel.unload(name)), counts);
  }
  await checkServing();
  if (maxLagMs > callBudget('inline'))
    await crash('event-loop-blocked', `the event loop was held for ${Math.round(maxLagMs)} ms, over ${callBudget('inline')} ms`, false);
  await send({ t: 'done', seed: message.seed, outcomes: counts, calls, loaded, rss: process.memoryUsage().rss, maxLagMs: Math.round(maxLagMs) });
}

async function runRss(message: RssMessage): Promise<void> {
  where = { seed: message.seed, phase: 'load' };
  const counts: Record<string, number> = {};
  const targets: { name: string; exportName: string; tier: Tier }[] = [];
  for (const [i, m] of message.modules.entries()) {
    for (const tier of settings.tiers) {
      const name = `fuzz.rss${i}.${tier}`;
      const load = await guarded({ tier, phase: 'load' }, loadBudget(tier), () => kernel.load(m.bytes, { name, isolation: tier, grants: GRANTS }));
      await outcome('load', load, counts);
      if ('ok' in load && load.ok) targets.push(...m.exports.map((exportName) => ({ name, exportName, tier })));
    }
  }
  if (targets.length === 0) throw new Mcp0Error('EUSAGE', 'the RSS run loaded none of its modules');
  const rng = new Prng(`fuzz/rss/${message.seed}`);
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let c = 0; c < message.calls; c++) {
    const t = targets[c % targets.length]!;
    const input = hostileInput(rng, settings.maxInputBytes);
    const r = await guarded({ tier: t.tier, phase: 'call', export: `${t.name}/${t.exportName}`, input: input.kind }, callBudget(t.tier), () =>
      kernel.call(t.name, t.exportName, input.bytes),
    );
    await outcome('call', r, counts);
    if ((c + 1) % message.sampleEvery === 0) {
      // After a full collection, RSS shows what the host holds, not garbage not yet collected.
      gc?.();
      await send({ t: 'sample', calls: c + 1, rss: process.memoryUsage().rss });
    }
  }
  await send({ t: 'rss-done', outcomes: counts, calls: message.calls });
}

/** Messages are handled one at a time, in order. */
let queue: Promise<void> = Promise.resolve();
process.on('message', (message: ToChild) => {
  queue = queue
    .then(async () => {
      if (message.t === 'init') await start(message);
      else if (message.t === 'module') await runModule(message);
      else await runRss(message);
    })
    .catch(async (e: unknown) => {
      // The harness itself failed (not a kernel operation): report it as a crash and end.
      const { message: text, stack } = describeError(e);
      await crash('uncaught-exception', `fuzz child: ${text}`, true, stack);
    });
});
