// ABI v1 is frozen: this fails when the tables in abi-v1.ts drift from abi-v1.lock.json.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ABI_VERSION } from './abi-v1.js';
import { abiLock } from './lock.js';

describe('abi-v1.lock.json', () => {
  it('matches the import and export tables', () => {
    const locked = JSON.parse(readFileSync(new URL('../abi-v1.lock.json', import.meta.url), 'utf8'));
    // Adding to v1 makes v1.1 and changing it makes v2: update ABI.md and the lock file on purpose.
    expect(JSON.parse(JSON.stringify(abiLock()))).toEqual(locked);
  });

  it('gives every mcp0:abi/v1 function the one (i64) -> i64 type', () => {
    for (const fn of Object.values(abiLock().imports['mcp0:abi/v1'])) {
      expect([fn.params, fn.results]).toEqual([['i64'], ['i64']]);
    }
  });

  it('ABI.md, ABI_VERSION and the @mcp0/abi package name one version', () => {
    const spec = readFileSync(new URL('../ABI.md', import.meta.url), 'utf8');
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const [major, minor] = ABI_VERSION.split('.');
    expect(spec.split('\n')[0]).toBe(`# MCP-ZERO ABI v${major}.${minor}`);
    expect(spec).toContain(`- ABI version: **${ABI_VERSION}**`);
    expect(pkg.version).toBe(ABI_VERSION);
  });
});
