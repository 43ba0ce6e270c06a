/**
 * `mcp0 pack`: a module from any toolchain (here hand-written WAT, compiled by binaryen) wrapped
 * with a manifest, then signed, verified and called; mismatched and invalid manifests refused.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import binaryen from 'binaryen';
import { describe, expect, it } from 'vitest';
import { readManifest, readSignatures } from '@mcp0/abi';
import { lines, run, tempDir, writeKeys } from './helpers.js';

/** `mcp0_abi_v1` and `zero`, Extism-style `() -> i32` exports returning 0 (success, empty output). */
const WAT = `(module
  (memory (export "memory") 1)
  (func (export "mcp0_abi_v1") (result i32) (i32.const 0))
  (func (export "zero") (result i32) (i32.const 0))
)`;

const MANIFEST = { name: 'test.wat', version: '1.0.0', abi: '^1.0', kind: 'plugin', exports: [{ name: 'zero', description: 'returns 0' }] };

function compileWat(wat: string): Uint8Array {
  const mod = binaryen.parseText(wat);
  try {
    expect(mod.validate()).toBeTruthy();
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}

/** The WAT module and a manifest written to a temp dir. */
function inputs(manifest: unknown = MANIFEST, wat = WAT): { dir: string; module: string; manifest: string; out: string } {
  const dir = tempDir();
  writeFileSync(join(dir, 'module.wasm'), compileWat(wat));
  writeFileSync(join(dir, 'plugin.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  return { dir, module: join(dir, 'module.wasm'), manifest: join(dir, 'plugin.json'), out: join(dir, 'packed.wasm') };
}

describe('mcp0 pack', () => {
  it('wraps a WAT module; the result signs, verifies and runs', async () => {
    const p = inputs();
    const packed = await run('pack', p.module, '--manifest', p.manifest, '--out', p.out);
    expect(packed.code, packed.err).toBe(0);
    expect(packed.out).toMatch(/test\.wat@1\.0\.0/);
    expect(readManifest(new Uint8Array(readFileSync(p.out)))).toEqual(MANIFEST);

    const keys = writeKeys(p.dir);
    const unsignedVerify = await run('verify', p.out, '--trust', keys.pub);
    expect(unsignedVerify.code).toBe(1);
    expect(unsignedVerify.err).toMatch(/signature/);

    expect((await run('sign', p.out, '--key', keys.priv)).code).toBe(0);
    const verified = await run('verify', p.out, '--trust', keys.pub);
    expect(verified.code, verified.err).toBe(0);

    const called = await run('call', p.out, '--trust', keys.pub, 'zero', 'zero={"ignored":true}');
    expect(called.code, called.err).toBe(0);
    expect(lines(called.out)).toEqual([
      { export: 'zero', ok: true, output: null },
      { export: 'zero', ok: true, output: null },
    ]);
  });

  it('replaces an earlier manifest rather than adding a second one', async () => {
    const p = inputs();
    expect((await run('pack', p.module, '--manifest', p.manifest, '--out', p.out)).code).toBe(0);
    writeFileSync(p.manifest, JSON.stringify({ ...MANIFEST, version: '1.0.1' }));
    const again = join(p.dir, 'again.wasm');
    expect((await run('pack', p.out, '--manifest', p.manifest, '--out', again)).code).toBe(0);
    expect(readManifest(new Uint8Array(readFileSync(again))).version).toBe('1.0.1');
  });

  it('drops the signatures of a signed module it packs again, and says so: the result signs cleanly', async () => {
    const p = inputs();
    expect((await run('pack', p.module, '--manifest', p.manifest, '--out', p.out)).code).toBe(0);
    const keys = writeKeys(p.dir);
    expect((await run('sign', p.out, '--key', keys.priv)).code).toBe(0);
    writeFileSync(p.manifest, JSON.stringify({ ...MANIFEST, version: '1.0.2' }));
    const again = join(p.dir, 'again.wasm');
    const r = await run('pack', p.out, '--manifest', p.manifest, '--out', again);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/unsigned\)\n$/);
    expect(r.err).toMatch(/^dropped 1 signature the module carried: .*sign .*again\.wasm again\n$/);
    expect(readSignatures(new Uint8Array(readFileSync(again)))).toEqual([]);
    expect((await run('sign', again, '--key', keys.priv)).code).toBe(0);
    expect((await run('verify', again, '--trust', keys.pub)).code).toBe(0);
  });

  it('refuses a manifest listing an export the module lacks, and writes nothing', async () => {
    const p = inputs({ ...MANIFEST, exports: [{ name: 'zero' }, { name: 'missing_fn' }] });
    const r = await run('pack', p.module, '--manifest', p.manifest, '--out', p.out);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/EMANIFEST/);
    expect(r.err).toMatch(/missing_fn/);
    expect(existsSync(p.out)).toBe(false);
  });

  it('refuses a module without the mcp0_abi_v1 marker', async () => {
    const p = inputs(MANIFEST, '(module (func (export "zero") (result i32) (i32.const 0)))');
    const r = await run('pack', p.module, '--manifest', p.manifest, '--out', p.out);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/mcp0_abi_v1/);
    expect(existsSync(p.out)).toBe(false);
  });

  it('refuses a module importing outside ABI v1', async () => {
    const p = inputs(
      MANIFEST,
      `(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (func (export "mcp0_abi_v1") (result i32) (i32.const 0))
      (func (export "zero") (result i32) (call $w (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))))`,
    );
    const r = await run('pack', p.module, '--manifest', p.manifest, '--out', p.out);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/EIMPORT.*wasi_snapshot_preview1\.fd_write/);
    expect(existsSync(p.out)).toBe(false);
  });

  it.each([
    ['a bad version', { ...MANIFEST, version: 'v1' }, /\/version/],
    ['a missing field', { name: 'test.wat', version: '1.0.0', abi: '^1.0', kind: 'plugin' }, /exports/],
    ['an unknown kind', { ...MANIFEST, kind: 'daemon' }, /\/kind/],
    ['a reserved export name', { ...MANIFEST, exports: [{ name: 'mcp0_init' }] }, /\/exports\/0\/name/],
    ['an unknown property', { ...MANIFEST, extra: 1 }, /additional properties|extra/],
    ['an unknown capability', { ...MANIFEST, capabilities: [{ name: 'root' }] }, /\/capabilities\/0\/name/],
    ['not an object', [1, 2], /\//],
  ])('refuses an invalid manifest (%s), naming the schema problem', async (_what, manifest, problem) => {
    const p = inputs(manifest);
    const r = await run('pack', p.module, '--manifest', p.manifest, '--out', p.out);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/EMANIFEST: invalid manifest/);
    expect(r.err).toMatch(problem);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(existsSync(p.out)).toBe(false);
  });

  it('refuses a manifest that is not JSON, and a module that is not WebAssembly', async () => {
    const p = inputs('{"name": ');
    const r = await run('pack', p.module, '--manifest', p.manifest, '--out', p.out);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/JSON/);

    const q = inputs();
    writeFileSync(q.module, 'this is not wasm');
    const r2 = await run('pack', q.module, '--manifest', q.manifest, '--out', q.out);
    expect(r2.code).not.toBe(0);
    expect(r2.err).toMatch(/ENOTWASM|WebAssembly|wasm/i);
    expect(r2.err).not.toMatch(/\n\s+at /);
    expect(existsSync(q.out)).toBe(false);
  });

  it('refuses a manifest that names a member twice (JSON.parse would keep the last)', async () => {
    const p = inputs('{"name": "a.b", "name": "c.d"}');
    const r = await run('pack', p.module, '--manifest', p.manifest, '--out', p.out);
    expect(r.code).toBe(2);
    expect(r.err).toContain('duplicate member "name" at /name');
    expect(existsSync(p.out)).toBe(false);
  });

  it('needs --manifest, --out and one module', async () => {
    const p = inputs();
    expect((await run('pack', p.module, '--out', p.out)).code).toBe(2);
    expect((await run('pack', p.module, '--manifest', p.manifest)).code).toBe(2);
    expect((await run('pack', '--manifest', p.manifest, '--out', p.out)).code).toBe(2);
    const missing = await run('pack', join(p.dir, 'nope.wasm'), '--manifest', p.manifest, '--out', p.out);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toMatch(/ENOENT/);
  });
});
