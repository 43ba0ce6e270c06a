// The ordered loading checks: every tampering or policy violation is refused with its own code.
import { describe, expect, it } from 'vitest';
import { ABI_VERSION, LoadError, generateKeyPair, readManifest, signModule, stripSignatures, parseSections, type Grant } from '@mcp0/abi';
import { DEFAULT_CEILINGS, DEFAULT_LIMITS, Kernel, verifyArtifact } from '@mcp0/kernel';
import { publisher, signed, trusted, unsigned } from '../../test/fixtures.js';
import { MARKER, fromWat } from './wat.js';

const HELLO_GRANTS = [{ name: 'kv' as const }, { name: 'clock' as const }, { name: 'random' as const }];

async function refused(bytes: Uint8Array, code: string, check: string, grants: Grant[] = HELLO_GRANTS) {
  const error = await verifyArtifact(bytes, { trust: [trusted], grants }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LoadError);
  expect((error as LoadError).code).toBe(code);
  expect((error as LoadError).details.check).toBe(check);
  return error as LoadError;
}

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const copy = bytes.slice();
  copy[at]! ^= 0x01;
  return copy;
}

function sectionOf(bytes: Uint8Array, pick: (s: ReturnType<typeof parseSections>[number]) => boolean) {
  const s = parseSections(bytes).find(pick);
  if (!s) throw new Error('section not found');
  return s;
}

describe('loading checks', () => {
  it('accepts a signed, trusted, valid module', async () => {
    const v = await verifyArtifact(await signed('hello'), { trust: [trusted], grants: HELLO_GRANTS });
    expect(v.manifest.name).toBe('mcp0.hello');
    expect(v.signers).toEqual([trusted.kid]);
    expect(v.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses bytes that are not WebAssembly', async () => {
    await refused(new TextEncoder().encode('#!/bin/sh\necho pwned\n'), 'ENOTWASM', 'wasm');
    await refused(new Uint8Array(0), 'ENOTWASM', 'wasm');
    const good = await signed('hello');
    await refused(good.subarray(0, good.length - 7), 'ENOTWASM', 'wasm');
  });

  it('refuses a flipped byte in the code', async () => {
    const good = await signed('hello');
    const code = sectionOf(good, (s) => s.id === 10);
    await refused(flip(good, code.start + Math.floor((code.end - code.start) / 2)), 'ESIGNATURE', 'signature');
  });

  it('refuses a flipped byte in the manifest', async () => {
    const good = await signed('hello');
    const m = sectionOf(good, (s) => s.name === 'mcp0.manifest');
    const at = m.end - 3; // inside the JSON text
    const e = await refused(flip(good, at), 'ESIGNATURE', 'signature');
    expect(e.message).toMatch(/hash/);
  });

  it('refuses a flipped byte in the signature', async () => {
    const good = await signed('hello');
    const sig = sectionOf(good, (s) => s.name === 'signature');
    await refused(flip(good, sig.end - 5), 'ESIGNATURE', 'signature');
  });

  it('refuses a stripped signature', async () => {
    const e = await refused(stripSignatures(await signed('hello')), 'ESIGNATURE', 'signature');
    expect(e.message).toMatch(/signature/);
    await refused(await unsigned('hello'), 'ESIGNATURE', 'signature');
  });

  it('refuses a module signed only by an untrusted key', async () => {
    const stranger = generateKeyPair();
    await refused(await signed('hello', stranger), 'EUNTRUSTED', 'trust');
  });

  it('accepts a module with two signers when either is trusted', async () => {
    const other = generateKeyPair();
    const both = signModule(await signed('hello'), other);
    for (const key of [trusted, other.publicKey]) {
      const v = await verifyArtifact(both, { trust: [key], grants: HELLO_GRANTS });
      expect(v.signers).toEqual([key.kid]);
    }
  });

  it('refuses a manifest asking for an ungranted capability, naming it', async () => {
    const e = await refused(await signed('hello'), 'ECAPABILITY', 'capabilities', [{ name: 'kv' }]);
    expect(e.message).toContain('clock');
    expect(e.message).toContain('random');
    expect(e.details.missing).toEqual(['clock', 'random']);
    await refused(await signed('hello'), 'ECAPABILITY', 'capabilities', [
      // A grant shape the type does not allow: the kernel must refuse it at run time all the same.
      { name: 'kv', scope: { prefix: 'elsewhere/' } } as unknown as Grant,
      { name: 'clock' },
      { name: 'random' },
    ]);
  });

  it('refuses an import outside ABI v1', async () => {
    const wat = `(module (import "env" "system" (func $sys (param i32) (result i32))) (memory (export "memory") 1) ${MARKER} (func (export "run") (result i32) (call $sys (i32.const 0))))`;
    const e = await refused(fromWat(wat, { exports: [{ name: 'run' }] }), 'EIMPORT', 'imports');
    expect(e.message).toContain('env.system');
    const http = `(module (import "extism:host/env" "http_request" (func (param i64 i64) (result i64))) (memory (export "memory") 1) ${MARKER})`;
    await refused(fromWat(http), 'EIMPORT', 'imports');
  });

  it('refuses a wrong ABI major', async () => {
    const wat = `(module (memory (export "memory") 1) ${MARKER})`;
    const e = await refused(fromWat(wat, { abi: '^2.0' }), 'EABI', 'abi');
    expect(e.message).toContain('^2.0');
    expect(e.message).toContain(ABI_VERSION);
  });

  it('refuses a module missing the version marker or a listed export', async () => {
    const noMarker = fromWat('(module (memory (export "memory") 1))');
    await refused(noMarker, 'EMANIFEST', 'exports');
    const missing = fromWat(`(module (memory (export "memory") 1) ${MARKER})`, { exports: [{ name: 'ghost' }] });
    const e = await refused(missing, 'EMANIFEST', 'exports');
    expect(e.details.missing).toEqual(['ghost']);
  });

  it('refuses a module whose initial memory exceeds the cap', async () => {
    const big = fromWat(`(module (memory (export "memory") 300) ${MARKER})`, { limits: { memoryPages: 16 } });
    await refused(big, 'EMEMORY', 'limits');
  });

  it('keeps the manifest it verified', async () => {
    const bytes = await signed('hello');
    const v = await verifyArtifact(bytes, { trust: [trusted], grants: HELLO_GRANTS });
    expect(v.manifest).toEqual(readManifest(bytes));
  });

  it('does not let a failed load leave anything behind in the kernel', async () => {
    const kernel = new Kernel({ trust: [trusted] });
    await expect(kernel.load(await signed('hello'), { grants: [] })).rejects.toMatchObject({ code: 'ECAPABILITY' });
    expect(kernel.modules()).toEqual([]);
    await kernel.load(await signed('hello'), { grants: HELLO_GRANTS });
    expect(kernel.modules().map((m) => m.name)).toEqual(['mcp0.hello']);
    await kernel.stop();
  });
});

describe('loading the same module twice', () => {
  it('refuses the second of two concurrent loads of one module name', async () => {
    const kernel = new Kernel({ trust: [trusted] });
    const bytes = await signed('hello');
    const results = await Promise.allSettled([kernel.load(bytes, { grants: HELLO_GRANTS }), kernel.load(bytes, { grants: HELLO_GRANTS })]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({ code: 'EUSAGE' });
    expect(kernel.modules()).toHaveLength(1);
    await kernel.stop();
  });
});

describe("host limits bound the manifest's", () => {
  const greedy = fromWat(`(module (memory (export "memory") 1) ${MARKER})`, { limits: { memoryPages: 65_536, timeoutMs: 600_000 } });
  const modest = fromWat(`(module (memory (export "memory") 1) ${MARKER})`, { name: 'test.modest' });

  it("gives a greedy manifest the kernel's ceilings, and a silent one the defaults", async () => {
    const kernel = new Kernel({ trust: [trusted] });
    const m = await kernel.load(greedy);
    expect([m.verified.memoryPages, m.options.timeoutMs]).toEqual([DEFAULT_CEILINGS.memoryPages, DEFAULT_CEILINGS.timeoutMs]);
    const d = await kernel.load(modest);
    expect([d.verified.memoryPages, d.options.timeoutMs]).toEqual([DEFAULT_LIMITS.memoryPages, DEFAULT_LIMITS.timeoutMs]);
    await kernel.stop();
  });

  it('lowers the ceilings for the whole kernel, or for one load', async () => {
    const kernel = new Kernel({ trust: [trusted], ceilings: { memoryPages: 16, timeoutMs: 100 } });
    const m = await kernel.load(greedy);
    expect([m.verified.memoryPages, m.options.timeoutMs]).toEqual([16, 100]);
    const d = await kernel.load(modest, { memoryPages: 8, timeoutMs: 50 });
    expect([d.verified.memoryPages, d.options.timeoutMs]).toEqual([8, 50]);
    await kernel.stop();
  });
});
