/**
 * Decoding and rewriting code for the preemption instrumenter: function bodies (insert a deadline
 * check at every loop header and at function entry; renumber function indices) and constant
 * expressions (renumber `ref.func`). Two passes per body: the first decodes every instruction and
 * counts the static cost of each region, the second copies the bytes with the patches applied.
 */
import { concatBytes, encodeU32 } from '@mcp0/abi';
import { malformed, opcodeText, unsupported } from './errors.js';
import { HEAP_TYPES, MAIN, OP, PREFIXED, VALUE_TYPES, type Immediate } from './opcodes.js';
import { Reader } from './reader.js';

/** How indices move and where the inserted checks point. */
export interface Renumber {
  /** Imported functions before the deadline import: function indices at or above move up by one. */
  importedFuncs: number;
  /** Collects (original) indices of functions whose reference is taken: element segments, `ref.func`. */
  taken?: Set<number>;
}

/** What the inserted checks refer to. */
export interface CheckTargets extends Renumber {
  /** Index of the slice global. */
  sliceGlobal: number;
  /** Function index of the deadline import. */
  deadlineFunc: number;
}

/** How one body is instrumented, decided by the caller from what `scanBody` found. */
export interface BodyPlan {
  /**
   * Index of the added i32 local that caches the slice (functions with loops), or undefined: then
   * checks update the global directly.
   */
  cache: number | undefined;
  /** Charge the top-level cost at entry (and call the deadline when the slice is used up). */
  entry: boolean;
}

/** A decoded function body, ready to be re-emitted. */
export interface ScannedBody {
  /** Where the body's bytes are (after its size), in the reader's bytes. */
  readonly start: number;
  readonly end: number;
  /** Offset of the first instruction (after the locals). */
  readonly code: number;
  /** Declared locals (not counting parameters). */
  readonly locals: number;
  /** Number of local groups in the body's locals vector. */
  readonly groups: number;
  /** Offset of the first local group (after the group count). */
  readonly firstGroup: number;
  /** Patches in increasing position. */
  readonly patches: Patch[];
  /**
   * Static instruction count per region: 0 is the function's top level, then one per loop. The
   * caller may add the cost of the leaf functions a region calls before emitting.
   */
  readonly costs: number[];
  /** Contains a call of any kind. */
  readonly calls: boolean;
  /** Direct calls (call, return_call): the region they are in and the callee. */
  readonly direct: readonly { region: number; func: number }[];
  /** Indirect calls (call_indirect, return_call_indirect): the region each is in. */
  readonly indirect: readonly number[];
  /** Functions named by `ref.func` in the body. */
  readonly refs: readonly number[];
  /** Number of loops. */
  readonly loops: number;
}

/**
 * Bytes [at, end) of the body are replaced: `func` by the renumbered index; the others are
 * insertions (end === at): `check` charges a region's cost at a loop header or function entry,
 * `store` writes the cached slice back before a call or a function exit, `load` re-reads it after
 * a call.
 */
export type Patch =
  | { at: number; end: number; kind: 'func'; func: number }
  | { at: number; end: number; kind: 'check'; region: number }
  | { at: number; end: number; kind: 'store' | 'load' };

/** A region's cost is capped so that `i32.const cost` stays small and the counter cannot wrap. */
const MAX_COST = 1 << 24;

/** Function index after the deadline import was inserted. */
export function shiftFunc(index: number, renumber: Renumber): number {
  return index >= renumber.importedFuncs ? index + 1 : index;
}

/** `shiftFunc` for a function reference (element item, `ref.func`): also notes the function as taken. */
export function shiftRef(index: number, renumber: Renumber): number {
  renumber.taken?.add(index);
  return shiftFunc(index, renumber);
}

/** Read one value type (locals, block results, select t*); refuse typed references. */
function valueType(r: Reader): number {
  const at = r.pos;
  const t = r.byte();
  if (!VALUE_TYPES.has(t)) throw unsupported(`value type 0x${t.toString(16)}`, r.offset(at), { valueType: t });
  return t;
}

/** Read a block type: empty, one value type, or a type index (multi-value). */
function blockType(r: Reader): void {
  const b = r.bytes[r.pos];
  if (b === 0x40 || (b !== undefined && VALUE_TYPES.has(b))) {
    r.pos++;
    return;
  }
  const at = r.pos;
  const index = r.signed(33);
  if (index < 0) throw unsupported(`block type 0x${((index + 128) & 0x7f).toString(16)}`, r.offset(at));
}

/** Skip the immediates of `imm`; returns the function index for `func` immediates. */
function immediates(r: Reader, imm: Immediate): number | undefined {
  switch (imm) {
    case 'none':
      return undefined;
    case 'block':
      blockType(r);
      return undefined;
    case 'u32':
      r.u32();
      return undefined;
    case 'u32x2':
      r.u32();
      r.u32();
      return undefined;
    case 'func':
      return r.u32();
    case 'brtable': {
      const n = r.u32();
      for (let i = 0; i <= n; i++) r.u32();
      return undefined;
    }
    case 'memarg':
    case 'memlane': {
      const align = r.u32();
      if (align & 0x40) r.u32(); // multi-memory: a memory index follows
      r.skipLeb(10); // offset: u32, or u64 with memory64
      if (imm === 'memlane') r.skip(1);
      return undefined;
    }
    case 'lane':
      r.skip(1);
      return undefined;
    case 'i32':
      r.skipLeb(5);
      return undefined;
    case 'i64':
      r.skipLeb(10);
      return undefined;
    case 'f32':
      r.skip(4);
      return undefined;
    case 'f64':
      r.skip(8);
      return undefined;
    case 'v128':
      r.skip(16);
      return undefined;
    case 'select': {
      const n = r.u32();
      for (let i = 0; i < n; i++) valueType(r);
      return undefined;
    }
    case 'heap': {
      const at = r.pos;
      const t = r.byte();
      if (!HEAP_TYPES.has(t)) throw unsupported(`heap type 0x${t.toString(16)}`, r.offset(at));
      return undefined;
    }
    case 'zero': {
      const at = r.pos;
      if (r.byte() !== 0) throw malformed('expected a 0x00 byte', r.offset(at));
      return undefined;
    }
  }
}

/** One decoded instruction: its opcode, the function index or branch labels it names, if any. */
interface Instruction {
  op: number;
  /** Position just after the opcode (where a `func` immediate starts). */
  imm: number;
  func: number | undefined;
  /** Relative labels of br, br_if and br_table. */
  labels: number[] | undefined;
}

/** Decode the instruction at the cursor. Unknown opcodes are refused with their offset. */
function instruction(r: Reader): Instruction {
  const at = r.pos;
  const op = r.byte();
  const sub = PREFIXED.get(op);
  let imm: Immediate | undefined;
  let text: string;
  if (sub) {
    const code = r.u32();
    imm = sub.get(code);
    text = opcodeText(op, code);
  } else {
    imm = MAIN.get(op);
    text = opcodeText(op);
  }
  if (imm === undefined) throw unsupported(`unknown or unsupported opcode ${text}`, r.offset(at), { opcode: text });
  const immStart = r.pos;
  if (!sub && (op === OP.br || op === OP.brIf || op === OP.brTable)) {
    const n = op === OP.brTable ? r.u32() : 0;
    const labels: number[] = [];
    for (let i = 0; i <= n; i++) labels.push(r.u32());
    return { op, imm: immStart, func: undefined, labels };
  }
  return { op, imm: immStart, func: immediates(r, imm), labels: undefined };
}

/**
 * Decode a function body in bytes [start, end): its locals, then instructions until the `end`
 * that closes the function, which must be the body's last byte.
 * @example
 * const scanned = scanBody(payload, bodyStart, bodyEnd, base)
 */
export function scanBody(bytes: Uint8Array, start: number, end: number, base: number): ScannedBody {
  const r = new Reader(bytes, start, end, base);
  const groups = r.u32();
  const firstGroup = r.pos;
  let locals = 0;
  for (let i = 0; i < groups; i++) {
    locals += r.u32();
    valueType(r);
  }
  if (locals > 0xffffffff) throw malformed(`${locals} locals`, r.offset(start));
  const code = r.pos;
  const patches: Patch[] = [{ at: code, end: code, kind: 'check', region: 0 }];
  const costs = [0];
  /** Per open block (the function's own block first): the region its instructions count towards. */
  const frames: number[] = [0];
  let calls = false;
  const direct: { region: number; func: number }[] = [];
  const indirect: number[] = [];
  const refs: number[] = [];
  const insert = (at: number, kind: 'store' | 'load') => patches.push({ at, end: at, kind });
  while (frames.length > 0) {
    const at = r.pos;
    const ins = instruction(r);
    const region = frames[frames.length - 1]!;
    costs[region]! += 1;
    switch (ins.op) {
      case OP.block:
      case OP.if:
        frames.push(region);
        break;
      case OP.loop:
        costs.push(0);
        frames.push(costs.length - 1);
        patches.push({ at: r.pos, end: r.pos, kind: 'check', region: costs.length - 1 });
        break;
      case OP.end:
        frames.pop();
        if (frames.length === 0) insert(at, 'store');
        break;
      case OP.return:
        insert(at, 'store');
        break;
      case OP.br:
      case OP.brIf:
      case OP.brTable:
        if (ins.labels!.some((l) => l === frames.length - 1)) insert(at, 'store');
        break;
      case OP.call:
      case OP.callIndirect:
      case OP.returnCall:
      case OP.returnCallIndirect:
        calls = true;
        insert(at, 'store');
        if (ins.func !== undefined) direct.push({ region, func: ins.func });
        else indirect.push(region);
        break;
      case OP.refFunc:
        refs.push(ins.func!);
        break;
    }
    if (ins.func !== undefined) patches.push({ at: ins.imm, end: r.pos, kind: 'func', func: ins.func });
    if (ins.op === OP.call || ins.op === OP.callIndirect) insert(r.pos, 'load');
    if (frames.length > 0 && r.atEnd) throw malformed('function body ends inside a block', r.offset(at));
  }
  if (!r.atEnd) throw malformed(`function body has ${end - r.pos} bytes after its final end`, r.offset());
  return { start, end, code, locals, groups, firstGroup, patches, costs, calls, direct, indirect, refs, loops: costs.length - 1 };
}

/** Signed LEB128 of an i32. */
export function signedLeb32(n: number): Uint8Array {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return Uint8Array.from(out);
    }
    out.push(b | 0x80);
  }
}

/** `global.get`/`global.set`/`local.get`/`local.set`/`local.tee` with an index. */
const ins = (op: number, index: number) => concatBytes(Uint8Array.of(op), encodeU32(index));

/**
 * The check at a loop header or function entry: charge `cost` to the slice (the cached local, or
 * the global) and, when it is used up, call the deadline import and store the slice it returns.
 * With a cache, `load` first reads the global into the local (function entry).
 */
export function checkSequence(cost: number, targets: CheckTargets, cache: number | undefined, load = false): Uint8Array {
  const charge = concatBytes(Uint8Array.of(OP.i32Const), signedLeb32(Math.min(Math.max(cost, 1), MAX_COST)), Uint8Array.of(OP.i32Sub));
  const test = Uint8Array.of(OP.i32Const, 0, OP.i32LeS, OP.if, 0x40, OP.call);
  const deadline = encodeU32(targets.deadlineFunc);
  if (cache === undefined) {
    const g = targets.sliceGlobal;
    return concatBytes(ins(OP.globalGet, g), charge, ins(OP.globalSet, g), ins(OP.globalGet, g), test, deadline, ins(OP.globalSet, g), Uint8Array.of(OP.end));
  }
  const read = load ? ins(OP.globalGet, targets.sliceGlobal) : ins(OP.localGet, cache);
  return concatBytes(read, charge, ins(OP.localTee, cache), test, deadline, ins(OP.localSet, cache), Uint8Array.of(OP.end));
}

/**
 * Re-emit a scanned body (without its size prefix) with function indices renumbered and checks
 * inserted as `plan` says. With a cache, the locals vector gains one i32.
 */
export function emitBody(bytes: Uint8Array, body: ScannedBody, targets: CheckTargets, plan: BodyPlan): Uint8Array {
  const { cache } = plan;
  const parts: Uint8Array[] = [];
  let pos = body.start;
  if (cache !== undefined) {
    parts.push(encodeU32(body.groups + 1), bytes.subarray(body.firstGroup, body.code), Uint8Array.of(1, 0x7f));
    pos = body.code;
  }
  for (const p of body.patches) {
    let replacement: Uint8Array;
    switch (p.kind) {
      case 'func':
        replacement = encodeU32(shiftFunc(p.func, targets));
        break;
      case 'check':
        if (p.region === 0 && !plan.entry) {
          if (cache === undefined) continue;
          replacement = concatBytes(ins(OP.globalGet, targets.sliceGlobal), ins(OP.localSet, cache));
        } else {
          replacement = checkSequence(body.costs[p.region]!, targets, cache, p.region === 0);
        }
        break;
      case 'store':
        if (cache === undefined) continue;
        replacement = concatBytes(ins(OP.localGet, cache), ins(OP.globalSet, targets.sliceGlobal));
        break;
      case 'load':
        if (cache === undefined) continue;
        replacement = concatBytes(ins(OP.globalGet, targets.sliceGlobal), ins(OP.localSet, cache));
        break;
    }
    parts.push(bytes.subarray(pos, p.at), replacement);
    pos = p.end;
  }
  parts.push(bytes.subarray(pos, body.end));
  return concatBytes(...parts);
}

/**
 * Rewrite a constant expression starting at `r.pos` (global initialisers, element offsets and
 * items): `ref.func` indices are renumbered. Advances `r` past the expression's `end`.
 */
export function rewriteConstExpr(r: Reader, renumber: Renumber): Uint8Array {
  const start = r.pos;
  const parts: Uint8Array[] = [];
  let pos = start;
  let depth = 0;
  for (;;) {
    const ins = instruction(r);
    if (ins.func !== undefined) {
      parts.push(r.bytes.subarray(pos, ins.imm), encodeU32(shiftRef(ins.func, renumber)));
      pos = r.pos;
    }
    if (ins.op === OP.block || ins.op === OP.loop || ins.op === OP.if) depth++;
    else if (ins.op === OP.end && depth-- === 0) break;
  }
  parts.push(r.bytes.subarray(pos, r.pos));
  return concatBytes(...parts);
}
