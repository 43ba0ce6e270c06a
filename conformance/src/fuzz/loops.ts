/**
 * Never-ending loops spliced into function bodies, for the mutation generator and for smith's
 * modules: plain, around `memory.grow`, around a host call with a garbage handle, or around a host
 * call with a valid request built once before the loop. They test preemption (the inline tier's
 * deadline checks, the worker tier's timeout) with real code around them.
 */
import { Mcp0Error, concatBytes, encodeU32 } from '@mcp0/abi';
import type { Prng } from './prng.js';
import { addI64Global, exportedBodies, functionImports, join, readLeb, sleb, splice, split, type Section } from './sections.js';

/**
 * The fields each host function reads (host-functions.ts), with their CBOR types: a spliced
 * request loop fills them with random values, so that the calls are valid and do real work.
 * `big` fields get sizes up to 1 MiB.
 */
type FieldType = 'text' | 'bigText' | 'uint' | 'bytes' | 'bigBytes' | 'bigBytesList';
const REQUEST_FIELDS: Record<string, Record<string, FieldType>> = {
  log: { level: 'text', msg: 'bigText' },
  panic: { message: 'text', file: 'text', line: 'uint', column: 'uint' },
  clock_now: {},
  random_bytes: { n: 'uint' },
  kv_get: { key: 'text' },
  kv_put: { key: 'text', value: 'bigBytes' },
  kv_delete: { key: 'text' },
  kv_scan: { prefix: 'text', limit: 'uint' },
  blocks_put: { blocks: 'bigBytesList' },
  blocks_get: { id: 'bytes' },
  blocks_has: { ids: 'bigBytesList' },
  ref_get: { name: 'text' },
  ref_cas: { name: 'text', expect: 'uint', root: 'bytes' },
  call: { target: 'text', export: 'text', input: 'bigBytes' },
  crypto_sha256: { data: 'bigBytes' },
  crypto_ed25519_verify: { key: 'bytes', sig: 'bytes', msg: 'bigBytes' },
  net_send: { peer: 'text', payload: 'bigBytes' },
  emit: { topic: 'text', data: 'bigBytes' },
};

/**
 * A CBOR request map for `fn`, as the pieces to write: big byte and text strings are only their
 * heads, their contents are whatever Extism's `alloc` hands out (any bytes make valid CBOR bytes),
 * so a 1 MiB request costs the guest a few dozen `store_u8` calls to build.
 */
function sparseRequest(rng: Prng, fn: string): { length: number; writes: { at: number; bytes: Uint8Array }[] } {
  const writes: { at: number; bytes: Uint8Array }[] = [];
  let at = 0;
  const put = (bytes: Uint8Array) => {
    writes.push({ at, bytes });
    at += bytes.length;
  };
  const head = (major: number, n: number) =>
    put(
      n < 24
        ? Uint8Array.of((major << 5) | n)
        : concatBytes(Uint8Array.of((major << 5) | 26), Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)),
    );
  const text = (t: string) => {
    const b = new TextEncoder().encode(t);
    head(3, b.length);
    put(b);
  };
  const big = (major: number) => {
    const n = rng.pick([0, 32, 4096, 65_536, 1 << 20]);
    head(major, n);
    at += n; // left as allocated
  };
  const fields = Object.entries(REQUEST_FIELDS[fn] ?? {});
  head(5, fields.length);
  for (const [name, type] of fields) {
    text(name);
    if (type === 'text') text(rng.pick(['', 'k', 'info', 'fuzz.hello.inline', 'fuzz.hello.worker', 'greet', `k${rng.int(100)}`]));
    else if (type === 'uint') head(0, rng.pick([0, 1, 16, 1000, 65_536]));
    else if (type === 'bytes') put(concatBytes(Uint8Array.of(0x58, 32), rng.bytes(32)));
    else if (type === 'bigBytesList') {
      const k = rng.pick([1, 2, 8]);
      head(4, k);
      for (let i = 0; i < k; i++) big(2);
    } else big(type === 'bigText' ? 3 : 2);
  }
  return { length: at, writes };
}

/**
 * A request loop: before the loop, `alloc` a request for a host function the module imports and
 * write it with `store_u8`; then call the function with it for ever. Each iteration is a handful
 * of instructions but a real host call (up to hashing or copying 1 MiB), which is what stretches
 * the time between the inline tier's deadline checks.
 */
function requestLoop(
  rng: Prng,
  sections: Section[],
  imports: readonly { module: string; name: string; index: number }[],
): { kind: string; bytes: Uint8Array } | undefined {
  const alloc = imports.find((f) => f.module === 'extism:host/env' && f.name === 'alloc');
  const store = imports.find((f) => f.module === 'extism:host/env' && f.name === 'store_u8');
  const hosts = imports.filter((f) => f.module === 'mcp0:abi/v1' && Object.hasOwn(REQUEST_FIELDS, f.name));
  if (!alloc || !store || hosts.length === 0) return undefined;
  const global = addI64Global(sections);
  if (global === undefined) return undefined;
  const fn = rng.pick(hosts);
  const request = sparseRequest(rng, fn.name);
  const g = encodeU32(global);
  const code: Uint8Array[] = [Uint8Array.of(0x42), sleb(BigInt(request.length)), Uint8Array.of(0x10), encodeU32(alloc.index), Uint8Array.of(0x24), g];
  for (const w of request.writes) {
    for (let i = 0; i < w.bytes.length; i++) {
      const offset = w.at + i;
      code.push(Uint8Array.of(0x23), g);
      if (offset > 0) code.push(Uint8Array.of(0x42), sleb(BigInt(offset)), Uint8Array.of(0x7c));
      code.push(Uint8Array.of(0x41), sleb(BigInt(w.bytes[i]!)), Uint8Array.of(0x10), encodeU32(store.index));
    }
  }
  code.push(Uint8Array.of(0x03, 0x40, 0x23), g, Uint8Array.of(0x10), encodeU32(fn.index), Uint8Array.of(0x1a, 0x0c, 0x00, 0x0b));
  return { kind: `request:${fn.name}(${request.length} bytes)`, bytes: concatBytes(...code) };
}

/** Host functions of type (i64) -> i64 and () -> i64: callable from a spliced loop as `i64.const; call; drop`. */
const I64_TO_I64 = new Set(['alloc', 'length', 'length_unsafe', 'load_u64', 'input_load_u64', 'config_get', 'var_get']);

/** The loop to splice in: plain, around a host call (with a valid request or not), or around `memory.grow 1`. */
function loopBytes(rng: Prng, sections: Section[]): { kind: string; bytes: Uint8Array } {
  const imports = (functionImports(sections) ?? []).map((f, index) => ({ ...f, index }));
  if (rng.chance(0.4)) {
    const request = requestLoop(rng, sections, imports);
    if (request) return request;
  }
  const callable = imports.filter(
    (f) => f.module === 'mcp0:abi/v1' || (f.module === 'extism:host/env' && (I64_TO_I64.has(f.name) || f.name === 'input_length' || f.name === 'input_offset')),
  );
  const hasMemory = sections.some((s) => s.id === 5);
  const kind = rng.weighted({ plain: 3, hostCall: callable.length > 0 ? 4 : 0, grow: hasMemory ? 2 : 0 });
  if (kind === 'hostCall') {
    const f = rng.pick(callable);
    // An i64 argument: 0, a small handle, or a huge one (an offset far outside Extism's memory).
    const arg =
      f.name === 'input_length' || f.name === 'input_offset'
        ? new Uint8Array(0)
        : concatBytes(Uint8Array.of(0x42), rng.pick([Uint8Array.of(0x00), Uint8Array.of(0x10), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f)]));
    return {
      kind: `hostCall:${f.module}.${f.name}`,
      bytes: concatBytes(Uint8Array.of(0x03, 0x40), arg, Uint8Array.of(0x10), encodeU32(f.index), Uint8Array.of(0x1a, 0x0c, 0x00, 0x0b)),
    };
  }
  if (kind === 'grow') return { kind, bytes: Uint8Array.of(0x03, 0x40, 0x41, 0x01, 0x40, 0x00, 0x1a, 0x0c, 0x00, 0x0b) };
  return { kind, bytes: Uint8Array.of(0x03, 0x40, 0x0c, 0x00, 0x0b) };
}

/** Splice a never-ending loop at the start of a function body (after its locals). */
export function injectLoop(rng: Prng, sections: Section[]): string | undefined {
  const ci = sections.findIndex((s) => s.id === 10 && !s.framed);
  if (ci < 0) return undefined;
  const code = sections[ci]!.content;
  const count = readLeb(code, 0);
  if (!count || count.value === 0) return undefined;
  const exported = exportedBodies(sections, (functionImports(sections) ?? []).length).filter((i) => i < count.value);
  const target = exported.length > 0 && rng.chance(0.7) ? rng.pick(exported) : rng.int(count.value);
  let at = count.length;
  for (let i = 0; i < target; i++) {
    const size = readLeb(code, at);
    if (!size) return undefined;
    at += size.length + size.value;
  }
  const size = readLeb(code, at);
  if (!size) return undefined;
  const bodyStart = at + size.length;
  const locals = readLeb(code, bodyStart);
  if (!locals) return undefined;
  let p = bodyStart + locals.length;
  for (let i = 0; i < locals.value; i++) {
    const n = readLeb(code, p);
    if (!n) return undefined;
    p += n.length + 1;
  }
  // A request loop may add a global section, which moves the code section in the list.
  const loop = loopBytes(rng, sections);
  const body = splice(code.subarray(bodyStart, bodyStart + size.value), p - bodyStart, 0, loop.bytes);
  sections[sections.findIndex((s) => s.id === 10 && !s.framed)] = {
    id: 10,
    content: concatBytes(code.subarray(0, at), encodeU32(body.length), body, code.subarray(bodyStart + size.value)),
  };
  return `loop(${loop.kind}) in body ${target}`;
}

/**
 * A never-ending loop spliced into one function of a generated module: smith's own loops either
 * end (fuel) or spin without host calls; this puts host calls, valid requests and `memory.grow`
 * inside loops of modules shaped by smith. Undefined when the module has no code to splice into.
 * @example
 * const looped = spliceLoop(rng, smithModule)
 */
export function spliceLoop(rng: Prng, module: Uint8Array): { bytes: Uint8Array; mutation: string } | undefined {
  let sections: Section[];
  try {
    sections = split(module);
  } catch (e) {
    if (e instanceof Mcp0Error) return undefined; // not splittable: left to the kernel's checks as it is
    throw e;
  }
  const done = injectLoop(rng, sections);
  return done === undefined ? undefined : { bytes: join(sections), mutation: done };
}
