// ABI v1 is frozen: this fails when the tables in abi-v1.ts drift from abi-v1.lock.json.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
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
});
