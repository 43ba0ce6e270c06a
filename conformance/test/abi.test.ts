/**
 * The ABI suite against real artifacts: the reference plugins pass it; an unsigned, a tampered and
 * an untrusted artifact fail the signature case; a module importing outside ABI v1 fails the
 * imports case naming the import; a module answering with the host's start-up clock fails the
 * determinism case; a module that traps on input fails the hostile-input and denied-capability
 * cases naming the export; a module that reports a denied kv write as EINTERNAL fails the
 * denied-capability case.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendManifest, encodeSection, concatBytes, encodeU32, generateKeyPair, readManifest, signModule, WASM_HEADER, type Manifest } from '@mcp0/abi';
import { runSuite, type CaseResult } from '../src/runner/case.js';
import { runConformance } from '../src/runner/run.js';
import { abiSuite } from '../src/suites/abi/index.js';
import { subject, subjectOf } from './subjects.js';
import { unsigned } from '../../test/fixtures.js';

const byCase = (results: CaseResult[]) => Object.fromEntries(results.map((r) => [r.case, r]));
const failing = (results: CaseResult[]) => results.filter((r) => r.status === 'fail').map((r) => `${r.case}: ${r.message}`);

describe('ABI suite, reference plugins', () => {
  it.each(['hello', 'storage', 'trace', 'agreements', 'rpc'] as const)(
    '%s passes every case (--quick)',
    async (name) => {
      const results = await runSuite(abiSuite, await subject(name), { quick: true });
      expect(failing(results)).toEqual([]);
      expect(results.filter((r) => r.status === 'pass').length).toBeGreaterThanOrEqual(11);
      expect(results.filter((r) => r.status === 'skip').every((r) => r.message === 'slow: left out by --quick')).toBe(true);
    },
    120_000,
  );

  it('hello passes the slow cases too (worker tier, 16 MiB payload)', async () => {
    const results = await runSuite(abiSuite, await subject('hello'));
    expect(failing(results)).toEqual([]);
    expect(results.every((r) => r.status === 'pass')).toBe(true);
    expect(results.map((r) => r.case)).toContain('timeout holds (worker)');
  }, 120_000);
});

describe('ABI suite, artifacts that break the load checks', () => {
  it('an unsigned plugin fails the signature case with ESIGNATURE', async () => {
    const s = subjectOf(await unsigned('hello'));
    const r = byCase(await runSuite(abiSuite, s, { quick: true }));
    expect(r['signature verifies against the trusted keys']).toMatchObject({ status: 'fail', details: { code: 'ESIGNATURE', check: 'signature' } });
    expect(r['signature verifies against the trusted keys']!.message).toMatch(
      /^signature: expected a valid signature.*got ESIGNATURE \(check signature\): module is not signed/,
    );
    // The artifact itself is fine: the cases that only read it pass.
    expect(r['imports are a subset of ABI v1']!.status).toBe('pass');
    expect(r['manifest is valid and matches the exports']!.status).toBe('pass');
    // Everything that must load it is not run, saying which check it needs: one failing row, not
    // the same ESIGNATURE repeated in every case.
    const loading = Object.values(r).filter(
      (x) => !['signature verifies against the trusted keys', 'imports are a subset of ABI v1', 'manifest is valid and matches the exports'].includes(x.case),
    );
    expect(loading.length).toBeGreaterThan(10);
    expect(loading.every((x) => x.status === 'skip' && x.message === 'not run: it needs "signature verifies against the trusted keys", which failed')).toBe(
      true,
    );
    expect(failing(Object.values(r))).toHaveLength(1);
  }, 60_000);

  it('with the wrong --trust, a plugin that provides a role has one failing row, and its role suite is not run', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mcp0-conformance-')), 'storage.wasm');
    writeFileSync(file, (await subject('storage')).bytes);
    const report = await runConformance({ kind: 'plugin', file, trust: [generateKeyPair().publicKey] }, { quick: true });
    expect(report.verdict).toBe('fail');
    expect(report.results.filter((x) => x.status === 'fail').map((x) => `${x.suite}: ${x.case}`)).toEqual(['abi: signature verifies against the trusted keys']);
    const roles = report.results.filter((x) => x.suite !== 'abi');
    expect(roles.length).toBeGreaterThan(0);
    expect(roles.every((x) => x.status === 'skip' && x.message === 'not run: it needs "abi: signature verifies against the trusted keys", which failed')).toBe(
      true,
    );
  }, 60_000);

  it('a plugin changed after signing fails the signature case (content hash mismatch)', async () => {
    const bytes = (await subject('hello')).bytes.slice();
    bytes[bytes.length - 3]! ^= 0xff; // inside the manifest section, after the signature
    const r = byCase(await runSuite({ ...abiSuite, cases: abiSuite.cases.slice(0, 1) }, { ...subjectOf(await subject('hello').then((s) => s.bytes)), bytes }));
    expect(r['signature verifies against the trusted keys']).toMatchObject({ status: 'fail', details: { code: 'ESIGNATURE' } });
    expect(r['signature verifies against the trusted keys']!.message).toContain('content hash mismatch');
  });

  it('a plugin signed by a key nobody trusts fails with EUNTRUSTED', async () => {
    const s = await subject('hello', generateKeyPair());
    const r = byCase(await runSuite({ ...abiSuite, cases: abiSuite.cases.slice(0, 1) }, s));
    expect(r['signature verifies against the trusted keys']).toMatchObject({ status: 'fail', details: { code: 'EUNTRUSTED', check: 'trust' } });
  });

  it('a module importing outside ABI v1 fails the imports case, naming every offender', async () => {
    const s = subjectOf(signModule(hostileImports(), generateKeyPair()));
    const r = byCase(await runSuite(abiSuite, { ...s, trust: [] }, { quick: true }));
    const imports = r['imports are a subset of ABI v1']!;
    expect(imports.status).toBe('fail');
    expect(imports.message).toContain('wasi_snapshot_preview1.fd_write (function)');
    expect(imports.message).toContain('extism:host/env.http_request (function)');
    expect(imports.details).toEqual({ offending: ['wasi_snapshot_preview1.fd_write (function)', 'extism:host/env.http_request (function)'] });
    expect(r['manifest is valid and matches the exports']!.status).toBe('pass');
  });

  it('a manifest listing an export the module lacks fails the manifest case', async () => {
    const wasm = await unsigned('hello');
    const m = readManifest(wasm);
    const s = subjectOf(signModule(appendManifest(wasm, { ...m, exports: [...m.exports, { name: 'ghost' }] }), generateKeyPair()));
    const r = byCase(await runSuite({ ...abiSuite, cases: abiSuite.cases.slice(1, 2) }, s));
    expect(r['manifest is valid and matches the exports']).toMatchObject({ status: 'fail', details: { missing: ['ghost'] } });
  });
});

describe('ABI suite, a module whose answers depend on the host', () => {
  it('fails the determinism case, naming the call that differs; everything else passes', async () => {
    const results = await runSuite(abiSuite, await subject('nondeterministic'), { quick: true });
    const r = byCase(results);
    const d = r['determinism: replayed operations give the same bytes and kv writes']!;
    expect(d).toMatchObject({ status: 'fail', details: { part: 'calls', index: 0 } });
    expect(d.message).toMatch(
      /^determinism \(calls\): expected identical calls when the same operations run in two fresh kernels, got at #0 "started probe 0: ok [0-9a-f]{64}" then "started probe 0: ok [0-9a-f]{64}"$/,
    );
    expect(failing(results)).toEqual([`determinism: replayed operations give the same bytes and kv writes: ${d.message}`]);
  }, 60_000);
});

describe('ABI suite, a module that traps', () => {
  it('fails hostile input and denied capability, naming the export; the host and the other cases survive', async () => {
    // test.hostile, listing only its echo and its trap (and so reachable in seconds).
    const wasm = await unsigned('hostile');
    const m: Manifest = readManifest(wasm);
    const s = await signedSubject(appendManifest(wasm, { ...m, exports: m.exports.filter((e) => e.name === 'ok' || e.name === 'trap') }));
    const r = byCase(await runSuite(abiSuite, s, { quick: true }));
    expect(r['hostile input to every export (inline)']).toMatchObject({ status: 'fail', details: { export: 'trap', input: 'empty input', code: 'ETRAP' } });
    expect(r['hostile input to every export (inline)']!.message).toMatch(
      /^trap with empty input \(inline\): expected a typed refusal \(e\.g\. EINPUT\), got ETRAP/,
    );
    expect(r['denied capability returns EPERM without a trap']!.status).toBe('fail');
    expect(r['denied capability returns EPERM without a trap']!.message).toMatch(/without call: trap \(probe 0\).*ETRAP/);
    expect(r['signature verifies against the trusted keys']!.status).toBe('pass');
    expect(r['version marker mcp0_abi_v1']!.status).toBe('pass');
  }, 60_000);
});

describe('ABI suite, a module that hides a denial', () => {
  it('fails the denied-capability case when EPERM comes back as another code, naming the export and both answers', async () => {
    const results = await runSuite(abiSuite, await subject('masks-denial'), { quick: true });
    const d = byCase(results)['denied capability returns EPERM without a trap']!;
    expect(d).toMatchObject({ status: 'fail', details: { export: 'save', probe: 0, code: 'EINTERNAL' } });
    expect(d.message).toMatch(
      /^without kv: save \(probe 0\): expected EPERM \(the same call answers ok \(\d+ bytes\) with kv granted\), got EINTERNAL: could not save/,
    );
    expect(failing(results)).toEqual([`denied capability returns EPERM without a trap: ${d.message}`]);
  }, 60_000);
});

/** Signs with the test publisher so the subject is trusted. */
async function signedSubject(bytes: Uint8Array) {
  const { publisher } = await import('../../test/fixtures.js');
  return subjectOf(signModule(bytes, publisher));
}

/**
 * A hand-assembled module that exports the marker but imports WASI's fd_write and Extism's
 * http_request, neither of which ABI v1 allows; with a valid manifest.
 */
function hostileImports(): Uint8Array {
  const str = (s: string) => {
    const b = new TextEncoder().encode(s);
    return concatBytes(encodeU32(b.length), b);
  };
  const vec = (...items: Uint8Array[]) => concatBytes(encodeU32(items.length), ...items);
  const type = encodeSection(1, vec(Uint8Array.of(0x60, 0x00, 0x01, 0x7f), Uint8Array.of(0x60, 0x01, 0x7e, 0x01, 0x7e)));
  const imports = encodeSection(
    2,
    vec(
      concatBytes(str('wasi_snapshot_preview1'), str('fd_write'), Uint8Array.of(0x00, 0x00)),
      concatBytes(str('extism:host/env'), str('http_request'), Uint8Array.of(0x00, 0x01)),
    ),
  );
  const funcs = encodeSection(3, vec(Uint8Array.of(0x00)));
  const exports = encodeSection(7, vec(concatBytes(str('mcp0_abi_v1'), Uint8Array.of(0x00, 0x02))));
  const body = Uint8Array.of(0x00, 0x41, 0x00, 0x0b); // no locals; i32.const 0; end
  const code = encodeSection(10, vec(concatBytes(encodeU32(body.length), body)));
  const module = concatBytes(WASM_HEADER, type, imports, funcs, exports, code);
  return appendManifest(module, { name: 'test.imports', version: '0.1.0', abi: '^1.0', kind: 'plugin', exports: [], license: 'Apache-2.0' });
}
