/**
 * Agreements benchmark (`node --no-warnings --expose-gc bench/agreements.js [--quick]`, after
 * `npm run build`): what mcp0.agreements' admit + observe hooks add to one operation through the
 * pipeline. The same `kernel.execute` of hello's echo (64 B) with no hooks, and with the plugin
 * admitting (agreement lookup, validity, permission globs, storage, calls, cost and concurrency
 * checks, one kv write for the reservation) and observing (two kv writes: the quota window and the
 * billing hour), kv on an in-memory store, alternating rounds. Target: ≤ 1.25× (≤ 25% added).
 *
 * The echo is the worst case: an operation that does nothing. The second group is an agent's
 * operation as a node runs it: the counter agent's `increment` (worker tier, its kv served by the
 * storage plugin, the write applied at the end), on a node with and without the agreements hooks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, signAgreement, signModule } from '@mcp0/abi';
import { Kernel } from '@mcp0/kernel';
import { MemoryStore, Node } from '@mcp0/sdk';
import { buildPlugin } from '@mcp0/builder';
import { measure } from './lib/measure.js';
import { figuresTable, ratio, ratiosTable } from './lib/report.js';
import { GRANTS, HELLO, ROOT, helloBytes } from './lib/fixtures.js';

const quick = process.argv.includes('--quick');
const log = (msg) => process.stderr.write(`${msg}\n`);
const key = generateKeyPair();
const agreements = signModule((await buildPlugin(`${ROOT}plugins/agreements`, { out: `${ROOT}plugins/agreements/build/agreements.wasm` })).wasm, key);
const hello = signModule(helloBytes(), key);
// The floor: the cheapest hook pair there is (plugins/agreements/bench/null-hooks), built to a temp dir.
const tmp = mkdtempSync(join(tmpdir(), 'mcp0-bench-agreements-'));
const nullHooks = signModule((await buildPlugin(`${ROOT}plugins/agreements/bench/null-hooks`, { out: join(tmp, 'null-hooks.wasm') })).wasm, key);
rmSync(tmp, { recursive: true, force: true });
const consumer = generateKeyPair();
const provider = generateKeyPair();
// The node's operator accepts the provider's agreements (the plugin's config).
const config = { providers: [provider.kid] };

// Every kind of limit present (so every check runs), none reachable during the run.
const doc = signAgreement(
  signAgreement(
    {
      type: 'mcp0.agreement/1',
      id: 'bench',
      consumer: consumer.kid,
      provider: provider.kid,
      permissions: { intents: ['get*', 'list*', 'ech?'], exports: ['mcp0.hello/*'] },
      quotas: { windowMs: 60_000, callsPerWindow: 1e12, costUnitsPerWindow: 1e13, storageBytes: 1e9, maxConcurrent: 64 },
      pricing: { currency: 'EUR', baseFee: 100, perCall: 1, perCostUnit: 1 },
      validity: { notBefore: 0, notAfter: 4e12 },
    },
    consumer,
    'consumer',
  ),
  provider,
  'provider',
);

/**
 * A kernel with hello and the hooks: 'none', 'null' (the floor), 'agreements', or
 * 'agreements-trusted' (the plugin loaded with `preempt: false`, as a distribution may load a
 * system plugin it trusts not to loop: no deadline checks in its loops).
 */
async function node(hooks) {
  const store = new MemoryStore();
  const kernel = new Kernel({ trust: [key.publicKey], providers: { kv: store.kv } });
  await kernel.load(hello, { isolation: 'inline', grants: GRANTS });
  if (hooks === 'null') {
    await kernel.load(nullHooks, { isolation: 'inline' });
    kernel.setPipeline({ admit: ['bench.null-hooks'], observe: ['bench.null-hooks'] });
  }
  if (hooks === 'agreements' || hooks === 'agreements-trusted') {
    await kernel.load(agreements, {
      isolation: 'inline',
      preempt: hooks === 'agreements',
      grants: [{ name: 'kv' }, { name: 'crypto' }, { name: 'clock' }],
      config,
    });
    await kernel.callValue('mcp0.agreements', 'register', { document: doc });
    // Operations run only under the agreement bound to their agent, as a node binds it at spawn.
    await kernel.callValue('mcp0.agreements', 'bind', { agent: HELLO, agreement: 'bench', consumer: consumer.kid });
    await kernel.callValue('mcp0.agreements', 'meter', { agent: HELLO, storageBytes: 4096 });
    kernel.setPipeline({ admit: ['mcp0.agreements'], observe: ['mcp0.agreements'] });
  }
  return kernel;
}

const plain = await node('none');
const floor = await node('null');
const enforced = await node('agreements');
const trusted = await node('agreements-trusted');
const input = new Uint8Array(64).fill(7);
// Each path must really run the operation (and the hooks must really admit it).
for (const k of [plain, floor, enforced, trusted]) {
  const r = await k.execute({ agent: HELLO, intent: 'echo', input });
  if (r.output.length !== 64) throw new Error('echo did not echo');
}
log('agreements hook overhead …');
const stats = await measure(
  [
    { id: 'execute', fn: () => plain.execute({ agent: HELLO, intent: 'echo', input }) },
    { id: 'execute+null', fn: () => floor.execute({ agent: HELLO, intent: 'echo', input }) },
    { id: 'execute+agreements', fn: () => enforced.execute({ agent: HELLO, intent: 'echo', input }) },
    { id: 'execute+agreements-trusted', fn: () => trusted.execute({ agent: HELLO, intent: 'echo', input }) },
  ],
  { timeMs: quick ? 2500 : 12000, rounds: 3 },
);
const rows = [
  { id: 'execute', group: 'hooks', label: 'execute(echo 64 B), no hooks', stats: stats.get('execute') },
  { id: 'execute+null', group: 'hooks', label: 'execute(echo 64 B), null admit + observe (floor)', stats: stats.get('execute+null') },
  { id: 'execute+agreements', group: 'hooks', label: 'execute(echo 64 B), agreements admit + observe', stats: stats.get('execute+agreements') },
  { id: 'execute+agreements-trusted', group: 'hooks', label: 'execute(echo 64 B), agreements, preempt: false', stats: stats.get('execute+agreements-trusted') },
];
await plain.stop();
await floor.stop();
await enforced.stop();
await trusted.stop();

// An agent's operation on a node: storage serving the agent's kv, with and without agreements.
const storage = signModule((await buildPlugin(`${ROOT}plugins/storage`, { out: `${ROOT}plugins/storage/build/storage.wasm` })).wasm, key);
const counterTmp = mkdtempSync(join(tmpdir(), 'mcp0-bench-counter-'));
const counter = signModule((await buildPlugin(`${ROOT}agents/counter`, { out: join(counterTmp, 'counter.wasm') })).wasm, key);
rmSync(counterTmp, { recursive: true, force: true });
async function agentNode(withAgreements) {
  const plugins = [{ name: 'mcp0.storage', bytes: storage, grants: [{ name: 'blocks' }, { name: 'random' }], isolation: 'inline' }];
  if (withAgreements)
    plugins.push({ name: 'mcp0.agreements', bytes: agreements, grants: [{ name: 'kv' }, { name: 'crypto' }, { name: 'clock' }], isolation: 'inline', config });
  const hooks = withAgreements ? ['mcp0.agreements'] : [];
  const n = await Node.start({
    distribution: { name: 'bench', version: '0', publishers: [key.publicKey], plugins, pipeline: { admit: hooks, observe: hooks } },
    store: 'memory:',
  });
  // The consumer is the key that signed the counter module: the node binds the agent for it.
  const { signatures: _, ...terms } = doc;
  const agentDoc = signAgreement(
    signAgreement({ ...terms, id: 'bench-agent', consumer: key.kid, permissions: { intents: ['increment'], exports: [] } }, key, 'consumer'),
    provider,
    'provider',
  );
  if (withAgreements) await n.roles.agreements.register({ document: agentDoc });
  const agent = await n.agents.spawn({ module: counter, name: 'counter', ...(withAgreements ? { agreement: 'bench-agent' } : {}) });
  await agent.execute('increment', {});
  return { n, agent };
}
const bare = await agentNode(false);
const metered = await agentNode(true);
log('agreements on an agent operation …');
const agentStats = await measure(
  [
    { id: 'agent', fn: () => bare.agent.execute('increment', {}) },
    { id: 'agent+agreements', fn: () => metered.agent.execute('increment', {}) },
  ],
  { timeMs: quick ? 2500 : 8000, rounds: 2 },
);
const agentRows = [
  { id: 'agent', group: 'agent', label: 'counter.increment on a node, no hooks', stats: agentStats.get('agent') },
  { id: 'agent+agreements', group: 'agent', label: 'counter.increment on a node, agreements admit + observe', stats: agentStats.get('agent+agreements') },
];
await bare.n.stop();
await metered.n.stop();
rows.push(...agentRows);

console.log(`\n${figuresTable(rows)}\n`);
console.log(
  ratiosTable([
    ratio('execute with agreements / without', rows[2], rows[0], { target: 1.25 }),
    ratio('execute with null hooks / without (floor)', rows[1], rows[0]),
    ratio('execute with agreements / with null hooks', rows[2], rows[1]),
    ratio('execute with agreements, preempt: false / without', rows[3], rows[0]),
    ratio('agent operation with agreements / without', agentRows[1], agentRows[0], { target: 1.25 }),
  ]),
);
const us = (r) => r.stats.p50Us;
console.log(
  `\nadded per operation (p50): ${(us(rows[2]) - us(rows[0])).toFixed(1)} µs by agreements, of which ${(us(rows[1]) - us(rows[0])).toFixed(1)} µs is the floor of any admit + observe pair`,
);
