/**
 * mcp0.trace's Poseidon against circomlibjs: the known answers, 1,000+ seeded random vectors for
 * each of 1 to 4 inputs (uniform in [0, p) plus 0, 1 and p − 1), inputs at or above p (reduced as
 * circomlibjs reduces them), bad input, and the generated files being up to date. Vectors run
 * through the real kernel (built, signed and loaded here), and through the module's raw
 * big-endian export instantiated bare.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: circomlibjs ships no types
import { buildPoseidon } from 'circomlibjs';
import { encodeCbor, generateKeyPair, readManifest, signModule } from '@mcp0/abi';
import { Kernel } from '@mcp0/kernel';
import { unsigned } from '../../../test/fixtures.js';
import { loadGuest } from '../../../test/guest/harness.js';
import { generate as generateConstants, OUT as CONSTANTS_FILE } from '../scripts/gen-constants.mjs';
import { DIR as FIELD_DIR, files as fieldFiles } from '../scripts/gen-field.mjs';

const dir = fileURLToPath(new URL('..', import.meta.url));
const P = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const NAME = 'mcp0.trace';
const VECTORS = 1000;

let wasm: Uint8Array;
let kernel: Kernel;
let circom: ((xs: unknown[]) => Uint8Array) & { F: { toObject(x: Uint8Array): bigint } };
let raw: (xs: bigint[]) => bigint;

/** circomlibjs's Poseidon as a bigint. */
const reference = (xs: bigint[]): bigint => circom.F.toObject(circom(xs));

/** A seeded 64-bit PRNG (splitmix64) and uniform field elements from it. */
function prng(seed: bigint) {
  let s = seed;
  const next64 = (): bigint => {
    s = (s + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
    let z = s;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
    return z ^ (z >> 31n);
  };
  return (): bigint => {
    for (;;) {
      const x = ((next64() << 192n) | (next64() << 128n) | (next64() << 64n) | next64()) >> 2n; // 254 bits
      if (x < P) return x;
    }
  };
}

/** n-input vectors: the edge cases first (every input 0, 1 or p − 1, mixed), then uniform. */
function vectors(n: number, count: number): bigint[][] {
  const edge = [0n, 1n, P - 1n];
  const out: bigint[][] = [];
  for (let k = 0; k < 3 ** n; k++) out.push(Array.from({ length: n }, (_, i) => edge[Math.floor(k / 3 ** i) % 3]!));
  const rand = prng(0x7ace_0000n + BigInt(n));
  while (out.length < count) out.push(Array.from({ length: n }, () => rand()));
  return out;
}

function bareInstance(bytes: Uint8Array) {
  const mod = new WebAssembly.Module(new Uint8Array(bytes));
  const imports: Record<string, Record<string, () => never>> = {};
  for (const imp of WebAssembly.Module.imports(mod)) {
    (imports[imp.module] ??= {})[imp.name] = () => {
      throw new Error(`bare instance: unexpected import ${imp.module}.${imp.name}`);
    };
  }
  const e = new WebAssembly.Instance(mod, imports).exports as unknown as {
    memory: WebAssembly.Memory;
    raw_scratch(): number;
    poseidon_raw(inp: number, n: number, out: number): void;
  };
  const S = e.raw_scratch();
  return (xs: bigint[]): bigint => {
    const mem = new Uint8Array(e.memory.buffer);
    xs.forEach((x, i) => {
      for (let k = 0; k < 32; k++) mem[S + 32 * i + 31 - k] = Number((x >> BigInt(8 * k)) & 0xffn);
    });
    const out = S + 32 * 6;
    e.poseidon_raw(S, xs.length, out);
    let r = 0n;
    for (let k = 0; k < 32; k++) r = (r << 8n) | BigInt(mem[out + k]!);
    return r;
  };
}

beforeAll(async () => {
  wasm = await unsigned('trace');
  const key = generateKeyPair();
  kernel = new Kernel({ trust: [key.publicKey] });
  await kernel.load(signModule(wasm, key), { isolation: 'inline', grants: [{ name: 'kv' }] }); // 0.2.0 requires kv (the chain); poseidon never uses it
  circom = await buildPoseidon();
  raw = bareInstance(wasm);
});
afterAll(() => kernel?.stop());

describe('mcp0.trace poseidon', () => {
  it('carries its manifest', () => {
    expect(readManifest(wasm)).toEqual(JSON.parse(readFileSync(join(dir, 'plugin.json'), 'utf8')));
  });

  it('gives the known answers', async () => {
    expect(await kernel.callValue(NAME, 'poseidon', ['1', '2'])).toBe('7853200120776062878684798364095072458815029376092732009249414926327459813530');
    expect(await kernel.callValue(NAME, 'poseidon', ['1', '2', '3'])).toBe('6542985608222806190361240322586112750744169038454362455181422643027100751666');
    expect(raw([1n, 2n])).toBe(7853200120776062878684798364095072458815029376092732009249414926327459813530n);
  });

  it.each([1, 2, 3, 4])('equals circomlibjs on %i input(s), 1,000 vectors through the kernel', async (n) => {
    const vs = vectors(n, VECTORS);
    const want = vs.map((v) => reference(v).toString());
    // Batches of 250 keep each call well inside the default call timeout.
    const got: string[] = [];
    for (let i = 0; i < vs.length; i += 250) {
      const batch = vs.slice(i, i + 250).map((v) => v.map(String));
      got.push(...((await kernel.callValue(NAME, 'poseidon_batch', batch)) as string[]));
    }
    expect(got.length).toBe(vs.length);
    const bad = got.findIndex((g, i) => g !== want[i]);
    expect(bad === -1 ? null : { input: vs[bad]!.map(String), got: got[bad], want: want[bad] }).toBeNull();
  });

  it.each([1, 2, 3, 4])('equals circomlibjs on %i input(s), 1,000 vectors through the raw export', (n) => {
    const vs = vectors(n, VECTORS);
    const bad = vs.findIndex((v) => raw(v) !== reference(v));
    expect(bad === -1 ? null : vs[bad]!.map(String)).toBeNull();
  });

  it('reduces inputs at or above p as circomlibjs does', async () => {
    const big = [P, P + 1n, 2n * P - 1n, (1n << 256n) - 1n, 10n ** 77n - 1n, 10n ** 77n, 10n ** 100n + 7n, P * 12345n + 99n];
    for (const x of big) {
      const want = reference([x, 5n]).toString();
      expect(await kernel.callValue(NAME, 'poseidon', [x.toString(), '5'])).toBe(want);
      expect(await kernel.callValue(NAME, 'poseidon', ['00000' + x.toString(), '5'])).toBe(want);
    }
    expect(raw([(1n << 256n) - 1n])).toBe(reference([(1n << 256n) - 1n]));
  });

  it('outputs one string per hash from poseidon_batch, of mixed sizes', async () => {
    const batch = [['1'], ['1', '2'], ['1', '2', '3'], ['1', '2', '3', '4']];
    expect(await kernel.callValue(NAME, 'poseidon_batch', batch)).toEqual(batch.map((b) => reference(b.map(BigInt)).toString()));
    expect(await kernel.callValue(NAME, 'poseidon_batch', [])).toEqual([]);
  });

  it('rejects bad input with EINPUT and keeps serving', async () => {
    const bad: unknown[] = [[], ['1', '2', '3', '4', '5'], ['12a'], [''], ['-1'], [' 1'], [1], 'x', { a: '1' }, ['1', null]];
    for (const input of bad) {
      await expect(kernel.callValue(NAME, 'poseidon', input as never), JSON.stringify(input)).rejects.toMatchObject({ code: 'EINPUT' });
    }
    await expect(kernel.call(NAME, 'poseidon', new Uint8Array([0x82, 0x61]))).rejects.toMatchObject({ code: 'EINPUT' });
    await expect(kernel.callValue(NAME, 'poseidon_batch', [['1'], ['x']])).rejects.toMatchObject({
      code: 'EINPUT',
      message: expect.stringMatching(/input\[1\]\[0\]/),
    });
    await expect(kernel.callValue(NAME, 'poseidon_batch', ['1'])).rejects.toMatchObject({ code: 'EINPUT' });
    await expect(kernel.callValue(NAME, 'poseidon', ['1', '2'])).resolves.toBe('7853200120776062878684798364095072458815029376092732009249414926327459813530');
  });

  it('fails with the ABI error JSON {code, message}', async () => {
    const g = await loadGuest(wasm, {});
    expect(await g.call('poseidon', encodeCbor(['1', '2', '3', '4', '5']))).toEqual({
      kind: 'error',
      code: 'EINPUT',
      message: 'input: expected 1 to 4 inputs, got 5',
    });
    expect(await g.call('poseidon', encodeCbor(['1', 'z']))).toEqual({
      kind: 'error',
      code: 'EINPUT',
      message: 'input[1]: not a decimal string of digits 0-9',
    });
  });

  it('keeps the generated files up to date with their generators', async () => {
    expect(readFileSync(CONSTANTS_FILE, 'utf8')).toBe(await generateConstants());
    for (const [name, text] of Object.entries(fieldFiles() as Record<string, string>)) {
      expect(readFileSync(join(FIELD_DIR, name), 'utf8'), name).toBe(text);
    }
  });
});
