/**
 * The `mcp0:abi/v1` host functions of one module instance. Each takes a CBOR request handle and
 * returns a handle to CBOR `{ok: value}` or `{err: {code, message}}`; each checks its capability
 * first. Nothing a guest sends can make one throw into Extism (which would kill a worker).
 */
import {
  CallError,
  HOST_FUNCTIONS,
  LIMITS,
  Mcp0Error,
  decodeCbor,
  encodeCbor,
  ed25519Verify,
  isErrorCode,
  type CborValue,
  type HostFunctionName,
} from '@mcp0/abi';
import { exactBytes, type CallContext, type LogLevel } from '@mcp0/sandbox';
import { sha256 } from '@noble/hashes/sha2.js';
import type { CapabilitySet } from './capabilities.js';
import type { KvProvider, MaybePromise, Providers } from './providers.js';

/** A log line from a guest. */
export interface GuestLog {
  module: string;
  level: LogLevel;
  msg: string;
}

/** What the AssemblyScript abort handler (or any guest) reports just before it traps. */
export interface GuestPanic {
  message: string;
  file: string;
  line: number;
  column: number;
}

/** What the host functions of one instance need from the kernel. */
export interface HostEnv {
  readonly module: string;
  readonly caps: CapabilitySet;
  readonly providers: Providers;
  /** The kv behind this module: the node's store for plugins, the agent-state provider for agents. */
  readonly kv: KvProvider | undefined;
  /** False in the inline tier: a provider that answers with a promise is refused there. */
  readonly async: boolean;
  /** Clock and randomness for the call in progress (logical inside an operation). */
  now(): number;
  random(n: number): Uint8Array;
  log(entry: GuestLog): void;
  panic(info: GuestPanic): void;
  emit(topic: string, data: CborValue): void;
  call(target: string, exportName: string, input: Uint8Array): MaybePromise<Uint8Array>;
}

type Request = Record<string, CborValue>;
type HostFn = (ctx: CallContext, handle: bigint) => bigint | Promise<bigint>;
type Impl = (req: Request) => MaybePromise<CborValue | undefined | void>;

/**
 * Build the function table Extism links into the module.
 * @example
 * createPlugin(wasm, { functions: { 'mcp0:abi/v1': hostFunctions(env) } })
 */
export function hostFunctions(env: HostEnv): Record<HostFunctionName, HostFn> {
  const { caps, providers } = env;
  const impls: Record<HostFunctionName, Impl> = {
    // Braces: the answer is null (ABI.md §4), not whatever the listener dispatch returned.
    log: (r) => {
      env.log({ module: env.module, level: logLevel(r.level), msg: text(r, 'msg', 64 * 1024) });
    },
    panic: (r) => {
      env.panic({ message: text(r, 'message', 4096), file: text(r, 'file', 4096), line: uint(r, 'line'), column: uint(r, 'column') });
    },
    clock_now: () => env.now(),
    random_bytes: (r) => env.random(uint(r, 'n', LIMITS.randomBytes)),
    kv_get: (r) => orNull(kvOf(env).get(env.module, key(r, 'key'))),
    kv_put: (r) => kvOf(env).put(env.module, key(r, 'key'), bytes(r, 'value', LIMITS.kvValueBytes)),
    kv_delete: (r) => kvOf(env).delete(env.module, key(r, 'key')),
    kv_scan: (r) => {
      const prefix = key(r, 'prefix');
      const after = r.after === null || r.after === undefined ? undefined : key(r, 'after');
      return kvOf(env).scan(env.module, prefix, Math.min(uint(r, 'limit'), LIMITS.kvScanEntries), after);
    },
    blocks_put: (r) => blocksOf(providers).put(list(r, 'blocks', LIMITS.blocksPerCall).map((b, i) => asBytes(b, `blocks[${i}]`, LIMITS.blockBytes))),
    blocks_get: (r) => orNull(blocksOf(providers).get(bytes(r, 'id', 64))),
    blocks_has: (r) => blocksOf(providers).has(list(r, 'ids', LIMITS.blocksPerCall).map((b, i) => asBytes(b, `ids[${i}]`, 64))),
    ref_get: (r) => orNull(blocksOf(providers).refGet(env.module, text(r, 'name', 256))),
    ref_cas: (r) => then(blocksOf(providers).refCas(env.module, text(r, 'name', 256), uint(r, 'expect'), bytes(r, 'root', 64)), (version) => ({ version })),
    call: (r) => {
      const target = text(r, 'target', 64);
      const exportName = text(r, 'export', 64);
      caps.requireCallTarget(target, exportName);
      // Refused before it starts: the inline tier cannot wait for the callee, and a callee left
      // running detached would act outside the caller's timeout and operation.
      if (!env.async)
        throw new CallError('EUNAVAILABLE', `${env.module}: call needs the worker tier; the inline tier cannot wait for ${target}/${exportName}`, {
          target,
          export: exportName,
        });
      return env.call(target, exportName, bytes(r, 'input', Number.MAX_SAFE_INTEGER));
    },
    crypto_sha256: (r) => sha256(bytes(r, 'data', Number.MAX_SAFE_INTEGER)),
    crypto_ed25519_verify: (r) => {
      const pub = bytes(r, 'key', 32);
      const sig = bytes(r, 'sig', 64);
      if (pub.length !== 32 || sig.length !== 64) return false;
      return ed25519Verify(sig, bytes(r, 'msg', Number.MAX_SAFE_INTEGER), pub);
    },
    net_send: (r) => {
      const peer = text(r, 'peer', 256);
      caps.requireListed('net', peer);
      if (!providers.net) throw unavailable('net');
      return providers.net.send(env.module, peer, bytes(r, 'payload', Number.MAX_SAFE_INTEGER));
    },
    emit: (r) => {
      const topic = text(r, 'topic', 256);
      caps.requireListed('emit', topic);
      env.emit(topic, r.data ?? null);
    },
  };

  /** The raw bytes of the request being served (for the UTF-8 check of kv keys). */
  let raw: Uint8Array = new Uint8Array(0);

  function key(r: Request, field: string): string {
    const k = text(r, field, LIMITS.kvKeyBytes);
    // The CBOR decoder replaces ill-formed UTF-8 with U+FFFD, so two different byte strings from a
    // guest could name one key. A key holding U+FFFD is checked against the request's bytes.
    if (k.includes('\uFFFD') && !textsAreUtf8(raw)) {
      throw new CallError('EINPUT', `request.${field}: not well-formed UTF-8 (a key must be valid UTF-8 text)`, { field });
    }
    caps.requireKey(k, 'kv');
    return k;
  }

  const table = {} as Record<HostFunctionName, HostFn>;
  for (const name of Object.keys(impls) as HostFunctionName[]) {
    const capability = HOST_FUNCTIONS[name];
    const impl = impls[name];
    table[name] = (ctx, handle) => {
      let result: MaybePromise<CborValue | undefined | void>;
      try {
        if (capability !== null) caps.require(capability, name);
        const req = request(ctx, handle);
        raw = req.bytes;
        result = impl(req.value);
      } catch (e) {
        return respondError(ctx, e);
      }
      if (!(result instanceof Promise)) return respond(ctx, result);
      if (!env.async) {
        result.catch(() => undefined);
        return respondError(
          ctx,
          new CallError(
            'EUNAVAILABLE',
            `${env.module}: ${name} needs an asynchronous provider, which the inline tier cannot wait for; run the module in the worker tier`,
          ),
        );
      }
      return result.then(
        (v) => respond(ctx, v),
        (e: unknown) => respondError(ctx, e),
      );
    };
  }
  return table;
}

function request(ctx: CallContext, handle: bigint): { value: Request; bytes: Uint8Array } {
  const block = ctx.read(handle);
  if (block === null) throw new CallError('EINPUT', `request handle 0x${handle.toString(16)} is not a live memory block`);
  const bytes = block.bytes();
  const value = decodeCbor(bytes);
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new CallError('EINPUT', 'request: expected a CBOR map');
  }
  return { value, bytes };
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Whether every text string in `bytes` is well-formed UTF-8. `bytes` is one CBOR item that the
 * strict decoder has accepted (definite lengths only), so a linear walk over item heads, skipping
 * the payloads of byte and text strings, visits every text string.
 */
function textsAreUtf8(bytes: Uint8Array): boolean {
  let pos = 0;
  while (pos < bytes.length) {
    const head = bytes[pos++]!;
    const major = head >> 5;
    const info = head & 31;
    let arg = info;
    if (info >= 24 && info <= 27) {
      arg = 0;
      for (let n = 1 << (info - 24); n > 0; n--) arg = arg * 256 + (bytes[pos++] ?? 0);
    }
    if (major === 2 || major === 3) {
      if (pos + arg > bytes.length) return false;
      if (major === 3) {
        try {
          fatalUtf8.decode(bytes.subarray(pos, pos + arg));
        } catch {
          return false;
        }
      }
      pos += arg;
    }
  }
  return true;
}

function respond(ctx: CallContext, value: CborValue | undefined | void): bigint {
  return ctx.store(exactBytes(encodeCbor({ ok: value ?? null })));
}

function respondError(ctx: CallContext, e: unknown): bigint {
  const err = e instanceof Mcp0Error && isErrorCode(e.code) ? e : new CallError('EINTERNAL', e instanceof Error ? e.message : String(e));
  return ctx.store(exactBytes(encodeCbor({ err: { code: err.code, message: err.message } })));
}

function unavailable(capability: string): CallError {
  return new CallError('EUNAVAILABLE', `no provider serves "${capability}" on this host`, { capability });
}

function kvOf(env: HostEnv): KvProvider {
  if (!env.kv) throw unavailable('kv');
  return env.kv;
}

function blocksOf(p: Providers): NonNullable<Providers['blocks']> {
  if (!p.blocks) throw unavailable('blocks');
  return p.blocks;
}

function then<T, U>(value: MaybePromise<T>, f: (v: T) => U): MaybePromise<U> {
  return value instanceof Promise ? value.then(f) : f(value);
}

function orNull<T>(value: MaybePromise<T | undefined>): MaybePromise<T | null> {
  return then(value, (v) => v ?? null);
}

function logLevel(level: CborValue | undefined): GuestLog['level'] {
  return level === 'debug' || level === 'warn' || level === 'error' ? level : 'info';
}

function text(r: Request, field: string, max: number): string {
  const v = r[field];
  if (typeof v !== 'string') throw new CallError('EINPUT', `request.${field}: expected text, got ${typeName(v)}`);
  if (Buffer.byteLength(v) > max) throw new CallError('ETOOBIG', `request.${field}: ${Buffer.byteLength(v)} bytes, the limit is ${max}`, { limit: max });
  return v;
}

function bytes(r: Request, field: string, max: number): Uint8Array {
  return asBytes(r[field], `request.${field}`, max);
}

function asBytes(v: CborValue | undefined, what: string, max: number): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new CallError('EINPUT', `${what}: expected bytes, got ${typeName(v)}`);
  if (v.length > max) throw new CallError('ETOOBIG', `${what}: ${v.length} bytes, the limit is ${max}`, { limit: max });
  return v;
}

function uint(r: Request, field: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = r[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw new CallError('EINPUT', `request.${field}: expected an unsigned integer, got ${typeName(v)}`);
  if (v > max) throw new CallError('ETOOBIG', `request.${field}: ${v}, the limit is ${max}`, { limit: max });
  return v;
}

function list(r: Request, field: string, max: number): CborValue[] {
  const v = r[field];
  if (!Array.isArray(v)) throw new CallError('EINPUT', `request.${field}: expected an array, got ${typeName(v)}`);
  if (v.length > max) throw new CallError('ETOOBIG', `request.${field}: ${v.length} items, the limit is ${max}`, { limit: max });
  return v;
}

function typeName(v: CborValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'map' : typeof v;
}
