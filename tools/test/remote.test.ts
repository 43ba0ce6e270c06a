/**
 * `mcp0 remote`: the CLI's client against a node that `mcp0 start --listen` serves in a child
 * process, with agreements (the operator as provider) and rpc (the operator its one operator key).
 * A counter agent is spawned on the store first by `mcp0 agent spawn --agreement <file>`, which
 * also registers the agreement whose consumer (the agents' signer) may call it. Covered: every
 * subcommand for the key each needs, the typed refusals of keys the node does not authorise (exit
 * 1), addresses that cannot be reached or used (exit 1 and 2), and mutual TLS with the certificates
 * `mcp0 keygen --tls` makes.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, newAgreement, signAgreement, writeKeyFile, type PrivateKey } from '@mcp0/abi';
import { addPlugin, createDistribution, lockDistribution, setPipeline } from '@mcp0/sdk';
import { buildPackages } from '../../test/built.js';
import { publisher, signed } from '../../test/fixtures.js';
import { run, signedFile, tempDir, watchOutput, writeKeys, type WatchedOutput } from './helpers.js';

const bin = resolve(import.meta.dirname, '..', 'bin', 'mcp0.js');
const operator: PrivateKey = generateKeyPair();
let dist: string;
let keys: { operator: string; consumer: string; stranger: string; publisherPub: string };
let counterFile: string;
let agreementFile: string;

beforeAll(async () => {
  buildPackages();
  dist = join(tempDir('mcp0-remote-dist-'), 'dist');
  await createDistribution(dist, { name: 'remote', assembler: operator.publicKey });
  await addPlugin(dist, await signed('storage'), { grants: ['blocks', 'random'], publishers: [publisher.publicKey] });
  await addPlugin(dist, await signed('agreements'), { grants: ['kv:agreements/', 'crypto', 'clock'], config: { providers: [operator.kid] } });
  await addPlugin(dist, await signed('trace'), { grants: ['kv:trace/'] });
  await addPlugin(dist, await signed('rpc'), { grants: ['kv:rpc/', 'crypto', 'clock'], config: { operators: [operator.kid] } });
  await setPipeline(dist, { admit: ['mcp0.agreements'], observe: ['mcp0.agreements', 'mcp0.trace'] });
  await lockDistribution(dist, operator);
  await writeKeyFile(join(dist, 'dev-key.pub.jwk'), operator.publicKey);

  const counter = await signedFile('counter'); // signed by the fixture publisher: the agreement's consumer
  counterFile = counter.file;
  const dir = tempDir('mcp0-remote-keys-');
  keys = {
    operator: writeKeys(dir, operator, 'operator').priv,
    consumer: counter.priv,
    stranger: writeKeys(dir, generateKeyPair(), 'stranger').priv,
    publisherPub: counter.pub,
  };
  const doc = newAgreement('personal', {
    id: 'agr-remote',
    consumer: publisher.kid,
    provider: operator.kid,
    set: { 'permissions.intents': '["increment","get"]' },
  });
  agreementFile = join(dir, 'agr.json');
  writeFileSync(agreementFile, JSON.stringify(signAgreement(signAgreement(doc, publisher, 'consumer'), operator, 'provider'), null, 2));
}, 180_000);

/** A node served by `mcp0 start --listen` in a child process. */
interface Served {
  address: string;
  output: WatchedOutput;
  /** SIGTERM, then its exit: `<code> <signal>`. */
  stop(): Promise<string>;
}
const running: Served[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
});

/** A store holding the counter agent under the agreement (registered by the same local spawn). */
async function storeWithCounter(): Promise<string> {
  const store = `lmdb:${tempDir('mcp0-remote-store-')}`;
  const spawned = await run(
    'agent',
    'spawn',
    counterFile,
    '--name',
    'counter',
    '--agreement',
    agreementFile,
    '--trust-agent',
    keys.publisherPub,
    '--dist',
    dist,
    '--store',
    store,
    '--dev',
  );
  expect(spawned.code, spawned.err).toBe(0);
  return store;
}

/** `mcp0 start --listen 127.0.0.1:0` on `store`, plaintext unless `listen` says otherwise, until it says ready. */
async function serve(store: string, listen: string[] = ['--insecure']): Promise<Served> {
  const child = spawn(
    process.execPath,
    [
      '--no-warnings',
      bin,
      'start',
      '--dist',
      dist,
      '--store',
      store,
      '--dev',
      '--trust-agent',
      keys.publisherPub,
      '--operator-key',
      keys.operator,
      '--listen',
      '127.0.0.1:0',
      ...listen,
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = watchOutput(child);
  const ready = await Promise.race([output.printed('"ready"').then(() => 'ready'), output.exited]);
  expect(ready, output.err()).toBe('ready');
  const served: Served = {
    address: JSON.parse(output.out().trim().split('\n')[0]!).listen,
    output,
    stop: async () => {
      child.kill('SIGTERM');
      return output.exited;
    },
  };
  running.push(served);
  return served;
}

/** `mcp0 remote <address> ...` in-process with a generous deadline (a loaded machine), plaintext. */
const remote = (address: string, key: string, ...argv: string[]) => run('remote', address, ...argv, '--key', key, '--insecure', '--timeout', '120000');
const last = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!);

describe('mcp0 remote', () => {
  it('runs every subcommand for the key each needs: the operator for the node, the consumer for the agent', async () => {
    const node = await serve(await storeWithCounter());
    const op = (...argv: string[]) => remote(node.address, keys.operator, ...argv);
    const consumer = (...argv: string[]) => remote(node.address, keys.consumer, ...argv);

    const info = await op('node', 'info');
    expect(info.code, info.err).toBe(0);
    expect(info.out).toMatch(/^distribution: remote@/m);
    expect(info.err).toContain(`caller: ${operator.kid} from --key ${keys.operator}`);
    expect(last((await op('node', 'info', '--json')).out)).toMatchObject({ distribution: { name: 'remote' }, roles: expect.arrayContaining(['mcp0.rpc@1']) });

    const listed = await op('agent', 'list', '--json');
    expect(listed.code, listed.err).toBe(0);
    const [counter] = last(listed.out);
    expect(counter).toMatchObject({ name: 'counter', state: 'running', module: expect.stringMatching(/@/), agreement: 'agr-remote', snapshots: [] });
    expect((await op('agent', 'list')).out).toContain(`${counter.id}  counter`);

    const two = await consumer('agent', 'execute', 'counter', 'increment', '{"by":2}');
    expect(two.code, two.err).toBe(0);
    expect(two.out).toBe('{"value":2}\n');
    const snap = await op('agent', 'snapshot', 'counter', '--json');
    expect(snap.code, snap.err).toBe(0);
    const snapId = last(snap.out).id as string;
    expect(snapId).toMatch(/^[0-9a-f]{64}$/);
    expect(last((await consumer('agent', 'execute', 'counter', 'increment', '{"by":5}', '--json')).out)).toEqual({ ok: true, output: { value: 7 } });
    const recovered = await op('agent', 'recover', counter.id, snapId);
    expect(recovered.code, recovered.err).toBe(0);
    expect(recovered.out).toBe(`recovered ${counter.id} to ${snapId}\n`);
    expect((await consumer('agent', 'execute', 'counter', 'get')).out).toBe('{"value":2}\n');

    expect(last((await op('agent', 'pause', 'counter', '--json')).out)).toEqual({ id: counter.id, name: 'counter', state: 'paused' });
    const paused = await consumer('agent', 'execute', 'counter', 'get');
    expect(paused.code).toBe(1);
    expect(paused.err).toMatch(/^mcp0 remote: ESTATE: /m);
    expect((await op('agent', 'resume', 'counter')).out).toBe(`counter (${counter.id}): running\n`);

    const spawned = await op('agent', 'spawn', counterFile, '--name', 'second', '--agreement', 'agr-remote', '--json');
    expect(spawned.code, spawned.err).toBe(0);
    const second = last(spawned.out);
    expect(second).toMatchObject({ name: 'second', state: 'running', agreement: 'agr-remote' });
    expect((await consumer('agent', 'execute', 'second', 'increment')).out).toBe('{"value":1}\n');
    const terminated = await op('agent', 'terminate', 'second');
    expect(terminated.code, terminated.err).toBe(0);
    expect(terminated.out).toBe(`second (${second.id}): terminated\n`);
    expect(last((await op('agent', 'list', '--json')).out).map((a: { name: string }) => a.name)).toEqual(['counter']);

    const head = await op('trace', 'head', '--json');
    expect(head.code, head.err).toBe(0);
    const { seq } = last(head.out) as { seq: number; head: string };
    expect(seq).toBeGreaterThanOrEqual(3); // the operations above, each one entry
    const entries = await op('trace', 'entries', '0', '1');
    expect(entries.code, entries.err).toBe(0);
    expect(
      entries.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).seq),
    ).toEqual([0, 1]);
    const metrics = await op('node', 'metrics', '--json');
    expect(metrics.code, metrics.err).toBe(0);
    expect(last(metrics.out).operations.total).toBeGreaterThanOrEqual(4);

    expect(await node.stop()).toBe('0 null');
  }, 120_000);

  it("refuses keys the node does not authorise with the node's typed error, exit 1", async () => {
    const node = await serve(await storeWithCounter());
    const stranger = await remote(node.address, keys.stranger, 'node', 'info');
    expect(stranger.code).toBe(1);
    expect(stranger.err).toMatch(/^mcp0 remote: EPERM: .*not-authorised/m);
    // The consumer may run the agent's intents, not the node's own methods...
    const consumerList = await remote(node.address, keys.consumer, 'agent', 'list');
    expect(consumerList.code).toBe(1);
    expect(consumerList.err).toMatch(/EPERM: .*not-authorised/);
    // ...and the operator the node's methods, not an agent bound to someone else's agreement.
    const operatorExec = await remote(node.address, keys.operator, 'agent', 'execute', 'counter', 'get', '--json');
    expect(operatorExec.code).toBe(1);
    expect(last(operatorExec.out)).toMatchObject({ ok: false, error: { code: 'EPERM', message: expect.stringMatching(/not-authorised/) } });
    const missing = await remote(node.address, keys.operator, 'agent', 'snapshot', 'nobody');
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/ENOTFOUND/);
  }, 120_000);

  it('says EUNAVAILABLE (exit 1) when no node answers, and EUSAGE (exit 2) for an address or options it cannot use', async () => {
    // A port just freed: nothing listens there, so the connection is refused until the timeout.
    const port = await new Promise<number>((done) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => done(port));
      });
    });
    const nobody = await run('remote', `127.0.0.1:${port}`, 'node', 'info', '--key', keys.operator, '--insecure', '--timeout', '2000');
    expect(nobody.code).toBe(1);
    expect(nobody.err).toMatch(new RegExp(`^mcp0 remote: EUNAVAILABLE: no node answered at 127\\.0\\.0\\.1:${port} within 2000 ms over plaintext`, 'm'));
    // Over TLS the message says what to check on both sides: the certificate's CA, and client certificates.
    const tls = join(tempDir('mcp0-remote-tls-'), 'tls');
    expect((await run('keygen', '--tls', tls)).code).toBe(0);
    const tlsNobody = await run('remote', `127.0.0.1:${port}`, 'node', 'info', '--key', keys.operator, '--ca', join(tls, 'ca.crt'), '--timeout', '2000');
    expect(tlsNobody.code).toBe(1);
    expect(tlsNobody.err).toMatch(
      /EUNAVAILABLE: no node answered at .* over TLS: .*signed by the CA of --ca, and, if it has --tls-client-ca, do you give --cert and --cert-key\?/,
    );

    const usage: [string[], RegExp][] = [
      [['nowhere', 'node', 'info', '--key', keys.operator, '--insecure'], /EUSAGE: <addr>: expected host:port/],
      [['127.0.0.1:99999', 'node', 'info', '--key', keys.operator, '--insecure'], /EUSAGE: <addr>: expected host:port/],
      [['10.1.2.3:7040', 'node', 'info', '--key', keys.operator, '--insecure'], /EUSAGE: --insecure is plaintext, for a loopback address only/],
      [['127.0.0.1:7040', 'node', 'info', '--insecure'], /EUSAGE: --key <file> is required/],
      [['127.0.0.1:7040', 'node', 'info', '--key', keys.operator, '--cert', keys.operator], /EUSAGE: --cert and --cert-key go together/],
      [['127.0.0.1:7040', 'node', 'info', '--key', keys.operator, '--insecure', '--ca', keys.operator], /EUSAGE: --insecure is plaintext: give it or --ca/],
      [['127.0.0.1:7040', 'node', 'info', '--key', keys.publisherPub, '--insecure'], /EUSAGE: --key .*expected a private key/],
      [
        ['127.0.0.1:7040', 'node', 'info', '--key', keys.operator, '--ca', '/nonexistent/ca.crt'],
        /EUSAGE: --ca \/nonexistent\/ca\.crt: cannot read it \(ENOENT\)/,
      ],
      [['127.0.0.1:7040', 'agent', 'fly', '--key', keys.operator, '--insecure'], /EUSAGE: unknown subcommand "agent fly"/],
      [['127.0.0.1:7040', 'kernel', 'info', '--key', keys.operator, '--insecure'], /EUSAGE: unknown group "kernel"/],
      [['127.0.0.1:7040', 'agent', 'execute', 'counter', '--key', keys.operator, '--insecure'], /expected 2 to 3 argument\(s\), got 1/],
      [['127.0.0.1:7040', 'agent', 'execute', 'counter', 'get', '{no', '--key', keys.operator, '--insecure'], /EUSAGE: input: expected JSON/],
      [['127.0.0.1:7040', 'agent', 'spawn', counterFile, '--key', keys.operator, '--insecure'], /EUSAGE: --name is required/],
      [['127.0.0.1:7040', 'trace', 'entries', '5', '2', '--key', keys.operator, '--insecure'], /EUSAGE: <from> 5 is after <to> 2/],
      [['127.0.0.1:7040', 'node', 'info', '--key', keys.operator, '--insecure', '--timeout', '0'], /EUSAGE: --timeout: expected an integer from 1 to 300000/],
    ];
    for (const [argv, error] of usage) {
      const r = await run('remote', ...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toMatch(error);
    }
  }, 120_000);

  it('serves over mutual TLS with the certificates mcp0 keygen --tls makes, and refuses a client without one', async () => {
    const tls = join(tempDir('mcp0-remote-tls-'), 'tls');
    expect((await run('keygen', '--tls', tls, '--host', '127.0.0.1')).code).toBe(0);
    expect((await run('keygen', '--tls', tls, '--client', 'alice')).code).toBe(0);
    const node = await serve(await storeWithCounter(), [
      '--tls-cert',
      join(tls, 'node.crt'),
      '--tls-key',
      join(tls, 'node.key'),
      '--tls-client-ca',
      join(tls, 'ca.crt'),
    ]);
    const at = ['--key', keys.consumer, '--ca', join(tls, 'ca.crt'), '--timeout', '120000'];
    const mutual = await run(
      'remote',
      node.address,
      'agent',
      'execute',
      'counter',
      'increment',
      ...at,
      '--cert',
      join(tls, 'client-alice.crt'),
      '--cert-key',
      join(tls, 'client-alice.key'),
    );
    expect(mutual.code, mutual.err).toBe(0);
    expect(mutual.out).toBe('{"value":1}\n');
    // Without a client certificate the handshake fails: no node answers this client (the short timeout bounds only the wait).
    // Under TLS 1.3 the client may finish its side first and see the refusal on the call: EUNAVAILABLE either way.
    const bare = await run(
      'remote',
      node.address,
      'agent',
      'execute',
      'counter',
      'get',
      '--key',
      keys.consumer,
      '--ca',
      join(tls, 'ca.crt'),
      '--timeout',
      '3000',
    );
    expect(bare.code).toBe(1);
    expect(bare.err).toMatch(/^mcp0 remote: EUNAVAILABLE: /m);
    // Plaintext to a TLS node is no node either.
    const plain = await run('remote', node.address, 'node', 'info', '--key', keys.operator, '--insecure', '--timeout', '3000');
    expect(plain.code).toBe(1);
    expect(plain.err).toMatch(/^mcp0 remote: EUNAVAILABLE: /m);
  }, 120_000);

  it('exports the checkpoint the node signed with its operator key, and says ENOTFOUND before there is one', async () => {
    const store = await storeWithCounter();
    const first = await serve(store);
    const none = await remote(first.address, keys.operator, 'trace', 'checkpoint');
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/ENOTFOUND: the node has signed no trace checkpoint/);
    expect((await remote(first.address, keys.consumer, 'agent', 'execute', 'counter', 'increment')).code).toBe(0);
    running.splice(running.indexOf(first), 1);
    expect(await first.stop()).toBe('0 null'); // the stop signs the moved head
    const again = await serve(store);
    const cp = await remote(again.address, keys.operator, 'trace', 'checkpoint');
    expect(cp.code, cp.err).toBe(0);
    expect(JSON.parse(cp.out)).toMatchObject({ signer: operator.kid, seq: expect.any(Number), head: expect.any(String) });
  }, 120_000);
});
