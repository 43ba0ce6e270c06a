/**
 * `mcp0 trace`: the trace chain that `mcp0.trace` keeps in a store, Groth16 batch proofs over it,
 * and the node's signed checkpoints of its head. `head` reads the chain head; `prove` proves up to
 * 32 stored entries with the TraceBatch(32) circuit, under the cost limit of the agreement they ran
 * under; `verify` checks a proof and binds it to a chain (a signed checkpoint, or the store): only
 * a bound proof says which entries it covers; `checkpoint` exports a checkpoint the node signed, or
 * signs the store's head with an operator key; `export-verifier` writes the Solidity verifier. The
 * SDK (stores, snarkjs) is imported only when this command runs, so the other commands start
 * without it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { AGREEMENTS_NAMESPACE, JsonError, Mcp0Error, StatementError, TRACE_HEAD_KEY, TRACE_NAMESPACE, UsageError, parseJson, type PublicKey } from '@mcp0/abi';
import type { Store, TraceCheckpoint, VerifiedTraceProof } from '@mcp0/sdk';
import type { VerificationKey } from '@mcp0/sdk/zk';
import { type Args, type Command, type Io, intOption, positionals, stringOption } from '../command.js';
import { assertStoreExists, readEntry, readHead } from './trace/chain.js';
import { progress } from './trace/progress.js';
import { DEFAULT_DIST, DEFAULT_STORE } from '../defaults.js';
import { signerTrust, signingKey } from '../trust.js';

/** The store the node uses unless told otherwise. */
export { DEFAULT_STORE };
/** The circuit's batch size (TRACE_BATCH_N in the SDK; repeated so --help needs no SDK import). */
const BATCH = 32;
const SIGNALS = ['newRoot', 'totalCost', 'count', 'prevRoot', 'costLimit'] as const;
const SUBCOMMANDS = ['head', 'prove', 'verify', 'checkpoint', 'export-verifier'] as const;
type Sub = (typeof SUBCOMMANDS)[number];
/** The node's kv namespace and where it keeps checkpoints (NODE_NAMESPACE, CHECKPOINT_PREFIX in the SDK). */
const CHECKPOINTS = 'mcp0.node checkpoint/<seq, 20 digits>';

const sdk = () => import('@mcp0/sdk');
/** The prover (snarkjs), loaded only by the subcommands that prove or verify. */
const prover = () => import('@mcp0/sdk/zk');

export const trace: Command = {
  name: 'trace',
  summary: 'read the trace chain head, prove a batch of entries, verify a proof against a signed checkpoint or the store, export checkpoints',
  usage: '<head|prove|verify|checkpoint|export-verifier> [options]',
  options: {
    store: {
      type: 'string',
      arg: '<uri>',
      description: `the store holding the trace (head, prove, checkpoint: default ${DEFAULT_STORE}, the node's embedded store; also memory:, mongodb://host/db); verify: bind the proof to this store's chain`,
    },
    json: { type: 'boolean', description: 'head, verify: print the result as JSON' },
    from: { type: 'string', arg: '<seq>', description: 'prove: the first entry of the batch' },
    to: { type: 'string', arg: '<seq>', description: `prove: the last entry of the batch (at most ${BATCH} entries in all)` },
    out: { type: 'string', arg: '<file>', description: 'prove: where to write the proof (JSON); checkpoint: where to write the checkpoint (default: stdout)' },
    'cost-limit': {
      type: 'string',
      arg: '<n>',
      description: "prove: the limit the batch's total cost is proved to respect (default: the cost quota of the agreement the entries' agents are bound to)",
    },
    agreement: { type: 'string', arg: '<id>', description: "prove: take the cost limit from this agreement's quotas.costUnitsPerWindow" },
    vkey: {
      type: 'string',
      arg: '<file>',
      description: 'verify: the verification key of the ceremony (default: the committed DEVELOPMENT key, with a warning)',
    },
    checkpoint: {
      type: 'string',
      arg: '<file>',
      description: 'verify: bind the proof to this signed checkpoint (needs the operator key: --trust, the keyring, or --dev)',
    },
    trust: {
      type: 'string',
      multiple: true,
      arg: '<key>',
      description:
        'verify: the operator key trusted to sign checkpoints: a file path (with a / or ending .jwk/.json) or a key id in the keyring; default: the signer the checkpoint names, if it is in your keyring',
    },
    keyring: { type: 'string', arg: '<dir>', description: 'verify: where key ids are looked up (default $MCP0_KEYRING or ~/.mcp0/keyring)' },
    dev: {
      type: 'boolean',
      description:
        'verify: trust the DEVELOPMENT key a local build left in --dist (the operator key npm start signs checkpoints with); checkpoint: sign with it. This machine only',
    },
    dist: { type: 'string', arg: '<dir>', description: `with --dev: the local build holding the development key (default ${DEFAULT_DIST})` },
    seq: { type: 'string', arg: '<n>', description: 'checkpoint: export the checkpoint the node signed at this seq (default: the newest)' },
    key: { type: 'string', arg: '<file>', description: "checkpoint: sign the store's current head now with this operator private key (JWK, mode 0600)" },
    solidity: { type: 'string', arg: '<file>', description: 'export-verifier: where to write the Solidity verifier' },
  },
  details: [
    'subcommands:',
    '  mcp0 trace head [--store <uri>] [--json]',
    `      the chain head {seq, head} (kv namespace ${TRACE_NAMESPACE}, key ${TRACE_HEAD_KEY}); exit 1 when the store holds no trace`,
    '  mcp0 trace prove --from <seq> --to <seq> --out <proof.json> [--cost-limit <n> | --agreement <id>] [--store <uri>]',
    `      prove entries from..to (at most ${BATCH}: the circuit's batch size; split longer ranges) with the`,
    "      Groth16 TraceBatch circuit: prevRoot is the head of entry from − 1 (0 when from = 0), the proof's",
    '      newRoot must equal the stored head of entry to. Costs enter the chain saturated at 2^32 − 1.',
    '      The cost limit is --cost-limit; else the quotas.costUnitsPerWindow of --agreement <id>; else of the',
    `      one agreement every entry's agent is bound to (${AGREEMENTS_NAMESPACE} in the store); else a usage error.`,
    '      Writes {proof, publicSignals, from, to, batchSize}; publicSignals are',
    `      [${SIGNALS.join(', ')}]. A batch over the limit fails (exit 1) naming the bound.`,
    "      To check a proof against a checkpoint alone, end the batch at a checkpoint's seq (--to <seq>).",
    '  mcp0 trace verify <proof.json> [--checkpoint <file> [--trust <key>... | --dev]] [--store <uri>] [--vkey <file>] [--json]',
    '      verify the proof (the pairing) and bind it to a chain. from, to and batchSize in the file are not',
    '      covered by the proof: they are checked against what is proven, never taken on trust.',
    "      --checkpoint: the checkpoint's signature must verify against a trusted operator key and the proof's",
    '      newRoot must be its signed head; the proof then covers entries seq − count + 1 .. seq (no store needed:',
    "      a batch ending at a signed head is, by Poseidon's collision resistance, the chain's own entries).",
    '      --store: prevRoot must be the head of entry from − 1 (0 for from = 0), newRoot the head of entry to, and',
    '      count = to − from + 1. Both may be given; each must hold.',
    '      Without either, only the pairing is checked: it prints that the proof is bound to no chain and exits 1,',
    "      so that no script reads a bare pairing as evidence of the node's trace.",
    '      Without --vkey the committed DEVELOPMENT key is used, with a warning on stderr.',
    '  mcp0 trace checkpoint [--store <uri>] [--out <file>] [--seq <n>] [--key <operator.jwk> | --dev]',
    `      write a signed checkpoint {type, seq, head, time, signer, sig}: the newest (or --seq's) one the node`,
    `      signed (mcp0 start --operator-key; kept in ${CHECKPOINTS}), or, with --key, the store's current head`,
    '      signed now by that operator key (offline; the store is not written).',
    '  mcp0 trace export-verifier --solidity <file>',
    '      write the Solidity verifier of the committed proving key (verifyProof(a, b, c, pubSignals)); it is',
    "      generated from snarkjs's template and licensed GPL-3.0, unlike this project (Apache-2.0)",
    '',
    `The store: --store <uri>, default ${DEFAULT_STORE} (the embedded LMDB store in ./data, where the node keeps`,
    'its kv); it is read only, never written. The bundled keys come from a DEVELOPMENT ceremony:',
    'not for production (circuits/README.md).',
    '',
    'Exit codes: 0 success (verify: the proof is valid and bound to a chain); 1 a failed check (empty store,',
    'broken chain, over-limit batch, a proof that does not verify or does not match the checkpoint or store, a',
    'checkpoint by an untrusted key or altered, a proof bound to no chain); 2 usage error or a malformed file.',
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
      case 'checkpoint':
        return checkpoint(subArgs, self, io);
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
  return new Mcp0Error(
    'ENOTFOUND',
    `no trace in ${uri}: ${TRACE_NAMESPACE} has no ${TRACE_HEAD_KEY} record (is mcp0.trace loaded with kv and in the observe pipeline?)`,
    { uri },
  );
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

/** How the SDK's messages name what `prove` was given: this command's flags. */
export const PROVE_FLAGS = { from: '--from', to: '--to', costLimit: '--cost-limit', agreement: '--agreement' } as const;

async function prove(args: Args, self: Command, io: Io): Promise<number> {
  positionals(args, self, 0);
  const from = required(args, 'from');
  const to = required(args, 'to');
  const out = stringOption(args, 'out', true);
  const costLimit = stringOption(args, 'cost-limit');
  const agreement = stringOption(args, 'agreement');
  const client = await sdk();
  const range = { from, to, ...(costLimit === undefined ? {} : { costLimit }), ...(agreement === undefined ? {} : { agreement }) };
  // A bad range or a malformed --cost-limit is a usage error before the store is opened.
  client.checkTraceRange(range, PROVE_FLAGS);

  const zk = await prover();
  try {
    let stop: ((done: string) => void) | undefined;
    const { limitSource, ...file } = await withStore(args, (store) =>
      client
        .proveTraceRange(store.kv, {
          ...range,
          name: stringOption(args, 'store') ?? DEFAULT_STORE,
          names: PROVE_FLAGS,
          onProgress: (e) => {
            if (e.phase === 'limit') {
              io.err(`cost limit ${e.costLimit}: ${e.limitSource}\n`);
              if (e.saturated.length > 0)
                io.err(`note: entries ${e.saturated.join(', ')} cost 2^32 or more and enter the chain as 2^32 − 1: totalCost is a lower bound\n`);
            } else if (e.phase === 'proving') stop = progress(io, `proving ${e.count} events…`);
            else stop?.(`proved ${e.count} events`);
          },
        })
        .catch((e: unknown) => {
          stop?.('proving failed');
          throw e;
        }),
    );
    await writeFile(out, `${JSON.stringify(file, null, 2)}\n`);
    io.out(`wrote ${out}: entries ${from}..${to}, ${signalLines(file.publicSignals).join(', ')} (the limit: ${limitSource})\n`);
    return 0;
  } finally {
    await zk.releaseZk();
  }
}

function signalLines(publicSignals: readonly string[]): string[] {
  return SIGNALS.map((name, i) => `${name} ${publicSignals[i]}`);
}

/** A JSON file read strictly (abi parseJson: a member named twice is refused); a usage error naming the file. */
async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new UsageError('EUSAGE', `cannot read the ${what} ${path}: ${code}`, { path }, { cause: e });
  }
  try {
    return parseJson(text);
  } catch (e) {
    const duplicate = e instanceof JsonError && e.details.reason === 'duplicate';
    throw new UsageError('EUSAGE', `the ${what} ${path} is not ${duplicate ? 'strict ' : ''}JSON: ${(e as Error).message}`, { path }, { cause: e });
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A check that failed: stderr names it (and stdout under --json); exit 1. */
function invalid(args: Args, io: Io, reason: string, extra: Record<string, unknown> = {}): number {
  if (args.values.json) io.out(`${JSON.stringify({ ok: false, ...extra, reason })}\n`);
  io.err(`invalid: ${reason}\n`);
  return 1;
}

async function verify(args: Args, self: Command, io: Io): Promise<number> {
  const [path] = positionals(args, self, 1);
  const client = await sdk();
  const zk = await prover();
  let file;
  try {
    file = client.parseTraceProofFile(await readJson(path!, 'proof file'), path);
  } catch (e) {
    if (e instanceof client.TraceProofError) throw new UsageError('EUSAGE', e.message, { path }, { cause: e });
    throw e;
  }

  const vkeyPath = stringOption(args, 'vkey');
  let vkey: VerificationKey;
  let keyName: string;
  if (vkeyPath !== undefined) {
    const v = await readJson(vkeyPath, 'verification key');
    if (!isObject(v) || v.protocol !== 'groth16' || !Array.isArray(v.IC))
      throw new UsageError('EUSAGE', `${vkeyPath} is not a Groth16 verification key (snarkjs JSON with protocol "groth16" and IC)`, { path: vkeyPath });
    vkey = v;
    keyName = vkeyPath;
  } else {
    const devPath = zk.batchArtifacts().vkey;
    io.err(
      `WARNING: no --vkey: verifying with the DEVELOPMENT verification key ${devPath}, from a single-party ceremony whose toxic waste anyone may hold (circuits/README.md): such a key proves nothing to a third party; pass --vkey <the ceremony's verification_key.json>\n`,
    );
    vkey = await zk.loadVerificationKey(devPath);
    keyName = 'the committed development key';
  }

  const checkpointPath = stringOption(args, 'checkpoint');
  const storeUri = stringOption(args, 'store');
  if (checkpointPath === undefined && (args.values.trust !== undefined || args.values.dev === true)) {
    throw new UsageError('EUSAGE', '--trust and --dev say whose checkpoints to trust: give them with --checkpoint <file>');
  }
  let checkpointValue: unknown;
  let trust: PublicKey[] = [];
  if (checkpointPath !== undefined) {
    checkpointValue = await readJson(checkpointPath, 'checkpoint');
    const named = isObject(checkpointValue) ? checkpointValue.signer : undefined;
    trust = await signerTrust(args, io, {
      role: 'operator',
      named,
      devDir: stringOption(args, 'dist') ?? DEFAULT_DIST,
      what: 'checkpoints',
      statement: 'the checkpoint',
    });
  }

  const signals = Object.fromEntries(SIGNALS.map((name, i) => [name, file.publicSignals[i]!]));
  try {
    if (checkpointPath === undefined && storeUri === undefined) {
      if (!(await zk.verifyBatch(file.proof, file.publicSignals, vkey))) {
        return invalid(
          args,
          io,
          `the proof does not verify against the verification key (${keyName}): the proof, a public signal or the key differs from what was proved`,
        );
      }
      const reason = 'the proof verifies, but is bound to no chain: pass --checkpoint <file> (with the operator key) or --store <uri>';
      if (args.values.json) io.out(`${JSON.stringify({ ok: false, pairing: true, bound: false, reason, ...signals })}\n`);
      else {
        io.out(
          [
            `unbound: ${reason}`,
            `  it shows that some batch of ${signals.count} events leads from prevRoot to newRoot within costLimit, not that`,
            "  the node's trace holds them, nor which entries they are.",
            ...SIGNALS.map((name) => `  ${name.padEnd(10)} ${signals[name]}`),
            '',
          ].join('\n'),
        );
      }
      return 1;
    }

    const bind = async (store?: Store): Promise<VerifiedTraceProof> =>
      client.verifyTraceProof(file, {
        vkey,
        ...(checkpointPath === undefined ? {} : { checkpoint: checkpointValue, trust }),
        ...(store === undefined ? {} : { chain: client.kvTraceChain(store.kv, storeUri) }),
      });
    const proven = storeUri === undefined ? await bind() : await withStore(args, bind);
    const against: string[] = [];
    const cp = proven.bound.checkpoint;
    if (cp) against.push(`checkpoint seq ${cp.checkpoint.seq} signed by ${cp.signer.kid} at ${new Date(cp.checkpoint.time).toISOString()}`);
    if (proven.bound.chain) against.push(`the chain in ${proven.bound.chain.name} (head seq ${proven.bound.chain.headSeq})`);
    if (args.values.json) {
      io.out(
        `${JSON.stringify({
          ok: true,
          from: proven.from,
          to: proven.to,
          ...signals,
          ...(cp ? { checkpoint: { seq: cp.checkpoint.seq, head: cp.checkpoint.head, time: cp.checkpoint.time, signer: cp.signer.kid } } : {}),
          ...(proven.bound.chain ? { store: proven.bound.chain.name } : {}),
        })}\n`,
      );
    } else {
      io.out(
        [
          `valid: entries ${proven.from}..${proven.to} of the chain: bound to ${against.join(' and ')}; the proof verifies against ${keyName}`,
          ...SIGNALS.map((name) => `  ${name.padEnd(10)} ${signals[name]}`),
          '',
        ].join('\n'),
      );
    }
    return 0;
  } catch (e) {
    if ((e instanceof client.TraceProofError || e instanceof StatementError) && e.code === 'ESIGNATURE') {
      const message =
        e instanceof client.TraceProofError && e.details.reason === 'pairing'
          ? e.message.replace('the verification key', `the verification key (${keyName})`)
          : e.message;
      return invalid(args, io, message, { check: String(e.details.reason ?? 'checkpoint-signature') });
    }
    if (e instanceof client.CheckpointError && e.code === 'EINPUT')
      throw new UsageError('EUSAGE', `malformed checkpoint ${checkpointPath}: ${e.message}`, { path: checkpointPath }, { cause: e });
    if (e instanceof StatementError && e.code === 'EINPUT')
      throw new UsageError('EUSAGE', `malformed checkpoint ${checkpointPath}: ${e.message}`, { path: checkpointPath }, { cause: e });
    throw e;
  } finally {
    await zk.releaseZk();
  }
}

async function checkpoint(args: Args, self: Command, io: Io): Promise<number> {
  positionals(args, self, 0);
  const seq = intOption(args, 'seq', 0, Number.MAX_SAFE_INTEGER);
  const out = stringOption(args, 'out');
  const key = await signingKey(args, io, { devDir: stringOption(args, 'dist') ?? DEFAULT_DIST, what: 'the checkpoint' });
  if (key !== undefined && seq !== undefined) {
    throw new UsageError('EUSAGE', '--seq picks a checkpoint the node signed; --key signs the current head: give one of them', {
      reason: 'conflicting-options',
    });
  }
  const uri = stringOption(args, 'store') ?? DEFAULT_STORE;
  const client = await sdk();
  const cp: TraceCheckpoint = await withStore(args, async (store) => {
    if (key !== undefined) {
      const h = await readHead(store.kv);
      if (h === undefined) throw noTrace(args);
      // Sign only a head the stored chain agrees with: the head record and its entry.
      const entry = await readEntry(store.kv, h.seq);
      if (entry.head !== h.head) {
        throw new Mcp0Error(
          'ESTATE',
          `the head record says seq ${h.seq} head ${h.head}, but entry ${h.seq}'s stored head is ${entry.head}: not signing (check the chain with the plugin's verifyRange)`,
          { seq: h.seq },
        );
      }
      return client.signCheckpoint({ seq: h.seq, head: h.head, time: Date.now() }, key);
    }
    const log = new client.CheckpointLog(store.kv);
    const found = seq === undefined ? await log.latest() : await log.get(seq);
    if (found !== undefined) return found;
    if (seq === undefined) {
      throw new Mcp0Error(
        'ENOTFOUND',
        `no checkpoint in ${uri} (${CHECKPOINTS}): a node signs checkpoints only with an operator key (mcp0 start --operator-key <file>); or sign the current head now with --key <operator.jwk>`,
        { uri },
      );
    }
    const [latest, next] = [await log.latest(), await log.after(seq)];
    const near = [next ? `the next is seq ${next.seq}` : 'none after it', latest ? `the newest is seq ${latest.seq}` : ''].filter((x) => x !== '').join(', ');
    throw new Mcp0Error('ENOTFOUND', `no checkpoint of seq ${seq} in ${uri}: the node signs its head at intervals, not every entry (${near})`, { uri, seq });
  });
  const text = `${JSON.stringify(cp, null, 2)}\n`;
  const what = `checkpoint seq ${cp.seq}, head ${cp.head}, signed by ${cp.signer} at ${new Date(cp.time).toISOString()}${key !== undefined ? ' (signed now)' : ` (signed by the node; from ${uri})`}`;
  if (out === undefined) {
    io.out(text);
    io.err(`${what}\n`);
  } else {
    await writeFile(out, text);
    io.out(`wrote ${out}: ${what}\n`);
  }
  return 0;
}

async function exportVerifier(args: Args, self: Command, io: Io): Promise<number> {
  positionals(args, self, 0);
  const out = stringOption(args, 'solidity', true);
  const zk = await prover();
  try {
    const source = await zk.exportSolidityVerifier();
    await writeFile(out, source);
    const contract = /contract\s+(\w+)/.exec(source)?.[1] ?? 'the verifier';
    io.out(`wrote ${out}: contract ${contract}, verifyProof(a, b, c, pubSignals[${SIGNALS.length}]) with pubSignals [${SIGNALS.join(', ')}]\n`);
    const license = /SPDX-License-Identifier:\s*(\S+)/.exec(source)?.[1] ?? 'unknown';
    io.err(
      `note: the verifier is generated from snarkjs's template, licensed ${license} (not this project's Apache-2.0): deploying or redistributing it is under that license's terms\n`,
    );
    return 0;
  } finally {
    await zk.releaseZk();
  }
}
