/**
 * `mcp0 trace`: a real chain (mcp0.trace observing mcp0.hello through the kernel, into an LmdbStore
 * in a temp dir), then the CLI against that store: head, a Groth16 proof of entries 2..5, verify
 * (valid, tampered signal, wrong key, malformed file), an over-limit batch, a range over the batch
 * size, the Solidity verifier and --help.
 */
import { execFile, execSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor, generateKeyPair, signModule } from '@mcp0/abi';
import { Kernel } from '@mcp0/kernel';
import { batchArtifacts, openStore, releaseZk } from '@mcp0/sdk';
import { buildPlugin } from '@mcp0/tools';
import { run, tempDir } from './helpers.js';

const pluginDir = (name: string): string => fileURLToPath(new URL(`../../plugins/${name}`, import.meta.url));
const STACK = /\n\s+at /;

interface StoredEntry {
  seq: number;
  event: { cost: number };
  eventHash: string;
  head: string;
}

let dir: string;
let uri: string;
let entries: StoredEntry[] = [];
let proofFile: string;

beforeAll(async () => {
  const build = tempDir('mcp0-trace-build-');
  const { wasm: traceWasm } = await buildPlugin(pluginDir('trace'), { out: join(build, 'trace.wasm') });
  const { wasm: helloWasm } = await buildPlugin(pluginDir('hello'), { out: join(build, 'hello.wasm') });
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
    for (const [intent, input] of ops) await kernel.execute({ agent: 'mcp0.hello', intent, input, time: time++ }).catch(() => undefined);
    for (let seq = 0; seq < ops.length; seq++) {
      entries.push(decodeCbor((await store.kv.get('mcp0.trace', `trace/e/${String(seq).padStart(20, '0')}`))!) as unknown as StoredEntry);
    }
  } finally {
    await kernel.stop();
    await store.close();
  }
  expect(entries).toHaveLength(7);
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
    const r = await run('trace', 'prove', '--from', '2', '--to', '5', '--out', proofFile, '--store', uri);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/proving 4 events…/);
    expect(r.err).toMatch(/proved 4 events in \d+\.\ds/);
    const file = JSON.parse(readFileSync(proofFile, 'utf8'));
    expect(file).toMatchObject({ from: 2, to: 5, batchSize: 32 });
    expect(Object.keys(file).sort()).toEqual(['batchSize', 'from', 'proof', 'publicSignals', 'to']);
    const total = entries.slice(2, 6).reduce((s, e) => s + e.event.cost, 0);
    expect(file.publicSignals).toEqual([entries[5]!.head, String(total), '4', entries[1]!.head, String(total)]);
  }, 120_000);

  it('proves from seq 0 with prevRoot 0 and an explicit --cost-limit', async () => {
    const out = join(tempDir(), 'p0.json');
    const r = await run('trace', 'prove', '--from', '0', '--to', '0', '--out', out, '--cost-limit', '1000', '--store', uri);
    expect(r.code, r.err).toBe(0);
    const file = JSON.parse(readFileSync(out, 'utf8'));
    expect(file.publicSignals).toEqual([entries[0]!.head, String(entries[0]!.event.cost), '1', '0', '1000']);
  }, 120_000);

  it('verify exits 0 and prints the public signals, as text and JSON', async () => {
    const r = await run('trace', 'verify', proofFile);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^valid: .*entries 2\.\.5/);
    for (const name of ['newRoot', 'totalCost', 'count', 'prevRoot', 'costLimit']) expect(r.out).toContain(name);
    expect(r.out).toContain(entries[5]!.head);
    const json = await run('trace', 'verify', proofFile, '--json');
    expect(json.code, json.err).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({ ok: true, from: 2, to: 5, newRoot: entries[5]!.head, prevRoot: entries[1]!.head, count: '4' });
    // the committed key given explicitly
    expect((await run('trace', 'verify', proofFile, '--vkey', batchArtifacts().vkey)).code).toBe(0);
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

  it('an over-limit batch fails with the prover\'s typed error naming the limit (exit 1), writing nothing', async () => {
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
    expect((await run('trace', 'frob')).err).toMatch(/expected a subcommand \(head, prove, verify, export-verifier\)/);
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
    const r = await run('trace', 'prove', '--from', '2', '--to', '5', '--out', out, '--store', store);
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

describe('mcp0 trace through the real binary', () => {
  const ROOT = resolve(import.meta.dirname, '..', '..');
  const bin = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      execFile(process.execPath, ['tools/bin/mcp0.js', ...args], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' }, timeout: 90_000 }, (error, stdout, stderr) => {
        done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
      });
    });

  beforeAll(() => {
    execSync('npx tsc -b', { cwd: ROOT, stdio: 'pipe' });
  }, 300_000);

  it('proves and verifies, exits on its own (releaseZk), one progress line when stderr is not a TTY', async () => {
    const out = join(tempDir(), 'bin-proof.json');
    const proved = await bin('trace', 'prove', '--from', '1', '--to', '3', '--out', out, '--store', uri);
    expect(proved.code, proved.stderr).toBe(0);
    expect(proved.stderr.match(/proving 3 events…\n/g)).toHaveLength(1);
    expect(proved.stderr).not.toContain('\r');
    const verified = await bin('trace', 'verify', out);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain(entries[3]!.head);
  }, 120_000);
});

describe('mcp0 trace export-verifier', () => {
  it('writes the Solidity verifier', async () => {
    const out = join(tempDir(), 'Verifier.sol');
    const r = await run('trace', 'export-verifier', '--solidity', out);
    expect(r.code, r.err).toBe(0);
    const sol = readFileSync(out, 'utf8');
    expect(sol).toContain('contract Groth16Verifier');
    expect(sol).toContain('function verifyProof');
    expect(r.out).toContain('Groth16Verifier');
    expect((await run('trace', 'export-verifier')).code).toBe(2);
  }, 60_000);
});

describe('mcp0 trace --help', () => {
  it.each(['', 'head', 'prove', 'verify', 'export-verifier'])('trace %s --help documents every subcommand and the default store', async (sub) => {
    const r = await run('trace', ...(sub === '' ? [] : [sub]), '--help');
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^mcp0 trace: /);
    expect(r.out).toContain('lmdb:./data');
    for (const s of ['trace head', 'trace prove', 'trace verify', 'trace export-verifier', '--store', '--from', '--to', '--cost-limit', '--vkey', '--solidity']) expect(r.out).toContain(s);
  });
});
