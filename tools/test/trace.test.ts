/**
 * `mcp0 trace`: a real chain (mcp0.trace observing mcp0.hello through the kernel, into an LmdbStore
 * in a temp dir), then the CLI against that store: head, a Groth16 proof of entries 2..5, verify
 * (bound to the store, unbound, tampered signal, wrong key, malformed file), an over-limit batch, a
 * range over the batch size, the Solidity verifier and --help. Then the security review's cases
 * (issue 12): invented events proved from a real head, relabelled entries, checkpoints signed by an
 * untrusted key or altered, all refused; a proof verified against a signed checkpoint alone; the
 * development key warned about; the cost limit taken from the agreement, never from the batch.
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackages } from '../../test/built.js';
import {
  AGREEMENTS_NAMESPACE,
  agreementKey,
  bindingKey,
  checkRoleRecord,
  decodeCbor,
  encodeCbor,
  generateKeyPair,
  newAgreement,
  signAgreement,
  signModule,
  TRACE_NAMESPACE,
  traceEntryKey,
  type TraceEntry,
} from '@mcp0/abi';
import { Kernel, type KvProvider } from '@mcp0/kernel';
import { CheckpointLog, MemoryStore, openStore, signCheckpoint, traceCostLimit, verifyCheckpoint } from '@mcp0/sdk';
import { batchArtifacts, proveBatch, releaseZk } from '@mcp0/sdk/zk';
import { unsigned } from '../../test/fixtures.js';
import { run, signedFile, tempDir, watchOutput, writeKeys } from './helpers.js';
import { nodeDist } from './node-dist.js';

const STACK = /\n\s+at /;

let dir: string;
let uri: string;
let entries: TraceEntry[] = [];
let proofFile: string;

beforeAll(async () => {
  const traceWasm = await unsigned('trace');
  const helloWasm = await unsigned('hello');
  const key = generateKeyPair();
  dir = tempDir('mcp0-trace-store-');
  uri = `lmdb:${dir}`;
  const store = await openStore(uri);
  const kernel = new Kernel({ trust: [key.publicKey], providers: { kv: store.kv } });
  try {
    await kernel.load(signModule(traceWasm, key), { isolation: 'inline', grants: [{ name: 'kv' }] });
    await kernel.load(signModule(helloWasm, key), { isolation: 'inline', grants: [{ name: 'kv' }, { name: 'clock' }, { name: 'random' }] });
    kernel.setPipeline({ admit: [], observe: ['mcp0.trace'] });
    let time = 1_700_000_000_000;
    const ops: Array<[string, Uint8Array]> = [
      ['echo', new Uint8Array([1, 2, 3])],
      ['greet', encodeCbor({ name: 'Ada' })],
      ['echo', new Uint8Array(3000).fill(7)],
      ['count', encodeCbor({ key: 'k' })],
      ['greet', encodeCbor({ name: 7 })], // fails (EINPUT): still observed
      ['echo', new Uint8Array(0)],
      ['count', encodeCbor({ key: 'k' })],
    ];
    // Every other operation with a cause, as one run for an rpc request has: the commands read and
    // prove a chain of version 1 and version 2 events alike (the circuit takes eventHash and cost).
    for (const [i, [intent, input]] of ops.entries()) {
      const caused = i % 2 === 1 ? { cause: new Uint8Array(32).fill(i) } : {};
      await kernel.execute({ agent: 'mcp0.hello', intent, input, time: time++, ...caused }).catch(() => undefined);
    }
    for (let seq = 0; seq < ops.length; seq++) {
      const key = traceEntryKey(seq);
      entries.push(checkRoleRecord('trace', 'kv.entry', decodeCbor((await store.kv.get(TRACE_NAMESPACE, key))!), key));
    }
  } finally {
    await kernel.stop();
    await store.close();
  }
  expect(entries).toHaveLength(7);
  expect(entries.map((e) => (e.event.cause === undefined ? 1 : 2))).toEqual([1, 2, 1, 2, 1, 2, 1]);
});

afterAll(async () => {
  await releaseZk();
});

describe('mcp0 trace head', () => {
  it('prints the stored head, as text and as JSON', async () => {
    const last = entries.at(-1)!;
    const text = await run('trace', 'head', '--store', uri);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toContain(`seq:  ${last.seq}`);
    expect(text.out).toContain(`head: ${last.head}`);
    const json = await run('trace', 'head', '--store', uri, '--json');
    expect(json.code, json.err).toBe(0);
    expect(JSON.parse(json.out)).toEqual({ seq: 6, head: last.head });
  });

  it('exits 1 with a clear message for an empty store, and for a store that does not exist (without creating it)', async () => {
    const empty = tempDir('mcp0-trace-empty-');
    const seeded = await openStore(`lmdb:${empty}`);
    await seeded.close();
    const r = await run('trace', 'head', '--store', `lmdb:${empty}`);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/no trace in lmdb:.*trace\/head/);
    expect(r.err).not.toMatch(STACK);

    const missing = join(empty, 'nope');
    const m = await run('trace', 'head', '--store', `lmdb:${missing}`);
    expect(m.code).toBe(1);
    expect(m.err).toMatch(/no store at .*does not exist/);
    expect(() => readFileSync(missing)).toThrow();
  });
});

describe('mcp0 trace prove and verify', () => {
  it('proves entries 2..5 into a file whose signals are the stored heads', async () => {
    proofFile = join(tempDir(), 'proof.json');
    const r = await run('trace', 'prove', '--from', '2', '--to', '5', '--out', proofFile, '--cost-limit', '100000', '--store', uri);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('cost limit 100000: --cost-limit');
    expect(r.out).toMatch(/\(the limit: --cost-limit\)/);
    expect(r.err).toMatch(/proving 4 events…/);
    expect(r.err).toMatch(/proved 4 events in \d+\.\ds/);
    const file = JSON.parse(readFileSync(proofFile, 'utf8'));
    expect(file).toMatchObject({ from: 2, to: 5, batchSize: 32 });
    expect(Object.keys(file).sort()).toEqual(['batchSize', 'from', 'proof', 'publicSignals', 'to']);
    const total = entries.slice(2, 6).reduce((s, e) => s + Number(e.event.cost), 0);
    expect(file.publicSignals).toEqual([entries[5]!.head, String(total), '4', entries[1]!.head, '100000']);
  }, 120_000);

  it('proves from seq 0 with prevRoot 0 and an explicit --cost-limit', async () => {
    const out = join(tempDir(), 'p0.json');
    const r = await run('trace', 'prove', '--from', '0', '--to', '0', '--out', out, '--cost-limit', '1000', '--store', uri);
    expect(r.code, r.err).toBe(0);
    const file = JSON.parse(readFileSync(out, 'utf8'));
    expect(file.publicSignals).toEqual([entries[0]!.head, String(entries[0]!.event.cost), '1', '0', '1000']);
  }, 120_000);

  it('verify --store exits 0 and prints the entries proven and the public signals, as text and JSON', async () => {
    const r = await run('trace', 'verify', proofFile, '--store', uri);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`^valid: entries 2\\.\\.5 of the chain: bound to the chain in lmdb:.* \\(head seq 6\\)`));
    for (const name of ['newRoot', 'totalCost', 'count', 'prevRoot', 'costLimit']) expect(r.out).toContain(name);
    expect(r.out).toContain(entries[5]!.head);
    const json = await run('trace', 'verify', proofFile, '--json', '--store', uri);
    expect(json.code, json.err).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({ ok: true, from: 2, to: 5, newRoot: entries[5]!.head, prevRoot: entries[1]!.head, count: '4', store: uri });
  });

  it('verify without --vkey warns that the DEVELOPMENT key is used; with --vkey it does not', async () => {
    const dev = await run('trace', 'verify', proofFile, '--store', uri);
    expect(dev.err).toMatch(/WARNING: no --vkey: verifying with the DEVELOPMENT verification key .*verification_key\.json/);
    const explicit = await run('trace', 'verify', proofFile, '--store', uri, '--vkey', batchArtifacts().vkey);
    expect(explicit.code, explicit.err).toBe(0);
    expect(explicit.err).not.toMatch(/DEVELOPMENT/);
    expect(explicit.out).toContain(`the proof verifies against ${batchArtifacts().vkey}`);
  });

  it('verify without --checkpoint or --store checks the pairing only, says so, never prints entries, and exits 1', async () => {
    const r = await run('trace', 'verify', proofFile);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^unbound: the proof verifies, but is bound to no chain: pass --checkpoint <file> \(with the operator key\) or --store <uri>/);
    expect(r.out).not.toMatch(/entries \d/);
    expect(r.out).not.toMatch(/valid/);
    const json = await run('trace', 'verify', proofFile, '--json');
    expect(json.code).toBe(1);
    const parsed = JSON.parse(json.out);
    expect(parsed).toMatchObject({ ok: false, pairing: true, bound: false, newRoot: entries[5]!.head });
    expect(parsed).not.toHaveProperty('from');
    expect(parsed).not.toHaveProperty('to');
  });

  it.each([0, 1, 2, 3, 4])('verify exits 1 when public signal %i is tampered with', async (i) => {
    const file = JSON.parse(readFileSync(proofFile, 'utf8'));
    file.publicSignals[i] = (BigInt(file.publicSignals[i]) + 1n).toString();
    const tampered = join(tempDir(), 'tampered.json');
    writeFileSync(tampered, JSON.stringify(file));
    const r = await run('trace', 'verify', tampered);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/the proof does not verify against the verification key/);
  });

  it('verify exits 1 with a wrong verification key', async () => {
    const vkey = JSON.parse(readFileSync(batchArtifacts().vkey, 'utf8'));
    [vkey.IC[1], vkey.IC[2]] = [vkey.IC[2], vkey.IC[1]];
    const wrong = join(tempDir(), 'wrong-vkey.json');
    writeFileSync(wrong, JSON.stringify(vkey));
    const r = await run('trace', 'verify', proofFile, '--vkey', wrong);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/does not verify against the verification key \(.*wrong-vkey\.json\)/);
  });

  it.each([
    ['not JSON', '{"proof":'],
    ['not an object', '[1,2]'],
    ['without a proof', JSON.stringify({ publicSignals: ['1', '2', '3', '4', '5'] })],
    ['with 4 signals', 'SIGNALS4'],
    ['with a non-decimal signal', 'SIGNALX'],
  ])('verify exits 2 for a proof file %s', async (_what, text) => {
    const good = JSON.parse(readFileSync(proofFile, 'utf8'));
    if (text === 'SIGNALS4') text = JSON.stringify({ ...good, publicSignals: good.publicSignals.slice(1) });
    if (text === 'SIGNALX') text = JSON.stringify({ ...good, publicSignals: [...good.publicSignals.slice(1), '0x1'] });
    const bad = join(tempDir(), 'bad.json');
    writeFileSync(bad, text);
    const r = await run('trace', 'verify', bad);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/EUSAGE: (malformed proof file|the proof file .* is not JSON)/);
    expect(r.err).not.toMatch(STACK);
  });

  it('verify exits 2 for a missing file, a vkey that is not a key, and no file', async () => {
    expect((await run('trace', 'verify', join(tempDir(), 'missing.json'))).code).toBe(2);
    const notKey = join(tempDir(), 'k.json');
    writeFileSync(notKey, '{"hello":1}');
    const r = await run('trace', 'verify', proofFile, '--vkey', notKey);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not a Groth16 verification key/);
    expect((await run('trace', 'verify')).code).toBe(2);
  });

  it("an over-limit batch fails with the prover's typed error naming the limit (exit 1), writing nothing", async () => {
    const out = join(tempDir(), 'over.json');
    const r = await run('trace', 'prove', '--from', '2', '--to', '5', '--out', out, '--cost-limit', '1', '--store', uri);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/EINPUT: batch total cost \d+ exceeds the limit 1 \(bound: costLimit/);
    expect(r.err).not.toMatch(/proving/);
    expect(() => readFileSync(out)).toThrow();
  });

  it('usage errors exit 2: a range over the batch size, from after to, missing options, a bad limit', async () => {
    const out = join(tempDir(), 'x.json');
    const big = await run('trace', 'prove', '--from', '0', '--to', '32', '--out', out, '--store', uri);
    expect(big.code).toBe(2);
    expect(big.err).toMatch(/33 entries; a proof covers at most 32 \(the circuit's batch size\): split the range/);
    expect((await run('trace', 'prove', '--from', '5', '--to', '2', '--out', out, '--store', uri)).code).toBe(2);
    expect((await run('trace', 'prove', '--to', '2', '--out', out, '--store', uri)).err).toMatch(/--from is required/);
    expect((await run('trace', 'prove', '--from', '0', '--to', '2', '--store', uri)).err).toMatch(/--out is required/);
    expect((await run('trace', 'prove', '--from', '-1', '--to', '2', '--out', out, '--store', uri)).code).toBe(2);
    expect((await run('trace', 'prove', '--from', '0', '--to', '2', '--out', out, '--cost-limit', '1.5', '--store', uri)).code).toBe(2);
    expect((await run('trace', 'prove', '--from', '0', '--to', '2', '--out', out, '--cost-limit', String(2n ** 64n), '--store', uri)).code).toBe(2);
    expect((await run('trace')).code).toBe(2);
    expect((await run('trace', 'frob')).err).toMatch(/expected a subcommand \(head, prove, verify, checkpoint, export-verifier\)/);
  });

  it('a range past the head exits 1 naming the head', async () => {
    const r = await run('trace', 'prove', '--from', '5', '--to', '9', '--out', join(tempDir(), 'y.json'), '--store', uri);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/entry 9 is past the chain head \(seq 6\)/);
  });
});

describe('mcp0 trace prove over a tampered store', () => {
  /** A copy of the chain's store with `edit` applied to it. */
  async function tampered(edit: (kv: Awaited<ReturnType<typeof openStore>>['kv']) => Promise<void>): Promise<string> {
    const copy = tempDir('mcp0-trace-tampered-');
    cpSync(dir, copy, { recursive: true });
    const store = await openStore(`lmdb:${copy}`);
    try {
      await edit(store.kv);
    } finally {
      await store.close();
    }
    return `lmdb:${copy}`;
  }
  const key = (seq: number): string => `trace/e/${String(seq).padStart(20, '0')}`;

  it('refuses to write a proof when the stored heads do not link (an edited anchor head)', async () => {
    const store = await tampered((kv) => Promise.resolve(kv.put('mcp0.trace', key(1), encodeCbor({ ...entries[1]!, head: '12345' }))));
    const out = join(tempDir(), 'broken.json');
    const r = await run('trace', 'prove', '--from', '2', '--to', '5', '--out', out, '--cost-limit', '100000', '--store', store);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ESTATE: the stored chain does not link: the batch from prevRoot 12345 ends at \d+, but entry 5's stored head is/);
    expect(() => readFileSync(out)).toThrow();
  }, 120_000);

  it('exits 1 naming a missing or undecodable entry', async () => {
    const store = await tampered(async (kv) => {
      await kv.delete('mcp0.trace', key(3));
      await kv.put('mcp0.trace', key(4), new Uint8Array([0xff, 0x00]));
    });
    const missing = await run('trace', 'prove', '--from', '2', '--to', '3', '--out', join(tempDir(), 'm.json'), '--store', store);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/ESTATE: entry 3 is missing/);
    // entry 4 is the anchor (prevRoot) of a batch starting at 5
    const garbage = await run('trace', 'prove', '--from', '5', '--to', '5', '--out', join(tempDir(), 'g.json'), '--store', store);
    expect(garbage.code).toBe(1);
    expect(garbage.err).toMatch(/ESTATE: mcp0.trace trace\/e\/0+4: the stored value is not CBOR/);
  });
});

/** The SDK's `traceCostLimit` in the words of `mcp0 trace prove` (its flags), as the command calls it. */
async function cliCostLimit(): Promise<
  (
    kv: KvProvider,
    entries: readonly { seq: number; agent: string }[],
    given: { costLimit?: string; agreement?: string },
  ) => Promise<{ value: bigint; source: string }>
> {
  const { PROVE_FLAGS } = await import('../src/commands/trace.js');
  return (kv, entries, given) => traceCostLimit(kv, entries, given, PROVE_FLAGS);
}

describe("mcp0 trace: proofs bound to the chain, signed checkpoints, the agreement's limit", () => {
  const operator = generateKeyPair();
  const stranger = generateKeyPair();
  const AGREEMENT = 'agr-trace-test';
  const QUOTA = 5000;
  let keys: { priv: string; pub: string; kid: string };
  let strangerKeys: { priv: string; pub: string; kid: string };
  /** A proof of entries 3..6 (ending at the head), proved from a copy of the store that is gone now. */
  let bound: string;
  /** The operator's checkpoint of the head (seq 6), signed with `trace checkpoint --key`. */
  let head: string;
  /** Three invented zero-cost events proved from the real head of entry 1, labelled entries 2..4. */
  let forged: string;
  let proveRun: Awaited<ReturnType<typeof run>>;
  let signRun: Awaited<ReturnType<typeof run>>;

  /** A proof file like `from`, with `edit` applied, in a temp dir. */
  function edited(from: string, edit: (file: Record<string, unknown>) => void, name = 'edited.json'): string {
    const file = JSON.parse(readFileSync(from, 'utf8'));
    edit(file);
    const out = join(tempDir(), name);
    writeFileSync(out, JSON.stringify(file));
    return out;
  }

  /**
   * Binds `agent` to a signed agreement with this cost quota (none when undefined), written as an
   * agreements plugin keeps it: the role's public kv layout (abi/ROLES.md).
   */
  async function bindAgreement(kv: Awaited<ReturnType<typeof openStore>>['kv'], agent: string, id: string, quota?: number): Promise<void> {
    const consumer = generateKeyPair();
    const doc = newAgreement('personal', { id, consumer: consumer.kid, provider: operator.kid });
    doc.quotas = quota === undefined ? { windowMs: 60_000 } : { windowMs: 60_000, costUnitsPerWindow: quota };
    const document = signAgreement(signAgreement(doc, consumer, 'consumer'), operator, 'provider');
    await kv.put(AGREEMENTS_NAMESPACE, bindingKey(agent), encodeCbor(id));
    const record = { document, revoked: false, revokedAt: null, registeredAt: 1, consumerKey: 'c', providerKey: 'p' };
    await kv.put(AGREEMENTS_NAMESPACE, agreementKey(id), encodeCbor(record));
  }

  /** A copy of the chain's store, with `edit` applied. */
  async function copyStore(
    edit: (kv: Awaited<ReturnType<typeof openStore>>['kv']) => Promise<void> = async () => undefined,
  ): Promise<{ dir: string; uri: string }> {
    const copy = tempDir('mcp0-trace-copy-');
    cpSync(dir, copy, { recursive: true });
    const store = await openStore(`lmdb:${copy}`);
    try {
      await edit(store.kv);
    } finally {
      await store.close();
    }
    return { dir: copy, uri: `lmdb:${copy}` };
  }

  beforeAll(async () => {
    const keyDir = tempDir('mcp0-trace-keys-');
    keys = writeKeys(keyDir, operator, 'operator');
    strangerKeys = writeKeys(keyDir, stranger, 'stranger');
    // The operator's node: every entry's agent bound to one agreement; gone once the proof and the checkpoint are out.
    const node = await copyStore((kv) => bindAgreement(kv, 'mcp0.hello', AGREEMENT, QUOTA));
    bound = join(tempDir(), 'bound.json');
    proveRun = await run('trace', 'prove', '--from', '3', '--to', '6', '--out', bound, '--store', node.uri);
    expect(proveRun.code, proveRun.err).toBe(0);
    head = join(tempDir(), 'head.json');
    signRun = await run('trace', 'checkpoint', '--key', keys.priv, '--store', node.uri, '--out', head);
    expect(signRun.code, signRun.err).toBe(0);
    rmSync(node.dir, { recursive: true, force: true });

    const invented = [1, 2, 3].map((i) => ({ eventHash: BigInt(i) * 1_000_003n, cost: 0 }));
    const fake = await proveBatch({ prevRoot: entries[1]!.head, events: invented, costLimit: 0, singleThread: true });
    forged = join(tempDir(), 'forged.json');
    writeFileSync(forged, JSON.stringify({ proof: fake.proof, publicSignals: fake.publicSignals, from: 2, to: 4, batchSize: 32 }));
  }, 240_000);

  describe("prove: the cost limit is the agreement's", () => {
    it("with every entry's agent bound to an agreement, its quotas.costUnitsPerWindow is the limit, and says so", () => {
      expect(proveRun.err).toContain(`cost limit ${QUOTA}: agreement ${AGREEMENT}'s quotas.costUnitsPerWindow (every entry's agent is bound to it)`);
      expect(proveRun.out).toContain(`(the limit: agreement ${AGREEMENT}'s quotas.costUnitsPerWindow`);
      expect(JSON.parse(readFileSync(bound, 'utf8')).publicSignals[4]).toBe(String(QUOTA));
    });

    it('without a limit and without a bound agreement it is a usage error saying what to pass, before proving', async () => {
      const r = await run('trace', 'prove', '--from', '2', '--to', '5', '--out', join(tempDir(), 'n.json'), '--store', uri);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(
        /EUSAGE: no cost limit: entry 2's agent "mcp0\.hello" is bound to no agreement \(mcp0\.agreements agreements\/b\/mcp0\.hello\); pass --cost-limit <n> or --agreement <id>/,
      );
      expect(r.err).not.toMatch(/proving/);
    });

    it('--agreement picks one, an agreement without a cost quota or not registered is a usage error, --cost-limit overrides', async () => {
      const store = await copyStore(async (kv) => {
        await bindAgreement(kv, 'someone-else', 'agr-small', 1);
        await bindAgreement(kv, 'mcp0.hello', 'agr-unmetered');
      });
      const out = join(tempDir(), 'a.json');
      const picked = await run('trace', 'prove', '--from', '2', '--to', '5', '--out', out, '--agreement', 'agr-small', '--store', store.uri);
      expect(picked.code).toBe(1); // over that agreement's limit of 1: refused before proving
      expect(picked.err).toContain("cost limit 1: agreement agr-small's quotas.costUnitsPerWindow (given with --agreement)");
      expect(picked.err).toMatch(/exceeds the limit 1 \(bound: costLimit/);
      const unmetered = await run('trace', 'prove', '--from', '2', '--to', '5', '--out', out, '--store', store.uri);
      expect(unmetered.code).toBe(2);
      expect(unmetered.err).toMatch(/agreement "agr-unmetered" sets no cost quota \(quotas\.costUnitsPerWindow\): pass --cost-limit <n>/);
      const missing = await run('trace', 'prove', '--from', '2', '--to', '5', '--out', out, '--agreement', 'nope', '--store', store.uri);
      expect(missing.code).toBe(2);
      expect(missing.err).toMatch(/no agreement "nope" in the store/);
      const overridden = await run(
        'trace',
        'prove',
        '--from',
        '2',
        '--to',
        '5',
        '--out',
        out,
        '--agreement',
        'agr-small',
        '--cost-limit',
        '0',
        '--store',
        store.uri,
      );
      expect(overridden.err).toContain('cost limit 0: --cost-limit');
      expect(() => readFileSync(out)).toThrow();
    });

    it('entries bound to different agreements need --agreement or --cost-limit', async () => {
      const costLimitFor = await cliCostLimit();
      const store = new MemoryStore();
      await bindAgreement(store.kv, 'a1', 'agr-1', 10);
      await bindAgreement(store.kv, 'a2', 'agr-2', 20);
      const entry = (seq: number, agent: string) => ({ seq, agent, eventHash: '1', head: '1', cost: 1n });
      await expect(costLimitFor(store.kv, [entry(0, 'a1'), entry(1, 'a2')], {})).rejects.toThrow(
        /bound to different agreements: agr-1 \(a1\), agr-2 \(a2\); pass --agreement <id> or --cost-limit <n>/,
      );
      expect(await costLimitFor(store.kv, [entry(0, 'a1'), entry(1, 'a1')], {})).toMatchObject({ value: 10n });
    });

    it('a binding or an agreement record that breaks the role contract is ESTATE naming it, not a limit', async () => {
      const costLimitFor = await cliCostLimit();
      const store = new MemoryStore();
      const entry = (seq: number, agent: string) => ({ seq, agent, eventHash: '1', head: '1', cost: 1n });
      await store.kv.put(AGREEMENTS_NAMESPACE, bindingKey('a1'), encodeCbor(42));
      await expect(costLimitFor(store.kv, [entry(0, 'a1')], {})).rejects.toMatchObject({
        code: 'ESTATE',
        message: 'mcp0.agreements agreements/b/a1: not a mcp0.agreements@1 kv.binding record: / must be string, got number 42',
      });
      // A record whose document was altered to raise its quota past what any signed document says.
      await bindAgreement(store.kv, 'a2', 'agr-2', 20);
      const record = decodeCbor((await store.kv.get(AGREEMENTS_NAMESPACE, agreementKey('agr-2')))!) as { document: { quotas: Record<string, unknown> } };
      record.document.quotas.costUnitsPerWindow = 'lots';
      await store.kv.put(AGREEMENTS_NAMESPACE, agreementKey('agr-2'), encodeCbor(record));
      await expect(costLimitFor(store.kv, [entry(0, 'a2')], {})).rejects.toMatchObject({
        code: 'ESTATE',
        message: expect.stringMatching(
          /^mcp0\.agreements agreements\/a\/agr-2: not a mcp0\.agreements@1 kv\.agreement record: \/document\/quotas\/costUnitsPerWindow must be integer/,
        ),
      });
      await store.kv.put(AGREEMENTS_NAMESPACE, agreementKey('agr-2'), Uint8Array.of(0xff));
      await expect(costLimitFor(store.kv, [entry(0, 'a2')], {})).rejects.toMatchObject({ code: 'ESTATE', message: expect.stringContaining('is not CBOR') });
    });
  });

  describe('trace checkpoint', () => {
    it("--key signs the store's current head, printing what it wrote", () => {
      const cp = JSON.parse(readFileSync(head, 'utf8'));
      expect(cp).toMatchObject({ type: 'mcp0.trace-checkpoint/1', seq: 6, head: entries[6]!.head, signer: keys.kid });
      expect(Object.keys(cp).sort()).toEqual(['head', 'seq', 'sig', 'signer', 'time', 'type']);
      expect(verifyCheckpoint(cp, [operator.publicKey]).checkpoint.seq).toBe(6);
      expect(signRun.out).toMatch(
        new RegExp(`^wrote .*head\\.json: checkpoint seq 6, head ${entries[6]!.head}, signed by ${keys.kid} at \\d{4}-.*\\(signed now\\)`),
      );
    });

    it('exports the newest checkpoint the node signed, or the one of --seq, naming what is there when one is missing', async () => {
      const older = signCheckpoint({ seq: 4, head: entries[4]!.head, time: 1_765_000_000_000 }, operator);
      const newest = signCheckpoint({ seq: 6, head: entries[6]!.head, time: 1_765_000_060_000 }, operator);
      const store = await copyStore(async (kv) => {
        await new CheckpointLog(kv).put(older);
        await new CheckpointLog(kv).put(newest);
      });
      const out = join(tempDir(), 'exported.json');
      const r = await run('trace', 'checkpoint', '--store', store.uri, '--out', out);
      expect(r.code, r.err).toBe(0);
      expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(newest);
      expect(r.out).toMatch(/checkpoint seq 6, .*signed by the node; from lmdb:/);
      const bySeq = await run('trace', 'checkpoint', '--store', store.uri, '--seq', '4');
      expect(bySeq.code, bySeq.err).toBe(0);
      expect(JSON.parse(bySeq.out)).toEqual(older);
      const missing = await run('trace', 'checkpoint', '--store', store.uri, '--seq', '5');
      expect(missing.code).toBe(1);
      expect(missing.err).toMatch(/ENOTFOUND: no checkpoint of seq 5 in lmdb:.*\(the next is seq 6, the newest is seq 6\)/);
      const none = await run('trace', 'checkpoint', '--store', uri);
      expect(none.code).toBe(1);
      expect(none.err).toMatch(/no checkpoint in lmdb:.*mcp0 start --operator-key <file>/);
      const both = await run('trace', 'checkpoint', '--store', uri, '--seq', '1', '--key', keys.priv);
      expect(both.code).toBe(2);
      const readable = join(tempDir(), 'readable.jwk');
      writeFileSync(readable, readFileSync(keys.priv), { mode: 0o644 });
      const exposed = await run('trace', 'checkpoint', '--store', uri, '--key', readable);
      expect(exposed.code).toBe(2);
      expect(exposed.err).toMatch(/can be read by others .*chmod 600/);
    });
  });

  describe('trace verify --checkpoint / --store', () => {
    it('a proof ending at a signed checkpoint verifies with only the checkpoint and the operator key (the store is gone)', async () => {
      const r = await run('trace', 'verify', bound, '--checkpoint', head, '--trust', keys.pub);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toContain(`trust: operator ${keys.kid} from --trust ${keys.pub}`);
      expect(r.out).toMatch(new RegExp(`^valid: entries 3\\.\\.6 of the chain: bound to checkpoint seq 6 signed by ${keys.kid} at `));
      const json = await run('trace', 'verify', bound, '--checkpoint', head, '--trust', keys.pub, '--json');
      expect(JSON.parse(json.out)).toMatchObject({ ok: true, from: 3, to: 6, count: '4', checkpoint: { seq: 6, signer: keys.kid }, costLimit: String(QUOTA) });
      // Both bindings at once: each must hold.
      const both = await run('trace', 'verify', bound, '--checkpoint', head, '--trust', keys.pub, '--store', uri);
      expect(both.code, both.err).toBe(0);
      expect(both.out).toMatch(/bound to checkpoint seq 6 .* and the chain in lmdb:/);
    });

    it('the operator key may come from the keyring, by the id the checkpoint names', async () => {
      const keyring = tempDir('mcp0-trace-keyring-');
      const missing = await run('trace', 'verify', bound, '--checkpoint', head, '--keyring', keyring);
      expect(missing.code).toBe(1);
      expect(missing.err).toMatch(new RegExp(`trust: no operator key: the checkpoint names ${keys.kid}, which is not in your keyring`));
      expect(missing.err).toMatch(
        new RegExp(`invalid: the mcp0\\.trace-checkpoint/1 statement is signed by ${keys.kid}, which is not a trusted key \\(trusted: none\\)`),
      );
      expect((await run('keyring', 'add', keys.pub, '--keyring', keyring)).code).toBe(0);
      const found = await run('trace', 'verify', bound, '--checkpoint', head, '--keyring', keyring);
      expect(found.code, found.err).toBe(0);
      expect(found.err).toMatch(new RegExp(`trust: operator ${keys.kid} from keyring entry ${keys.kid}`));
    });

    it('(a) invented events from a real head are refused with --store and with --checkpoint, naming the mismatch', async () => {
      const store = await run('trace', 'verify', forged, '--store', uri);
      expect(store.code).toBe(1);
      expect(store.out).toBe('');
      const newRoot = JSON.parse(readFileSync(forged, 'utf8')).publicSignals[0];
      expect(store.err).toContain(
        `invalid: the proof ends at newRoot ${newRoot}, but the head of entry 4 in ${uri} is ${entries[4]!.head}: the batch is not the chain's entries 2..4`,
      );
      const cp = await run('trace', 'verify', forged, '--checkpoint', head, '--trust', keys.pub);
      expect(cp.code).toBe(1);
      expect(cp.err).toContain(
        `invalid: the proof ends at newRoot ${newRoot}, but checkpoint seq 6 signed head ${entries[6]!.head}: the batch does not end at the signed head`,
      );
      const json = await run('trace', 'verify', forged, '--checkpoint', head, '--trust', keys.pub, '--json');
      expect(JSON.parse(json.out)).toMatchObject({ ok: false, check: 'new-root' });
    });

    it('(b) relabelled from/to are refused with --checkpoint and with --store, naming both', async () => {
      const relabelled = edited(bound, (f) => Object.assign(f, { from: 5000, to: 5031 }));
      const cp = await run('trace', 'verify', relabelled, '--checkpoint', head, '--trust', keys.pub);
      expect(cp.code).toBe(1);
      expect(cp.err).toContain('invalid: the file says entries 5000..5031, the proof against checkpoint seq 6 covers 3..6');
      expect(cp.out).not.toMatch(/5000/);
      const store = await run('trace', 'verify', relabelled, '--store', uri);
      expect(store.code).toBe(1);
      expect(store.err).toContain(`invalid: the file says entries 5000..5031, but the chain in ${uri} ends at entry 6`);
      const shifted = await run(
        'trace',
        'verify',
        edited(bound, (f) => Object.assign(f, { from: 2, to: 5 })),
        '--store',
        uri,
      );
      expect(shifted.code).toBe(1);
      expect(shifted.err).toMatch(
        new RegExp(`invalid: the proof starts at prevRoot ${entries[2]!.head}, but the head of entry 1 in .* is ${entries[1]!.head}`),
      );
      const shrunk = await run(
        'trace',
        'verify',
        edited(bound, (f) => Object.assign(f, { from: 4, to: 6 })),
        '--checkpoint',
        head,
        '--trust',
        keys.pub,
      );
      expect(shrunk.err).toContain('invalid: the file says entries 4..6, the proof against checkpoint seq 6 covers 3..6');
      const batch = await run(
        'trace',
        'verify',
        edited(bound, (f) => Object.assign(f, { batchSize: 64 })),
        '--checkpoint',
        head,
        '--trust',
        keys.pub,
      );
      expect(batch.code).toBe(1);
      expect(batch.err).toContain("invalid: the file says batchSize 64, the circuit's batch size is 32");
    });

    it('(c) a checkpoint signed by an untrusted key is refused naming the signer', async () => {
      const foreign = join(tempDir(), 'foreign.json');
      expect((await run('trace', 'checkpoint', '--key', strangerKeys.priv, '--store', uri, '--out', foreign)).code).toBe(0);
      const r = await run('trace', 'verify', bound, '--checkpoint', foreign, '--trust', keys.pub);
      expect(r.code).toBe(1);
      expect(r.err).toContain(
        `invalid: the mcp0.trace-checkpoint/1 statement is signed by ${stranger.kid}, which is not a trusted key (trusted: ${operator.kid})`,
      );
      expect(r.out).toBe('');
    });

    it('(d) a tampered checkpoint (seq, head or time changed after signing) is refused', async () => {
      const cp = JSON.parse(readFileSync(head, 'utf8'));
      for (const edit of [{ seq: 7 }, { head: entries[5]!.head }, { time: cp.time + 1 }]) {
        const file = join(tempDir(), 'tampered-head.json');
        writeFileSync(file, JSON.stringify({ ...cp, ...edit }));
        const r = await run('trace', 'verify', bound, '--checkpoint', file, '--trust', keys.pub);
        expect(r.code).toBe(1);
        expect(r.err).toContain(
          `invalid: the mcp0.trace-checkpoint/1 statement's signature by ${keys.kid} does not verify: a member was changed after signing`,
        );
      }
    });

    it('malformed checkpoints and option misuse are usage errors (exit 2)', async () => {
      const dup = join(tempDir(), 'dup.json');
      writeFileSync(dup, readFileSync(head, 'utf8').replace('"seq": 6,', '"seq": 6, "seq": 2,'));
      const d = await run('trace', 'verify', bound, '--checkpoint', dup, '--trust', keys.pub);
      expect(d.code).toBe(2);
      expect(d.err).toMatch(/the checkpoint .*dup\.json is not strict JSON: duplicate member "seq"/);
      const extra = join(tempDir(), 'extra.json');
      writeFileSync(extra, JSON.stringify(signCheckpoint({ seq: 6, head: entries[6]!.head, time: 1 }, operator)).replace('{', '{"note":"x",'));
      const e = await run('trace', 'verify', bound, '--checkpoint', extra, '--trust', keys.pub);
      expect(e.code).toBe(1); // the signature covers every member: an added one breaks it
      expect((await run('trace', 'verify', bound, '--trust', keys.pub)).err).toMatch(
        /--trust and --dev say whose checkpoints to trust: give them with --checkpoint <file>/,
      );
      const dupProof = join(tempDir(), 'dup-proof.json');
      writeFileSync(dupProof, readFileSync(bound, 'utf8').replace('"from": 3,', '"from": 3, "from": 5000,'));
      const p = await run('trace', 'verify', dupProof, '--store', uri);
      expect(p.code).toBe(2);
      expect(p.err).toMatch(/the proof file .* is not strict JSON: duplicate member "from"/);
    });
  });
});

describe('mcp0 start --operator-key', () => {
  const bin = resolve(import.meta.dirname, '..', 'bin', 'mcp0.js');

  it('signs a last checkpoint at stop, which trace checkpoint exports and trace verify accepts with the key (or --dev)', async () => {
    const dist = await nodeDist();
    const memory = await signedFile('memory');
    const operator = generateKeyPair();
    const keys = writeKeys(tempDir('mcp0-start-op-'), operator, 'operator');
    const store = `lmdb:${tempDir('mcp0-start-cp-store-')}`;
    const at = ['--dist', dist, '--store', store, '--dev'];
    expect((await run('agent', 'spawn', memory.file, '--name', 'notes', '--trust-agent', memory.pub, ...at)).code).toBe(0);
    expect((await run('agent', 'execute', 'notes', 'remember', '{"text":"signed"}', ...at)).code).toBe(0);

    const child = spawn(process.execPath, ['--no-warnings', bin, 'start', ...at, '--operator-key', keys.priv, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const node = watchOutput(child);
    await node.printed('"ready"');
    expect(node.err()).toContain(`operator: ${keys.kid} from --operator-key ${keys.priv}: signs trace checkpoints`);
    child.kill('SIGTERM');
    expect(await node.exited, `${node.out()}\n${node.err()}`).toBe('0 null');
    const stopped = JSON.parse(node.out().trim().split('\n').at(-1)!);
    expect(stopped).toMatchObject({ event: 'stopped', checkpoint: { seq: 0, signer: keys.kid } });

    const file = join(tempDir(), 'node-head.json');
    const exported = await run('trace', 'checkpoint', '--store', store, '--out', file);
    expect(exported.code, exported.err).toBe(0);
    const cp = JSON.parse(readFileSync(file, 'utf8'));
    expect(cp).toMatchObject({ seq: 0, head: stopped.checkpoint.head, signer: keys.kid });
    expect(verifyCheckpoint(cp, [operator.publicKey]).checkpoint.seq).toBe(0);

    const proof = join(tempDir(), 'one.json');
    expect((await run('trace', 'prove', '--from', '0', '--to', '0', '--cost-limit', '1000000', '--out', proof, '--store', store)).code).toBe(0);
    const ok = await run('trace', 'verify', proof, '--checkpoint', file, '--trust', keys.pub);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/^valid: entries 0\.\.0 of the chain: bound to checkpoint seq 0/);
    // --dev trusts the development key a local build left in --dist: here the operator's, put there.
    const devDir = tempDir('mcp0-start-devdist-');
    writeFileSync(join(devDir, 'dev-key.pub.jwk'), readFileSync(keys.pub));
    const dev = await run('trace', 'verify', proof, '--checkpoint', file, '--dev', '--dist', devDir);
    expect(dev.code, dev.err).toBe(0);
    expect(dev.err).toMatch(/WARNING: --dev: trusting the DEVELOPMENT key .* Use --dev only for checkpoints signed on this machine/);
    expect(dev.err).toContain(`trust: operator ${keys.kid} from --dev`);
  }, 120_000);
});

describe('mcp0 trace through the real binary', () => {
  const ROOT = resolve(import.meta.dirname, '..', '..');
  const bin = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      execFile(
        process.execPath,
        ['tools/bin/mcp0.js', ...args],
        { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' }, timeout: 90_000 },
        (error, stdout, stderr) => {
          done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
        },
      );
    });

  beforeAll(() => {
    buildPackages();
  }, 300_000);

  it('proves and verifies, exits on its own (releaseZk), one progress line when stderr is not a TTY', async () => {
    const out = join(tempDir(), 'bin-proof.json');
    const proved = await bin('trace', 'prove', '--from', '1', '--to', '3', '--out', out, '--cost-limit', '100000', '--store', uri);
    expect(proved.code, proved.stderr).toBe(0);
    expect(proved.stderr.match(/proving 3 events…\n/g)).toHaveLength(1);
    expect(proved.stderr).not.toContain('\r');
    const verified = await bin('trace', 'verify', out, '--store', uri);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain(entries[3]!.head);
  }, 120_000);
});

describe('mcp0 trace export-verifier', () => {
  it("writes the Solidity verifier, saying that its license is the template's GPL-3.0", async () => {
    const out = join(tempDir(), 'Verifier.sol');
    const r = await run('trace', 'export-verifier', '--solidity', out);
    expect(r.code, r.err).toBe(0);
    const sol = readFileSync(out, 'utf8');
    expect(sol.split('\n')[0]).toBe('// SPDX-License-Identifier: GPL-3.0');
    expect(r.err).toContain("generated from snarkjs's template, licensed GPL-3.0 (not this project's Apache-2.0)");
    expect(sol).toContain('contract Groth16Verifier');
    expect(sol).toContain('function verifyProof');
    expect(r.out).toContain('Groth16Verifier');
    expect((await run('trace', 'export-verifier')).code).toBe(2);
  }, 60_000);
});

describe('mcp0 trace --help', () => {
  it.each(['', 'head', 'prove', 'verify', 'checkpoint', 'export-verifier'])('trace %s --help documents every subcommand and the default store', async (sub) => {
    const r = await run('trace', ...(sub === '' ? [] : [sub]), '--help');
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^mcp0 trace: /);
    expect(r.out).toContain('lmdb:./data');
    for (const s of [
      'trace head',
      'trace prove',
      'trace verify',
      'trace checkpoint',
      'trace export-verifier',
      '--store',
      '--from',
      '--to',
      '--cost-limit',
      '--agreement',
      '--vkey',
      '--checkpoint',
      '--trust',
      '--seq',
      '--key',
      '--solidity',
      'bound to no chain',
      'DEVELOPMENT',
    ])
      expect(r.out).toContain(s);
  });
});
