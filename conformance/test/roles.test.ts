/**
 * The role suites against real plugins: the reference storage, trace, agreements and rpc plugins pass
 * their role's suite; each deliberately broken fixture fails it, and the failing case is named.
 * And the registry: provides selects the suites, unknown roles are listed, bad ids are refused.
 */
import { describe, expect, it } from 'vitest';
import { readManifest, type Manifest } from '@mcp0/abi';
import { runSuite, type CaseResult, type Suite } from '../src/runner/case.js';
import {
  AGREEMENTS_ROLE,
  STORAGE_ROLE,
  TRACE_ROLE,
  agreementsSuite,
  registerRoleSuite,
  roleSuites,
  storageSuite,
  suitesFor,
  traceSuite,
  unknownRoles,
} from '../src/suites/roles/index.js';
import type { PluginSubject } from '../src/runner/subject.js';
import { subject } from './subjects.js';
import { corpusBytes, publicKey, readCorpus } from '../../test/compat/corpus.js';

const failing = (results: CaseResult[]) => results.filter((r) => r.status === 'fail');

async function roleResults(name: Parameters<typeof subject>[0]): Promise<CaseResult[]> {
  const s = await subject(name);
  const suites = suitesFor(s.manifest);
  expect(suites).toHaveLength(1);
  return runSuite(suites[0]!, s);
}

describe('role suites, reference plugins', () => {
  it.each(['storage', 'trace', 'agreements', 'rpc'] as const)(
    '%s passes its role suite',
    async (name) => {
      const results = await roleResults(name);
      expect(failing(results).map((r) => `${r.case}: ${r.message}`)).toEqual([]);
      expect(results.filter((r) => r.status === 'skip')).toEqual([]);
    },
    120_000,
  );
});

describe('role suites, broken plugins', () => {
  it('broken-storage (restore that does not move the head) fails "snapshot and restore" only', async () => {
    const results = await roleResults('broken-storage');
    expect(failing(results).map((r) => r.case)).toEqual(['snapshot and restore']);
    expect(failing(results)[0]!.message).toBe('get /x after restoring snapshot 1: expected the 1 bytes "1", got 1 bytes "2"');
    expect(failing(results)[0]!.suite).toBe(`role ${STORAGE_ROLE}`);
  }, 120_000);

  it('broken-trace (poseidon that is not Poseidon) fails the known answers, and the chain cannot be checked', async () => {
    const results = await roleResults('broken-trace');
    expect(failing(results).map((r) => r.case)).toEqual(['poseidon known answers (circomlibjs)', 'chain is Poseidon over the documented encoding']);
    expect(failing(results)[0]!.message).toBe(
      'poseidon(1): expected 18586133768512220936620570745912940619677854269274689475585506675881198879027 (circomlibjs), got "42"',
    );
    expect(failing(results)[0]!.details).toMatchObject({ inputs: ['1'], got: '42' });
  }, 120_000);

  it('broken-chain (entries not linked to the previous head) fails the chain case at entry #1, and verifyRange says so', async () => {
    const results = await roleResults('broken-chain');
    expect(failing(results).map((r) => r.case)).toEqual(['chain is Poseidon over the documented encoding', 'get, range and verifyRange']);
    expect(failing(results)[0]!.message).toMatch(/^entry #1: expected head \d+ \(P\(previous head, eventHash, cost\)\), got \d+$/);
    expect(failing(results)[1]!.message).toMatch(/^verifyRange 0\.\.4 of an intact chain: expected \{ok: true\}, got .*"ok":false.*"brokenAt":1/);
  }, 120_000);

  it('the released trace (0.2.0, before ABI 1.2, which drops the cause) fails the cause case only, naming the entry', async () => {
    // A real plugin written before causes existed: its chain is well formed and well linked, and
    // only the cause is missing. It comes from the compatibility corpus, signed by the corpus key.
    const corpus = readCorpus();
    const d = corpus.distributions.find((x) => x.name === 'standard' && x.version === '0.1.0')!;
    const p = d.plugins.find((x) => x.name === 'mcp0.trace')!;
    expect(p.version).toBe('0.2.0');
    const bytes = corpusBytes(`${d.dir}/${p.file}`, p.sha256);
    const released: PluginSubject = { name: p.name, version: p.version, manifest: readManifest(bytes), bytes, trust: [publicKey('publisher', corpus)] };
    const results = await runSuite(suitesFor(released.manifest)[0]!, released);
    expect(failing(results).map((r) => r.case)).toEqual(["an operation's cause comes back in its entry (ABI 1.2 op.cause)"]);
    expect(failing(results)[0]!.message).toMatch(/^entry #3 \(run with a cause\): expected event\.cause = the operation's cause [0-9a-f]{64}, got undefined$/);
  }, 120_000);

  it('broken-agreements (revoke that revokes nothing) fails "revoke" only', async () => {
    const results = await roleResults('broken-agreements');
    expect(failing(results).map((r) => r.case)).toEqual(['revoke: later operations are denied']);
    expect(failing(results)[0]!.message).toBe('get after revoke: expected revoked: true, got false');
  }, 120_000);

  it('careless-agreements (bind for whoever asks) fails the parties case only, naming the bind it should have refused', async () => {
    const results = await roleResults('careless-agreements');
    expect(failing(results).map((r) => r.case)).toEqual(['parties: two key ids, a provider the operator accepts, the bound consumer']);
    expect(failing(results)[0]!.message).toMatch(/^bind for a key that is not the consumer: expected a typed error, got a result: /);
  }, 120_000);

  it('forgetful-rpc (seen nonces lost at every start) fails the replay case only, at the restart', async () => {
    const results = await roleResults('forgetful-rpc');
    expect(failing(results).map((r) => r.case)).toEqual(['verify refuses a replayed nonce (EPERM replay), also after a restart over the same kv']);
    expect(failing(results)[0]!.message).toMatch(/^verify of a used envelope after a restart: expected a typed error, got a result: /);
  }, 120_000);

  it('--quick leaves the slow concurrency case out', async () => {
    const results = await runSuite(storageSuite, await subject('storage'), { quick: true });
    expect(results.filter((r) => r.status === 'skip').map((r) => r.case)).toEqual(['concurrent writers: ECONFLICT or serialised, nothing lost']);
    expect(failing(results)).toEqual([]);
  }, 120_000);
});

describe('role registry', () => {
  const manifest = (provides: string[]): Pick<Manifest, 'provides'> => ({ provides });

  it('selects the suites a manifest provides, in its order', () => {
    expect(roleSuites.get(STORAGE_ROLE)).toBe(storageSuite);
    expect(suitesFor(manifest([TRACE_ROLE, AGREEMENTS_ROLE]))).toEqual([traceSuite, agreementsSuite]);
    expect(suitesFor(manifest([]))).toEqual([]);
    expect(suitesFor({})).toEqual([]);
    expect(suitesFor(manifest(['mcp0.storage@2']))).toEqual([]);
    expect(unknownRoles(manifest([STORAGE_ROLE, 'acme.search@1']))).toEqual(['acme.search@1']);
  });

  it('is open: a registered role is selected; a malformed id is refused with EUSAGE', () => {
    const suite: Suite<PluginSubject, null> = { name: 'role acme.search@1', setup: async () => null, cases: [] };
    registerRoleSuite('acme.search@1', suite);
    try {
      expect(suitesFor(manifest(['acme.search@1']))).toEqual([suite]);
      expect(unknownRoles(manifest(['acme.search@1']))).toEqual([]);
    } finally {
      roleSuites.delete('acme.search@1');
    }
    for (const bad of ['acme.search', 'Acme.Search@1', 'acme.search@', '@1', 'acme search@1']) {
      expect(() => registerRoleSuite(bad, suite), bad).toThrow(expect.objectContaining({ code: 'EUSAGE' }));
    }
  });
});
