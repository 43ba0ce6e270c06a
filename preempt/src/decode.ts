/**
 * The instruction decoder of the preemption instrumenter: value and block types, immediates by
 * the tables in opcodes.ts, one instruction at a time; plus function renumbering and the rewrite
 * of constant expressions (`ref.func` in global, table and element initialisers).
 */
import { concatBytes, encodeU32 } from '@mcp0/abi';
import { malformed, opcodeText, unsupported } from './errors.js';
import { HEAP_TYPES, MAIN, OP, PREFIXED, VALUE_TYPES, type Immediate } from './opcodes.js';
import type { Reader } from './reader.js';

/** How function indices move when the deadline import is inserted after the other imports. */
export interface Renumber {
  /** Imported functions before the deadline import: function indices at or above move up by `shift`. */
  importedFuncs: number;
  /** 1 when the deadline import is added (the default), 0 when no import is (grow watch alone). */
  shift?: 0 | 1;
  /** Collects (original) indices of functions whose reference is taken: element segments, `ref.func`. */
  taken?: Set<number>;
}

/** Function index after the deadline import was inserted. */
export function shiftFunc(index: number, renumber: Renumber): number {
  return index >= renumber.importedFuncs ? index + (renumber.shift ?? 1) : index;
}

/** `shiftFunc` for a function reference (element item, `ref.func`): also notes the function as taken. */
export function shiftRef(index: number, renumber: Renumber): number {
  renumber.taken?.add(index);
  return shiftFunc(index, renumber);
}

/** Read one value type (locals, params, block results, select t*); typed references are refused. */
export function valueType(r: Reader): number {
  const at = r.pos;
  const t = r.byte();
  if (!VALUE_TYPES.has(t)) throw unsupported(`value type 0x${t.toString(16)}`, r.offset(at), { valueType: t });
  return t;
}

/** Read a reference type (tables, element segments): funcref or externref. */
export function refType(r: Reader): void {
  const at = r.pos;
  const t = r.byte();
  if (!HEAP_TYPES.has(t)) throw unsupported(`reference type 0x${t.toString(16)}`, r.offset(at));
}

/** Read a block type: empty, one value type, or a type index (multi-value). */
function blockType(r: Reader): void {
  const b = r.bytes[r.pos];
  if (b === 0x40 || (b !== undefined && VALUE_TYPES.has(b))) {
    r.pos++;
    return;
  }
  const at = r.pos;
  if (r.signed(33) < 0) throw unsupported(`block type 0x${(b ?? 0).toString(16)}`, r.offset(at));
}

/** Skip the immediates of `imm`; returns the function index of a `func` immediate. */
function immediates(r: Reader, imm: Immediate): number | undefined {
  switch (imm) {
    case 'none':
      break;
    case 'block':
      blockType(r);
      break;
    case 'u32':
      r.u32();
      break;
    case 'u32x2':
      r.u32();
      r.u32();
      break;
    case 'func':
      return r.u32();
    case 'brtable':
      for (let n = r.u32(), i = 0; i <= n; i++) r.u32();
      break;
    case 'memarg':
    case 'memlane':
      if (r.u32() & 0x40) r.u32(); // multi-memory: a memory index follows the alignment
      r.skipLeb(10); // offset: u32, or u64 with memory64
      if (imm === 'memlane') r.skip(1);
      break;
    case 'lane':
      r.skip(1);
      break;
    case 'i32':
      r.skipLeb(5);
      break;
    case 'i64':
      r.skipLeb(10);
      break;
    case 'f32':
      r.skip(4);
      break;
    case 'f64':
      r.skip(8);
      break;
    case 'v128':
      r.skip(16);
      break;
    case 'select':
      for (let n = r.u32(), i = 0; i < n; i++) valueType(r);
      break;
    case 'heap':
      refType(r);
      break;
    case 'zero': {
      const at = r.pos;
      if (r.byte() !== 0) throw malformed('expected a 0x00 byte', r.offset(at));
      break;
    }
  }
  return undefined;
}

/** One decoded instruction. */
export interface Instruction {
  op: number;
  /** The sub-opcode of a prefixed instruction (0xfc, 0xfd, 0xfe). */
  sub: number | undefined;
  /** Position just after the opcode (where a `func` immediate starts). */
  imm: number;
  /** The function index of call, return_call, ref.func. */
  func: number | undefined;
  /** The relative labels of br, br_if, br_table. */
  labels: number[] | undefined;
}

/**
 * Decode the instruction at the cursor and advance past it. Unknown opcodes are refused with
 * their offset, never skipped.
 * @example
 * const { op, func } = decodeInstruction(r)
 */
export function decodeInstruction(r: Reader): Instruction {
  const at = r.pos;
  const op = r.byte();
  const table = PREFIXED.get(op);
  const sub = table ? r.u32() : undefined;
  const imm = table ? table.get(sub!) : MAIN.get(op);
  if (imm === undefined) {
    const text = opcodeText(op, sub);
    throw unsupported(`unknown or unsupported opcode ${text}`, r.offset(at), { opcode: text });
  }
  const start = r.pos;
  if (op === OP.br || op === OP.brIf || op === OP.brTable) {
    const n = op === OP.brTable ? r.u32() : 0;
    const labels: number[] = [];
    for (let i = 0; i <= n; i++) labels.push(r.u32());
    return { op, sub, imm: start, func: undefined, labels };
  }
  return { op, sub, imm: start, func: immediates(r, imm), labels: undefined };
}

/**
 * Rewrite a constant expression starting at `r.pos` (global initialisers, element offsets and
 * items, table initialisers): `ref.func` indices are renumbered. Advances `r` past its `end`.
 * @example
 * const init = rewriteConstExpr(new Reader(payload, pos), { importedFuncs: 3 }) // ref.func 5 -> ref.func 6
 */
export function rewriteConstExpr(r: Reader, renumber: Renumber): Uint8Array {
  const parts: Uint8Array[] = [];
  let pos = r.pos;
  let depth = 0;
  for (;;) {
    const ins = decodeInstruction(r);
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
