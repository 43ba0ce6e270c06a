// kill -9 in the middle of a write burst: a child process advances a ref through the LMDB store,
// acknowledging each version on stdout; after SIGKILL every acknowledged root must still be there.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LmdbStore } from '../../src/store/lmdb.js';
import { buildPackages } from '../../../test/built.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'crash-writer.fixture.mjs');
const dir = mkdtempSync(join(tmpdir(), 'mcp0-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The child runs the built store. */
beforeAll(() => buildPackages());

interface Ack {
  version: number;
  root: string;
}

/** Runs the writer until it has acknowledged `count` versions past its start, then SIGKILLs it. */
function runAndKill(count: number): Promise<{ start: number; acks: Ack[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-warnings', fixture, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    let stderr = '';
    let start = -1;
    const acks: Ack[] = [];
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [a, b] = line.split(' ');
        if (a === 'start') start = Number(b);
        else acks.push({ version: Number(a), root: b! });
      }
      if (acks.length >= count && child.exitCode === null) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ start, acks });
      else reject(new Error(`writer exited with ${code}: ${stderr}`));
    });
  });
}

it('keeps every acknowledged ref version and its blocks after kill -9 mid-burst, three times over', async () => {
  let last = 0;
  for (let round = 0; round < 3; round++) {
    const { start, acks } = await runAndKill(40 + round * 30);
    expect(start).toBeGreaterThanOrEqual(last);
    expect(acks.map((a) => a.version)).toEqual(acks.map((_, i) => start + i + 1));

    const store = LmdbStore.open(dir);
    try {
      for (const ack of acks) {
        const root = store.blocks.get(Buffer.from(ack.root, 'hex'));
        expect(root, `root of acknowledged version ${ack.version}`).toBeDefined();
        const children = Array.from({ length: root!.length / 32 }, (_, i) => root!.subarray(i * 32, i * 32 + 32));
        expect(children).toHaveLength(16);
        for (const child of children) expect(store.blocks.get(child)).toBeDefined();
      }
      const head = store.blocks.refGet('crash', 'head');
      const lastAck = acks.at(-1)!;
      expect(head!.version).toBeGreaterThanOrEqual(lastAck.version);
      expect(store.blocks.get(head!.root), 'the current root is never dangling').toBeDefined();
      if (head!.version === lastAck.version) expect(Buffer.from(head!.root).toString('hex')).toBe(lastAck.root);
      last = head!.version;
    } finally {
      await store.close();
    }
  }
});
