/**
 * `mcp0 agent` and stored agents: a node brings a stored agent back only when the operator trusts
 * its publisher now (--trust-agent, or the keyring, looked up by the id the record names) and
 * allows its grants (--allow-grant); otherwise it warns, keeps the record and serves the rest.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '@mcp0/abi';
import { run, tempDir, unsignedFile, writeKeys } from './helpers.js';
import { nodeDist } from './node-dist.js';

let dist: string;
const own = generateKeyPair();
let agent: { file: string; pub: string };
beforeAll(async () => {
  dist = await nodeDist();
  // An agent signed by a key the distribution does not list among its publishers.
  const { file } = await unsignedFile('counter');
  const keys = writeKeys(tempDir(), own, 'own');
  expect((await run('sign', file, '--key', keys.priv)).code).toBe(0);
  agent = { file, pub: keys.pub };
});

const json = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!);

describe("stored agents and the operator's trust", () => {
  it('brings an agent back only with its publisher trusted: --trust-agent, or the keyring', async () => {
    const at = ['--dist', dist, '--store', `lmdb:${tempDir('mcp0-agent-trust-')}`, '--dev'];
    const spawned = await run('agent', 'spawn', agent.file, '--name', 'mine', '--trust-agent', agent.pub, ...at, '--json');
    expect(spawned.code, spawned.err).toBe(0);
    expect((await run('agent', 'execute', 'mine', 'increment', '{"by":5}', ...at, '--trust-agent', agent.pub)).code).toBe(0);

    // Without that trust the record stays, the agent is not loaded, and the command says why.
    const list = await run('agent', 'list', ...at, '--json');
    expect(list.code).toBe(0);
    expect(json(list.out)).toEqual([]);
    expect(list.err).toContain(
      `warning: stored agent mine (${json(spawned.out).id}) not brought back: its module is signed by ${own.kid}, which this node does not trust`,
    );
    const refused = await run('agent', 'execute', 'mine', 'get', ...at);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('EUNTRUSTED');

    // The keyring, looked up by the id the record names: announced as such.
    expect((await run('keyring', 'add', agent.pub)).code).toBe(0);
    try {
      const got = await run('agent', 'execute', 'mine', 'get', ...at, '--json');
      expect(got.code, got.err).toBe(0);
      expect(json(got.out).output).toEqual({ value: 5 });
      expect(got.err).toContain(`trust: agent signer ${own.kid} from keyring entry ${own.kid}`);
      expect(got.err).toContain('named by a stored agent');
    } finally {
      expect((await run('keyring', 'remove', '--', own.kid)).code).toBe(0);
    }
  });

  it('allows grants beyond kv, clock and random only with --allow-grant, at spawn and every start after', async () => {
    const at = ['--dist', dist, '--store', `lmdb:${tempDir('mcp0-agent-grant-')}`, '--dev', '--trust-agent', agent.pub];
    const beyond = await run('agent', 'spawn', agent.file, '--name', 'c', '--grant', 'kv', '--grant', 'clock', '--grant', 'net:*', ...at);
    expect(beyond.code).toBe(1);
    expect(beyond.err).toContain('EPERM');
    expect(beyond.err).toContain('net:* is beyond what this node allows agents (allowed: kv, clock, random)');

    const allowed = ['--allow-grant', 'net:*'];
    expect((await run('agent', 'spawn', agent.file, '--name', 'c', '--grant', 'kv', '--grant', 'clock', '--grant', 'net:*', ...at, ...allowed)).code).toBe(0);
    const without = await run('agent', 'list', ...at, '--json');
    expect(json(without.out)).toEqual([]);
    expect(without.err).toMatch(/not brought back: its record grants net:\*, beyond what this node allows agents .*\(allow with --allow-grant\)/);
    expect(json((await run('agent', 'list', ...at, ...allowed, '--json')).out)).toEqual([expect.objectContaining({ name: 'c' })]);
  });
});
