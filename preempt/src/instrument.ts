/**
 * Preemption for the inline tier: rewrite a verified module so that a guest stuck in a loop (or
 * in a recursion) calls back into the host every so often, where the host checks a wall-clock
 * deadline and throws, which unwinds the guest. Loop headers, entries of functions that make
 * calls, and bulk memory and table operations charge a slice counter (an exported mutable i32
 * global) with their static instruction count (or size); when the slice is used up the guest
 * calls the `mcp0:kernel.deadline` import and continues with the slice it returns.
 */
import { Mcp0Error, UsageError, WASM_HEADER, concatBytes, encodeCustomSection, encodeSection, encodeU32, parseSections, type WasmSection } from '@mcp0/abi';
import { emitBody, scanBody, type CheckTargets, type ScannedBody } from './code.js';
import type { Renumber } from './decode.js';
import { InstrumentError, malformed, unsupported } from './errors.js';
import { Reader } from './reader.js';
import {
  checkMemories,
  functionTypes,
  rewriteElements,
  rewriteExports,
  rewriteGlobals,
  rewriteImports,
  rewriteNames,
  rewriteStart,
  rewriteTables,
  rewriteTypes,
} from './sections.js';

export { InstrumentError, type InstrumentDetails, type InstrumentReason } from './errors.js';

/** Namespace and name of the import the instrumented code calls when its slice runs out. Type `() -> i32`: returns the next slice (> 0). */
export const DEADLINE_IMPORT = { module: 'mcp0:kernel', name: 'deadline' } as const;

/** Name of the exported mutable i32 global holding the remaining slice (the host may reset it before each call). */
export const SLICE_EXPORT = '__mcp0_slice';

/**
 * Name of the exported mutable i32 global the instrumented code sets to 1 when a `memory.grow`
 * fails: an allocator that then traps (AssemblyScript's does, with `unreachable`) ran out of the
 * memory cap, which the host reports as EMEMORY rather than as a plain trap. The host resets it.
 */
export const GROW_FAILED_EXPORT = '__mcp0_grow_failed';

/**
 * The default slice, in cost units: a loop iteration costs the static instruction count of its
 * body (nested loops excluded, leaf callees included), a function entry that of its top level, a
 * bulk memory operation one unit per 16 bytes, a table operation (table.grow too) one unit per
 * entry. Measured on AssemblyScript -O3 code and tight WAT loops, a slice lasts 40-180 µs, so a
 * deadline is noticed well within a millisecond while the host call costs next to nothing.
 */
export const DEFAULT_SLICE = 1_000_000;

/** Options of `instrumentDeadline`. */
export interface InstrumentOptions {
  /** Initial value of the slice global, and what the host's `deadline` should return. Default DEFAULT_SLICE. */
  slice?: number;
  /**
   * Charge and check at the entry of functions that make calls (default true), which every
   * recursion passes through; leaves are charged at their call sites. `false` checks loops and
   * bulk operations only, for measuring.
   */
  entry?: boolean;
  /**
   * Cache the slice in a local in functions with loops (default true), so that a loop iteration
   * touches no memory; `false` updates the global at every check, for measuring.
   */
  cache?: boolean;
}

/** Section ids. */
const Id = { Custom: 0, Type: 1, Import: 2, Function: 3, Table: 4, Memory: 5, Global: 6, Export: 7, Start: 8, Element: 9, Code: 10 } as const;

/** Where each standard section id goes in module order (the data count section, 12, sits before code). */
const RANK: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 };

/** The JS API's limit on a function's locals (parameters included). */
const MAX_LOCALS = 50_000;

/** Custom sections that hold code offsets, which move: dropped rather than left wrong. */
const OFFSET_SECTIONS = /^(\.debug_|metadata\.code\.)/;

/**
 * Instrument a module for deadline preemption. The result imports `mcp0:kernel.deadline`
 * (`() -> i32`) and exports the mutable i32 globals `__mcp0_slice` and `__mcp0_grow_failed` (set
 * to 1 by a memory.grow that fails); otherwise it behaves like the input. Throws InstrumentError (a LoadError: ENOTWASM for malformed or unsupported code, EIMPORT
 * when the module already uses the kernel's names) carrying the offset and opcode.
 * @example
 * const wasm = instrumentDeadline(verified.bytes)
 * const deadline = performance.now() + timeoutMs
 * const { instance } = await WebAssembly.instantiate(wasm, {
 *   'mcp0:kernel': { deadline: () => { if (performance.now() > deadline) throw new Error('timeout'); return DEFAULT_SLICE } },
 * })
 */
export function instrumentDeadline(bytes: Uint8Array, opts: InstrumentOptions = {}): Uint8Array<ArrayBuffer> {
  const slice = opts.slice ?? DEFAULT_SLICE;
  if (!Number.isInteger(slice) || slice < 1 || slice > 0x7fffffff)
    throw new UsageError('EUSAGE', `slice: expected an integer in 1..2^31-1, got ${slice}`, { got: slice });
  try {
    return instrument(bytes, slice, { entry: opts.entry ?? true, cache: opts.cache ?? true });
  } catch (e) {
    if (e instanceof Mcp0Error) throw e;
    throw new InstrumentError('ENOTWASM', `instrumentation failed: ${e instanceof Error ? e.message : String(e)}`, { reason: 'malformed' }, { cause: e });
  }
}

/**
 * Only record failed memory.grows: the module exports `__mcp0_grow_failed` and otherwise runs as
 * it is (no import, no checks, no renumbering), for hosts that preempt another way (the worker
 * tier terminates its thread) but still want to tell memory exhaustion from a trap.
 * @example
 * const wasm = instrumentGrowWatch(verified.capped)
 */
export function instrumentGrowWatch(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  try {
    return instrument(bytes, undefined, { entry: false, cache: false });
  } catch (e) {
    if (e instanceof Mcp0Error) throw e;
    throw new InstrumentError('ENOTWASM', `instrumentation failed: ${e instanceof Error ? e.message : String(e)}`, { reason: 'malformed' }, { cause: e });
  }
}

/** How bodies are instrumented. */
interface Policy {
  entry: boolean;
  cache: boolean;
}

/** With a slice, deadline checks and the grow watch; without one (undefined), the grow watch alone. */
function instrument(bytes: Uint8Array, slice: number | undefined, policy: Policy): Uint8Array<ArrayBuffer> {
  const deadline = slice !== undefined;
  const sections = parseSections(bytes);
  const byId = new Map<number, WasmSection>();
  for (const s of sections) {
    if (s.id === Id.Custom) continue;
    if (byId.has(s.id)) throw malformed(`duplicate section ${s.id}`, s.start);
    byId.set(s.id, s);
  }
  const base = (s: WasmSection | undefined) => (s ? s.payload.byteOffset - bytes.byteOffset : 0);
  const at = (id: number) => byId.get(id);
  const payload = (id: number) => at(id)?.payload;

  // The types are read either way (their parameter counts number the added locals); the type and
  // the import of the deadline are added only with deadline checks.
  const types = rewriteTypes(payload(Id.Type), base(at(Id.Type)));
  const imports = rewriteImports(payload(Id.Import), base(at(Id.Import)), { ...DEADLINE_IMPORT, type: deadline ? types.deadlineType : undefined });
  const renumber: Renumber = { importedFuncs: imports.counts.funcs, shift: deadline ? 1 : 0, taken: new Set() };
  const globals = rewriteGlobals(payload(Id.Global), base(at(Id.Global)), renumber, slice);
  const sliceGlobal = imports.counts.globals + globals.defined;
  const growGlobal = sliceGlobal + (deadline ? 1 : 0);
  if (at(Id.Memory)) checkMemories(payload(Id.Memory)!, base(at(Id.Memory)));

  const exported = [...(deadline ? [{ name: SLICE_EXPORT, global: sliceGlobal }] : []), { name: GROW_FAILED_EXPORT, global: growGlobal }];
  const replaced = new Map<number, Uint8Array>([
    ...(deadline ? [[Id.Type, types.payload] as const, [Id.Import, imports.payload!] as const] : []),
    [Id.Global, globals.payload],
    [Id.Export, rewriteExports(payload(Id.Export), base(at(Id.Export)), renumber, exported)],
  ]);
  for (const [id, rewrite] of [
    [Id.Table, rewriteTables],
    [Id.Start, rewriteStart],
    [Id.Element, rewriteElements],
  ] as const) {
    const s = at(id);
    if (s) replaced.set(id, rewrite(s.payload, base(s), renumber));
  }
  // Last: the code needs every taken function reference, from the sections above and its own ref.func.
  const params = functionTypes(payload(Id.Function), base(at(Id.Function))).map((t) => {
    const n = types.params[t];
    if (n === undefined) throw malformed(`function type index ${t} out of range`, at(Id.Function)!.start);
    return n;
  });
  const code = at(Id.Code);
  const targets: CheckTargets = { ...renumber, sliceGlobal, growGlobal, deadlineFunc: imports.counts.funcs };
  if (code) replaced.set(Id.Code, rewriteCode(code.payload, base(code), params, targets, policy, deadline));
  else if (params.length > 0) throw malformed(`${params.length} functions declared but no code section`, at(Id.Function)!.start);

  const out: Uint8Array[] = [WASM_HEADER];
  const pending = [...replaced.keys()].filter((id) => !byId.has(id)).sort((a, b) => RANK[a]! - RANK[b]!);
  const flushBefore = (rank: number) => {
    while (pending.length > 0 && RANK[pending[0]!]! < rank) {
      const id = pending.shift()!;
      out.push(encodeSection(id, replaced.get(id)!));
    }
  };
  for (const s of sections) {
    if (s.id === Id.Custom) {
      const custom = rewriteCustom(bytes, s, base(s), renumber);
      if (custom) out.push(custom);
      continue;
    }
    flushBefore(RANK[s.id] ?? Infinity);
    const content = replaced.get(s.id);
    out.push(content ? encodeSection(s.id, content) : bytes.subarray(s.start, s.end));
  }
  flushBefore(Infinity);
  return concatBytes(...out) as Uint8Array<ArrayBuffer>; // freshly allocated
}

/**
 * The code section: every body scanned, costs completed, then re-emitted with checks. `params`
 * has each defined function's parameter count; `targets.taken` the functions whose reference
 * escapes (callable through call_indirect).
 */
function rewriteCode(payload: Uint8Array, base: number, params: number[], targets: CheckTargets, policy: Policy, deadline: boolean): Uint8Array {
  const r = new Reader(payload, 0, payload.length, base);
  const count = r.u32();
  if (count !== params.length) throw malformed(`code section has ${count} bodies for ${params.length} declared functions`, r.offset(0));
  const bodies: ScannedBody[] = [];
  for (let i = 0; i < count; i++) {
    const size = r.u32();
    const start = r.pos;
    r.skip(size);
    const body = scanBody(payload, start, start + size, base);
    const added = (policy.cache && body.loops > 0 ? 1 : 0) + ((deadline && body.bulk) || body.grows ? 1 : 0);
    if (added > 0 && params[i]! + body.locals + added > MAX_LOCALS) {
      throw unsupported(`function ${i} has ${params[i]! + body.locals} locals, no room for ${added} more (limit ${MAX_LOCALS})`, r.offset(start));
    }
    for (const f of body.refs) targets.taken!.add(f);
    bodies.push(body);
  }
  if (!r.atEnd) throw malformed(`${r.end - r.pos} unexpected bytes after the code section`, r.offset());

  // Functions that make calls check at entry: every recursion passes through one. A leaf (no
  // calls) is charged where it is called: its top-level cost at its direct call sites, the
  // largest among referenced leaves at every indirect call. A leaf's loops check themselves.
  const first = targets.importedFuncs;
  const leafCost = (func: number) => {
    const callee = bodies[func - first];
    return callee && !callee.calls ? callee.costs[0]! : 0;
  };
  let indirectCost = 0;
  for (const f of targets.taken!) indirectCost = Math.max(indirectCost, leafCost(f));
  for (const b of bodies) {
    for (const { region, func } of b.direct) b.costs[region]! += leafCost(func);
    for (const region of b.indirect) b.costs[region]! += indirectCost;
  }

  const parts: Uint8Array[] = [encodeU32(count)];
  bodies.forEach((b, i) => {
    let next = params[i]! + b.locals;
    const cache = policy.cache && b.loops > 0 ? next++ : undefined;
    const scratch = (deadline && b.bulk) || b.grows ? next++ : undefined;
    const body = emitBody(payload, b, targets, { cache, scratch, entry: policy.entry && b.calls, charge: deadline });
    parts.push(encodeU32(body.length), body);
  });
  return concatBytes(...parts);
}

/** A custom section as it goes out: `name` renumbered (dropped if unreadable), offset-bearing sections dropped. */
function rewriteCustom(bytes: Uint8Array, s: WasmSection, base: number, renumber: Renumber): Uint8Array | undefined {
  if (s.name === 'name') {
    try {
      return encodeCustomSection('name', rewriteNames(s.payload, base, renumber));
    } catch (e) {
      if (e instanceof InstrumentError) return undefined; // names only serve debugging
      throw e;
    }
  }
  if (s.name !== undefined && OFFSET_SECTIONS.test(s.name)) return undefined;
  return bytes.subarray(s.start, s.end);
}
