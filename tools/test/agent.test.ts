/**
 * `mcp0 agent` and `mcp0 start`: every subcommand against an LMDB store, each invocation a fresh
 * node (so state crosses "restarts"), typed failures as exit 1, usage errors as exit 2, and a
 * long-lived `mcp0 start` process stopped by SIGTERM and SIGINT.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '@mcp0/abi';
import { publisher } from '../../test/fixtures.js';
import { signedFile, run, tempDir, unsignedFile, writeKeys } from './helpers.js';
import { nodeDist } from './node-dist.js';

let dist: string;
let memory: { file: string; pub: string };
let stranger: { file: string };
beforeAll(async () => {
  dist = await nodeDist();
  memory = await signedFile('memory');
  // An agent signed by a key that neither the distribution nor the command trusts.
  stranger = await unsignedFile('counter');
  const keys = writeKeys(tempDir(), generateKeyPair(), 'stranger');
  expect((await run('sign', stranger.file, '--key', keys.priv)).code).toBe(0);
});

const json = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!);

describe('mcp0 agent', () => {
  it('spawns, executes, snapshots, recovers, pauses, resumes and terminates across invocations', async () => {
    const store = `lmdb:${tempDir('mcp0-agent-store-')}`;
    // nodeDist is a local build: its development key beside it, trusted only with an explicit --dev.
    const at = ['--dist', dist, '--store', store, '--dev'];
    const spawned = await run('agent', 'spawn', memory.file, '--name', 'notes', '--trust-agent', memory.pub, ...at, '--json');
    expect(spawned.code, spawned.err).toBe(0);
    expect(spawned.err).toContain('WARNING: --dev: trusting the DEVELOPMENT key');
    expect(spawned.err).toContain(`trust: agent signer ${publisher.kid} from --trust-agent ${memory.pub}`);
    const id = json(spawned.out).id as string;
    expect(json(spawned.out)).toMatchObject({ name: 'notes', state: 'running', module: 'mcp0.example.memory@0.1.0' });

    expect((await run('agent', 'execute', 'notes', 'remember', '{"text":"first"}', ...at)).code).toBe(0);
    const snap = json((await run('agent', 'snapshot', id, ...at, '--json')).out).id as string;
    expect(snap).toMatch(/^[0-9a-f]{64}$/);
    expect((await run('agent', 'execute', 'notes', 'remember', '{"text":"second"}', ...at)).code).toBe(0);
    const listed = await run('agent', 'execute', 'notes', 'list', '{}', ...at, '--json');
    expect(json(listed.out).output.notes.map((n: { text: string }) => n.text)).toEqual(['first', 'second']);

    expect((await run('agent', 'recover', 'notes', snap, ...at)).code).toBe(0);
    const after = await run('agent', 'execute', 'notes', 'list', '{}', ...at);
    expect(JSON.parse(after.out).notes.map((n: { text: string }) => n.text)).toEqual(['first']);

    expect(json((await run('agent', 'pause', 'notes', ...at, '--json')).out)).toEqual({ id, state: 'paused' });
    const refused = await run('agent', 'execute', 'notes', 'list', '{}', ...at);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('ESTATE');
    expect((await run('agent', 'resume', 'notes', ...at)).code).toBe(0);

    const all = json((await run('agent', 'list', ...at, '--json')).out);
    expect(all).toEqual([expect.objectContaining({ id, name: 'notes', state: 'running', snapshots: [snap], stateRoot: snap })]);
    const text = await run('agent', 'list', ...at);
    expect(text.out).toContain(`${id}  notes`);

    expect((await run('agent', 'terminate', 'notes', ...at)).code).toBe(0);
    expect(json((await run('agent', 'list', ...at, '--json')).out)).toEqual([]);
  });

  it('reports failures with their code (exit 1) and misuse as usage errors (exit 2)', async () => {
    const at = ['--dist', dist, '--store', `lmdb:${tempDir('mcp0-agent-store-')}`, '--dev'];
    const untrusted = await run('agent', 'spawn', stranger.file, '--name', 'c', ...at);
    expect(untrusted.code).toBe(2);
    expect(untrusted.err).toContain('EUNTRUSTED');
    const missing = await run('agent', 'execute', 'nobody', 'get', ...at);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('ENOTFOUND');
    expect((await run('agent', 'fly', ...at)).code).toBe(2);
    expect((await run('agent', 'execute', 'x', 'get', '{not json', ...at)).code).toBe(2);
    const noDist = await run('agent', 'list', '--dist', join(tempDir(), 'none'), '--store', 'memory:');
    expect(noDist.code).toBe(2);
    expect(noDist.err).toContain('mcp0 dist build');
  });
});

describe('mcp0 agent on the standard distribution', () => {
  it('registers a signed agreement file at spawn and runs under it; without one the agent is denied', async () => {
    const standard = resolve(import.meta.dirname, '..', '..', 'dist', 'standard', 'build');
    const at = ['--dist', standard, '--store', `lmdb:${tempDir('mcp0-agent-std-')}`, '--dev'];
    const dir = tempDir();
    const keys = writeKeys(dir, generateKeyPair(), 'me');
    const doc = join(dir, 'agr.json');
    expect((await run('agreement', 'new', '--template', 'free', '--consumer', keys.kid, '--provider', keys.kid, '--id', 'agr-cli', '--out', doc)).code).toBe(0);
    for (const party of ['consumer', 'provider']) expect((await run('agreement', 'sign', doc, '--key', keys.priv, '--party', party)).code).toBe(0);

    const signedMemory = await signedFile('memory');
    expect((await run('agent', 'spawn', signedMemory.file, '--name', 'bare', '--trust-agent', signedMemory.pub, ...at)).code).toBe(0);
    const denied = await run('agent', 'execute', 'bare', 'list', '{}', ...at);
    expect(denied.code).toBe(1);
    expect(denied.err).toMatch(/EDENIED: .*no-agreement/);

    const spawned = await run('agent', 'spawn', signedMemory.file, '--name', 'bound', '--agreement', doc, '--trust-agent', signedMemory.pub, ...at, '--json');
    expect(spawned.code, spawned.err).toBe(0);
    expect(json(spawned.out)).toMatchObject({ name: 'bound', agreement: 'agr-cli' });
    expect((await run('agent', 'execute', 'bound', 'list', '{}', ...at)).code).toBe(0);
    // The free plan permits reading intents only.
    const refused = await run('agent', 'execute', 'bound', 'remember', '{"text":"not on the free plan"}', ...at);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/EDENIED: .*not-permitted/);
  });
});

describe('mcp0 start', () => {
  const bin = resolve(import.meta.dirname, '..', 'bin', 'mcp0.js');

  it.each(['SIGTERM', 'SIGINT'] as const)('runs until %s and stops cleanly, with the state kept', async (signal) => {
    const store = `lmdb:${tempDir('mcp0-start-store-')}`;
    const at = ['--dist', dist, '--store', store, '--dev'];
    expect((await run('agent', 'spawn', memory.file, '--name', 'notes', '--trust-agent', memory.pub, ...at)).code).toBe(0);
    expect((await run('agent', 'execute', 'notes', 'remember', '{"text":"kept"}', ...at)).code).toBe(0);

    const child = spawn(process.execPath, ['--no-warnings', bin, 'start', ...at, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const ready = new Promise<void>((resolve) => child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('"ready"')) resolve();
    }));
    const exited = new Promise<string>((resolve) => child.on('exit', (code, sig) => resolve(`${code} ${sig}`)));
    await ready;
    expect(JSON.parse(out.split('\n')[0]!)).toMatchObject({ event: 'ready', distribution: 'test@0.1.0', agents: [{ name: 'notes', state: 'running' }] });
    child.kill(signal);
    expect(await exited, `${out}\n${err}`).toBe('0 null');
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toMatchObject({ event: 'stopped', signal });
    const listed = await run('agent', 'execute', 'notes', 'recall', '{"query":"kept"}', ...at);
    expect(JSON.parse(listed.out).notes).toHaveLength(1);
  });
});
