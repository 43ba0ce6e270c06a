/**
 * Opcode → immediates tables for the instruction decoder of the preemption instrumenter: the MVP,
 * sign extension, non-trapping float-to-int, bulk memory, reference types, multi-value, tail
 * calls, multi-memory, 64-bit memory offsets, SIMD (0xfd, incl. relaxed SIMD) and atomics (0xfe).
 * An opcode absent from these tables is refused, never guessed: GC (0xfb), exception handling,
 * typed function references and strings are not decoded.
 */

/**
 * What follows an opcode:
 * - `none`: nothing
 * - `block`: a block type (0x40, a value type, or a type index as s33)
 * - `u32`: one index (label, local, global, table, memory, data, element, type)
 * - `u32x2`: two indices (call_indirect: type, table; memory.init: data, memory; copies: dst, src)
 * - `func`: a function index (call, return_call, ref.func): rewritten when imports shift
 * - `brtable`: a vector of labels and a default label
 * - `memarg`: alignment (bit 6: a memory index follows) and offset
 * - `memlane`: a memarg and a lane byte
 * - `lane`: one lane byte
 * - `i32` / `i64`: a signed LEB128 constant
 * - `f32` / `f64` / `v128`: 4, 8 or 16 raw bytes (v128.const, i8x16.shuffle)
 * - `select`: a vector of value types
 * - `heap`: a heap type (ref.null)
 * - `zero`: one reserved 0x00 byte (atomic.fence)
 */
export type Immediate =
  | 'none'
  | 'block'
  | 'u32'
  | 'u32x2'
  | 'func'
  | 'brtable'
  | 'memarg'
  | 'memlane'
  | 'lane'
  | 'i32'
  | 'i64'
  | 'f32'
  | 'f64'
  | 'v128'
  | 'select'
  | 'heap'
  | 'zero';

/** Opcode bytes the decoder treats specially. */
export const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  brTable: 0x0e,
  return: 0x0f,
  call: 0x10,
  callIndirect: 0x11,
  returnCall: 0x12,
  returnCallIndirect: 0x13,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  globalGet: 0x23,
  globalSet: 0x24,
  memoryGrow: 0x40,
  i32Const: 0x41,
  i32Eq: 0x46,
  i32LeS: 0x4c,
  i32GeS: 0x4e,
  i32Sub: 0x6b,
  i32ShrU: 0x76,
  refFunc: 0xd2,
  prefixMisc: 0xfc,
  prefixSimd: 0xfd,
  prefixAtomic: 0xfe,
} as const;

/** Build a sparse table from [first, last, immediate] ranges. */
function table(ranges: readonly (readonly [number, number, Immediate])[]): ReadonlyMap<number, Immediate> {
  const map = new Map<number, Immediate>();
  for (const [first, last, imm] of ranges) for (let op = first; op <= last; op++) map.set(op, imm);
  return map;
}

/** Single-byte opcodes. */
export const MAIN: ReadonlyMap<number, Immediate> = table([
  [0x00, 0x01, 'none'], // unreachable, nop
  [0x02, 0x04, 'block'], // block, loop, if
  [0x05, 0x05, 'none'], // else
  [0x0b, 0x0b, 'none'], // end
  [0x0c, 0x0d, 'u32'], // br, br_if
  [0x0e, 0x0e, 'brtable'],
  [0x0f, 0x0f, 'none'], // return
  [0x10, 0x10, 'func'], // call
  [0x11, 0x11, 'u32x2'], // call_indirect
  [0x12, 0x12, 'func'], // return_call
  [0x13, 0x13, 'u32x2'], // return_call_indirect
  [0x1a, 0x1b, 'none'], // drop, select
  [0x1c, 0x1c, 'select'], // select t*
  [0x20, 0x26, 'u32'], // local.get/set/tee, global.get/set, table.get/set
  [0x28, 0x3e, 'memarg'], // loads and stores
  [0x3f, 0x40, 'u32'], // memory.size, memory.grow (memory index)
  [0x41, 0x41, 'i32'],
  [0x42, 0x42, 'i64'],
  [0x43, 0x43, 'f32'],
  [0x44, 0x44, 'f64'],
  [0x45, 0xc4, 'none'], // numeric, sign extension
  [0xd0, 0xd0, 'heap'], // ref.null
  [0xd1, 0xd1, 'none'], // ref.is_null
  [0xd2, 0xd2, 'func'], // ref.func
]);

/** 0xfc-prefixed: saturating truncation, bulk memory, table operations. */
export const MISC: ReadonlyMap<number, Immediate> = table([
  [0, 7, 'none'], // i32.trunc_sat_f32_s ... i64.trunc_sat_f64_u
  [8, 8, 'u32x2'], // memory.init data memory
  [9, 9, 'u32'], // data.drop
  [10, 10, 'u32x2'], // memory.copy dst src
  [11, 11, 'u32'], // memory.fill
  [12, 12, 'u32x2'], // table.init elem table
  [13, 13, 'u32'], // elem.drop
  [14, 14, 'u32x2'], // table.copy dst src
  [15, 17, 'u32'], // table.grow, table.size, table.fill
]);

/** 0xfd-prefixed: SIMD and relaxed SIMD. Gaps are unassigned opcodes. */
export const SIMD: ReadonlyMap<number, Immediate> = table([
  [0x00, 0x0b, 'memarg'], // v128.load ... v128.load64_splat, v128.store
  [0x0c, 0x0d, 'v128'], // v128.const, i8x16.shuffle
  [0x0e, 0x14, 'none'], // swizzle, splats
  [0x15, 0x22, 'lane'], // extract_lane, replace_lane
  [0x23, 0x53, 'none'], // comparisons, bitwise, any_true
  [0x54, 0x5b, 'memlane'], // load*_lane, store*_lane
  [0x5c, 0x5d, 'memarg'], // v128.load32_zero, v128.load64_zero
  [0x5e, 0x99, 'none'],
  [0x9b, 0xa1, 'none'],
  [0xa3, 0xa4, 'none'],
  [0xa7, 0xae, 'none'],
  [0xb1, 0xb1, 'none'],
  [0xb5, 0xba, 'none'],
  [0xbc, 0xc1, 'none'],
  [0xc3, 0xc4, 'none'],
  [0xc7, 0xce, 'none'],
  [0xd1, 0xd1, 'none'],
  [0xd5, 0xe1, 'none'],
  [0xe3, 0xed, 'none'],
  [0xef, 0xff, 'none'],
  [0x100, 0x113, 'none'], // relaxed SIMD
]);

/** 0xfe-prefixed: atomics. */
export const ATOMIC: ReadonlyMap<number, Immediate> = table([
  [0x00, 0x02, 'memarg'], // memory.atomic.notify, wait32, wait64
  [0x03, 0x03, 'zero'], // atomic.fence
  [0x10, 0x4e, 'memarg'], // atomic loads, stores, read-modify-write, cmpxchg
]);

/** Prefix byte → its sub-opcode table. */
export const PREFIXED: ReadonlyMap<number, ReadonlyMap<number, Immediate>> = new Map([
  [OP.prefixMisc, MISC],
  [OP.prefixSimd, SIMD],
  [OP.prefixAtomic, ATOMIC],
]);

/** Value types the decoder accepts in locals, block types and `select t*`: numbers, v128, funcref, externref. */
export const VALUE_TYPES: ReadonlySet<number> = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);

/** Heap types of `ref.null` the decoder accepts: func and extern. */
export const HEAP_TYPES: ReadonlySet<number> = new Set([0x70, 0x6f]);
