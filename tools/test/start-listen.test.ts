// mcp0 start --listen: the node served over gRPC from the command line, answering the TypeScript
// client of its operator; plaintext refused off loopback; a drain before the clean stop.
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, writeKeyFile, type PrivateKey } from '@mcp0/abi';
import { addPlugin, createDistribution, lockDistribution, setPipeline } from '@mcp0/sdk';
import { Client } from '@mcp0/sdk/rpc';
import { buildPackages } from '../../test/built.js';
import { publisher, signed } from '../../test/fixtures.js';
import { run, tempDir, watchOutput } from './helpers.js';

const bin = resolve(import.meta.dirname, '..', 'bin', 'mcp0.js');
let dist: string;
let operator: PrivateKey;

beforeAll(async () => {
  buildPackages();
  dist = join(tempDir('mcp0-listen-dist-'), 'dist');
  operator = generateKeyPair();
  await createDistribution(dist, { name: 'listen', assembler: operator.publicKey });
  await addPlugin(dist, await signed('storage'), { grants: ['blocks', 'random'], publishers: [publisher.publicKey] });
  await addPlugin(dist, await signed('trace'), { grants: ['kv:trace/'] });
  await addPlugin(dist, await signed('rpc'), { grants: ['kv:rpc/', 'crypto', 'clock'], config: { operators: [operator.kid] } });
  await setPipeline(dist, { admit: [], observe: ['mcp0.trace'] });
  await lockDistribution(dist, operator);
  await writeKeyFile(join(dist, 'dev-key.pub.jwk'), operator.publicKey);
}, 180_000);

describe('mcp0 start --listen', () => {
  it("serves the node over gRPC to its operator's client, and drains before stopping", async () => {
    const store = `lmdb:${tempDir('mcp0-listen-store-')}`;
    const child = spawn(
      process.execPath,
      ['--no-warnings', bin, 'start', '--dist', dist, '--store', store, '--dev', '--listen', '127.0.0.1:0', '--insecure', '--json'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const node = watchOutput(child);
    await node.printed('"ready"');
    const ready = JSON.parse(node.out().trim().split('\n')[0]!);
    expect(ready).toMatchObject({ event: 'ready', listen: expect.stringMatching(/^127\.0\.0\.1:\d+$/), tls: false });
    const client = await Client.connect(ready.listen, { key: operator, insecure: true, timeoutMs: 120_000 });
    try {
      expect(await client.info()).toMatchObject({ distribution: { name: 'listen' }, roles: expect.arrayContaining(['mcp0.rpc@1']) });
      expect(await client.agents.list()).toEqual([]);
    } finally {
      client.close();
    }
    child.kill('SIGTERM');
    expect(await node.exited, `${node.out()}\n${node.err()}`).toBe('0 null');
    expect(JSON.parse(node.out().trim().split('\n').at(-1)!)).toMatchObject({ event: 'stopped', signal: 'SIGTERM' });
  }, 120_000);

  it('serves mutual TLS with the certificates mcp0 keygen --tls makes', async () => {
    const tls = join(tempDir('mcp0-listen-tls-'), 'tls');
    const made = await run('keygen', '--tls', tls, '--host', '127.0.0.1');
    expect(made.code, made.err).toBe(0);
    expect(made.out).toMatch(/CA: .*ca\.crt \(new;/);
    expect(statSync(join(tls, 'node.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(tls, 'ca.key')).mode & 0o777).toBe(0o600);
    const alice = await run('keygen', '--tls', tls, '--client', 'alice');
    expect(alice.code, alice.err).toBe(0);
    expect(alice.out).toMatch(/\(existing, reused\)/);
    expect((await run('keygen', '--tls', tls, '--host', '127.0.0.1')).code).toBe(2); // node.crt exists: --force to replace

    const store = `lmdb:${tempDir('mcp0-listen-store-')}`;
    const at = ['--tls-cert', join(tls, 'node.crt'), '--tls-key', join(tls, 'node.key'), '--tls-client-ca', join(tls, 'ca.crt')];
    const child = spawn(
      process.execPath,
      ['--no-warnings', bin, 'start', '--dist', dist, '--store', store, '--dev', '--listen', '127.0.0.1:0', ...at, '--json'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const node = watchOutput(child);
    try {
      await node.printed('"ready"');
      const ready = JSON.parse(node.out().trim().split('\n')[0]!);
      expect(ready).toMatchObject({ tls: true });
      const pem = (f: string) => new Uint8Array(readFileSync(join(tls, f)));
      const client = await Client.connect(ready.listen, {
        key: operator,
        ca: pem('ca.crt'),
        cert: pem('client-alice.crt'),
        certKey: pem('client-alice.key'),
        timeoutMs: 120_000,
      });
      try {
        expect(await client.info()).toMatchObject({ distribution: { name: 'listen' } });
      } finally {
        client.close();
      }
      // Without a client certificate the handshake, or the first call, fails: nothing is served.
      const bare = await Client.connect(ready.listen, { key: operator, ca: pem('ca.crt'), timeoutMs: 2_000 })
        .then(async (c) => {
          try {
            await c.info();
          } finally {
            c.close();
          }
          return 'served';
        })
        .catch(() => 'refused');
      expect(bare).toBe('refused');
    } finally {
      child.kill('SIGTERM');
      await node.exited;
    }
  }, 120_000);

  it('refuses plaintext off loopback, and TLS options without --listen (exit 2)', async () => {
    const store = `lmdb:${tempDir('mcp0-listen-store-')}`;
    const open = await run('start', '--dist', dist, '--store', store, '--dev', '--listen', '0.0.0.0:0', '--insecure');
    expect(open.code).toBe(2);
    expect(open.err).toMatch(/plaintext is for a loopback address only/);
    const stray = await run('start', '--dist', dist, '--store', store, '--dev', '--insecure');
    expect(stray.code).toBe(2);
    expect(stray.err).toMatch(/go with --listen/);
  }, 60_000);
});
