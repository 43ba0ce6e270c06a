// The instruction decoder: its opcode tables agree with V8's, and malformed or unsupported input
// becomes a typed InstrumentError naming the offset and opcode, never a RangeError or a hang.
import { Mcp0Error } from '@mcp0/abi';
import { describe, expect, it } from 'vitest';
import { InstrumentError, instrumentDeadline } from './instrument.js';
import { ATOMIC, MAIN, MISC, SIMD, type Immediate } from './opcodes.js';

const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const section = (id: number, content: number[]) => [id, ...leb(content.length), ...content];
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/** A module with one `() -> ()` function whose body (locals and code) is `body`, a memory and a table; the code section last. */
function moduleWith(body: number[], extra: number[] = []): Uint8Array<ArrayBuffer> {
  return Uint8Array.from([
    ...HEADER,
    ...section(1, [1, 0x60, 0, 0]),
    ...section(3, [1, 0]),
    ...section(4, [1, 0x70, 0, 1]),
    ...section(5, [1, 0, 1]),
    ...extra,
    ...section(10, [1, ...leb(body.length), ...body]),
  ]);
}

/** Offset in `moduleWith(body)` of the body's byte `index`. */
const offsetIn = (bytes: Uint8Array, body: number[], index: number) => bytes.length - body.length + index;

/** The smallest immediates of each kind that V8 will decode (indices 0, empty block type). */
const MINIMAL: Record<Immediate, number[]> = {
  none: [],
  block: [0x40, 0x0b],
  u32: [0],
  u32x2: [0, 0],
  func: [0],
  brtable: [0, 0],
  memarg: [0, 0],
  memlane: [0, 0, 0],
  lane: [0],
  i32: [0],
  i64: [0],
  f32: [0, 0, 0, 0],
  f64: [0, 0, 0, 0, 0, 0, 0, 0],
  v128: new Array<number>(16).fill(0),
  select: [1, 0x7f],
  heap: [0x70],
  zero: [0],
};

function v8Error(bytes: Uint8Array<ArrayBuffer>): string {
  try {
    new WebAssembly.Module(bytes);
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}
const invalidOpcode = (message: string) => /invalid|unknown/i.test(message) && /opcode/i.test(message);

describe('opcode tables', () => {
  it.each<[string, number, ReadonlyMap<number, Immediate>, number]>([
    ['0xfc', 0xfc, MISC, 32],
    ['0xfd', 0xfd, SIMD, 0x100], // relaxed SIMD (0x100-0x113) needs a V8 flag on Node 20
    ['0xfe', 0xfe, ATOMIC, 0x80],
  ])('%s: every sub-opcode V8 knows, and only those', (_, prefix, table, limit) => {
    const disagree: string[] = [];
    for (let op = 0; op < limit; op++) {
      const imm = table.get(op);
      const message = v8Error(moduleWith([0, prefix, ...leb(op), ...MINIMAL[imm ?? 'none'], 0x0b]));
      if ((imm === undefined) !== invalidOpcode(message)) disagree.push(`0x${op.toString(16)} (${imm ?? 'refused'}): ${message || 'valid'}`);
    }
    expect(disagree).toEqual([]);
  });

  it('single-byte: every opcode the table has is known to V8; the rest are unknown or deliberately refused', () => {
    // Exception handling, typed function references, GC and string prefixes: V8 may know them, we refuse them.
    const refused = new Set([0x06, 0x07, 0x08, 0x09, 0x0a, 0x14, 0x15, 0x18, 0x19, 0x1f, 0xd3, 0xd4, 0xd5, 0xd6, 0xfb]);
    const disagree: string[] = [];
    for (let op = 0; op < 0x100; op++) {
      if (op === 0xfc || op === 0xfd || op === 0xfe) continue;
      const imm = MAIN.get(op);
      const message = v8Error(moduleWith([0, op, ...MINIMAL[imm ?? 'none'], 0x0b]));
      if (imm !== undefined ? invalidOpcode(message) : !invalidOpcode(message) && !refused.has(op))
        disagree.push(`0x${op.toString(16)}: ${message || 'valid'}`);
    }
    expect(disagree).toEqual([]);
  });
});

describe('hand-built code', () => {
  it('keeps a loop with a parameter (multi-value block type) valid and counted', async () => {
    // (func (export "f") (result i32) (local i32)
    //   i32.const 10  loop (type 1) (param i32) (result i32)  i32.const 1 i32.sub local.tee 0 local.get 0 br_if 0  end)
    const body = [1, 1, 0x7f, 0x41, 10, 0x03, 1, 0x41, 1, 0x6b, 0x22, 0, 0x20, 0, 0x0d, 0, 0x0b, 0x0b];
    const bytes = Uint8Array.from([
      ...HEADER,
      ...section(1, [2, 0x60, 0, 1, 0x7f, 0x60, 1, 0x7f, 1, 0x7f]),
      ...section(3, [1, 0]),
      ...section(7, [1, 1, 0x66, 0, 0]),
      ...section(10, [1, ...leb(body.length), ...body]),
    ]);
    expect(WebAssembly.validate(bytes)).toBe(true);
    let calls = 0;
    const { instance } = await WebAssembly.instantiate(instrumentDeadline(bytes, { slice: 1 }), { 'mcp0:kernel': { deadline: () => (calls++, 1) } });
    expect((instance.exports.f as () => number)()).toBe(0);
    expect(calls).toBe(10); // one per iteration at slice 1
  });
});

describe('malformed and unsupported input', () => {
  const expectError = (bytes: Uint8Array, details: Record<string, unknown>) => {
    let error: unknown;
    try {
      instrumentDeadline(bytes);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InstrumentError);
    expect((error as InstrumentError).details).toMatchObject({ check: 'preempt', ...details });
    return error as InstrumentError;
  };

  it('names an unsupported opcode and its offset', () => {
    const cases: [number[], string][] = [
      [[0, 0x06, 0x40, 0x0b, 0x0b], '0x06'], // try (exception handling)
      [[0, 0xfb, 0x00, 0x00, 0x0b], '0xfb'], // GC prefix
      [[0, 0xfc, 0x13, 0x0b], '0xfc 0x13'], // past the 0xfc table
      [[0, 0xfd, 0x9a, 0x01, 0x0b], '0xfd 0x9a'], // an unassigned SIMD opcode
      [[0, 0x01, 0x14, 0x00, 0x0b], '0x14'], // call_ref
    ];
    for (const [body, opcode] of cases) {
      const bytes = moduleWith(body);
      const index = body.findIndex((b, i) => i > 0 && b !== 0x01);
      const e = expectError(bytes, { reason: 'unsupported', opcode, offset: offsetIn(bytes, body, index) });
      expect(e.code).toBe('ENOTWASM');
      expect(e.message).toContain(opcode);
    }
  });

  it('refuses typed references, GC types and shared or 64-bit memories', () => {
    expectError(moduleWith([1, 1, 0x63, 0x00, 0x0b]), { reason: 'unsupported' }); // (ref null 0) local
    expectError(Uint8Array.from([...HEADER, ...section(1, [1, 0x5f, 0])]), { reason: 'unsupported' }); // struct type
    expectError(Uint8Array.from([...HEADER, ...section(5, [1, 3, 1, 1])]), { reason: 'unsupported' }); // shared
    expectError(Uint8Array.from([...HEADER, ...section(5, [1, 4, 1])]), { reason: 'unsupported' }); // memory64
  });

  it('reports truncated and inconsistent bodies as malformed', () => {
    expectError(moduleWith([0, 0x02, 0x40, 0x0b]), { reason: 'malformed' }); // no final end
    expectError(moduleWith([0, 0x0b, 0x01]), { reason: 'malformed' }); // bytes after the final end
    expectError(moduleWith([0, 0x41]), { reason: 'malformed' }); // i32.const without its operand
    expectError(moduleWith([0, 0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x0b]), { reason: 'malformed' }); // overlong LEB
    expectError(moduleWith([0xff, 0xff, 0xff, 0xff, 0x7f, 0x0b]), { reason: 'malformed' }); // local groups past the body
    expectError(moduleWith([0, 0x0e, 0xff, 0xff, 0xff, 0xff, 0x0f]), { reason: 'malformed' }); // br_table of 2^32 labels
    const body = [0, 0x0b];
    const lying = Uint8Array.from([...HEADER, ...section(1, [1, 0x60, 0, 0]), ...section(3, [1, 0]), ...section(10, [1, 200, ...body])]);
    expect(() => instrumentDeadline(lying)).toThrow(Mcp0Error);
    const missing = Uint8Array.from([...HEADER, ...section(1, [1, 0x60, 0, 0]), ...section(3, [2, 0, 0]), ...section(10, [1, ...leb(body.length), ...body])]);
    expectError(missing, { reason: 'malformed' });
  });

  it('turns random code sections into typed errors, or valid output for valid input', () => {
    const seen = { ok: 0, valid: 0, refused: 0 };
    let seed = 0x9e3779b9;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    };
    for (let i = 0; i < 2000; i++) {
      const body = Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256));
      try {
        const out = instrumentDeadline(moduleWith(body));
        seen.ok++;
        if (WebAssembly.validate(moduleWith(body))) {
          seen.valid++;
          expect(WebAssembly.validate(out)).toBe(true);
        }
      } catch (e) {
        seen.refused++;
        expect(e).toBeInstanceOf(Mcp0Error);
      }
    }
    expect(seen.refused).toBeGreaterThan(1000);
    if (process.env.MCP0_BENCH) console.log('random bodies', seen);
  });
});
