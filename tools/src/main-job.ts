/**
 * The main job (`npm start`): the standard distribution (built by `npm run build`) verified and
 * started as a node on the embedded LMDB store in ./data (or the store `--store <uri>` names, e.g.
 * `npm start -- --store mongodb://host/db`); the example agents built, signed and
 * spawned under a signed agreement (or found again from an earlier run, with their memory); a
 * short workload through the whole pipeline, with one denied operation; snapshots; and a summary
 * with the trace head (and its checkpoint, signed with the development key as operator key) and the
 * run's CPU and RSS (the JSON also checks them against the budgets; the text gives no verdict on a
 * run this short). `--json` prints the summary as
 * one JSON object on stdout; progress goes to stderr.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DeniedError,
  generateKeyPair,
  newAgreement,
  parseAgreement,
  signAgreement,
  signModule,
  writeKeyFile,
  type Agreement,
  type PrivateKey,
} from '@mcp0/abi';
import { Node, UsageSampler, checkBudgets, loadDistribution, type Agent } from '@mcp0/sdk';
import { buildPlugin } from '@mcp0/builder';
import { readPrivateKey } from './trust.js';
import { exactJson } from './json-cbor.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const DATA = resolve(process.env.MCP0_DATA ?? 'data');
const DIST = join(ROOT, 'distributions', 'standard', 'build');
const AGREEMENT_ID = 'mcp0.main-job';
/** The intents the agreement permits: `reset` is left out, so trying it shows a denial. */
const PERMITTED = ['remember', 'list', 'recall', 'increment', 'get'];
/**
 * The workload's pace. CPU against the budget means something only at a stated rate: flat out,
 * any loop takes a whole core. 20 operations a second for 2 s, as an interactive agent might.
 */
const OPS_PER_SECOND = 20;

const json = process.argv.includes('--json');

/**
 * The store: `--store <uri>` (`npm start -- --store mongodb://host/db`), else `MCP0_STORE`, else
 * the embedded LMDB store in the data directory. The keys and the agreement stay in the data
 * directory whatever the store.
 */
function storeUri(): string {
  const i = process.argv.indexOf('--store');
  if (i >= 0) {
    const uri = process.argv[i + 1];
    if (uri === undefined || uri.startsWith('--')) throw new Error('--store: expected a store URI (lmdb:<dir>, memory:, mongodb://host/db)');
    return uri;
  }
  return process.env.MCP0_STORE || `lmdb:${DATA}`;
}
const STORE = storeUri();
/** The URI as printed: without a MongoDB password. */
const SHOWN_STORE = STORE.replace(
  /^(mongodb(?:\+srv)?:\/\/)([^@/]*)@/i,
  (_, scheme: string, credentials: string) => `${scheme}${credentials.split(':')[0]}:***@`,
);

/** Progress on stderr, for steps that take more than a second. */
async function step<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const timer = setTimeout(() => process.stderr.write(`${label}…\n`), 1000);
  try {
    return await work();
  } finally {
    clearTimeout(timer);
    const s = (performance.now() - started) / 1000;
    if (s > 1) process.stderr.write(`${label}: ${s.toFixed(1)} s\n`);
  }
}

/** A development key in ./data, made on first use: never a production key. */
async function devKey(file: string): Promise<PrivateKey> {
  const path = join(DATA, file);
  if (!existsSync(path)) await writeKeyFile(path, generateKeyPair());
  return readPrivateKey(path, 'the development key');
}

/** The agreement between the application (consumer) and the node's operator (provider), signed by both. */
async function agreement(consumer: PrivateKey, provider: PrivateKey): Promise<Agreement> {
  const path = join(DATA, 'agreement.json');
  if (existsSync(path)) {
    const cached = parseAgreement(await readFile(path, 'utf8'));
    // Parties are keys, and the node accepts only its operator's as provider: an agreement made
    // with another build's development key would be refused, and so would its agents' operations.
    if (cached.consumer !== consumer.kid || cached.provider !== provider.kid) {
      throw new Error(
        `${path} is between consumer ${cached.consumer} and provider ${cached.provider}, but this run's keys are ${consumer.kid} (${join(DATA, 'dev-key.jwk')}) and ${provider.kid} (the development key of distributions/standard/build, rebuilt with a new key?): remove ${DATA} to start afresh`,
      );
    }
    return cached;
  }
  let doc = newAgreement('personal', {
    id: AGREEMENT_ID,
    consumer: consumer.kid,
    provider: provider.kid,
    set: { 'permissions.intents': JSON.stringify(PERMITTED) },
  });
  doc = signAgreement(signAgreement(doc, consumer, 'consumer'), provider, 'provider');
  await writeFile(path, `${JSON.stringify(doc, null, 2)}\n`);
  return doc;
}

/** The agent called `name`, from an earlier run, or spawned now. */
async function agentNamed(node: Node, name: string, module: () => Promise<Uint8Array>): Promise<{ agent: Agent; resumed: boolean }> {
  const found = node.agents.list().find((a) => a.name === name);
  if (found) return { agent: found, resumed: true };
  return { agent: await node.agents.spawn({ module: await module(), name, agreement: AGREEMENT_ID }), resumed: false };
}

/** Runs `ops` one after another, each started no earlier than its slot at OPS_PER_SECOND. */
async function paced(ops: (() => Promise<unknown>)[]): Promise<void> {
  const start = performance.now();
  for (const [i, op] of ops.entries()) {
    const wait = start + (i * 1000) / OPS_PER_SECOND - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await op();
  }
}

async function main(): Promise<void> {
  await mkdir(DATA, { recursive: true });
  if (!existsSync(join(DIST, 'distribution.json'))) throw new Error(`${DIST} is missing: run npm run build (npm start does) first`);
  // The distribution was just built by `npm run build` with this development key: the job trusts
  // the key it made, by its private half (refused if others can read it), never a file beside it.
  const operator = await readPrivateKey(join(DIST, 'dev-key.jwk'), 'the development key of distributions/standard');
  const developer = await devKey('dev-key.jwk');
  process.stderr.write(
    `trust: assembler ${operator.kid} from the development key npm run build made (distributions/standard/build/dev-key.jwk); agent signer ${developer.kid} from ${join(DATA, 'dev-key.jwk')}\n`,
  );

  const distribution = await step('verifying distributions/standard', () => loadDistribution(DIST, { trust: [operator.publicKey] }));
  // The operator key signs the node's trace checkpoints (here the development key, as it assembled the distribution).
  const node = await step(`starting the node on ${SHOWN_STORE}`, () =>
    Node.start({ distribution, store: STORE, trust: [developer.publicKey], operatorKey: operator }),
  );
  try {
    await node.roles.agreements.register({ document: await agreement(developer, operator) });
    const build = (dir: string) => async () => signModule((await buildPlugin(join(ROOT, 'agents', dir))).wasm, developer);
    const memory = await step('building the memory agent', () => agentNamed(node, 'memory', build('memory')));
    const counter = await step('building the counter agent', () => agentNamed(node, 'counter', build('counter')));
    const resumed = memory.resumed && counter.resumed;

    const before = ((await memory.agent.execute('list', { limit: 100 })) as { notes: unknown[] }).notes.length;
    const denials: { agent: string; intent: string; reason: string }[] = [];
    const reset = async () => {
      try {
        await counter.agent.execute('reset', {});
      } catch (e) {
        if (!(e instanceof DeniedError)) throw e;
        denials.push({ agent: counter.agent.name, intent: 'reset', reason: String(e.details.reason) });
      }
    };
    const workload = [
      ...Array.from(
        { length: 10 },
        (_, i) => () => memory.agent.execute('remember', { text: `note ${before + i + 1}: the node keeps what agents learn`, tags: ['main-job'] }),
      ),
      () => memory.agent.execute('recall', { query: 'agents learn', limit: 3 }),
      ...Array.from({ length: 25 }, () => () => counter.agent.execute('increment', {})),
      reset,
      () => memory.agent.execute('recall', { query: 'note 1', limit: 3 }),
      () => counter.agent.execute('get', {}),
    ];
    // CPU and RSS are sampled over the node serving the workload, not over compiling agents.
    const sampler = UsageSampler.start();
    await step(`running the workload (${workload.length} operations at ${OPS_PER_SECOND}/s)`, () => paced(workload));
    const resources = sampler.stop();
    const notes = ((await memory.agent.execute('list', { limit: 100 })) as { notes: unknown[] }).notes.length;
    const count = ((await counter.agent.execute('get', {})) as { value: number }).value;
    const snapshots = [await memory.agent.snapshot(), await counter.agent.snapshot()];
    const trace = await node.roles.trace.head();
    // A signed checkpoint of that head: `mcp0 trace checkpoint` exports it, a proof ending here verifies against it.
    const checkpoint = await node.checkpoint();
    const usage = await node.roles.agreements.usage({ consumer: developer.kid });
    const metrics = node.metrics();
    const agents = await Promise.all(node.agents.list().map(async (a) => ({ id: a.id, name: a.name, state: a.state, stateRoot: await a.stateRoot() })));
    await node.stop();
    const budgets = checkBudgets(resources, distribution.budgets);

    const summary = {
      resumed,
      distribution: `${distribution.name}@${distribution.version}`,
      store: SHOWN_STORE,
      agents,
      operations: metrics.operations,
      denials: { total: metrics.denials.total, detail: denials },
      memory: { notes, added: notes - before },
      counter: count,
      snapshots: snapshots.map((s, i) => ({ agent: agents[i]?.name, id: s.id })),
      trace: { seq: trace.seq, head: trace.head },
      checkpoint: { seq: checkpoint.seq, signer: checkpoint.signer, time: checkpoint.time },
      agreement: usage.agreements.find((a) => a.id === AGREEMENT_ID) ?? null,
      workload: { operations: workload.length, opsPerSecond: OPS_PER_SECOND },
      resources,
      budgets,
    };
    if (json) {
      process.stdout.write(`${exactJson(summary)}\n`);
      return;
    }
    const line = (s: string) => process.stdout.write(`${s}\n`);
    line(`MCP-ZERO main job: ${summary.distribution} on ${summary.store} (${resumed ? 'resumed from the stored state' : 'first run: agents spawned'})`);
    for (const a of agents) line(`  agent ${a.name.padEnd(8)} ${a.id}  ${a.state}  state root ${a.stateRoot.slice(0, 16)}…`);
    line(
      `  operations: ${metrics.operations.total} (${metrics.operations.ok} ok, ${metrics.operations.error} failed), denials: ${metrics.denials.total}${denials.map((d) => ` [${d.agent}/${d.intent}: ${d.reason}]`).join('')}`,
    );
    line(`  memory agent: ${notes} notes (${notes - before} added now); counter: ${count}`);
    line(`  snapshots: ${summary.snapshots.map((s) => `${s.agent} ${s.id.slice(0, 16)}…`).join(', ')}`);
    line(
      `  trace head: seq ${trace.seq ?? '-'}, ${trace.head.slice(0, 24)}…; signed checkpoint seq ${checkpoint.seq} by ${checkpoint.signer} (mcp0 trace checkpoint --store ${SHOWN_STORE})`,
    );
    if (summary.agreement) line(`  agreement ${AGREEMENT_ID}: ${summary.agreement.calls} calls, ${summary.agreement.costUnits} cost units this window`);
    line(`  workload: ${workload.length} operations at ${OPS_PER_SECOND}/s over ${(resources.durationMs / 1000).toFixed(1)} s, sampled at 10 Hz`);
    // No verdict here: a few seconds right after start-up measure mostly start-up (code compiling
    // in every thread) and whatever else the machine runs; the gates are judged over 60 s.
    line(
      `  CPU ${resources.cpuPercent}% of a core here, ${resources.cpuPercentReference}% of the reference i3; RSS peak ${resources.rssPeakMB} MB, average ${resources.rssAvgMB} MB`,
    );
    line(
      `  (start-up included: the budgets, CPU < ${budgets.cpu.limit}%, RSS peak < ${budgets.rssPeak.limit} MB and average < ${budgets.rssAvg.limit} MB, are judged`,
    );
    line('   over 60 s of steady load by `npm run conformance:budgets`)');
  } catch (e) {
    await node.stop();
    throw e;
  }
}

main().catch((e: unknown) => {
  const code = e instanceof Error && 'code' in e ? `${String((e as { code: unknown }).code)}: ` : '';
  process.stderr.write(`npm start: ${code}${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
