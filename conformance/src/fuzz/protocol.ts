/**
 * The messages between the campaign (parent process) and its target child, over Node's IPC
 * channel with structured clone. The child announces every kernel operation before it starts it,
 * with the time it may take, so the parent can tell a child whose event loop is held (it goes
 * silent) from one that is merely busy, and name what it was doing when it died.
 */
import type { Tier } from '@mcp0/kernel';
import type { FuzzLimits } from './pack.js';

/** Settings of one child, sent once. */
export interface InitMessage {
  t: 'init';
  /**
   * Raw Ed25519 public keys to trust: the campaign's throwaway key, and for a replay the keys
   * that signed the saved modules.
   */
  trust: Uint8Array[];
  /** The hello plugin, signed by the campaign's key: the known-good module. */
  hello: Uint8Array;
  tiers: Tier[];
  limits: FuzzLimits;
  /** How long past its own budget a kernel operation may take before it counts as a host crash. */
  slackMs: number;
  /** Hostile inputs per export per tier. */
  inputsPerExport: number;
  maxInputBytes: number;
}

/** One module to load and call. */
export interface ModuleMessage {
  t: 'module';
  seed: number;
  bytes: Uint8Array;
  /** The service exports to call (the manifest's). */
  exports: string[];
}

/** A fixed set of modules and a number of hostile calls to make against them, sampling RSS. */
export interface RssMessage {
  t: 'rss';
  seed: number;
  modules: { bytes: Uint8Array; exports: string[] }[];
  calls: number;
  sampleEvery: number;
}

/** What the parent sends. */
export type ToChild = InitMessage | ModuleMessage | RssMessage;

/** The kernel operation in progress. */
export type Phase = 'load' | 'call' | 'burst' | 'settle' | 'unload' | 'check';

/** Where the child is: sent before each kernel operation. */
export interface PhaseMessage {
  t: 'phase';
  seed: number;
  tier?: Tier;
  phase: Phase;
  export?: string;
  input?: string;
  /** How long the operation may take before the child itself calls it a crash. */
  budgetMs: number;
}

/**
 * The kinds of host crash the child can see for itself, and `internal-error`: a call answered
 * EINTERNAL, which is typed (so not a crash) but is a host-side fault by definition; it is
 * reported and saved apart from the crashes.
 */
export type ChildCrashKind =
  | 'uncaught-exception'
  | 'unhandled-rejection'
  | 'untyped-error'
  | 'unsettled'
  | 'overran'
  | 'event-loop-blocked'
  | 'stopped-serving'
  | 'internal-error';

/** A host crash (or an EINTERNAL finding) the child saw. `fatal`: the child exits after sending it. */
export interface CrashMessage {
  t: 'crash';
  seed: number;
  kind: ChildCrashKind;
  tier?: Tier;
  phase?: Phase;
  export?: string;
  input?: string;
  message: string;
  stack?: string;
  fatal: boolean;
}

/** One module done: outcome counts by `phase:CODE` (or `phase:ok`). */
export interface DoneMessage {
  t: 'done';
  seed: number;
  outcomes: Record<string, number>;
  calls: number;
  loaded: Tier[];
  rss: number;
  maxLagMs: number;
}

/** An RSS sample of the RSS run. */
export interface SampleMessage {
  t: 'sample';
  calls: number;
  rss: number;
}

/** The RSS run done. */
export interface RssDoneMessage {
  t: 'rss-done';
  outcomes: Record<string, number>;
  calls: number;
}

/** What the child sends. */
export type FromChild = { t: 'ready' } | PhaseMessage | CrashMessage | DoneMessage | SampleMessage | RssDoneMessage;
