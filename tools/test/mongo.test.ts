/**
 * The standard distribution on MongoDB from a `mongodb://` URI (issue 13, defect 2): `mcp0 agent`
 * spawns, executes and snapshots; a database that holds no store is refused except by spawn; the
 * main job runs and resumes; `mcp0 conformance --budgets --store` runs the reference workload there.
 * Against FerretDB (or MONGODB_URI), skipped without one, as test/mongo-server.md says.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMongo, testDatabases, type MongoServer } from '../../test/mongo-server.js';
import { run, signedFile, tempDir } from './helpers.js';
import { nodeDist } from './node-dist.js';

const mongo = await startMongo();
const STANDARD = resolve(import.meta.dirname, '..', '..', 'distributions', 'standard', 'build');
const JOB = resolve(import.meta.dirname, '..', 'dist', 'main-job.js');
const json = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!);

describe.skipIf(!mongo)('the standard distribution on mongodb://', () => {
  const server = mongo as MongoServer;
  const databases = testDatabases(server, 'mcp0_cli_');
  const freshUri = databases.fresh;
  let dist: string;
  beforeAll(async () => {
    dist = await nodeDist();
  });
  afterAll(async () => {
    await databases.drop();
    await server.stop();
  });

  it('mcp0 agent spawn, execute, snapshot and list work on --store mongodb://…; a database without a store is ENOTFOUND except for spawn', async () => {
    const uri = freshUri();
    const counter = await signedFile('counter');
    const at = ['--dist', dist, '--store', uri, '--dev', '--trust-agent', counter.pub];
    const missing = await run('agent', 'list', ...at);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/ENOTFOUND: no store at mongodb:\/\/.*holds no store/);
    const spawned = await run('agent', 'spawn', counter.file, '--name', 'tally', ...at, '--json');
    expect(spawned.code, spawned.err).toBe(0);
    const executed = await run('agent', 'execute', 'tally', 'increment', '{"by":2}', ...at);
    expect(executed.code, executed.err).toBe(0);
    expect(JSON.parse(executed.out)).toEqual({ value: 2 });
    const snap = await run('agent', 'snapshot', 'tally', ...at, '--json');
    expect(snap.code, snap.err).toBe(0);
    expect(json(snap.out).id).toMatch(/^[0-9a-f]{64}$/);
    expect(json((await run('agent', 'list', ...at, '--json')).out)).toEqual([expect.objectContaining({ name: 'tally', stateRoot: json(snap.out).id })]);
  });

  it('the main job runs on --store mongodb://… and resumes there', async () => {
    const uri = freshUri();
    const data = tempDir('mcp0-main-job-mongo-');
    const job = async () => {
      const { stdout } = await promisify(execFile)(process.execPath, ['--no-warnings', JOB, '--json', '--store', uri], {
        env: { ...process.env, MCP0_DATA: data },
        timeout: 300_000,
      });
      return JSON.parse(stdout);
    };
    const first = await job();
    expect(first).toMatchObject({
      resumed: false,
      store: uri,
      operations: { total: 42, ok: 41, error: 0 },
      denials: { total: 1 },
      memory: { notes: 10, added: 10 },
      counter: 25,
    });
    const second = await job();
    expect(second).toMatchObject({ resumed: true, memory: { notes: 20, added: 10 }, counter: 50 });
    expect(second.agents.map((a: { id: string }) => a.id)).toEqual(first.agents.map((a: { id: string }) => a.id));
  }, 600_000);

  it('mcp0 conformance --budgets --store mongodb://… runs the reference workload on MongoDB', async () => {
    const report = join(tempDir(), 'report.json');
    const r = await run('conformance', STANDARD, '--dev', '--quick', '--budgets', '--store', freshUri(), '--out', report);
    const written = JSON.parse(readFileSync(report, 'utf8'));
    // Every suite passes; the gates are the machine's business (FerretDB's own CPU is another process).
    expect(written.summary.fail, r.out).toBe(0);
    const workload = written.budgets.workload as { agents: number; operations: number; errors: number };
    expect(workload.agents).toBe(8);
    expect(workload.operations).toBeGreaterThan(0);
    // Every operation ran (on a machine loaded by other suites, a rare one may time out: r.err names it).
    expect(workload.errors, r.err).toBeLessThanOrEqual(Math.ceil(workload.operations * 0.02));
    expect(r.err).toContain('budgets:');
  }, 600_000);
});
