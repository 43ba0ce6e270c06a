/** writeAtomic: readers see the old file or a whole new one, never a part; no temporary file is left. */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeAtomic } from './atomic-write.js';

const temp = (): string => mkdtempSync(join(tmpdir(), 'mcp0-atomic-'));

describe('writeAtomic', () => {
  it('gives concurrent readers only whole contents while many writers race, and leaves one file', async () => {
    const dir = temp();
    const file = join(dir, 'artifact.wasm');
    // Contents of distinct lengths and fills: a torn read matches none of them.
    const contents = Array.from({ length: 24 }, (_, i) => new Uint8Array(200_000 + i * 4096).fill(i + 1));
    writeFileSync(file, contents[0]!);
    const whole = new Set(contents.map((c) => `${c.length}:${c[0]}`));
    let reads = 0;
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const got = await readFile(file);
        expect(whole.has(`${got.length}:${got[0]}`) && got.every((b) => b === got[0])).toBe(true);
        reads++;
      }
    })();
    await Promise.all(contents.map((c) => writeAtomic(file, c)));
    writing = false;
    await reader;
    expect(reads).toBeGreaterThan(0);
    expect(readdirSync(dir)).toEqual(['artifact.wasm']);
    const last = readFileSync(file);
    expect(whole.has(`${last.length}:${last[0]}`)).toBe(true);
  });

  it('fails with the file system error and leaves nothing when the folder does not exist', async () => {
    const dir = temp();
    await expect(writeAtomic(join(dir, 'missing', 'a.wasm'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(readdirSync(dir)).toEqual([]);
  });
});
