/**
 * Provider interfaces: the host code behind each capability, registered by the embedder. The
 * kernel routes and checks; providers do the work. A provider may answer synchronously or with a
 * promise; inline-tier modules need synchronous answers (ABI.md §4), worker-tier ones take either.
 * The kernel ships no store: the SDK's (memory, LMDB, MongoDB) implement these.
 */
import { randomBytes } from 'node:crypto';

/** A value now, or later. */
export type MaybePromise<T> = T | Promise<T>;

/** Plain key spaces, one per namespace (a module's name, or an agent's id). */
export interface KvProvider {
  get(namespace: string, key: string): MaybePromise<Uint8Array | undefined>;
  put(namespace: string, key: string, value: Uint8Array): MaybePromise<void>;
  /** True when the key existed. */
  delete(namespace: string, key: string): MaybePromise<boolean>;
  /** Entries with `prefix`, in key order, strictly after `after`, at most `limit`. */
  scan(namespace: string, prefix: string, limit: number, after?: string): MaybePromise<[string, Uint8Array][]>;
}

/** Content-addressed blocks and named refs updated by compare-and-swap. */
export interface BlockProvider {
  /** Stores blocks (put-if-absent); returns their SHA-256 ids in order. */
  put(blocks: Uint8Array[]): MaybePromise<Uint8Array[]>;
  get(id: Uint8Array): MaybePromise<Uint8Array | undefined>;
  has(ids: Uint8Array[]): MaybePromise<boolean[]>;
  refGet(namespace: string, name: string): MaybePromise<{ root: Uint8Array; version: number } | undefined>;
  /** Sets the ref when its version is `expect` (0: absent); returns the new version or throws ECONFLICT. */
  refCas(namespace: string, name: string, expect: number, root: Uint8Array): MaybePromise<number>;
}

/** Sends bytes to a peer through the node's transport. */
export interface NetProvider {
  send(from: string, peer: string, payload: Uint8Array): MaybePromise<void>;
}

/** Wall-clock time in milliseconds; replaced in tests and replays. */
export interface ClockProvider {
  now(): number;
}

/** Entropy for calls outside an operation (inside one, randomness is derived from the op id). */
export interface RandomProvider {
  bytes(n: number): Uint8Array;
}

/** The providers a kernel is given; any may be absent, and its capability then answers EUNAVAILABLE. */
export interface Providers {
  /** Plugins' own key spaces (namespace: the module's name). */
  kv?: KvProvider;
  /**
   * Agents' key spaces (namespace: the agent's id). An agent's state must be snapshot-able, so the
   * embedder serves it through the storage plugin rather than the plain store (ARCHITECTURE.md §6).
   */
  agentKv?: KvProvider;
  blocks?: BlockProvider;
  net?: NetProvider;
  clock?: ClockProvider;
  random?: RandomProvider;
}

/** The system clock. */
export const systemClock: ClockProvider = { now: () => Date.now() };

/** The operating system's CSPRNG. */
export const systemRandom: RandomProvider = { bytes: (n) => new Uint8Array(randomBytes(n)) };
