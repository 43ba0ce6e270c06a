// The Python client (clients/python) against a live node: its whole pytest suite, the live test
// included, run with the node's address and the consumer's and operator's key files. The node has
// the agents the live tests call: `counter` (node.ts) and `progress`, which streams its progress
// (spawned as stream.test.ts does: the emit grant, an agreement whose consumer is the consumer).
// The Python comes from scripts/python/setup.sh (MCP0_PYTHON, as .ci/run exports it); without it
// the test is skipped with a warning, except in CI, where it fails, as the MongoDB tests do.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newAgreement, signAgreement, writeKeyFile } from '@mcp0/abi';
import type { Node } from '@mcp0/sdk';
import type { NodeServer } from '@mcp0/sdk/rpc';
import { buildPackages } from '../../../test/built.js';
import { signed } from '../../../test/fixtures.js';
import { consumer, operator, servedNode } from './node.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const python = process.env.MCP0_PYTHON;
if (python === undefined) {
  const why = 'no Python for the Python client: run scripts/python/setup.sh and set MCP0_PYTHON to the path it prints';
  if (process.env.CI) throw new Error(why);
  console.warn(`[python] skipping: ${why}`);
}

let node: Node;
let server: NodeServer;

beforeAll(async () => {
  if (python === undefined) return;
  buildPackages();
  ({ node, server } = await servedNode({}, {}, { allowedAgentGrants: ['kv', 'clock', 'random', 'emit'] }));
  const doc = newAgreement('personal', { id: 'agr-progress', consumer: consumer.kid, provider: operator.kid, set: { 'permissions.intents': '["steps"]' } });
  await node.roles.agreements.register({ document: signAgreement(signAgreement(doc, consumer, 'consumer'), operator, 'provider') });
  await node.agents.spawn({ module: await signed('progress'), name: 'progress', grants: ['emit:progress'], agreement: 'agr-progress' });
}, 120_000);
afterAll(async () => {
  await server?.close();
  await node?.stop();
});

describe.skipIf(python === undefined)('the Python client', () => {
  it('passes its suite against a live node, the live tests included', async () => {
    const keys = mkdtempSync(join(tmpdir(), 'mcp0-py-keys-'));
    await writeKeyFile(join(keys, 'consumer.jwk'), consumer);
    await writeKeyFile(join(keys, 'operator.jwk'), operator);
    const env = {
      ...process.env,
      CI: 'true', // the live tests must run: a missing node fails them
      MCP0_NODE_ADDR: `127.0.0.1:${server.port}`,
      MCP0_CONSUMER_KEY: join(keys, 'consumer.jwk'),
      MCP0_OPERATOR_KEY: join(keys, 'operator.jwk'),
    };
    const { code, output } = await new Promise<{ code: number | null; output: string }>((done) => {
      const child = spawn(python!, ['-m', 'pytest', 'clients/python', '-q', '-p', 'no:cacheprovider', '-rs'], { cwd: ROOT, env });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      child.on('close', (c) => done({ code: c, output }));
    });
    expect(code, output).toBe(0);
    expect(output).toMatch(/\d+ passed/);
    expect(output).not.toMatch(/skipped/);
  }, 300_000);
});
