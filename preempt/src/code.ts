/**
 * Instrumenting function bodies for preemption. `scanBody` decodes a body and counts the static
 * cost (instructions) of each region: the function's top level and each loop's own body. Then
 * `emitBody` copies the bytes with function indices renumbered and checks inserted: at loop
 * headers, at function entry, and before bulk memory and table operations (charged by size,
 * table.grow included).
 * In functions with loops the slice is cached in an added local, written back to the global
 * before every call and exit and re-read after every call, so a loop iteration touches no memory.
 */
import { concatBytes, encodeU32 } from '@mcp0/abi';
import { decodeInstruction, shiftFunc, signedLeb32, valueType, type Renumber } from './decode.js';
import { malformed } from './errors.js';
import { OP } from './opcodes.js';
import { Reader } from './reader.js';

/** What the inserted checks refer to. */
export interface CheckTargets extends Renumber {
  /** Index of the slice global. */
  sliceGlobal: number;
  /** Index of the global set to 1 when a memory.grow fails (returns -1). */
  growGlobal: number;
  /** Function index of the deadline import. */
  deadlineFunc: number;
}

/** How one body is instrumented, decided by the caller from what `scanBody` found. */
export interface BodyPlan {
  /** Index of the added i32 local caching the slice (functions with loops); otherwise checks use the global. */
  cache: number | undefined;
  /** Index of the added i32 local holding the size operand of a bulk operation or the result of a memory.grow (functions with one). */
  scratch: number | undefined;
  /** Charge the top-level cost at entry, and call the deadline when the slice is used up. */
  entry: boolean;
  /** Insert the deadline checks at all (false: only the grow watch and the renumbering). */
  charge?: boolean;
}

/**
 * Bytes [at, end) of the body are replaced: `func` by the renumbered index. The others are
 * insertions (end === at): `check` charges a region's cost (loop header, function entry), `bulk`
 * charges the size operand of a bulk operation shifted right by `shift`, `store` writes the cached
 * slice back (before a call or an exit), `load` re-reads it (after a call).
 */
export type Patch =
  | { at: number; end: number; kind: 'func'; func: number }
  | { at: number; end: number; kind: 'check'; region: number }
  | { at: number; end: number; kind: 'bulk'; shift: number }
  | { at: number; end: number; kind: 'store' | 'load' | 'grow' };

/** A decoded function body, ready to be re-emitted. */
export interface ScannedBody {
  /** Where the body's bytes are (after its size). */
  readonly start: number;
  readonly end: number;
  /** Offset of the first local group (after the group count), and of the first instruction. */
  readonly firstGroup: number;
  readonly code: number;
  /** Local groups, and declared locals (parameters not included). */
  readonly groups: number;
  readonly locals: number;
  /** Patches in increasing position. */
  readonly patches: readonly Patch[];
  /**
   * Static instruction count per region: 0 is the function's top level, then one per loop. The
   * caller adds the cost of the leaf functions a region calls before emitting.
   */
  readonly costs: number[];
  /** Number of loops. */
  readonly loops: number;
  /** Contains a call of any kind. */
  readonly calls: boolean;
  /** Contains a bulk operation charged by size. */
  readonly bulk: boolean;
  /** Contains a memory.grow, whose failure is recorded. */
  readonly grows: boolean;
  /** Direct calls (call, return_call): the region each is in and the callee. */
  readonly direct: readonly { region: number; func: number }[];
  /** Indirect calls (call_indirect, return_call_indirect): the region each is in. */
  readonly indirect: readonly number[];
  /** Functions named by `ref.func` in the body. */
  readonly refs: readonly number[];
}

/** A region's cost is capped so that `i32.const cost` stays small and the slice cannot wrap. */
const MAX_COST = 1 << 24;

/**
 * 0xfc operations whose work grows with their last operand, an i32 count, and how far that count
 * is shifted right to give the charge. Memory operations pay one unit per 16 bytes. Table
 * operations, table.grow included, pay one unit per entry (shift 0), the heaviest charge a right
 * shift gives: an entry is far heavier than a byte (on Node 20 table.fill and an externref
 * table.grow take ~15 ns per entry, a funcref table.grow 50-150 ns as V8 also fills its dispatch
 * table, against ~0.3 ns per 16 bytes of memory.fill). That still undercharges tables, but it
 * bounds the entries touched between two checks by the slice.
 */
const SIZED: ReadonlyMap<number, number> = new Map([
  [8, 4], // memory.init
  [10, 4], // memory.copy
  [11, 4], // memory.fill
  [12, 0], // table.init
  [14, 0], // table.copy
  [15, 0], // table.grow
  [17, 0], // table.fill
]);

/**
 * Decode a function body in bytes [start, end): its locals, then instructions up to the `end`
 * that closes the function, which must be the body's last byte. `base` is added to offsets in
 * errors.
 * @example
 * const scanned = scanBody(payload, bodyStart, bodyEnd, payloadOffset)
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
  const direct: { region: number; func: number }[] = [];
  const indirect: number[] = [];
  const refs: number[] = [];
  let calls = false;
  let bulk = false;
  let grows = false;
  const insert = (at: number, kind: 'store' | 'load') => patches.push({ at, end: at, kind });
  /** Per open block, the function's own first: the region its instructions count towards. */
  const frames: number[] = [0];
  while (frames.length > 0) {
    if (r.atEnd) throw malformed('function body ends inside a block', r.offset());
    const at = r.pos;
    const ins = decodeInstruction(r);
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
        if (ins.labels!.includes(frames.length - 1)) insert(at, 'store'); // leaves the function
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
      case OP.memoryGrow:
        // After it: its result is on the stack; a failure (-1) is recorded for the host.
        grows = true;
        patches.push({ at: r.pos, end: r.pos, kind: 'grow' });
        break;
      case OP.prefixMisc: {
        const shift = SIZED.get(ins.sub!);
        if (shift !== undefined) {
          bulk = true;
          patches.push({ at, end: at, kind: 'bulk', shift });
        }
        break;
      }
    }
    if (ins.func !== undefined) patches.push({ at: ins.imm, end: r.pos, kind: 'func', func: ins.func });
    if (ins.op === OP.call || ins.op === OP.callIndirect) insert(r.pos, 'load');
  }
  if (!r.atEnd) throw malformed(`function body has ${end - r.pos} bytes after its final end`, r.offset());
  return { start, end, firstGroup, code, groups, locals, patches, costs, loops: costs.length - 1, calls, bulk, grows, direct, indirect, refs };
}

/** An instruction with one index immediate. */
const op1 = (op: number, index: number) => concatBytes(Uint8Array.of(op), encodeU32(index));

/**
 * Charge `amount` (bytes that push one i32) to the slice and, when it is used up, call the
 * deadline import and store the slice it returns. The slice is the `cache` local if given (read
 * from the global instead when `load`), else the global.
 */
function charge(amount: Uint8Array, targets: CheckTargets, cache: number | undefined, load: boolean): Uint8Array {
  const g = targets.sliceGlobal;
  const test = concatBytes(Uint8Array.of(OP.i32Const, 0, OP.i32LeS, OP.if, 0x40), op1(OP.call, targets.deadlineFunc));
  if (cache === undefined) {
    return concatBytes(
      op1(OP.globalGet, g),
      amount,
      Uint8Array.of(OP.i32Sub),
      op1(OP.globalSet, g),
      op1(OP.globalGet, g),
      test,
      op1(OP.globalSet, g),
      Uint8Array.of(OP.end),
    );
  }
  const read = load ? op1(OP.globalGet, g) : op1(OP.localGet, cache);
  return concatBytes(read, amount, Uint8Array.of(OP.i32Sub), op1(OP.localTee, cache), test, op1(OP.localSet, cache), Uint8Array.of(OP.end));
}

/** `i32.const cost`, the cost clamped to [1, MAX_COST]. */
function constant(cost: number): Uint8Array {
  return concatBytes(Uint8Array.of(OP.i32Const), signedLeb32(Math.min(Math.max(cost, 1), MAX_COST)));
}

/**
 * The charge of a bulk operation whose unsigned count is in local `scratch`: count >> shift. A
 * count of 2^31 or more would read as negative and credit the slice (table.grow of such a count
 * fails without trapping, so a loop could pay back its own cost and never reach a check): with
 * shift 0 it is charged 2^31 - 1 instead, a whole slice: engines cap tables far below 2^31
 * entries, so such an operation fails or traps without doing any work.
 */
function sizeCharge(scratch: number, shift: number): Uint8Array {
  const count = op1(OP.localGet, scratch);
  if (shift > 0) return concatBytes(count, Uint8Array.of(OP.i32Const, shift, OP.i32ShrU));
  // select(count, 2^31 - 1, count >= 0)
  return concatBytes(count, Uint8Array.of(OP.i32Const), signedLeb32(0x7fffffff), count, Uint8Array.of(OP.i32Const, 0, OP.i32GeS, OP.select));
}

/** The bytes replacing one insertion patch (undefined: nothing to insert under this plan). */
function insertion(p: Exclude<Patch, { kind: 'func' }>, body: ScannedBody, targets: CheckTargets, plan: BodyPlan): Uint8Array | undefined {
  const { cache, scratch } = plan;
  const g = targets.sliceGlobal;
  if (plan.charge === false && p.kind !== 'grow') return undefined;
  switch (p.kind) {
    case 'check':
      if (p.region > 0 || plan.entry) return charge(constant(body.costs[p.region]!), targets, cache, p.region === 0);
      return cache === undefined ? undefined : concatBytes(op1(OP.globalGet, g), op1(OP.localSet, cache));
    case 'bulk': {
      // The count is on top of the stack: set it aside, charge it, put it back.
      return concatBytes(op1(OP.localSet, scratch!), charge(sizeCharge(scratch!, p.shift), targets, cache, false), op1(OP.localGet, scratch!));
    }
    case 'grow':
      // The result is on top of the stack: keep it, and when it is -1 set the grow global to 1.
      return concatBytes(
        op1(OP.localTee, scratch!),
        Uint8Array.of(OP.i32Const, 0x7f, OP.i32Eq, OP.if, 0x40, OP.i32Const, 1),
        op1(OP.globalSet, targets.growGlobal),
        Uint8Array.of(OP.end),
        op1(OP.localGet, scratch!),
      );
    case 'store':
      return cache === undefined ? undefined : concatBytes(op1(OP.localGet, cache), op1(OP.globalSet, g));
    case 'load':
      return cache === undefined ? undefined : concatBytes(op1(OP.globalGet, g), op1(OP.localSet, cache));
  }
}

/**
 * Re-emit a scanned body (without its size prefix) with function indices renumbered and checks
 * inserted as `plan` says. The locals it adds (cache, scratch) are appended as one i32 group; the
 * plan's indices must be the next free local indices, cache first.
 * @example
 * const scanned = scanBody(payload, start, end, base)
 * const next = params + scanned.locals
 * const body = emitBody(payload, scanned, targets, { cache: scanned.loops ? next : undefined, scratch: undefined, entry: scanned.calls })
 */
export function emitBody(bytes: Uint8Array, body: ScannedBody, targets: CheckTargets, plan: BodyPlan): Uint8Array {
  const added = (plan.cache === undefined ? 0 : 1) + (plan.scratch === undefined ? 0 : 1);
  const parts: Uint8Array[] = [];
  let pos = body.start;
  if (added > 0) {
    parts.push(encodeU32(body.groups + 1), bytes.subarray(body.firstGroup, body.code), Uint8Array.of(added, 0x7f));
    pos = body.code;
  }
  for (const p of body.patches) {
    const replacement = p.kind === 'func' ? encodeU32(shiftFunc(p.func, targets)) : insertion(p, body, targets, plan);
    if (replacement === undefined) continue;
    parts.push(bytes.subarray(pos, p.at), replacement);
    pos = p.end;
  }
  parts.push(bytes.subarray(pos, body.end));
  return concatBytes(...parts);
}
