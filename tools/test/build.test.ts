/** `mcp0 build`: asc + manifest section, reproducible, and clear failures. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MANIFEST_SECTION, customSections, readManifest } from '@mcp0/abi';
import { run, tempDir } from './helpers.js';

const HELLO = fileURLToPath(new URL('../../plugins/hello', import.meta.url));

function scratch(source: string, manifest: unknown = { name: 'test.scratch', version: '0.0.1', abi: '^1.0', kind: 'plugin', exports: [] }): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'assembly'));
  writeFileSync(join(dir, 'assembly', 'index.ts'), source);
  writeFileSync(join(dir, 'plugin.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  return dir;
}

describe('mcp0 build', () => {
  it('compiles and adds the manifest section; building twice gives identical bytes', async () => {
    const a = join(tempDir(), 'a.wasm');
    const b = join(tempDir(), 'b.wasm');
    const first = await run('build', HELLO, '--out', a);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(/mcp0\.hello@0\.1\.0/);
    expect((await run('build', HELLO, '--out', b, '--quiet')).out).toBe('');
    const bytes = readFileSync(a);
    expect(Buffer.compare(bytes, readFileSync(b))).toBe(0);
    const wasm = new Uint8Array(bytes);
    expect(customSections(wasm, MANIFEST_SECTION)).toHaveLength(1);
    expect(readManifest(wasm)).toEqual(JSON.parse(readFileSync(join(HELLO, 'plugin.json'), 'utf8')));
    expect(WebAssembly.validate(wasm)).toBe(true);
  });

  it('says "up to date" and reuses the output while nothing changed; --force compiles', async () => {
    const out = join(tempDir(), 'h.wasm');
    const first = await run('build', HELLO, '--out', out);
    expect(first.out).toMatch(/^built mcp0\.hello@0\.1\.0/);
    const bytes = readFileSync(out);
    const again = await run('build', HELLO, '--out', out);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/^up to date mcp0\.hello@0\.1\.0/);
    expect(readFileSync(out).equals(bytes)).toBe(true);
    const forced = await run('build', HELLO, '--out', out, '--force');
    expect(forced.out).toMatch(/^built mcp0\.hello/);
    expect(readFileSync(out).equals(bytes)).toBe(true);
  });

  it('writes to <dir>/build/<name>.wasm by default', async () => {
    const dir = join(tempDir(), 'p');
    expect((await run('new', dir, '--name', 'acme.widget')).code).toBe(0);
    expect((await run('build', dir)).code).toBe(0);
    expect(existsSync(join(dir, 'build', 'widget.wasm'))).toBe(true);
  });

  it('fails with asc diagnostics, no stack, when the code does not compile', async () => {
    const dir = scratch('export { mcp0_abi_v1 } from "@mcp0/abi/as";\nexport function f(): i32 { return "nope"; }\n');
    const r = await run('build', dir, '--out', join(dir, 'x.wasm'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/TS2322/);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, 'x.wasm'))).toBe(false);
  });

  it('refuses a manifest listing an export the code lacks', async () => {
    const dir = scratch('export { mcp0_abi_v1 } from "@mcp0/abi/as";\n', {
      name: 'test.scratch',
      version: '0.0.1',
      abi: '^1.0',
      kind: 'plugin',
      exports: [{ name: 'ghost' }],
    });
    const r = await run('build', dir, '--out', join(dir, 'x.wasm'));
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/EMANIFEST.*ghost/);
  });

  it('refuses an invalid or unreadable plugin.json, naming the problem', async () => {
    const bad = scratch('export { mcp0_abi_v1 } from "@mcp0/abi/as";\n', { name: 'test.scratch', version: 'one', abi: '^1.0', kind: 'plugin', exports: [] });
    const r1 = await run('build', bad, '--out', join(bad, 'x.wasm'));
    expect(r1.code).not.toBe(0);
    expect(r1.err).toMatch(/EMANIFEST.*\/version/);

    const notJson = scratch('', '{ not json');
    const r2 = await run('build', notJson);
    expect(r2.code).not.toBe(0);
    expect(r2.err).toMatch(/plugin\.json/);
    expect(r2.err).not.toMatch(/\n\s+at /);

    const r3 = await run('build', join(tempDir(), 'missing'));
    expect(r3.code).not.toBe(0);
    expect(r3.err).toMatch(/plugin\.json/);
  });

  it('needs exactly one directory', async () => {
    expect((await run('build')).code).toBe(2);
    expect((await run('build', HELLO, HELLO)).code).toBe(2);
  });
});
