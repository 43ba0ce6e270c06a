/**
 * The import-direction check (scripts/imports/check.mjs): the repository has no wrong-way import
 * beyond scripts/imports/known-violations.json and no stale entry in it, and the check does catch
 * a wrong-way import, planted in a small tree of its own.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { findImportViolations, readAllowlist } from '../scripts/imports/check.mjs';

const ROOT = resolve(import.meta.dirname, '..');

const trees: string[] = [];
afterAll(() => {
  for (const dir of trees) rmSync(dir, { recursive: true, force: true });
});

/** A tree of files (path → text) in a fresh temp dir. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'mcp0-imports-'));
  trees.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const pkg = (name: string) => JSON.stringify({ name, type: 'module', exports: { '.': './src/index.ts' } });

/** abi ← kernel ← sdk and one plugin, importing the right way, with look-alikes that are not imports. */
function layered(planted: boolean): Record<string, string> {
  const plant = (line: string) => (planted ? `${line}\n` : '');
  return {
    'abi/package.json': pkg('@mcp0/abi'),
    'abi/src/index.ts': 'export const abi = 1;\n',
    'kernel/package.json': pkg('@mcp0/kernel'),
    'kernel/src/index.ts': "export * from './a.js';\n",
    'kernel/src/a.ts': `import { abi } from '@mcp0/abi';\n${plant("import { sdk } from '@mcp0/sdk';")}export const a = abi;\n`,
    // Build output mirrors sources; only the sources count.
    'kernel/dist/a.js': "import { sdk } from '@mcp0/sdk';\n",
    'sdk/package.json': pkg('@mcp0/sdk'),
    'sdk/src/index.ts': "// import '@mcp0/tools' in a comment is no import\nexport const sdk = \"import '@mcp0/tools'\";\nexport * from '@mcp0/kernel';\n",
    'sdk/test/b.test.ts': `import type { a } from '@mcp0/kernel';\n${plant("import { a as b } from '../../kernel/src/a.js';")}const re = /from '@mcp0\\/tools'/;\n`,
    'plugins/p/package.json': JSON.stringify({ name: '@mcp0/plugin-p', dependencies: { '@mcp0/abi': '*' } }),
    'plugins/p/assembly/index.ts': `export { mcp0_abi_v1 } from "@mcp0/abi/as";\n${plant('import { Kernel } from "@mcp0/kernel";')}`,
    'plugins/p/build/p.js': "import '@mcp0/tools';\n",
  };
}

describe('import direction', () => {
  it('the repository has no wrong-way import beyond known-violations.json, and no stale entry in it', () => {
    const found = findImportViolations(ROOT, { allow: readAllowlist() });
    expect(found.map((v) => v.message)).toEqual([]);
  });

  it('catches a wrong-way import, a relative path into another package, and a plugin importing the kernel', () => {
    const found = findImportViolations(tree(layered(true)));
    expect(found).toEqual([
      {
        file: 'kernel/src/a.ts',
        line: 2,
        specifier: '@mcp0/sdk',
        rule: 'direction',
        message: 'kernel/src/a.ts:2 imports @mcp0/sdk: kernel may import only sandbox, preempt, abi',
      },
      {
        file: 'plugins/p/assembly/index.ts',
        line: 2,
        specifier: '@mcp0/kernel',
        rule: 'direction',
        message: 'plugins/p/assembly/index.ts:2 imports @mcp0/kernel: plugins/p may import only abi (@mcp0/abi/as)',
      },
      {
        file: 'sdk/test/b.test.ts',
        line: 2,
        specifier: '../../kernel/src/a.js',
        rule: 'relative-into-package',
        message: 'sdk/test/b.test.ts:2 imports ../../kernel/src/a.js: expected a public entry of @mcp0/kernel, found a relative path into kernel/',
      },
    ]);
  });

  it('finds nothing in the same tree without the planted lines', () => {
    expect(findImportViolations(tree(layered(false)))).toEqual([]);
  });

  it('counts what root test/ imports against the package whose test uses it', () => {
    const root = tree({
      ...layered(false),
      'test/fixtures.ts': "export { sdk } from '@mcp0/sdk';\n",
      'kernel/test/c.test.ts': "import { sdk } from '../../test/fixtures.js';\n",
    });
    expect(findImportViolations(root).map((v) => [v.file, v.specifier, v.rule, v.message])).toEqual([
      [
        'kernel/test/c.test.ts',
        '@mcp0/sdk',
        'direction',
        'kernel/test/c.test.ts:1 imports ../../test/fixtures.js, which imports @mcp0/sdk (test/fixtures.ts:1): kernel may import only sandbox, preempt, abi',
      ],
    ]);
  });

  it("lets a plugin's tests use any package through its public entry, not through its sources", () => {
    const root = tree({
      ...layered(false),
      'plugins/p/test/p.test.ts': "import { Kernel } from '@mcp0/kernel';\nimport '../assembly/index';\nimport { a } from '../../../kernel/src/a.js';\n",
    });
    expect(findImportViolations(root).map((v) => v.message)).toEqual([
      'plugins/p/test/p.test.ts:3 imports ../../../kernel/src/a.js: expected a public entry of @mcp0/kernel, found a relative path into kernel/',
    ]);
  });

  it("lets every package's tests use the plugin build, and of shipped code only tools", () => {
    const root = tree({
      ...layered(false),
      'builder/package.json': pkg('@mcp0/builder'),
      'builder/src/index.ts': "import { abi } from '@mcp0/abi';\nexport const build = abi;\n",
      'tools/package.json': pkg('@mcp0/tools'),
      'tools/src/index.ts': "export { build } from '@mcp0/builder';\n",
      'abi/test/guest.test.ts': "import { build } from '@mcp0/builder';\n",
      'kernel/src/b.test.ts': "import { build } from '@mcp0/builder';\n",
      'sdk/src/x.test-support.ts': "import { build } from '@mcp0/builder';\n",
      'test/fixtures.ts': "export { build } from '@mcp0/builder';\n",
      'kernel/test/c.test.ts': "import { build } from '../../test/fixtures.js';\n",
      'kernel/src/load.ts': "import { build } from '@mcp0/builder';\n",
    });
    expect(findImportViolations(root).map((v) => v.message)).toEqual([
      'kernel/src/load.ts:1 imports @mcp0/builder: kernel may use @mcp0/builder (the plugin build) in its tests only; tools uses it in code',
    ]);
  });

  it('drops listed violations and fails on an entry that matches nothing', () => {
    const root = tree(layered(true));
    const listed = findImportViolations(root).map(({ file, specifier }) => ({ file, specifier, why: 'planted' }));
    expect(findImportViolations(root, { allow: listed })).toEqual([]);
    const stale = { file: 'sdk/src/index.ts', specifier: '@mcp0/abi', why: 'long gone' };
    expect(findImportViolations(root, { allow: [...listed, stale] }).map((v) => v.rule + ': ' + v.message)).toEqual([
      'stale-allowlist: known-violations.json lists sdk/src/index.ts → @mcp0/abi, but no such import violates a rule now: remove the entry',
    ]);
  });
});
