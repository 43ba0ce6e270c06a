/**
 * `mcp0 trace`: the trace chain that `mcp0.trace` keeps in a store, and Groth16 batch proofs over it.
 * `head` reads the chain head; `prove` proves up to 32 stored entries with the TraceBatch(32)
 * circuit; `verify` checks a proof file with a verification key; `export-verifier` writes the
 * Solidity verifier. The SDK (stores, snarkjs) is imported only when this command runs, so the
 * other commands start without it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { Mcp0Error, UsageError } from '@mcp0/abi';
import type { Store, VerificationKey } from '@mcp0/sdk';
import { type Args, type Command, type Io, intOption, positionals, stringOption } from '../command.js';
import { assertStoreExists, chainCost, MAX_CHAIN_COST, readEntry, readHead, TRACE_NAMESPACE, HEAD_KEY, type ChainEntry } from './trace/chain.js';
import { progress } from './trace/progress.js';

/** The store the node uses unless told otherwise. */
export const DEFAULT_STORE = 'lmdb:./data';
/** The circuit's batch size (TRACE_BATCH_N in the SDK; repeated so --help needs no SDK import). */
const BATCH = 32;
const SIGNALS = ['newRoot', 'totalCost', 'count', 'prevRoot', 'costLimit'] as const;
const SUBCOMMANDS = ['head', 'prove', 'verify', 'export-verifier'] as const;
type Sub = (typeof SUBCOMMANDS)[number];

const sdk = () => import('@mcp0/sdk');

export const trace: Command = {
  name: 'trace',
  summary: 'read the trace chain head, prove a batch of entries, verify a proof, export the Solidity verifier',
  usage: '<head|prove|verify|export-verifier> [options]',
  options: {
    store: { type: 'string', arg: '<uri>', description: `the store holding the trace (default ${DEFAULT_STORE}, the node's embedded store; also memory:, mongodb://host/db)` },
    json: { type: 'boolean', description: 'head, verify: print the result as JSON' },
    from: { type: 'string', arg: '<seq>', description: 'prove: the first entry of the batch' },
    to: { type: 'string', arg: '<seq>', description: `prove: the last entry of the batch (at most ${BATCH} entries in all)` },
    out: { type: 'string', arg: '<file>', description: 'prove: where to write the proof (JSON)' },
    'cost-limit': { type: 'string', arg: '<n>', description: "prove: the limit the batch's total cost is proved to respect (default: the batch's total)" },
    vkey: { type: 'string', arg: '<file>', description: 'verify: a verification key (default: the committed development key)' },
    solidity: { type: 'string', arg: '<file>', description: 'export-verifier: where to write the Solidity verifier' },
  },
  details: [
    'subcommands:',
    '  mcp0 trace head [--store <uri>] [--json]',
    `      the chain head {seq, head} (kv namespace ${TRACE_NAMESPACE}, key ${HEAD_KEY}); exit 1 when the store holds no trace`,
    '  mcp0 trace prove --from <seq> --to <seq> --out <proof.json> [--cost-limit <n>] [--store <uri>]',
    `      prove entries from..to (at most ${BATCH}: the circuit's batch size; split longer ranges) with the`,
    '      Groth16 TraceBatch circuit: prevRoot is the head of entry from − 1 (0 when from = 0), the proof\'s',
    '      newRoot must equal the stored head of entry to. Costs enter the chain saturated at 2^32 − 1.',
    '      Writes {proof, publicSignals, from, to, batchSize}; publicSignals are',
    `      [${SIGNALS.join(', ')}]. A batch over --cost-limit fails (exit 1) naming the bound.`,
    '  mcp0 trace verify <proof.json> [--vkey <file>] [--json]',
    '      verify a proof file; prints the public signals when it verifies',
    '  mcp0 trace export-verifier --solidity <file>',
    '      write the Solidity verifier of the committed proving key (verifyProof(a, b, c, pubSignals))',
    '',
    `The store: --store <uri>, default ${DEFAULT_STORE} (the embedded LMDB store in ./data, where the node keeps`,
    'its kv); the trace is read only, never written. The bundled keys come from a DEVELOPMENT ceremony:',
    'not for production (circuits/README.md).',
    '',
    'Exit codes: 0 success (verify: the proof is valid); 1 a failed check (empty store, broken chain,',
    'over-limit batch, a proof that does not verify); 2 usage error or a malformed proof or key file.',
  ].join('\n'),
  async run(args, io) {
    const [sub, ...rest] = args.positionals;
    if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
      const got = sub === undefined ? 'none' : JSON.stringify(sub);
      throw new UsageError('EUSAGE', `expected a subcommand (${SUBCOMMANDS.join(', ')}), got ${got}\nusage: mcp0 trace ${this.usage}`);
    }
    const subArgs: Args = { positionals: rest, values: args.values };
    const self: Command = { ...this, usage: this.usage.replace(/^<[^>]*>/, sub) };
    switch (sub as Sub) {
      case 'head':
        return head(subArgs, self, io);
      case 'prove':
        return prove(subArgs, self, io);
      case 'verify':
        return verify(subArgs, self, io);
      case 'export-verifier':
        return exportVerifier(subArgs, self, io);
    }
  },
};

async function withStore<T>(args: Args, use: (store: Store) => Promise<T>): Promise<T> {
  const uri = stringOption(args, 'store') ?? DEFAULT_STORE;
  assertStoreExists(uri);
  const store = await (await sdk()).openStore(uri);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

function noTrace(args: Args): Mcp0Error {
  const uri = stringOption(args, 'store') ?? DEFAULT_STORE;
  return new Mcp0Error('ENOTFOUND', `no trace in ${uri}: ${TRACE_NAMESPACE} has no ${HEAD_KEY} record (is mcp0.trace loaded with kv and in the observe pipeline?)`, { uri });
}

async function head(args: Args, self: Command, io: Io): Promise<number> {
  positionals(args, self, 0);
  const h = await withStore(args, (store) => readHead(store.kv));
  if (h === undefined) throw noTrace(args);
  io.out(args.values.json ? `${JSON.stringify(h)}\n` : `seq:  ${h.seq}\nhead: ${h.head}\n`);
  return 0;
}

function required(args: Args, name: string): number {
  const n = intOption(args, name, 0, Number.MAX_SAFE_INTEGER);
  if (n === undefined) throw new UsageError('EUSAGE', `--${name} is required`);
  return n;
}

async function prove(args: Args, self: Command, io: Io): Promise<number> {
  positionals(args, self, 0);
  const from = required(args, 'from');
  const to = required(args, 'to');
  const out = stringOption(args, 'out', true);
  if (from > to) throw new UsageError('EUSAGE', `--from ${from} is after --to ${to}`);
  const count = to - from + 1;
  if (count > BATCH) {
    throw new UsageError(
      'EUSAGE',
      `${from}..${to} is ${count} entries; a proof covers at most ${BATCH} (the circuit's batch size): split the range, e.g. --from ${from} --to ${from + BATCH - 1}, then --from ${from + BATCH}`,
      { from, to, count, batchSize: BATCH },
    );
  }
  let costLimit: bigint | undefined;
  const limitText = stringOption(args, 'cost-limit');
  if (limitText !== undefined) {
    if (!/^[0-9]+$/.test(limitText) || BigInt(limitText) > 2n ** 64n - 1n) throw new UsageError('EUSAGE', `--cost-limit: expected an integer from 0 to 2^64 − 1, got ${JSON.stringify(limitText)}`);
    costLimit = BigInt(limitText);
  }

  const { prevRoot, entries } = await withStore(args, async (store) => {
    const h = await readHead(store.kv);
    if (h === undefined) throw noTrace(args);
    if (to > h.seq) throw new Mcp0Error('ENOTFOUND', `entry ${to} is past the chain head (seq ${h.seq})`, { to, head: h.seq });
    const prevRoot = from === 0 ? '0' : (await readEntry(store.kv, from - 1)).head;
    const entries: ChainEntry[] = [];
    for (let seq = from; seq <= to; seq++) entries.push(await readEntry(store.kv, seq));
    return { prevRoot, entries };
  });

  const events = entries.map((e) => ({ eventHash: e.eventHash, cost: chainCost(e.cost) }));
  const total = events.reduce((s, e) => s + e.cost, 0n);
  const saturated = entries.filter((e) => e.cost > MAX_CHAIN_COST).map((e) => e.seq);
  if (saturated.length > 0) io.err(`note: entries ${saturated.join(', ')} cost 2^32 or more and enter the chain as 2^32 − 1: totalCost is a lower bound\n`);

  const zk = await sdk();
  try {
    const input = { prevRoot, events, costLimit: costLimit ?? total };
    // The prover's own bound checks, before the seconds of proving: an over-limit batch fails here.
    try {
      zk.batchWitnessInput(input);
    } catch (e) {
      throw withBound(e);
    }
    const stop = progress(io, `proving ${count} events…`);
    let result: Awaited<ReturnType<typeof zk.proveBatch>>;
    try {
      result = await zk.proveBatch(input);
    } catch (e) {
      stop('proving failed');
      throw withBound(e);
    }
    stop(`proved ${count} events`);
    const last = entries.at(-1)!;
    if (result.newRoot.toString() !== last.head) {
      throw new Mcp0Error(
        'ESTATE',
        `the stored chain does not link: the batch from prevRoot ${prevRoot} ends at ${result.newRoot}, but entry ${to}'s stored head is ${last.head} (check the range with the plugin's verifyRange); no proof written`,
        { from, to },
      );
    }
    const file = { proof: result.proof, publicSignals: result.publicSignals, from, to, batchSize: zk.TRACE_BATCH_N };
    await writeFile(out, `${JSON.stringify(file, null, 2)}\n`);
    io.out(`wrote ${out}: entries ${from}..${to}, ${signalLines(result.publicSignals).join(', ')}\n`);
    return 0;
  } finally {
    await zk.releaseZk();
  }
}

/** The prover's typed error, its message naming the bound it broke. */
function withBound(e: unknown): unknown {
  if (!(e instanceof Mcp0Error) || typeof e.details.bound !== 'string') return e;
  const hint = e.details.bound === 'costLimit' ? '; raise --cost-limit or prove a smaller range' : '';
  return new Mcp0Error(e.code, `${e.message} (bound: ${e.details.bound}${hint})`, { ...e.details }, { cause: e });
}

function signalLines(publicSignals: readonly string[]): string[] {
  return SIGNALS.map((name, i) => `${name} ${publicSignals[i]}`);
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new UsageError('EUSAGE', `cannot read the ${what} ${path}: ${code}`, { path }, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError('EUSAGE', `the ${what} ${path} is not JSON: ${(e as Error).message}`, { path }, { cause: e });
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

async function verify(args: Args, self: Command, io: Io): Promise<number> {
  const [path] = positionals(args, self, 1);
  const file = await readJson(path!, 'proof file');
  const malformed = (what: string): UsageError => new UsageError('EUSAGE', `malformed proof file ${path}: ${what} (expected {proof, publicSignals, from, to, batchSize} as mcp0 trace prove writes it)`, { path });
  if (!isObject(file)) throw malformed('not a JSON object');
  const { proof, publicSignals } = file;
  if (!isObject(proof) || !Array.isArray(proof.pi_a) || !Array.isArray(proof.pi_b) || !Array.isArray(proof.pi_c)) throw malformed('proof is not a Groth16 proof {pi_a, pi_b, pi_c}');
  if (!Array.isArray(publicSignals) || publicSignals.length !== SIGNALS.length || !publicSignals.every((s) => typeof s === 'string' && /^[0-9]+$/.test(s))) {
    throw malformed(`publicSignals is not ${SIGNALS.length} decimal strings [${SIGNALS.join(', ')}]`);
  }
  const vkeyPath = stringOption(args, 'vkey');
  let vkey: VerificationKey | undefined;
  if (vkeyPath !== undefined) {
    const v = await readJson(vkeyPath, 'verification key');
    if (!isObject(v) || v.protocol !== 'groth16' || !Array.isArray(v.IC)) throw new UsageError('EUSAGE', `${vkeyPath} is not a Groth16 verification key (snarkjs JSON with protocol "groth16" and IC)`, { path: vkeyPath });
    vkey = v;
  }
  const zk = await sdk();
  let ok: boolean;
  try {
    ok = await zk.verifyBatch(proof, publicSignals as string[], vkey ?? (await zk.loadVerificationKey()));
  } finally {
    await zk.releaseZk();
  }
  const keyName = vkeyPath ?? 'the committed development key';
  const range = typeof file.from === 'number' && typeof file.to === 'number' ? { from: file.from, to: file.to } : {};
  if (!ok) {
    const reason = `the proof does not verify against the verification key (${keyName}): the proof, a public signal or the key differs from what was proved`;
    if (args.values.json) io.out(`${JSON.stringify({ ok: false, reason })}\n`);
    io.err(`invalid: ${reason}\n`);
    return 1;
  }
  const signals = Object.fromEntries(SIGNALS.map((name, i) => [name, publicSignals[i] as string]));
  if (args.values.json) {
    io.out(`${JSON.stringify({ ok: true, ...range, ...signals })}\n`);
  } else {
    const what = 'from' in range ? ` (entries ${range.from}..${range.to})` : '';
    io.out([`valid: the proof verifies against ${keyName}${what}`, ...SIGNALS.map((name) => `  ${name.padEnd(10)} ${signals[name]}`), ''].join('\n'));
  }
  return 0;
}

async function exportVerifier(args: Args, self: Command, io: Io): Promise<number> {
  positionals(args, self, 0);
  const out = stringOption(args, 'solidity', true);
  const zk = await sdk();
  try {
    const source = await zk.exportSolidityVerifier();
    await writeFile(out, source);
    const contract = /contract\s+(\w+)/.exec(source)?.[1] ?? 'the verifier';
    io.out(`wrote ${out}: contract ${contract}, verifyProof(a, b, c, pubSignals[${SIGNALS.length}]) with pubSignals [${SIGNALS.join(', ')}]\n`);
    return 0;
  } finally {
    await zk.releaseZk();
  }
}
