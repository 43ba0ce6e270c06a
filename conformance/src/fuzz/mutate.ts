/**
 * Generator (b): byte-level mutations of the reference plugins' built artifacts. Most operators
 * work inside one section and re-frame it, so the module still splits into sections, gets signed
 * and reaches the compiler and the instrumenter with broken contents; a few break the framing
 * itself (section sizes, truncation) to exercise the structural checks. The rest are LEB128
 * edits where they matter (vector counts, memory and table limits, body sizes), padded LEB128s,
 * loops spliced into function bodies (loops.ts) to test preemption with the plugin's own code
 * around them, and edits that keep the code valid but change what it does (constants, memory
 * offsets, arithmetic and comparison operators).
 */
import { concatBytes } from '@mcp0/abi';
import { injectLoop } from './loops.js';
import type { Prng } from './prng.js';
import { join, leb, readLeb, sleb, slebLength, splice, split, type Section } from './sections.js';

/** Values that sit on the edges of what decoders and engines accept. */
const INTERESTING_U32 = [0, 1, 2, 127, 128, 255, 256, 16_384, 65_535, 65_536, 65_537, 100_000, 10_000_000, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1];
/** Bytes that are opcodes of control flow, calls, constants and prefixes, or edge values. */
const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x03, 0x04, 0x0b, 0x0c, 0x0d, 0x0e, 0x10, 0x11, 0x1a, 0x40, 0x41, 0x42, 0x7f, 0x80, 0xfc, 0xfd, 0xfe, 0xff];

/** A section index, code and data sections preferred, custom sections avoided. */
function pickSection(rng: Prng, sections: readonly Section[]): number | undefined {
  const candidates = sections.map((s, i) => ({ i, w: s.framed ? 0 : s.id === 10 ? 6 : s.id === 11 ? 2 : s.id === 0 ? 0.3 : 1 })).filter((c) => c.w > 0);
  if (candidates.length === 0) return undefined;
  let r = rng.float() * candidates.reduce((s, c) => s + c.w, 0);
  for (const c of candidates) if ((r -= c.w) < 0) return c.i;
  return candidates[candidates.length - 1]!.i;
}

/** Change the limits of the first table or memory: the allocation a huge table or memory asks for. */
function limits(rng: Prng, sections: Section[]): string | undefined {
  const choices = sections.map((s, i) => ({ s, i })).filter(({ s }) => (s.id === 4 || s.id === 5) && !s.framed);
  if (choices.length === 0) return undefined;
  const { s, i } = rng.pick(choices);
  const count = readLeb(s.content, 0);
  if (!count || count.value === 0) return undefined;
  // A table entry starts with its reference type (one byte for funcref/externref); a memory's with its flags.
  const flagsAt = count.length + (s.id === 4 ? 1 : 0);
  const flags = s.content[flagsAt];
  if (flags === undefined) return undefined;
  const min = readLeb(s.content, flagsAt + 1);
  if (!min) return undefined;
  const value = rng.pick(s.id === 4 ? [10_000, 1_000_000, 10_000_000, 10_000_001, 100_000_000, 2 ** 32 - 1] : [0, 31, 32, 33, 65_536, 65_537, 2 ** 32 - 1]);
  let content = splice(s.content, flagsAt + 1, min.length, leb(value));
  // Sometimes drop the maximum (flags 0) or make the memory shared (flags 3: refused in ABI v1).
  if (rng.chance(0.2) && (flags & 1) === 1) {
    const max = readLeb(content, flagsAt + 1 + leb(value).length);
    if (max) content = splice(content, flagsAt, 1 + leb(value).length + max.length, concatBytes(Uint8Array.of(flags & ~1), leb(value)));
  } else if (s.id === 5 && rng.chance(0.1)) {
    content = splice(content, flagsAt, 1, Uint8Array.of(flags | 2));
  }
  sections[i] = { id: s.id, content };
  return `${s.id === 4 ? 'table' : 'memory'} min ${min.value} → ${value}`;
}

/**
 * A random offset in the code section whose byte is one of `opcodes`: most such bytes are the
 * opcode (the rest are immediates, and the validator refuses those mutants), so an edit that
 * keeps the instruction's type keeps the module valid while changing what it does.
 */
function findInCode(rng: Prng, sections: readonly Section[], opcodes: (b: number) => boolean): { index: number; at: number } | undefined {
  const index = sections.findIndex((s) => s.id === 10 && !s.framed);
  if (index < 0) return undefined;
  const code = sections[index]!.content;
  for (let tries = 0; tries < 64; tries++) {
    const at = rng.int(code.length);
    if (opcodes(code[at]!)) return { index, at };
  }
  return undefined;
}

/** Binary operators by type: any one of a group can stand for another (`i32.div_s` for `i32.add`). */
const BINOP_GROUPS = [
  [0x6a, 0x78], // i32.add .. i32.rotr
  [0x7c, 0x8a], // i64.add .. i64.rotr
  [0x46, 0x4f], // i32.eq .. i32.ge_u
  [0x51, 0x5a], // i64.eq .. i64.ge_u
] as const;

/** The mutation operators, each returning a short description or undefined when it did not apply. */
const OPERATORS = {
  bitflip(rng: Prng, sections: Section[]): string | undefined {
    const i = pickSection(rng, sections);
    if (i === undefined || sections[i]!.content.length === 0) return undefined;
    const content = sections[i]!.content.slice();
    const flips = rng.range(1, 8);
    for (let k = 0; k < flips; k++) content[rng.int(content.length)]! ^= 1 << rng.int(8);
    sections[i] = { id: sections[i]!.id, content };
    return `bitflip ×${flips} in section ${sections[i]!.id}`;
  },
  bytes(rng: Prng, sections: Section[]): string | undefined {
    const i = pickSection(rng, sections);
    if (i === undefined || sections[i]!.content.length === 0) return undefined;
    const content = sections[i]!.content.slice();
    const n = rng.range(1, 4);
    for (let k = 0; k < n; k++) content[rng.int(content.length)] = rng.pick(INTERESTING_BYTES);
    sections[i] = { id: sections[i]!.id, content };
    return `${n} interesting bytes in section ${sections[i]!.id}`;
  },
  splice(rng: Prng, sections: Section[], donors: readonly Uint8Array[]): string | undefined {
    const i = pickSection(rng, sections);
    if (i === undefined) return undefined;
    const target = sections[i]!;
    const donor = split(rng.pick(donors));
    const same = donor.filter((s) => s.id === target.id);
    const from = (same.length > 0 ? rng.pick(same) : rng.pick(donor)).content;
    const len = rng.size(Math.min(4096, from.length));
    const src = rng.int(Math.max(1, from.length - len));
    const at = rng.int(target.content.length + 1);
    const remove = rng.chance(0.5) ? rng.int(Math.min(len + 1, target.content.length - at + 1)) : 0;
    sections[i] = { id: target.id, content: splice(target.content, at, remove, from.subarray(src, src + len)) };
    return `splice ${len} bytes into section ${target.id}`;
  },
  truncate(rng: Prng, sections: Section[]): string | undefined {
    const i = pickSection(rng, sections);
    if (i === undefined) return undefined;
    const s = sections[i]!;
    sections[i] = { id: s.id, content: s.content.subarray(0, rng.int(s.content.length + 1)) };
    return `truncate section ${s.id}`;
  },
  duplicate(rng: Prng, sections: Section[]): string | undefined {
    if (sections.length === 0) return undefined;
    const i = rng.int(sections.length);
    sections.splice(rng.int(sections.length + 1), 0, { ...sections[i]! });
    return `duplicate section ${sections[i]!.id}`;
  },
  remove(rng: Prng, sections: Section[]): string | undefined {
    const standard = sections.map((s, i) => ({ s, i })).filter(({ s }) => s.id !== 0);
    if (standard.length === 0) return undefined;
    const { s, i } = rng.pick(standard);
    sections.splice(i, 1);
    return `remove section ${s.id}`;
  },
  swap(rng: Prng, sections: Section[]): string | undefined {
    if (sections.length < 2) return undefined;
    const i = rng.int(sections.length - 1);
    [sections[i], sections[i + 1]] = [sections[i + 1]!, sections[i]!];
    return `swap sections ${sections[i + 1]!.id} and ${sections[i]!.id}`;
  },
  sectionSize(rng: Prng, sections: Section[]): string | undefined {
    const i = pickSection(rng, sections);
    if (i === undefined) return undefined;
    const s = sections[i]!;
    const size = rng.chance(0.5) ? s.content.length + rng.pick([-2, -1, 1, 2]) : rng.pick(INTERESTING_U32);
    const padded = rng.chance(0.3) ? 5 : undefined;
    sections[i] = { ...s, framed: concatBytes(Uint8Array.of(s.id), leb(size, padded), s.content) };
    return `section ${s.id} claims ${size} of ${s.content.length} bytes`;
  },
  count(rng: Prng, sections: Section[]): string | undefined {
    // The vector count every standard section but start starts with.
    const i = pickSection(
      rng,
      sections.map((s) => (s.id === 0 || s.id === 8 ? { ...s, framed: s.content } : s)),
    );
    if (i === undefined) return undefined;
    const s = sections[i]!;
    const count = readLeb(s.content, 0);
    if (!count) return undefined;
    const value = rng.chance(0.5) ? count.value + rng.pick([-1, 1, 2]) : rng.pick(INTERESTING_U32);
    sections[i] = { id: s.id, content: splice(s.content, 0, count.length, leb(value)) };
    return `section ${s.id} count ${count.value} → ${value}`;
  },
  leb(rng: Prng, sections: Section[]): string | undefined {
    // Any LEB128 inside a section: a value that shifts everything after it, or the same value padded.
    const i = pickSection(rng, sections);
    if (i === undefined || sections[i]!.content.length === 0) return undefined;
    const s = sections[i]!;
    const at = rng.int(s.content.length);
    const old = readLeb(s.content, at);
    if (!old) return undefined;
    const pad = rng.chance(0.3);
    const value = pad ? old.value : rng.chance(0.5) ? old.value + rng.pick([-1, 1]) : rng.pick(INTERESTING_U32);
    sections[i] = { id: s.id, content: splice(s.content, at, old.length, leb(value, pad ? rng.range(old.length + 1, 5) : undefined)) };
    return pad ? `pad LEB128 at ${at} of section ${s.id}` : `LEB128 at ${at} of section ${s.id}: ${old.value} → ${value}`;
  },
  constant(rng: Prng, sections: Section[]): string | undefined {
    // An i32.const or i64.const immediate replaced by an edge value (sizes, offsets, lengths).
    const found = findInCode(rng, sections, (b) => b === 0x41 || b === 0x42);
    if (!found) return undefined;
    const s = sections[found.index]!;
    const wide = s.content[found.at] === 0x42;
    const length = slebLength(s.content, found.at + 1, wide ? 10 : 5);
    if (length === undefined) return undefined;
    const values = [
      0n,
      1n,
      -1n,
      7n,
      8n,
      0x7fffffffn,
      -0x80000000n,
      0xffffn,
      0x10000n,
      0x1000000n,
      ...(wide ? [0x7fffffffffffffffn, -0x8000000000000000n, 0x100000000n] : []),
    ];
    const value = rng.chance(0.8) ? rng.pick(values) : BigInt(rng.u32() | 0);
    sections[found.index] = { id: 10, content: splice(s.content, found.at + 1, length, sleb(value)) };
    return `${wide ? 'i64' : 'i32'}.const at ${found.at} → ${value}`;
  },
  memarg(rng: Prng, sections: Section[]): string | undefined {
    // A load or store's static offset made large: accesses go out of bounds, or just inside.
    const found = findInCode(rng, sections, (b) => b >= 0x28 && b <= 0x3e);
    if (!found) return undefined;
    const s = sections[found.index]!;
    const align = readLeb(s.content, found.at + 1);
    const offset = align && readLeb(s.content, found.at + 1 + align.length);
    if (!align || !offset) return undefined;
    const value = rng.pick([0, 1, 4, 65_536, 32 * 65_536 - 1, 32 * 65_536, 2 ** 31, 2 ** 32 - 1]);
    sections[found.index] = { id: 10, content: splice(s.content, found.at + 1 + align.length, offset.length, leb(value)) };
    return `memory access at ${found.at}: offset ${offset.value} → ${value}`;
  },
  operator(rng: Prng, sections: Section[]): string | undefined {
    const found = findInCode(rng, sections, (b) => BINOP_GROUPS.some(([lo, hi]) => b >= lo && b <= hi));
    if (!found) return undefined;
    const s = sections[found.index]!;
    const old = s.content[found.at]!;
    const [lo, hi] = BINOP_GROUPS.find(([l, h]) => old >= l && old <= h)!;
    const content = s.content.slice();
    content[found.at] = rng.range(lo, hi);
    sections[found.index] = { id: 10, content };
    return `operator at ${found.at}: 0x${old.toString(16)} → 0x${content[found.at]!.toString(16)}`;
  },
  limits,
  loop: injectLoop,
} satisfies Record<string, (rng: Prng, sections: Section[], donors: readonly Uint8Array[]) => string | undefined>;

type Operator = keyof typeof OPERATORS;

/**
 * Most weight on the operators whose mutants still validate (constants, offsets, operators,
 * loops, limits): those reach the instrumenter and run. Framing-breaking ones test the structural
 * checks, which need fewer modules.
 */
const WEIGHTS: Record<Operator, number> = {
  constant: 16,
  memarg: 8,
  operator: 14,
  loop: 18,
  limits: 6,
  bitflip: 4,
  bytes: 3,
  splice: 4,
  leb: 5,
  count: 2,
  truncate: 2,
  duplicate: 1,
  remove: 1,
  swap: 1,
  sectionSize: 2,
};

/**
 * A mutant of `module` (a bare reference artifact): 1-3 operators, described for the report.
 * `donors` are other artifacts to splice from. One mutant in twenty is truncated as a whole.
 * @example
 * const { bytes, mutations } = mutate(new Prng('fuzz/7'), hello.bare, [storage.bare])
 */
export function mutate(rng: Prng, module: Uint8Array, donors: readonly Uint8Array[]): { bytes: Uint8Array; mutations: string[] } {
  const sections = split(module);
  const mutations: string[] = [];
  const n = Number(rng.weighted({ '1': 6, '2': 3, '3': 1 }));
  for (let k = 0; k < n; k++) {
    const op = rng.weighted(WEIGHTS);
    const done = OPERATORS[op](rng, sections, donors.length > 0 ? donors : [module]);
    if (done) mutations.push(done);
  }
  let bytes = join(sections);
  if (rng.chance(0.05)) {
    const at = rng.int(bytes.length);
    bytes = bytes.subarray(0, at);
    mutations.push(`truncate module at ${at}`);
  }
  return { bytes, mutations };
}
