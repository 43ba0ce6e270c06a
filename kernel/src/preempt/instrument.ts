/**
 * Preemption for the inline tier: rewrite a verified module so that a guest stuck in a loop (or in
 * a recursion without loops) calls back into the host every so often, where the host can check a
 * wall-clock deadline and throw, which unwinds the guest. Every loop header and (by default) every
 * function that makes calls charges a mutable i32 global, the slice, with the static instruction
 * count of its region; when the slice is used up the guest calls the `mcp0:kernel.deadline` import
 * and stores the slice it returns. The hot path is global.get/i32.sub/global.set/compare/branch.
 */
import { Mcp0Error, UsageError, WASM_HEADER, concatBytes, encodeCustomSection, encodeSection, encodeU32, parseSections, type WasmSection } from '@mcp0/abi';
import { emitBody, scanBody, type BodyPlan, type CheckTargets, type Renumber, type ScannedBody } from './code.js';
import { InstrumentError, malformed, unsupported } from './errors.js';
import { Reader } from './reader.js';
import { functionTypes, rewriteElements, rewriteExports, rewriteGlobals, rewriteImports, rewriteNames, rewriteStart, rewriteTables, rewriteTypes } from './sections.js';

export { InstrumentError, type InstrumentDetails, type InstrumentReason } from './errors.js';

/** Namespace and name of the import the instrumented code calls when its slice runs out. Type `() -> i32`: returns the next slice (> 0). */
export const DEADLINE_IMPORT = { module: 'mcp0:kernel', name: 'deadline' } as const;

/** Name of the exported mutable i32 global holding the remaining slice (the host may reset it before each call). */
export const SLICE_EXPORT = '__mcp0_slice';

/**
 * The default slice, in static instructions: a loop iteration charges the instruction count of its
 * body (nested loops excluded), a function entry that of its top level. About 0.1-0.5 ms of guest
 * work on a tight loop, so a deadline is noticed well within a millisecond.
 */
export const DEFAULT_SLICE = 1_000_000;

/** Options of `instrumentDeadline`. */
export interface InstrumentOptions {
  /** Initial value of the slice global, and the unit the host's `deadline` should return. Default DEFAULT_SLICE. */
  slice?: number;
  /**
   * Charge and check at function entry (default true) in functions that make calls, which every
   * recursion passes through; leaves are charged at their call sites. `false` checks loops only,
   * for measuring.
   */
  entry?: boolean;
  /**
   * Cache the slice in a local in functions with loops, so a loop iteration touches no memory
   * (default true; the global is written back before calls and exits). `false` is for measuring.
   */
  cache?: boolean;
}

/** How bodies are instrumented. */
interface Policy {
  entry: boolean;
  cache: boolean;
}

/** Section ids. */
const Id = { Custom: 0, Type: 1, Import: 2, Function: 3, Table: 4, Global: 6, Export: 7, Start: 8, Element: 9, Code: 10 } as const;

/** Where each standard section id goes in module order (the data count section, 12, sits before code). */
const RANK: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 };

/** The JS API's limit on a function's locals (parameters included). */
const MAX_LOCALS = 50_000;

/** Custom sections that hold code offsets, which move: dropped rather than left wrong. */
const OFFSET_SECTIONS = /^(\.debug_|metadata\.code\.)/;

/**
 * Instrument a module for deadline preemption. The result imports `mcp0:kernel.deadline`
 * (`() -> i32`) and exports the mutable i32 global `__mcp0_slice`; otherwise it behaves like the
 * input. Throws InstrumentError (a LoadError: ENOTWASM for malformed or unsupported code, EIMPORT
 * when the module already uses the kernel's names) with the offset and opcode.
 * @example
 * const wasm = instrumentDeadline(verified.bytes)
 * const deadline = performance.now() + timeoutMs
 * const { instance } = await WebAssembly.instantiate(wasm, {
 *   'mcp0:kernel': { deadline: () => { if (performance.now() > deadline) throw new Error('timeout'); return DEFAULT_SLICE } },
 * })
 */
export function instrumentDeadline(bytes: Uint8Array, opts: InstrumentOptions = {}): Uint8Array {
  const slice = opts.slice ?? DEFAULT_SLICE;
  if (!Number.isInteger(slice) || slice < 1 || slice > 0x7fffffff) throw new UsageError('EUSAGE', `slice: expected an integer in 1..2^31-1, got ${slice}`, { got: slice });
  try {
    return instrument(bytes, slice, { entry: opts.entry ?? true, cache: opts.cache ?? true });
  } catch (e) {
    if (e instanceof Mcp0Error) throw e;
    throw new InstrumentError('ENOTWASM', `instrumentation failed: ${e instanceof Error ? e.message : String(e)}`, { reason: 'malformed' }, { cause: e });
  }
}

function instrument(bytes: Uint8Array, slice: number, policy: Policy): Uint8Array {
  const sections = parseSections(bytes);
  const byId = new Map<number, WasmSection>();
  for (const s of sections) {
    if (s.id === Id.Custom) continue;
    if (byId.has(s.id)) throw malformed(`duplicate section ${s.id}`, s.start);
    byId.set(s.id, s);
  }
  const base = (s: WasmSection | undefined) => (s ? s.payload.byteOffset - bytes.byteOffset : 0);
  const at = (id: number) => byId.get(id);

  const types = rewriteTypes(at(Id.Type)?.payload, base(at(Id.Type)));
  const imports = rewriteImports(at(Id.Import)?.payload, base(at(Id.Import)), { ...DEADLINE_IMPORT, type: types.deadlineType });
  const renumber: Renumber = { importedFuncs: imports.counts.funcs, taken: new Set() };
  const globals = rewriteGlobals(at(Id.Global)?.payload, base(at(Id.Global)), renumber, slice);
  const sliceGlobal = imports.counts.globals + globals.defined;
  const targets: CheckTargets = { ...renumber, sliceGlobal, deadlineFunc: imports.counts.funcs };

  const replaced = new Map<number, Uint8Array>([
    [Id.Type, types.payload],
    [Id.Import, imports.payload],
    [Id.Global, globals.payload],
    [Id.Export, rewriteExports(at(Id.Export)?.payload, base(at(Id.Export)), renumber, { name: SLICE_EXPORT, global: sliceGlobal })],
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
  const funcTypes = functionTypes(at(Id.Function)?.payload, base(at(Id.Function)));
  const params = funcTypes.map((t) => {
    const n = types.params[t];
    if (n === undefined) throw malformed(`function type index ${t} out of range`, at(Id.Function)!.start);
    return n;
  });
  const code = at(Id.Code);
  if (code) replaced.set(Id.Code, rewriteCode(code.payload, base(code), params, targets, renumber.taken!, policy));
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
    const payload = replaced.get(s.id);
    out.push(payload ? encodeSection(s.id, payload) : bytes.subarray(s.start, s.end));
  }
  flushBefore(Infinity);
  return concatBytes(...out);
}

/**
 * The code section, every body scanned, then re-emitted with checks. `params` has each defined
 * function's parameter count; `taken` the functions whose reference escapes (reachable through
 * call_indirect).
 */
function rewriteCode(payload: Uint8Array, base: number, params: number[], targets: CheckTargets, taken: Set<number>, policy: Policy): Uint8Array {
  const r = new Reader(payload, 0, payload.length, base);
  const count = r.u32();
  if (count !== params.length) throw malformed(`code section has ${count} bodies for ${params.length} declared functions`, r.offset(0));
  const bodies: ScannedBody[] = [];
  for (let i = 0; i < count; i++) {
    const size = r.u32();
    const start = r.pos;
    r.skip(size);
    const scanned = scanBody(payload, start, start + size, base);
    if (policy.cache && scanned.loops > 0 && params[i]! + scanned.locals >= MAX_LOCALS) {
      throw unsupported(`function ${i} has ${params[i]! + scanned.locals} locals, no room for the slice cache (engine limit ${MAX_LOCALS})`, r.offset(start));
    }
    for (const f of scanned.refs) taken.add(f);
    bodies.push(scanned);
  }
  if (!r.atEnd) throw malformed(`${r.end - r.pos} unexpected bytes after the code section`, r.offset());

  // Functions that make calls check at entry: every recursion passes through one. A leaf (no
  // calls) is charged where it is called: its top-level cost at its direct call sites, and the
  // largest among referenced leaves at every indirect call.
  const first = targets.importedFuncs;
  const leafCost = (func: number) => {
    const callee = bodies[func - first];
    return callee && !callee.calls ? callee.costs[0]! : 0;
  };
  let indirectCost = 0;
  for (const f of taken) indirectCost = Math.max(indirectCost, leafCost(f));
  for (const b of bodies) {
    for (const { region, func } of b.direct) b.costs[region]! += leafCost(func);
    for (const region of b.indirect) b.costs[region]! += indirectCost;
  }
  const parts: Uint8Array[] = [encodeU32(count)];
  bodies.forEach((b, i) => {
    const plan: BodyPlan = { cache: policy.cache && b.loops > 0 ? params[i]! + b.locals : undefined, entry: policy.entry && b.calls };
    const body = emitBody(payload, b, targets, plan);
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
      if (e instanceof InstrumentError) return undefined; // names are only for debugging
      throw e;
    }
  }
  if (s.name !== undefined && OFFSET_SECTIONS.test(s.name)) return undefined;
  return bytes.subarray(s.start, s.end);
}
