/**
 * The operation pipeline (the seed's data flow): admit hooks in the configured order, any of
 * which may deny with a reason; then the agent's export inside its limits; then observe hooks with
 * the outcome, cost and timings. The kernel knows none of the hooks by name.
 */
import { CallError, DeniedError, decodeCbor, encodeCbor, type CborValue } from '@mcp0/abi';
import { sha256 } from '@noble/hashes/sha2.js';
import { isCutoff } from './cutoff.js';
import type { Operation } from './operation.js';

/** Hook order: module names. */
export interface Pipeline {
  admit: string[];
  observe: string[];
}

/** One operation to run. */
export interface ExecuteRequest {
  agent: string;
  /** The agent export that serves the intent. */
  intent: string;
  input: Uint8Array;
  /** Reuse an id to replay an operation deterministically. */
  id?: string;
  /** Logical time in ms; default now. */
  time?: number;
  /**
   * Wall-clock ms since the epoch after which no step of the operation may begin: an admit hook,
   * the export, a module the export calls. A step still waiting then fails ETIMEOUT (`isCutoff`).
   */
  deadline?: number;
  /** The caller's cancellation: aborting it cuts the operation like a passed deadline. */
  signal?: AbortSignal;
  /**
   * What caused the operation, exactly 32 bytes (else EUSAGE): for an operation run for a signed
   * rpc request, the SHA-256 of its envelope. Every hook of the operation gets it as `op.cause`
   * (ABI 1.2), so the trace can bind it into its chain.
   */
  cause?: Uint8Array;
}

/**
 * What observe hooks and the caller learn about an executed operation. `denied` reaches only the
 * observe hooks that had admitted an operation a later admit hook denied (ABI v1.1), or that a
 * cutoff stopped before its export began (code ETIMEOUT), so a hook
 * that reserved something for it can give it back; cost, wall time and output are then zero.
 */
export interface Outcome {
  status: 'ok' | 'error' | 'denied';
  code?: string;
  message?: string;
  cost: number;
  wallUs: number;
  bytesIn: number;
  bytesOut: number;
  inputHash: Uint8Array;
  outputHash: Uint8Array;
}

/** The result of `kernel.execute`. */
export interface ExecuteResult {
  op: Operation;
  output: Uint8Array;
  outcome: Outcome;
}

/** What the pipeline needs from the kernel. */
export interface PipelineRunner {
  hook(module: string, hook: 'admit' | 'observe', input: Uint8Array): Promise<Uint8Array>;
  execute(input: Uint8Array): Promise<{ output: Uint8Array; cost: number; wallUs: number }>;
  hookError(module: string, hook: string, error: CallError): void;
}

/**
 * Run admit → execute → observe. A denial throws DeniedError (EDENIED); a failed execute rethrows
 * after observe. An admit hook that fails in any way (a trap, a timeout, an error, no valid
 * verdict) has denied: the pipeline fails closed, reports the hook's error, and the hooks that had
 * admitted observe the operation as denied, so they can give back what they reserved. An operation
 * cut by its deadline or its caller (`ExecuteRequest.deadline`, `signal`) before its export began
 * is neither denied nor failed: it rejects with the cutoff's ETIMEOUT, the admitted hooks observe
 * it as denied, and nothing is traced.
 */
export async function runPipeline(pipeline: Pipeline, op: Operation, input: Uint8Array, runner: PipelineRunner): Promise<ExecuteResult> {
  const opValue: { [key: string]: CborValue } = { id: op.id, agent: op.agent, intent: op.intent, time: op.time, inputBytes: input.length };
  // Only when there is one (ABI.md §5): an operation without a cause gives hooks the 1.1 input.
  if (op.cause !== undefined) opValue.cause = op.cause;
  // Hashed before the export runs, so nothing the export does can change what is recorded.
  const inputHash = sha256(input);
  for (let i = 0; i < pipeline.admit.length; i++) {
    const name = pipeline.admit[i]!;
    let verdict: Verdict;
    try {
      verdict = parseVerdict(name, await runner.hook(name, 'admit', encodeCbor({ op: opValue })));
    } catch (e) {
      const error = e instanceof CallError ? e : new CallError('EINTERNAL', (e as Error).message);
      if (isCutoff(error)) {
        // The caller's time ran out, no hook said no: the hooks that had admitted give back what
        // they reserved, and the caller learns the operation did not run.
        await giveBack(pipeline, i, opValue, deniedOutcome(input, inputHash, error), runner);
        throw error;
      }
      runner.hookError(name, 'admit', error);
      verdict = { allow: false, reason: `${name} failed (${error.code}): ${clip(error.message)}` };
    }
    if (!verdict.allow) {
      const denial = new DeniedError('EDENIED', `${name} denied ${op.agent}/${op.intent}: ${verdict.reason}`, {
        by: name,
        reason: verdict.reason,
        ...(verdict.retryAfterMs === undefined ? {} : { retryAfterMs: verdict.retryAfterMs }),
      });
      await giveBack(pipeline, i, opValue, deniedOutcome(input, inputHash, denial), runner);
      throw denial;
    }
  }
  const start = performance.now();
  let output: Uint8Array = new Uint8Array(0);
  let failure: CallError | undefined;
  let cost = 0;
  try {
    const r = await runner.execute(input);
    output = r.output;
    cost = r.cost;
  } catch (e) {
    failure = e instanceof CallError ? e : new CallError('EINTERNAL', (e as Error).message);
    if (isCutoff(failure)) {
      // Cut before the export began: nothing ran, so nothing is traced or billed; every admit
      // hook had admitted, and gives back what it reserved.
      await giveBack(pipeline, pipeline.admit.length, opValue, deniedOutcome(input, inputHash, failure), runner);
      throw failure;
    }
    // What the failed call used, as metered; at least one unit (a call refused before it ran).
    cost = typeof failure.details.cost === 'number' ? failure.details.cost : 1;
  }
  const outcome: Outcome = {
    status: failure ? 'error' : 'ok',
    ...(failure ? { code: failure.code, message: failure.message } : {}),
    cost,
    wallUs: Math.round((performance.now() - start) * 1000),
    bytesIn: input.length,
    bytesOut: output.length,
    inputHash,
    outputHash: sha256(output),
  };
  await observe(pipeline.observe, opValue, outcome, runner);
  if (failure) throw failure;
  return { op, output, outcome };
}

/**
 * An operation that will not run: the first `admitted` admit hooks had allowed it, and those of
 * them that also observe are told it was denied, so they give back what they reserved.
 */
function giveBack(pipeline: Pipeline, admitted: number, opValue: CborValue, outcome: Outcome, runner: PipelineRunner): Promise<void> {
  const allowed = pipeline.admit.slice(0, admitted);
  return observe(
    pipeline.observe.filter((m) => allowed.includes(m)),
    opValue,
    outcome,
    runner,
  );
}

/** Run observe hooks in order; a failing one is reported and does not stop the others. */
async function observe(hooks: readonly string[], opValue: CborValue, outcome: Outcome, runner: PipelineRunner): Promise<void> {
  if (hooks.length === 0) return;
  const observed = encodeCbor({ op: opValue, outcome: outcome as unknown as CborValue });
  for (const name of hooks) {
    try {
      await runner.hook(name, 'observe', observed);
    } catch (e) {
      runner.hookError(name, 'observe', e instanceof CallError ? e : new CallError('EINTERNAL', (e as Error).message));
    }
  }
}

const EMPTY_HASH = sha256(new Uint8Array(0));

function deniedOutcome(input: Uint8Array, inputHash: Uint8Array, denial: CallError): Outcome {
  return {
    status: 'denied',
    code: denial.code,
    message: denial.message,
    cost: 0,
    wallUs: 0,
    bytesIn: input.length,
    bytesOut: 0,
    inputHash,
    outputHash: EMPTY_HASH,
  };
}

/** An admit hook's answer. */
interface Verdict {
  allow: boolean;
  reason: string;
  retryAfterMs?: number;
}

/** Longest reason passed on from a hook, in characters: a denial is read by people and logged. */
const MAX_REASON = 1024;

function clip(text: string): string {
  return text.length <= MAX_REASON ? text : `${text.slice(0, MAX_REASON)}… (${text.length - MAX_REASON} more characters cut)`;
}

function parseVerdict(module: string, bytes: Uint8Array): Verdict {
  const v = bytes.length === 0 ? null : decodeCbor(bytes);
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array || typeof v.allow !== 'boolean') {
    // A hook that cannot say yes clearly has said no: fail closed.
    return { allow: false, reason: `${module} returned no valid verdict` };
  }
  return {
    allow: v.allow,
    reason: typeof v.reason === 'string' ? clip(v.reason) : v.allow ? 'allowed' : 'denied without a reason',
    ...(typeof v.retryAfterMs === 'number' && Number.isFinite(v.retryAfterMs) && v.retryAfterMs >= 0 ? { retryAfterMs: v.retryAfterMs } : {}),
  };
}
