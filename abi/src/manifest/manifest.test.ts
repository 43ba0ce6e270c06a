// The manifest section read strictly: a member named twice is EMANIFEST naming the key and its path
// (it was refused before only as "not canonical", which did not say why).
import { describe, expect, it } from 'vitest';
import { LoadError } from '../errors/index.js';
import { answerModule } from '../signature/test-fixtures.js';
import { appendCustomSection, removeCustomSections } from '../wasm/sections.js';
import { appendManifest, readManifest } from './manifest.js';

const manifest = {
  name: 'test.answer',
  version: '1.0.0',
  abi: '^1.0',
  kind: 'plugin',
  exports: [{ name: 'answer' }],
  limits: { memoryPages: 4, timeoutMs: 1000 },
};
const bare = removeCustomSections(answerModule(), 'mcp0.manifest');
const withText = (text: string) => appendCustomSection(bare, 'mcp0.manifest', new TextEncoder().encode(text));

function loadError(fn: () => unknown): LoadError {
  try {
    fn();
  } catch (e) {
    if (e instanceof LoadError) return e;
    throw e;
  }
  throw new Error('expected a LoadError');
}

describe('readManifest', () => {
  it('reads the canonical manifest appendManifest wrote (known answer)', () => {
    const module = appendManifest(bare, manifest);
    expect(readManifest(module)).toEqual(manifest);
    expect(
      readManifest(
        withText(
          '{"abi":"^1.0","exports":[{"name":"answer"}],"kind":"plugin","limits":{"memoryPages":4,"timeoutMs":1000},"name":"test.answer","version":"1.0.0"}',
        ),
      ),
    ).toEqual(manifest);
  });

  it('refuses a member named twice, nested, with EMANIFEST naming it', () => {
    const text =
      '{"abi":"^1.0","exports":[{"name":"answer"}],"kind":"plugin","limits":{"memoryPages":65536,"memoryPages":4,"timeoutMs":1000},"name":"test.answer","version":"1.0.0"}';
    const e = loadError(() => readManifest(withText(text)));
    expect(e.code).toBe('EMANIFEST');
    expect(e.details).toMatchObject({ check: 'manifest', key: 'memoryPages', path: '/limits/memoryPages' });
    expect(e.message).toMatch(/^invalid manifest: duplicate member "memoryPages" at \/limits\/memoryPages \(offset \d+\)/);
  });

  it('still names text that is not JSON', () => {
    const e = loadError(() => readManifest(withText('{"abi":')));
    expect(e.code).toBe('EMANIFEST');
    expect(e.message).toMatch(/^manifest section is not UTF-8 JSON: /);
  });
});
