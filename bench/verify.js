/**
 * Signature verification under a hostile signature section (`node --no-warnings bench/verify.js
 * [--quick]`, after `npx tsc -b`). The signature section is not signed, so anyone can fill it to
 * wasmsign2's limits (64 signed hash sets × 256 signatures, 1.1 MB) before a host verifies the
 * module on its loading thread. Measured side by side against a trust list of 16 keys:
 *   - a normal signed plugin: hello, signed by one trusted key with its key id (`mcp0 sign`);
 *   - the hostile modules: hello's content behind 64 covering sets × 256 distinct signatures that
 *     are well formed but verify under no key (each costs a full Ed25519 verification), without a
 *     key id, naming the trusted keys' key ids, and naming 16,384 unknown key ids.
 * verifyModule bounds its work (abi/src/signature/verify.ts), so each must verify or fail in
 * milliseconds. Target: the worst of them under 50 ms, on the median. Also prints how many
 * Ed25519 verifications each costs, counted through verifyModule's ed25519Verify option.
 * Writes bench/results/verify.json.
 */
import os from 'node:os';
import {
  ALG_ED25519,
  MAX_ED25519_VERIFICATIONS,
  SIGNATURE_SECTION,
  WASM_HEADER,
  concatBytes,
  contentHashes,
  ed25519Sign,
  ed25519Verify,
  encodeCustomSection,
  encodeSignatureData,
  generateKeyPair,
  parseSections,
  signModule,
  stripSignatures,
  verifyModule,
  wasmsign2KeyId,
} from '@mcp0/abi';
import { ROOT, helloBytes } from './lib/fixtures.js';
import { collect, measure } from './lib/measure.js';
import { figuresTable, writeJson } from './lib/report.js';

const TARGET_MS = 50;
const RESULTS = `${ROOT}bench/results/verify.json`;
const quick = process.argv.includes('--quick');
const log = (msg) => process.stderr.write(`${msg}\n`);
const loadStart = os.loadavg();
log(`verify bench: node ${process.version}, ${os.cpus().length} cpus, load ${loadStart.map((l) => l.toFixed(2)).join(' ')}`);

const keys = Array.from({ length: 16 }, () => generateKeyPair());
const trusted = keys.map((k) => k.publicKey);
const ids = keys.map((k) => wasmsign2KeyId(k));
const unsigned = stripSignatures(helloBytes());
const normal = signModule(unsigned, keys[15]);

/**
 * 64 × 256 distinct junk Ed25519 signatures over hello's content: R is a real curve point (from a
 * real signature) and s = 1, 2, 3… is canonical, so a verifier only fails them at the final
 * equation, a full verification's cost. `keyId(n)` names the n-th one's key (undefined: none).
 */
function hostile(keyId) {
  const hashes = contentHashes(unsigned, parseSections(unsigned));
  const r = ed25519Sign(Uint8Array.of(1), new Uint8Array(32).fill(99)).subarray(0, 32);
  const sets = Array.from({ length: 64 }, (_, s) => ({
    hashes,
    signatures: Array.from({ length: 256 }, (_, i) => {
      const n = s * 256 + i;
      const signature = new Uint8Array(64);
      signature.set(r);
      new DataView(signature.buffer).setUint32(32, n + 1, true);
      const id = keyId(n);
      return id ? { keyId: id, algorithm: ALG_ED25519, signature } : { algorithm: ALG_ED25519, signature };
    }),
  }));
  return concatBytes(WASM_HEADER, encodeCustomSection(SIGNATURE_SECTION, encodeSignatureData({ sets })), unsigned.subarray(8));
}

const cases = [
  { id: 'normal', label: 'normal: hello signed by 1 trusted key (key id)', bytes: normal },
  { id: 'anonymous', label: 'hostile: 64×256 signatures without key id', bytes: hostile(() => undefined) },
  { id: 'named', label: 'hostile: 64×256 naming the 16 trusted key ids', bytes: hostile((n) => ids[n % 16]) },
  {
    id: 'unknown',
    label: 'hostile: 64×256 by 16,384 unknown key ids',
    bytes: hostile((n) => Uint8Array.from({ length: 12 }, (_, i) => ((n >> (8 * (i % 4))) & 0xff) ^ i)),
  },
];

/** Verify once, counting Ed25519 verifications; returns the outcome ('ok' or the error code). */
function outcome(bytes) {
  let calls = 0;
  const counted = (s, m, p) => (calls++, ed25519Verify(s, m, p));
  try {
    verifyModule(bytes, trusted, { ed25519Verify: counted });
    return { result: 'ok', calls };
  } catch (e) {
    if (!e?.code) throw e;
    return { result: e.code, calls };
  }
}
for (const c of cases) {
  Object.assign(c, outcome(c.bytes));
  const expected = c.id === 'normal' ? 'ok' : c.id === 'unknown' ? 'EUNTRUSTED' : 'ESIGNATURE';
  if (c.result !== expected) throw new Error(`${c.id}: expected ${expected}, got ${c.result}`);
  log(`${c.id}: ${(c.bytes.length / 1e6).toFixed(2)} MB, ${c.result}, ${c.calls} Ed25519 verifications`);
}

log('measuring …');
collect();
const stats = await measure(
  cases.map((c) => ({
    id: c.id,
    async: false,
    fn: () => {
      try {
        verifyModule(c.bytes, trusted);
      } catch {
        // the hostile ones are refused: that is what is measured
      }
    },
  })),
  { timeMs: quick ? 2000 : 8000, rounds: 2, minIterations: 16 },
);
const rows = cases.map((c) => ({ id: c.id, group: 'verify', label: c.label, stats: stats.get(c.id) }));
const loadEnd = os.loadavg();

const ms = (us) => (us / 1000).toFixed(2);
const worst = rows.slice(1).reduce((a, b) => (b.stats.p50Us > a.stats.p50Us ? b : a));
const verdict = worst.stats.p50Us <= TARGET_MS * 1000 ? 'PASS' : 'FAIL';
console.log(`\n${figuresTable(rows)}\n`);
console.log('case        size MB  outcome      Ed25519 verifications  p50 ms  p99 ms');
for (const c of cases) {
  const s = stats.get(c.id);
  console.log(
    `${c.id.padEnd(12)}${(c.bytes.length / 1e6).toFixed(2).padStart(7)}  ${c.result.padEnd(12)} ${String(c.calls).padStart(21)}  ${ms(s.p50Us).padStart(6)}  ${ms(s.p99Us).padStart(6)}`,
  );
}
console.log(
  `\nTarget: the worst hostile module verifies or fails in under ${TARGET_MS} ms (p50), at most ${MAX_ED25519_VERIFICATIONS} Ed25519 verifications: ${verdict} (${worst.id}: ${ms(worst.stats.p50Us)} ms p50, ${ms(worst.stats.p99Us)} ms p99; normal plugin ${ms(rows[0].stats.p50Us)} ms)`,
);
console.log(`load average: ${loadStart.map((l) => l.toFixed(2)).join(' ')} at the start, ${loadEnd.map((l) => l.toFixed(2)).join(' ')} at the end`);
writeJson(RESULTS, {
  suite: 'mcp0 verify bench',
  date: new Date().toISOString(),
  env: { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadavgStart: loadStart, loadavgEnd: loadEnd },
  target: { ms: TARGET_MS, on: 'p50', trustedKeys: trusted.length, maxVerifications: MAX_ED25519_VERIFICATIONS },
  verdict: { result: verdict, worst: worst.id, p50Ms: worst.stats.p50Us / 1000 },
  cases: cases.map((c) => ({ id: c.id, label: c.label, bytes: c.bytes.length, outcome: c.result, ed25519Verifications: c.calls, ...stats.get(c.id) })),
});
console.log(`\nwrote ${RESULTS.slice(ROOT.length)}`);
