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
import { buildPlugin } from './build.js';
import { CompileError } from './asc.js';

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
