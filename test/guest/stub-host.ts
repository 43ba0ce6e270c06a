/**
 * An in-memory stand-in for the `mcp0:abi/v1` host functions, for testing guest code without the
 * kernel. It follows the ABI's wire shapes exactly (CBOR request map in, `{ok}` / `{err}` out),
 * checks grants per capability, and checks that every request the guest sends is deterministic
 * CBOR. It is a test double: no persistence, no isolation, no metering.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import type { CallContext } from '@extism/extism';
import { decode, encode, rfc8949EncodeOptions } from 'cborg';
import { HOST_FUNCTIONS, type HostFunctionName } from '@mcp0/abi';

/** A guest's request, decoded. */
type Request = Record<string, unknown>;

/** Thrown inside a stub function to answer `{err: {code, message}}`. */
class HostErr extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface StubOptions {
  /** Capabilities granted (log and panic always are). Default: all. */
  grants?: string[];
  /** kv prefix the guest may use. Default: any key. */
  kvPrefix?: string;
  /** clock_now's answer. */
  now?: number;
  /** Other plugins, for `call`: target → export → function. */
  peers?: Record<string, Record<string, (input: Uint8Array) => Uint8Array>>;
  /** Keep every request in `calls` (to see what a guest asked the host, e.g. which bytes it verified). */
  record?: boolean;
}

export interface StubHost {
  /** Pass as `functions` to createPlugin. */
  functions: Record<string, Record<string, (ctx: CallContext, request: bigint) => bigint>>;
  kv: Map<string, Uint8Array>;
  blocks: Map<string, Uint8Array>;
  refs: Map<string, { root: Uint8Array; version: number }>;
  logs: { level: string; msg: string }[];
  panics: { message: string; file: string; line: number; column: number }[];
  events: { topic: string; data: unknown }[];
  sent: { peer: string; payload: Uint8Array }[];
  /** Requests that were not deterministic CBOR (should stay empty). */
  nonCanonical: string[];
  /** Every request, decoded, in order, when `record` was set. */
  calls: { name: HostFunctionName; request: Record<string, unknown> }[];
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function bytes(req: Request, key: string): Uint8Array {
  const v = req[key];
  if (!(v instanceof Uint8Array)) throw new HostErr('EINPUT', `"${key}" must be bytes`);
  return v;
}

function text(req: Request, key: string): string {
  const v = req[key];
  if (typeof v !== 'string') throw new HostErr('EINPUT', `"${key}" must be text`);
  return v;
}

/** Build a stand-in host. */
export function stubHost(opts: StubOptions = {}): StubHost {
  const grants = new Set(opts.grants ?? Object.values(HOST_FUNCTIONS).filter((c) => c !== null));
  let counter = 0;
  const host: StubHost = {
    functions: { 'mcp0:abi/v1': {} },
    kv: new Map(),
    blocks: new Map(),
    refs: new Map(),
    logs: [],
    panics: [],
    events: [],
    sent: [],
    nonCanonical: [],
    calls: [],
  };
  const kvKey = (req: Request): string => {
    const key = text(req, 'key');
    if (opts.kvPrefix !== undefined && !key.startsWith(opts.kvPrefix))
      throw new HostErr('EPERM', `kv: key "${key}" is outside the granted prefix "${opts.kvPrefix}"`);
    return key;
  };
  const impl: Record<HostFunctionName, (req: Request) => unknown> = {
    log: (r) => {
      host.logs.push({ level: text(r, 'level'), msg: text(r, 'msg') });
      return null;
    },
    panic: (r) => {
      host.panics.push({ message: text(r, 'message'), file: text(r, 'file'), line: Number(r.line), column: Number(r.column) });
      return null;
    },
    clock_now: () => opts.now ?? 1_700_000_000_000,
    random_bytes: (r) => {
      const n = Number(r.n);
      if (!(n >= 0 && n <= 65536)) throw new HostErr('ETOOBIG', `random_bytes: n must be ≤ 65536, got ${n}`);
      return Uint8Array.from({ length: n }, () => (counter = (counter * 1103515245 + 12345) >>> 0) & 0xff);
    },
    kv_get: (r) => host.kv.get(kvKey(r)) ?? null,
    kv_put: (r) => {
      host.kv.set(kvKey(r), bytes(r, 'value'));
      return null;
    },
    kv_delete: (r) => host.kv.delete(kvKey(r)),
    kv_scan: (r) => {
      const prefix = text(r, 'prefix');
      const after = r.after === null ? null : text(r, 'after');
      return [...host.kv.keys()]
        .filter((k) => k.startsWith(prefix) && (after === null || k > after))
        .sort()
        .slice(0, Number(r.limit))
        .map((k) => [k, host.kv.get(k)!]);
    },
    blocks_put: (r) =>
      (r.blocks as Uint8Array[]).map((b) => {
        const id = createHash('sha256').update(b).digest();
        host.blocks.set(hex(id), b);
        return new Uint8Array(id);
      }),
    blocks_get: (r) => host.blocks.get(hex(bytes(r, 'id'))) ?? null,
    blocks_has: (r) => (r.ids as Uint8Array[]).map((id) => host.blocks.has(hex(id))),
    ref_get: (r) => host.refs.get(text(r, 'name')) ?? null,
    ref_cas: (r) => {
      const name = text(r, 'name');
      const current = host.refs.get(name)?.version ?? 0;
      if (Number(r.expect) !== current) throw new HostErr('ECONFLICT', `ref "${name}" is at version ${current}, not ${Number(r.expect)}`);
      host.refs.set(name, { root: bytes(r, 'root'), version: current + 1 });
      return { version: current + 1 };
    },
    call: (r) => {
      const fn = opts.peers?.[text(r, 'target')]?.[text(r, 'export')];
      if (fn === undefined) throw new HostErr('ENOTFOUND', `no export ${text(r, 'target')}/${text(r, 'export')}`);
      return fn(bytes(r, 'input'));
    },
    crypto_sha256: (r) => new Uint8Array(createHash('sha256').update(bytes(r, 'data')).digest()),
    crypto_ed25519_verify: (r) => {
      const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(bytes(r, 'key')).toString('base64url') }, format: 'jwk' });
      return verify(null, bytes(r, 'msg'), key, bytes(r, 'sig'));
    },
    net_send: (r) => {
      host.sent.push({ peer: text(r, 'peer'), payload: bytes(r, 'payload') });
      return null;
    },
    emit: (r) => {
      host.events.push({ topic: text(r, 'topic'), data: r.data });
      return null;
    },
  };
  for (const [name, fn] of Object.entries(impl) as [HostFunctionName, (req: Request) => unknown][]) {
    host.functions['mcp0:abi/v1']![name] = (ctx, handle) => {
      let reply: unknown;
      try {
        const raw = ctx.read(handle)!.bytes();
        const req = decode(raw) as Request;
        if (Buffer.compare(encode(req, rfc8949EncodeOptions), raw) !== 0) host.nonCanonical.push(`${name}: ${hex(raw)}`);
        if (opts.record) host.calls.push({ name, request: req });
        const cap = HOST_FUNCTIONS[name];
        if (cap !== null && cap !== 'log' && !grants.has(cap)) throw new HostErr('EPERM', `${name} needs the "${cap}" capability`);
        reply = { ok: fn(req) };
      } catch (e) {
        reply = e instanceof HostErr ? { err: { code: e.code, message: e.message } } : { err: { code: 'EINTERNAL', message: String(e) } };
      }
      // A copy: Extism 1.0.3 stores a view's whole underlying buffer, and cborg returns views.
      return ctx.store(new Uint8Array(encode(reply, rfc8949EncodeOptions)));
    };
  }
  return host;
}
