/**
 * The build: reproducible output, the artifact's imports and manifest, the default output path,
 * and clear errors for code that does not compile or imports outside ABI v1.
 */
import { describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readManifest } from '@mcp0/abi';
import { buildPlugin } from '../src/build.js';
import { recordFile, type BuildRecord } from '../src/incremental.js';
import { CompileError } from '../src/asc.js';

const hello = fileURLToPath(new URL('../../plugins/hello', import.meta.url));
const temp = (): string => mkdtempSync(join(tmpdir(), 'mcp0-build-'));

/** A throwaway plugin directory outside the repository. */
function scratchPlugin(source: string): string {
  const dir = temp();
  mkdirSync(join(dir, 'assembly'));
  writeFileSync(join(dir, 'assembly', 'index.ts'), source);
  writeFileSync(join(dir, 'plugin.json'), JSON.stringify({ name: 'test.scratch', version: '0.0.1', abi: '^1.0', kind: 'plugin', exports: [] }));
  return dir;
}

describe('buildPlugin', () => {
  it('is reproducible: the same sources give the same bytes, wherever they are built', async () => {
    const a = await buildPlugin(hello, { out: join(temp(), 'a.wasm') });
    const b = await buildPlugin(hello, { out: join(temp(), 'b.wasm') });
    expect(Buffer.compare(a.wasm, b.wasm)).toBe(0);
    expect(Buffer.compare(readFileSync(a.file), a.wasm)).toBe(0);

    // A copy outside the repository (no node_modules above it) finds the guest library through
    // the build's fallback path, writes to build/<name>.wasm, and gives the same bytes.
    const copy = join(temp(), 'hello');
    cpSync(hello, copy, { recursive: true, filter: (src) => !/[/\\](build|test|node_modules)$/.test(src) });
    const c = await buildPlugin(copy);
    expect(c.file).toBe(join(copy, 'build', 'hello.wasm'));
    expect(existsSync(c.file)).toBe(true);
    expect(Buffer.compare(c.wasm, a.wasm)).toBe(0);
  });

  it('gives a module importing only ABI v1 and carrying the manifest', async () => {
    const { wasm, manifest } = await buildPlugin(hello, { out: join(temp(), 'hello.wasm') });
    const mod = new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>);
    const modules = new Set(WebAssembly.Module.imports(mod).map((i) => i.module));
    expect([...modules].sort()).toEqual(['extism:host/env', 'mcp0:abi/v1']);
    expect(readManifest(wasm)).toEqual(manifest);
    expect(manifest.name).toBe('mcp0.hello');
  });

  it('throws asc diagnostics when the code does not compile', async () => {
    const dir = scratchPlugin('export function f(): i32 { return "not a number"; }\n');
    const err = await buildPlugin(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CompileError);
    expect((err as CompileError).diagnostics).toMatch(/TS2322/);
    expect((err as Error).message).toMatch(/assembly\/index\.ts/);
  });

  it('says so when a module does not import the guest library', async () => {
    const dir = scratchPlugin('export function f(): i32 { return 1; }\n');
    await expect(buildPlugin(dir)).rejects.toThrow(/must import "@mcp0\/abi\/as"/);
  });

  it('refuses imports outside ABI v1, with a hint', async () => {
    const dir = scratchPlugin('export { mcp0_abi_v1 } from "@mcp0/abi/as";\nexport function r(): i32 { return <i32>(Math.random() * 10); }\n');
    await expect(buildPlugin(dir)).rejects.toThrow(/env\.seed.*randomBytes/);
  });
});

describe('buildPlugin, incremental', () => {
  const source = (n: number) =>
    `export { mcp0_abi_v1 } from "@mcp0/abi/as";\nimport { half } from "./util";\nexport function f(): i32 { return half(${n}); }\n`;
  /** A plugin whose entry imports a second file, so a change anywhere it reads is a change. */
  function plugin(n: number): string {
    const dir = scratchPlugin(source(n));
    writeFileSync(join(dir, 'assembly', 'util.ts'), 'export function half(x: i32): i32 { return x / 2; }\n');
    return dir;
  }

  it('reuses the artifact while nothing it was built from changed, and compiles when anything did', async () => {
    const dir = plugin(4);
    const out = join(temp(), 'p.wasm');
    const first = await buildPlugin(dir, { out, incremental: true });
    expect(first.reused).toBe(false);
    const record = JSON.parse(readFileSync(recordFile(out), 'utf8')) as BuildRecord;
    expect(Object.keys(record.files)).toEqual(
      expect.arrayContaining([join(dir, 'plugin.json'), join(dir, 'assembly', 'index.ts'), join(dir, 'assembly', 'util.ts')]),
    );
    const again = await buildPlugin(dir, { out, incremental: true });
    expect(again.reused).toBe(true);
    expect(Buffer.compare(again.wasm, first.wasm)).toBe(0);

    // A file the entry imports changed: compiled again, other bytes.
    writeFileSync(join(dir, 'assembly', 'util.ts'), 'export function half(x: i32): i32 { return x / 3; }\n');
    const edited = await buildPlugin(dir, { out, incremental: true });
    expect(edited.reused).toBe(false);
    expect(Buffer.compare(edited.wasm, first.wasm)).not.toBe(0);
    expect((await buildPlugin(dir, { out, incremental: true })).reused).toBe(true);

    // The manifest changed: compiled again, and the artifact carries the new one.
    const manifest = JSON.parse(readFileSync(join(dir, 'plugin.json'), 'utf8'));
    writeFileSync(join(dir, 'plugin.json'), JSON.stringify({ ...manifest, version: '0.0.2' }));
    const bumped = await buildPlugin(dir, { out, incremental: true });
    expect(bumped.reused).toBe(false);
    expect(readManifest(bumped.wasm).version).toBe('0.0.2');
  });

  it('compiles again when the artifact was edited, the record is damaged or names other tools, or without incremental', async () => {
    const dir = plugin(6);
    const out = join(temp(), 'p.wasm');
    const built = await buildPlugin(dir, { out, incremental: true });
    // The artifact edited after the build: not reused, and rewritten to what the sources give.
    const tampered = new Uint8Array(built.wasm);
    tampered[tampered.length - 1]! ^= 1;
    writeFileSync(out, tampered);
    const rebuilt = await buildPlugin(dir, { out, incremental: true });
    expect(rebuilt.reused).toBe(false);
    expect(Buffer.compare(readFileSync(out), built.wasm)).toBe(0);
    // Another compiler or flags.
    const record = JSON.parse(readFileSync(recordFile(out), 'utf8')) as BuildRecord;
    writeFileSync(recordFile(out), JSON.stringify({ ...record, tools: 'another compiler' }));
    expect((await buildPlugin(dir, { out, incremental: true })).reused).toBe(false);
    // Not a record at all.
    writeFileSync(recordFile(out), '{"format": 1, "files": null');
    expect((await buildPlugin(dir, { out, incremental: true })).reused).toBe(false);
    // A file asc looked for and did not find now exists: asconfig.json, which can set any flag.
    expect((JSON.parse(readFileSync(recordFile(out), 'utf8')) as BuildRecord).files[join(dir, 'asconfig.json')]).toBeNull();
    writeFileSync(join(dir, 'asconfig.json'), '{}\n');
    expect((await buildPlugin(dir, { out, incremental: true })).reused).toBe(false);
    expect((await buildPlugin(dir, { out, incremental: true })).reused).toBe(true);
    // Without incremental it always compiles.
    expect((await buildPlugin(dir, { out })).reused).toBe(false);
  });
});
