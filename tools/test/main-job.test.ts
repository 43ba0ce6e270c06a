/**
 * The main job (`npm start`), run as CI runs it but on a temporary data directory: the first run
 * spawns the agents and works; the second resumes them with their memory; `--json` is one object.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const JOB = resolve(import.meta.dirname, '..', 'dist', 'main-job.js');

async function runJob(data: string, ...args: string[]) {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--no-warnings', JOB, ...args], {
    env: { ...process.env, MCP0_DATA: data },
    timeout: 120_000,
  });
  return { stdout, stderr };
}

describe('the main job', () => {
  it('spawns, works and reports; a second run resumes the agents and their memory', async () => {
    const data = tempDir('mcp0-main-job-');
    const first = JSON.parse((await runJob(data, '--json')).stdout);
    expect(first).toMatchObject({
      resumed: false,
      distribution: 'standard@0.1.0',
      operations: { total: 42, ok: 41, error: 0 },
      denials: { total: 1, detail: [{ agent: 'counter', intent: 'reset', reason: expect.stringMatching(/^not-permitted/) }] },
      memory: { notes: 10, added: 10 },
      counter: 25,
      workload: { operations: 39, opsPerSecond: 20 },
    });
    expect(first.agents.map((a: { name: string }) => a.name)).toEqual(['memory', 'counter']);
    expect(first.snapshots.map((s: { id: string }) => s.id)).toEqual(first.agents.map((a: { stateRoot: string }) => a.stateRoot));
    // Every operation the agreement admitted is in the chain (seq counts from 0); the denied one never ran.
    expect(first.trace.seq).toBe(40);
    // The head is signed with the operator key (the development key npm start uses): a checkpoint of seq 40.
    expect(first.checkpoint).toMatchObject({ seq: 40, signer: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(first.resources.samples).toBeGreaterThanOrEqual(10);
    expect(Object.keys(first.budgets)).toEqual(['cpu', 'rssPeak', 'rssAvg']);

    const second = JSON.parse((await runJob(data, '--json')).stdout);
    expect(second).toMatchObject({ resumed: true, memory: { notes: 20, added: 10 }, counter: 50 });
    expect(second.agents.map((a: { id: string }) => a.id)).toEqual(first.agents.map((a: { id: string }) => a.id));
    expect(second.trace.seq).toBe(first.trace.seq + 41);
    expect(second.checkpoint).toMatchObject({ seq: second.trace.seq, signer: first.checkpoint.signer });
    expect(second.agreement.calls).toBeGreaterThan(first.agreement.calls);

    const text = await runJob(data);
    expect(text.stdout).toMatch(/resumed from the stored state/);
    expect(text.stdout).toMatch(/CPU .* of the reference i3; RSS peak .* MB, average .* MB\n/);
    // A few seconds after start-up judge nothing: no pass or fail words, the gates named as figures.
    expect(text.stdout).not.toMatch(/OVER|: ok\)/);
    expect(text.stdout).toMatch(/judged\n\s+over 60 s of steady load by `npm run conformance:budgets`/);
    expect(text.stdout).toMatch(/trace head: seq \d+, .*; signed checkpoint seq \d+ by /);
  });
});
