/**
 * Section-level rewrites for the preemption instrumenter: each function reads one section's
 * payload and returns its new payload, with the deadline import, the slice global and its export
 * added, and every function index renumbered for the import that now precedes the defined
 * functions. Offsets in errors are module offsets (`base` is the payload's position).
 */
import { concatBytes, encodeU32 } from '@mcp0/abi';
import { refType, rewriteConstExpr, shiftFunc, shiftRef, signedLeb32, valueType, type Renumber } from './decode.js';
import { InstrumentError, malformed, unsupported } from './errors.js';
import { Reader } from './reader.js';

const utf8 = new TextEncoder();

/** Encode a name as a length-prefixed UTF-8 string. */
export function encodeName(name: string): Uint8Array {
  const b = utf8.encode(name);
  return concatBytes(encodeU32(b.length), b);
}

/** A vector: count, then the items. */
function vec(items: readonly Uint8Array[]): Uint8Array {
  return concatBytes(encodeU32(items.length), ...items);
}

/**
 * Memory or table limits: flags, min, optional max. Shared memories are refused (a guest could
 * block in memory.atomic.wait, where no check runs), and so are 64-bit ones (their bulk
 * operations take i64 sizes, which the size charge does not handle).
 */
function limits(r: Reader): void {
  const at = r.pos;
  const flags = r.byte();
  if (flags & 0x02) throw unsupported('shared memory', r.offset(at));
  if (flags & ~0x01) throw unsupported(`limits flags 0x${flags.toString(16)} (64-bit memory or table)`, r.offset(at));
  r.u32();
  if (flags & 1) r.u32();
}

/** Check the memory section's limits (see `limits`). */
export function checkMemories(payload: Uint8Array, base: number): void {
  const r = new Reader(payload, 0, payload.length, base);
  for (let n = r.u32(), i = 0; i < n; i++) limits(r);
  done(r, 'memory');
}

/** Throw unless the reader consumed its whole payload. */
function done(r: Reader, what: string): void {
  if (!r.atEnd) throw malformed(`${r.end - r.pos} unexpected bytes after the ${what} section`, r.offset());
}

/** The type section with a `() -> i32` type (reused if present), its index, and every type's parameter count. */
export function rewriteTypes(payload: Uint8Array | undefined, base: number): { payload: Uint8Array; deadlineType: number; params: number[] } {
  const wanted = Uint8Array.of(0x60, 0x00, 0x01, 0x7f);
  if (!payload) return { payload: vec([wanted]), deadlineType: 0, params: [0] };
  const r = new Reader(payload, 0, payload.length, base);
  const count = r.u32();
  const first = r.pos;
  const params: number[] = [];
  let deadlineType = -1;
  for (let i = 0; i < count; i++) {
    const at = r.pos;
    const form = r.byte();
    if (form !== 0x60) throw unsupported(`type form 0x${form.toString(16)} (GC types)`, r.offset(at));
    for (let side = 0; side < 2; side++) {
      const n = r.u32();
      if (side === 0) params.push(n);
      for (let j = 0; j < n; j++) valueType(r);
    }
    if (deadlineType < 0 && r.pos - at === 4 && wanted.every((b, k) => payload[at + k] === b)) deadlineType = i;
  }
  done(r, 'type');
  if (deadlineType >= 0) return { payload, deadlineType, params };
  params.push(0);
  return { payload: concatBytes(encodeU32(count + 1), payload.subarray(first), wanted), deadlineType: count, params };
}

/** Counts read from the import section. */
export interface ImportCounts {
  funcs: number;
  globals: number;
}

/** The import section with the deadline import appended after every other import. */
export function rewriteImports(
  payload: Uint8Array | undefined,
  base: number,
  deadline: { module: string; name: string; type?: number | undefined },
): { payload: Uint8Array | undefined; counts: ImportCounts } {
  const counts: ImportCounts = { funcs: 0, globals: 0 };
  // Without a type the import is not added: the section is only read (counted, and checked for the reserved namespace).
  const entry =
    deadline.type === undefined
      ? undefined
      : concatBytes(encodeName(deadline.module), encodeName(deadline.name), Uint8Array.of(0x00), encodeU32(deadline.type));
  if (!payload) return { payload: entry && vec([entry]), counts };
  const r = new Reader(payload, 0, payload.length, base);
  const count = r.u32();
  const first = r.pos;
  for (let i = 0; i < count; i++) {
    const at = r.pos;
    const ns = r.name();
    const name = r.name();
    if (ns === deadline.module) {
      throw new InstrumentError('EIMPORT', `module already imports ${ns}.${name}: the ${deadline.module} namespace is reserved for the kernel`, {
        reason: 'conflict',
        offset: r.offset(at),
        import: `${ns}.${name}`,
      });
    }
    const kindAt = r.pos;
    const kind = r.byte();
    switch (kind) {
      case 0x00:
        r.u32();
        counts.funcs++;
        break;
      case 0x01:
        refType(r);
        limits(r);
        break;
      case 0x02:
        limits(r);
        break;
      case 0x03:
        valueType(r);
        r.byte();
        counts.globals++;
        break;
      case 0x04:
        r.byte();
        r.u32();
        break;
      default:
        throw malformed(`import kind 0x${kind.toString(16)}`, r.offset(kindAt));
    }
  }
  done(r, 'import');
  return { payload: entry ? concatBytes(encodeU32(count + 1), payload.subarray(first), entry) : payload, counts };
}

/** The type index of every defined function, from the function section. */
export function functionTypes(payload: Uint8Array | undefined, base: number): number[] {
  if (!payload) return [];
  const r = new Reader(payload, 0, payload.length, base);
  const count = r.u32();
  const types: number[] = [];
  for (let i = 0; i < count; i++) types.push(r.u32());
  done(r, 'function');
  return types;
}

/** The table section with `ref.func` in table initialisers renumbered. */
export function rewriteTables(payload: Uint8Array, base: number, renumber: Renumber): Uint8Array {
  const r = new Reader(payload, 0, payload.length, base);
  const count = r.u32();
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const start = r.pos;
    if (payload[r.pos] === 0x40) {
      r.pos++;
      if (r.byte() !== 0x00) throw malformed('table initialiser flag', r.offset(r.pos - 1));
      refType(r);
      limits(r);
      parts.push(concatBytes(payload.subarray(start, r.pos), rewriteConstExpr(r, renumber)));
    } else {
      refType(r);
      limits(r);
      parts.push(payload.subarray(start, r.pos));
    }
  }
  done(r, 'table');
  return vec(parts);
}

/** The global section with the slice global appended; returns the defined-global count too. */
export function rewriteGlobals(
  payload: Uint8Array | undefined,
  base: number,
  renumber: Renumber,
  slice: number | undefined,
): { payload: Uint8Array; defined: number } {
  // The slice (when there is one), then the grow-failed flag: mutable i32s.
  const added = [
    ...(slice === undefined ? [] : [concatBytes(Uint8Array.of(0x7f, 0x01, 0x41), signedLeb32(slice), Uint8Array.of(0x0b))]),
    Uint8Array.of(0x7f, 0x01, 0x41, 0x00, 0x0b),
  ];
  if (!payload) return { payload: vec(added), defined: 0 };
  const r = new Reader(payload, 0, payload.length, base);
  const count = r.u32();
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const start = r.pos;
    valueType(r);
    r.byte();
    parts.push(concatBytes(payload.subarray(start, r.pos), rewriteConstExpr(r, renumber)));
  }
  done(r, 'global');
  parts.push(...added);
  return { payload: vec(parts), defined: count };
}

/** The export section with function exports renumbered and the kernel's globals exported. */
export function rewriteExports(
  payload: Uint8Array | undefined,
  base: number,
  renumber: Renumber,
  globals: readonly { name: string; global: number }[],
): Uint8Array {
  const parts: Uint8Array[] = [];
  if (payload) {
    const r = new Reader(payload, 0, payload.length, base);
    const count = r.u32();
    for (let i = 0; i < count; i++) {
      const start = r.pos;
      const name = r.name();
      if (globals.some((g) => g.name === name)) {
        throw new InstrumentError('EIMPORT', `module already exports ${name}, a name the kernel's globals need`, {
          reason: 'conflict',
          offset: r.offset(start),
          export: name,
        });
      }
      const kind = r.byte();
      const indexAt = r.pos;
      const index = r.u32();
      parts.push(concatBytes(payload.subarray(start, indexAt), encodeU32(kind === 0x00 ? shiftFunc(index, renumber) : index)));
    }
    done(r, 'export');
  }
  for (const g of globals) parts.push(concatBytes(encodeName(g.name), Uint8Array.of(0x03), encodeU32(g.global)));
  return vec(parts);
}

/** The start section, renumbered. */
export function rewriteStart(payload: Uint8Array, base: number, renumber: Renumber): Uint8Array {
  const r = new Reader(payload, 0, payload.length, base);
  const index = r.u32();
  done(r, 'start');
  return encodeU32(shiftFunc(index, renumber));
}

/** The element section with every function index (vectors and `ref.func` items) renumbered. */
export function rewriteElements(payload: Uint8Array, base: number, renumber: Renumber): Uint8Array {
  const r = new Reader(payload, 0, payload.length, base);
  const count = r.u32();
  const segments: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const parts: Uint8Array[] = [];
    const flagsAt = r.pos;
    const flags = r.u32();
    if (flags > 7) throw malformed(`element segment flags ${flags}`, r.offset(flagsAt));
    parts.push(payload.subarray(flagsAt, r.pos));
    const passiveOrDeclared = (flags & 1) !== 0;
    const explicitTable = (flags & 2) !== 0;
    const expressions = (flags & 4) !== 0;
    if (!passiveOrDeclared) {
      if (explicitTable) parts.push(encodeU32(r.u32()));
      parts.push(rewriteConstExpr(r, renumber));
    }
    if (passiveOrDeclared || explicitTable) {
      const at = r.pos;
      if (expressions) refType(r);
      else if (r.byte() !== 0x00) throw malformed('element kind', r.offset(at));
      parts.push(payload.subarray(at, r.pos));
    }
    const n = r.u32();
    parts.push(encodeU32(n));
    for (let j = 0; j < n; j++) parts.push(expressions ? rewriteConstExpr(r, renumber) : encodeU32(shiftRef(r.u32(), renumber)));
    segments.push(concatBytes(...parts));
  }
  done(r, 'element');
  return vec(segments);
}

/**
 * The `name` custom section with function indices renumbered in the function, local and label
 * name maps (subsections 1, 2, 3); other subsections are kept as they are.
 */
export function rewriteNames(payload: Uint8Array, base: number, renumber: Renumber): Uint8Array {
  const r = new Reader(payload, 0, payload.length, base);
  const parts: Uint8Array[] = [];
  while (!r.atEnd) {
    const id = r.byte();
    const size = r.u32();
    const start = r.pos;
    r.skip(size);
    const sub = new Reader(payload, start, start + size, base);
    let content: Uint8Array;
    if (id === 1 || id === 2 || id === 3) {
      const items: Uint8Array[] = [];
      const count = sub.u32();
      for (let i = 0; i < count; i++) {
        const index = sub.u32();
        const at = sub.pos;
        if (id === 1) sub.name();
        else {
          for (let n = sub.u32(), j = 0; j < n; j++) {
            sub.u32();
            sub.name();
          }
        }
        items.push(encodeU32(shiftFunc(index, renumber)), payload.subarray(at, sub.pos));
      }
      if (!sub.atEnd) throw malformed(`name subsection ${id} has trailing bytes`, sub.offset());
      content = concatBytes(encodeU32(count), ...items);
    } else {
      content = payload.subarray(start, start + size);
    }
    parts.push(Uint8Array.of(id), encodeU32(content.length), content);
  }
  return concatBytes(...parts);
}
