/**
 * What bench/mcp.js needs to serve a node over MCP: the standard distribution as `npm run build`
 * leaves it (distributions/standard/build, trusted with --dev), a fresh consumer key that signs the
 * counter agent (built from source) and is its agreement's consumer, the development key as the
 * agreement's provider, and LMDB stores, each holding counter under that agreement, prepared in
 * process with the SDK, under /dev/shm when it exists (MCP0_BENCH_DIR to choose). A store can be
 * opened by one node at a time, so every side of a comparison gets its own, made the same way.
 *
 * tools/test/mcp-setup.ts does the same for the tests, but from test-only pieces (the vitest
 * fixtures' signed modules and publisher key, `mcp0 agent spawn` through the test helpers), which a
 * plain-JS benchmark run after `npm run build` cannot import, and a benchmark must not depend on
 * tests; so the few steps are written again here against the public packages.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, newAgreement, readKeyFile, signAgreement, writeKeyFile } from '@mcp0/abi';
import { Node, loadDistribution } from '@mcp0/sdk';
import { ROOT, builtSigned } from './fixtures.js';

/** The standard distribution's build folder. */
export const STANDARD = join(ROOT, 'distributions/standard/build');
/** The mcp0 command, run in child processes. */
export const BIN = join(ROOT, 'tools/bin/mcp0.js');

/**
 * Everything the MCP benchmark serves: call `store()` once per node.
 * @example
 * const f = await prepareMcp(); const store = await f.store(); spawn(process.execPath, [BIN, 'mcp', ...f.nodeArgs(store), '--consumer', f.consumer.kid])
 */
export async function prepareMcp() {
  // On tmpfs when there is one: LMDB's fsync per commit on this disk costs ~20 ms, which would bury
  // a 1 ms target under the disk's noise; every side pays the same code path, only the sync is free.
  const base = process.env.MCP0_BENCH_DIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  const dir = mkdtempSync(join(base, 'mcp0-bench-mcp-'));
  const operator = await readKeyFile(join(STANDARD, 'dev-key.jwk'));
  const consumer = generateKeyPair();
  const consumerPub = join(dir, 'consumer.pub.jwk');
  await writeKeyFile(consumerPub, consumer.publicKey);
  const [counter] = await builtSigned(['agents/counter'], consumer);
  // Enterprise: no call or cost ceiling, so tens of thousands of calls are never throttled.
  const doc = newAgreement('enterprise', {
    id: 'bench-mcp',
    consumer: consumer.kid,
    provider: operator.kid,
    set: { 'permissions.intents': '["increment","get"]', 'permissions.exports': '[]' },
  });
  const agreement = signAgreement(signAgreement(doc, consumer, 'consumer'), operator, 'provider');
  const distribution = await loadDistribution(STANDARD, { trust: [operator.publicKey] });
  const token = randomBytes(32).toString('base64url');
  const tokensFile = join(dir, 'tokens.json');
  writeFileSync(tokensFile, JSON.stringify({ tokens: [{ token, consumer: consumer.kid, name: 'bench' }] }), { mode: 0o600 });
  const keyring = join(dir, 'keyring');
  let stores = 0;
  return {
    dir,
    base,
    consumer: { kid: consumer.kid, pub: consumerPub },
    token,
    tokensFile,
    /** The environment of a child `mcp0`: its own empty keyring, so ~/.mcp0 is never read. */
    env: { ...process.env, MCP0_KEYRING: keyring, NODE_OPTIONS: '' },
    /** The options `mcp0 mcp` opens a node on `store` with. */
    nodeArgs: (store) => ['--dist', STANDARD, '--store', store, '--dev', '--trust-agent', consumerPub],
    /** Starts a node on `store` in this process, as `mcp0 mcp` would open it. */
    open: (store) => Node.start({ distribution, store, trust: [consumer.publicKey] }),
    /** A new LMDB store holding counter under the agreement, no node on it. */
    async store() {
      const store = `lmdb:${join(dir, `store-${stores++}`)}`;
      const node = await Node.start({ distribution, store, trust: [consumer.publicKey] });
      try {
        await node.roles.agreements.register({ document: agreement });
        await node.agents.spawn({ module: counter, name: 'counter', agreement: 'bench-mcp' });
      } finally {
        await node.stop();
      }
      return store;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * VmRSS of process `pid` in bytes, from /proc/<pid>/status.
 * @example
 * rssOf(child.pid) // 123731968
 */
export async function rssOf(pid) {
  const { readFile } = await import('node:fs/promises');
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`/proc/${pid}/status has no VmRSS line`);
  return Number(m[1]) * 1024;
}
