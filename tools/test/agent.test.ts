/**
 * `mcp0 agent` and `mcp0 start`: every subcommand against an LMDB store, each invocation a fresh
 * node (so state crosses "restarts"), typed failures as exit 1, usage errors as exit 2, and a
 * long-lived `mcp0 start` process stopped by SIGTERM and SIGINT.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { generateKeyPair, parsePrivateJwk } from '@mcp0/abi';
import { publisher } from '../../test/fixtures.js';
import { signedFile, run, tempDir, unsignedFile, watchOutput, writeKeys } from './helpers.js';
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
/** The key id of a private key file. */
const readKeyKid = (file: string): string => parsePrivateJwk(readFileSync(file, 'utf8')).kid;

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
    expect(json(spawned.out)).toMatchObject({ name: 'notes', state: 'running', module: 'mcp0.example.memory@0.2.0' });

    expect((await run('agent', 'execute', 'notes', 'remember', '{"text":"first"}', ...at)).code).toBe(0);
    const snap = json((await run('agent', 'snapshot', id, ...at, '--json')).out).id as string;
    expect(snap).toMatch(/^[0-9a-f]{64}$/);
    expect((await run('agent', 'execute', 'notes', 'remember', '{"text":"second"}', ...at)).code).toBe(0);
    const listed = await run('agent', 'execute', 'notes', 'list', '{}', ...at, '--json');
    expect(json(listed.out).output.notes.map((n: { text: string }) => n.text)).toEqual(['first', 'second']);

    expect((await run('agent', 'recover', 'notes', snap, ...at)).code).toBe(0);
    const after = await run('agent', 'execute', 'notes', 'list', '{}', ...at);
    expect(JSON.parse(after.out).notes.map((n: { text: string }) => n.text)).toEqual(['first']);

    expect(json((await run('agent', 'pause', 'notes', ...at, '--json')).out)).toEqual({ id, name: 'notes', state: 'paused' });
    const refused = await run('agent', 'execute', 'notes', 'list', '{}', ...at);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('ESTATE');
    expect((await run('agent', 'resume', 'notes', ...at)).code).toBe(0);

    const all = json((await run('agent', 'list', ...at, '--json')).out);
    expect(all).toEqual([expect.objectContaining({ id, name: 'notes', state: 'running', snapshots: [snap], stateRoot: snap })]);
    const text = await run('agent', 'list', ...at);
    expect(text.out).toContain(`${id}  notes`);

    const terminated = await run('agent', 'terminate', 'notes', ...at);
    expect(terminated.code).toBe(0);
    expect(terminated.out).toBe(`notes (${id}): terminated\n`); // the name survives the termination
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
    // Arguments are checked before a node starts: on a store that does not exist, the usage error
    // (not "no store at") is what comes back.
    const early = ['--dist', dist, '--store', `lmdb:${join(tempDir(), 'absent')}`, '--dev'];
    for (const argv of [['execute', 'x', 'get', '{not json'], ['execute', 'x'], ['snapshot'], ['recover', 'x'], ['list', 'extra'], ['spawn', stranger.file]]) {
      const r = await run('agent', ...argv, ...early);
      expect(r.code, `${argv.join(' ')}: ${r.err}`).toBe(2);
      expect(r.err).toMatch(/EUSAGE/);
      expect(r.err).not.toMatch(/no store at/);
    }
    const noDist = await run('agent', 'list', '--dist', join(tempDir(), 'none'), '--store', 'memory:');
    expect(noDist.code).toBe(2);
    expect(noDist.err).toContain('mcp0 dist build');
  });
});

describe('mcp0 agent recover (issue 13)', () => {
  it("refuses another agent's snapshot (exit 1, EPERM) and takes it with --force, with a warning", async () => {
    const counter = await signedFile('counter');
    const at = ['--dist', dist, '--store', `lmdb:${tempDir('mcp0-agent-store-')}`, '--dev', '--trust-agent', memory.pub];
    expect((await run('agent', 'spawn', counter.file, '--name', 'tally', ...at)).code).toBe(0);
    expect((await run('agent', 'spawn', memory.file, '--name', 'notes', ...at)).code).toBe(0);
    expect((await run('agent', 'execute', 'tally', 'increment', '{"by":2}', ...at)).code).toBe(0);
    expect((await run('agent', 'execute', 'notes', 'remember', '{"text":"mine"}', ...at)).code).toBe(0);
    const foreign = json((await run('agent', 'snapshot', 'notes', ...at, '--json')).out).id as string;

    const refused = await run('agent', 'recover', 'tally', foreign, ...at);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(new RegExp(`EPERM: agent tally \\(agent-[0-9a-f]+\\): ${foreign} is not in its history .*force`));
    expect(refused.out).toBe('');
    expect(JSON.parse((await run('agent', 'execute', 'tally', 'get', '{}', ...at)).out)).toEqual({ value: 2 });

    const forced = await run('agent', 'recover', 'tally', foreign, '--force', ...at);
    expect(forced.code, forced.err).toBe(0);
    expect(forced.err).toContain(`WARNING: --force: recovering tally to ${foreign}`);
    expect(forced.out).toBe(`recovered tally to ${foreign}\n`);
  });
});

describe('mcp0 agent on the standard distribution', () => {
  const standard = resolve(import.meta.dirname, '..', '..', 'distributions', 'standard', 'build');
  /** The provider a local build of distributions/standard accepts: its development key ("$assembler" in dist.json). */
  const operatorKey = join(standard, 'dev-key.jwk');

  /** An agreement file made and signed with the CLI between `consumer` and `provider` (key files). */
  async function agreementFile(consumer: { priv: string; kid: string }, provider: { priv: string; kid: string }, id: string): Promise<string> {
    const doc = join(tempDir(), `${id}.json`);
    expect((await run('agreement', 'new', '--template', 'free', '--consumer', consumer.kid, '--provider', provider.kid, '--id', id, '--out', doc)).code).toBe(
      0,
    );
    for (const key of [consumer.priv, provider.priv]) {
      const signed = await run('agreement', 'sign', doc, '--key', key);
      expect(signed.code, signed.err).toBe(0);
    }
    return doc;
  }

  it('registers a signed agreement file at spawn and runs under it; without one the agent is denied', async () => {
    const signedMemory = await signedFile('memory');
    // Every invocation trusts the agent's publisher, so the stored agents come back.
    const at = ['--dist', standard, '--store', `lmdb:${tempDir('mcp0-agent-std-')}`, '--dev', '--trust-agent', signedMemory.pub];
    // The consumer is the key that signed the agent; the provider the node's operator.
    const doc = await agreementFile({ priv: signedMemory.priv, kid: signedMemory.kid }, { priv: operatorKey, kid: readKeyKid(operatorKey) }, 'agr-cli');

    const bare = await run('agent', 'spawn', signedMemory.file, '--name', 'bare', ...at);
    expect(bare.code).toBe(0);
    expect(bare.err).toMatch(
      /WARNING: bare is bound to no agreement, and mcp0\.agreements admits operations only under one: every operation will be denied \(no-agreement\)/,
    );
    const denied = await run('agent', 'execute', 'bare', 'list', '{}', ...at);
    expect(denied.code).toBe(1);
    expect(denied.err).toMatch(/EDENIED: .*no-agreement/);
    // With --json the failure is a result on stdout too, with its details.
    const deniedJson = await run('agent', 'execute', 'bare', 'list', '{}', ...at, '--json');
    expect(deniedJson.code).toBe(1);
    expect(json(deniedJson.out)).toMatchObject({ ok: false, error: { code: 'EDENIED', message: expect.stringContaining('no-agreement') } });

    const spawned = await run('agent', 'spawn', signedMemory.file, '--name', 'bound', '--agreement', doc, ...at, '--json');
    expect(spawned.code, spawned.err).toBe(0);
    expect(json(spawned.out)).toMatchObject({ name: 'bound', agreement: 'agr-cli' });
    expect((await run('agent', 'execute', 'bound', 'list', '{}', ...at)).code).toBe(0);
    // The free plan permits reading intents only.
    const refused = await run('agent', 'execute', 'bound', 'remember', '{"text":"not on the free plan"}', ...at);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/EDENIED: .*not-permitted/);
  });

  it('refuses an agreement whose provider the distribution does not accept, naming it and the accepted key (issue 12, defect 4)', async () => {
    const store = `lmdb:${tempDir('mcp0-agent-std-')}`;
    const at = ['--dist', standard, '--store', store, '--dev'];
    const signedMemory = await signedFile('memory');
    // Anyone holding two keys: the agent's publisher and a provider key of its own making.
    const mine = writeKeys(tempDir(), generateKeyPair(), 'mine');
    const doc = await agreementFile({ priv: signedMemory.priv, kid: signedMemory.kid }, mine, 'agr-self');
    const r = await run('agent', 'spawn', signedMemory.file, '--name', 'free-ride', '--agreement', doc, '--trust-agent', signedMemory.pub, ...at);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `EPERM: agreement agr-self: expected a provider this node accepts (config.providers of mcp0.agreements: [${readKeyKid(operatorKey)}]), got ${mine.kid}`,
    );
    expect(json((await run('agent', 'list', ...at, '--json')).out)).toEqual([]);
  });

  it("refuses to spawn an agent signed by Bob under Alice's agreement: EPERM, no agent left, nothing billed to Alice (issue 12, defect 4)", async () => {
    const store = `lmdb:${tempDir('mcp0-agent-std-')}`;
    const at = ['--dist', standard, '--store', store, '--dev'];
    const alice = writeKeys(tempDir(), generateKeyPair(), 'alice');
    const doc = await agreementFile(alice, { priv: operatorKey, kid: readKeyKid(operatorKey) }, 'agr-alice');
    // Bob's agent: the memory module signed by the fixture publisher, which the command trusts.
    const bob = await signedFile('memory');
    const r = await run('agent', 'spawn', bob.file, '--name', 'bobs', '--agreement', doc, '--trust-agent', bob.pub, ...at);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`EPERM: agreement agr-alice: expected the agent`);
    expect(r.err).toContain(`to act for the agreement's consumer ${alice.kid}, got ${bob.kid}`);
    expect(json((await run('agent', 'list', ...at, '--json')).out)).toEqual([]);
    // The agreement was registered, and nothing ran under it.
    // After "--": one key id in 64 starts with "-".
    const usage = await run('agreement', 'usage', '--store', store, '--dist', standard, '--dev', '--json', '--', alice.kid);
    expect(usage.code, usage.err).toBe(0);
    expect(JSON.parse(usage.out).agreements).toEqual([expect.objectContaining({ id: 'agr-alice', admitted: 0, calls: 0, costUnits: 0 })]);
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
    const node = watchOutput(child);
    await node.printed('"ready"');
    expect(JSON.parse(node.out().split('\n')[0]!)).toMatchObject({ event: 'ready', distribution: 'test@0.1.0', agents: [{ name: 'notes', state: 'running' }] });
    child.kill(signal);
    expect(await node.exited, `${node.out()}\n${node.err()}`).toBe('0 null');
    expect(JSON.parse(node.out().trim().split('\n').at(-1)!)).toMatchObject({ event: 'stopped', signal });
    const listed = await run('agent', 'execute', 'notes', 'recall', '{"query":"kept"}', ...at);
    expect(JSON.parse(listed.out).notes).toHaveLength(1);
  });
});

describe('mcp0 start under npm (issue 14)', () => {
  const bin = resolve(import.meta.dirname, '..', 'bin', 'mcp0.js');

  it('stops cleanly when the npm process above it goes away (npm passes no SIGTERM on)', async () => {
    const at = ['--dist', dist, '--store', `lmdb:${tempDir('mcp0-start-npm-')}`, '--dev'];
    // A shell stands in for npm exec's: killed, it hands the node to another parent, as npm's death does.
    const quoted = [process.execPath, '--no-warnings', bin, 'start', ...at, '--json'].map((a) => `'${a}'`).join(' ');
    const shell = spawn('sh', ['-c', `${quoted}; exit 0`], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_command: 'exec' } });
    const node = watchOutput(shell);
    await node.printed('"ready"');
    const { pid } = JSON.parse(node.out().split('\n')[0]!) as { pid: number };
    expect(pid).toBeGreaterThan(0);
    shell.kill('SIGKILL');
    await node.printed('"stopped"'); // the node's stdout outlives the shell: it says it stopped, and why
    expect(JSON.parse(node.out().trim().split('\n').at(-1)!), node.err()).toMatchObject({ event: 'stopped', signal: 'parent exited' });
    // And it is gone (polled: its exit follows its last line).
    await expect
      .poll(
        () => {
          try {
            process.kill(pid, 0);
            return 'alive';
          } catch {
            return 'gone';
          }
        },
        { timeout: 30_000, interval: 100 },
      )
      .toBe('gone');
  });
});

describe('mcp0 agent: stores that do not exist, and agents another node runs (issue 13)', () => {
  const bin = resolve(import.meta.dirname, '..', 'bin', 'mcp0.js');

  it('refuses a store that does not exist (ENOTFOUND, "no store at …") except for spawn, and creates nothing', async () => {
    const { existsSync } = await import('node:fs');
    const typo = join(tempDir(), 'typo');
    const at = ['--dist', dist, '--store', `lmdb:${typo}`, '--dev', '--trust-agent', memory.pub];
    for (const args of [['list'], ['execute', 'notes', 'list'], ['snapshot', 'notes'], ['terminate', 'notes']]) {
      const r = await run('agent', ...args, ...at);
      expect(r.code, r.err).toBe(1);
      expect(r.err).toContain(`ENOTFOUND: no store at lmdb:${typo}: ${typo} does not exist`);
    }
    expect(existsSync(typo)).toBe(false);
    // spawn creates it; then the others find it.
    expect((await run('agent', 'spawn', memory.file, '--name', 'notes', ...at)).code).toBe(0);
    expect(json((await run('agent', 'list', ...at, '--json')).out)).toEqual([expect.objectContaining({ name: 'notes' })]);
  });

  it('while mcp0 start runs on the store, agent execute from another process is refused with EBUSY naming its pid', async () => {
    const store = `lmdb:${tempDir('mcp0-start-store-')}`;
    const at = ['--dist', dist, '--store', store, '--dev', '--trust-agent', memory.pub];
    expect((await run('agent', 'spawn', memory.file, '--name', 'notes', ...at)).code).toBe(0);
    const child = spawn(process.execPath, ['--no-warnings', bin, 'start', ...at, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const ready = new Promise<void>((resolve) =>
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('"ready"')) resolve();
      }),
    );
    const exited = new Promise<string>((resolve) => child.on('exit', (code, sig) => resolve(`${code} ${sig}`)));
    try {
      await ready;
      const busy = await run('agent', 'execute', 'notes', 'remember', '{"text":"from another shell"}', ...at);
      expect(busy.code).toBe(1);
      expect(busy.err).toMatch(
        new RegExp(
          `warning: stored agent notes \\(agent-[0-9a-f]+\\) not brought back: another node runs it: node [0-9a-f]{32}: pid ${child.pid} on host \\S+, lease token \\d+, its heartbeat valid until \\d{4}-`,
        ),
      );
      expect(busy.err).toContain('EBUSY: agent notes');
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe('0 null');
    }
    // Stopped: its lease released, the agent runs from here, with nothing of the refused command's.
    const after = await run('agent', 'execute', 'notes', 'list', '{}', ...at);
    expect(after.code, after.err).toBe(0);
    expect(JSON.parse(after.out).notes).toEqual([]);
  });
});
