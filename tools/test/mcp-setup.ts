/**
 * What the `mcp0 mcp` tests share: a distribution like the standard one (storage, agreements with
 * the operator as the accepted provider, trace), signed by a test operator; and stores prepared
 * with `mcp0 agent spawn` holding the example agents under two consumers' agreements:
 * - the fixture publisher (`consumer`) signs `counter` and `progress`, under an agreement that
 *   permits increment, get and steps (not counter's reset);
 * - another key (`other`) signs `memory`, named `notes`, under an agreement of its own.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { generateKeyPair, newAgreement, signAgreement, signModule, writeKeyFile, type PrivateKey } from '@mcp0/abi';
import { addPlugin, createDistribution, lockDistribution, setPipeline } from '@mcp0/sdk';
import { buildPackages } from '../../test/built.js';
import { publisher, signed, unsigned } from '../../test/fixtures.js';
import { run, tempDir, writeKeys } from './helpers.js';

/** The CLI's entry, run in child processes. */
export const bin = resolve(import.meta.dirname, '..', 'bin', 'mcp0.js');

/** What `prepare` made. */
export interface McpFixture {
  dist: string;
  operator: PrivateKey;
  /** The consumer of counter and progress (the fixture publisher), and its public key file. */
  consumer: { kid: string; pub: string };
  /** The consumer of notes. */
  other: { kid: string; pub: string };
  /** Options every node of these tests is opened with: the distribution, its trust, the agents' signers, emit for progress. */
  nodeArgs(store: string): string[];
  /** A store holding counter, progress and notes under their agreements. */
  store(): Promise<string>;
}

/**
 * Builds the distribution, the agents and the agreements (once per test file).
 * @example
 * const f = await prepare(); const store = await f.store()
 */
export async function prepare(): Promise<McpFixture> {
  buildPackages();
  const operator = generateKeyPair();
  const other = generateKeyPair();
  const dist = join(tempDir('mcp0-mcp-dist-'), 'dist');
  await createDistribution(dist, { name: 'mcp-test', assembler: operator.publicKey });
  await addPlugin(dist, await signed('storage'), { grants: ['blocks', 'random'], publishers: [publisher.publicKey] });
  await addPlugin(dist, await signed('agreements'), { grants: ['kv:agreements/', 'crypto', 'clock'], config: { providers: [operator.kid] } });
  await addPlugin(dist, await signed('trace'), { grants: ['kv:trace/'] });
  await setPipeline(dist, { admit: ['mcp0.agreements'], observe: ['mcp0.agreements', 'mcp0.trace'] });
  await lockDistribution(dist, operator);
  await writeKeyFile(join(dist, 'dev-key.pub.jwk'), operator.publicKey);

  const dir = tempDir('mcp0-mcp-keys-');
  const mine = writeKeys(dir, publisher, 'consumer');
  const theirs = writeKeys(dir, other, 'other');
  const files = {
    counter: join(dir, 'counter.wasm'),
    progress: join(dir, 'progress.wasm'),
    notes: join(dir, 'memory.wasm'),
  };
  writeFileSync(files.counter, await signed('counter'));
  writeFileSync(files.progress, await signed('progress'));
  writeFileSync(files.notes, await signModule(await unsigned('memory'), other));
  const agreement = (id: string, consumer: PrivateKey, intents: string[]): string => {
    const doc = newAgreement('personal', { id, consumer: consumer.kid, provider: operator.kid, set: { 'permissions.intents': JSON.stringify(intents) } });
    const file = join(dir, `${id}.json`);
    writeFileSync(file, JSON.stringify(signAgreement(signAgreement(doc, consumer, 'consumer'), operator, 'provider')));
    return file;
  };
  const agreements = {
    mine: agreement('agr-mine', publisher, ['increment', 'get', 'steps']),
    theirs: agreement('agr-theirs', other, ['remember', 'list', 'recall', 'forget']),
  };
  const nodeArgs = (store: string) => [
    '--dist',
    dist,
    '--store',
    store,
    '--dev',
    '--trust-agent',
    mine.pub,
    '--trust-agent',
    theirs.pub,
    '--allow-grant',
    'emit',
  ];
  return {
    dist,
    operator,
    consumer: { kid: publisher.kid, pub: mine.pub },
    other: { kid: other.kid, pub: theirs.pub },
    nodeArgs,
    async store() {
      const store = `lmdb:${tempDir('mcp0-mcp-store-')}`;
      for (const [name, file, agr, grants] of [
        ['counter', files.counter, agreements.mine, []],
        ['progress', files.progress, agreements.mine, ['--grant', 'emit']],
        ['notes', files.notes, agreements.theirs, []],
      ] as const) {
        const spawned = await run('agent', 'spawn', file, '--name', name, '--agreement', agr, ...grants, ...nodeArgs(store));
        expect(spawned.code, spawned.err).toBe(0);
      }
      return store;
    },
  };
}

/** The trace head of a store, read by `mcp0 trace head` once no node runs on it. */
export async function traceHead(store: string): Promise<{ seq: number; head: string }> {
  const head = await run('trace', 'head', '--json', '--store', store);
  expect(head.code, head.err).toBe(0);
  return JSON.parse(head.out.trim().split('\n').at(-1)!);
}
