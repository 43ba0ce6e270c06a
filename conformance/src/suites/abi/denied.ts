/**
 * ABI case: a denied capability returns EPERM and does not trap (ABI.md §3). Each capability the
 * module can be loaded without is taken away in turn: an optional one is not granted, a scoped one
 * (kv prefix, call targets, net peers, emit topics) is granted with a scope the module never uses.
 * Every export is then called with the probes, beside a twin given the grants as requested: each
 * call must succeed or fail with a typed error, and a call that fails only without the capability
 * (or fails otherwise than with it) must answer EPERM; nothing may trap or replace the instance,
 * and the module must keep answering. A required
 * capability with no scope cannot be narrowed; leaving it out must refuse the load (ECAPABILITY).
 */
import { GUEST_EXPORTS, LoadError, Mcp0Error, isErrorCode, type CapabilityRequest, type Grant, type Manifest } from '@mcp0/abi';
import { CaseFailure, CaseSkip, check, type Case } from '../../runner/case.js';
import { bench, callableExports, describeOutcome, grantsAsRequested, invoke, outcome, probesFor } from '../harness.js';
import type { PluginSubject } from '../../runner/subject.js';
import type { AbiContext } from './context.js';

/** A scope no module uses: under it, every real use of the capability is outside the grant. */
const NOWHERE = 'mcp0.conformance.denied';

/** The grant that withholds `request` while the load still succeeds, or undefined when none can. */
function withholding(request: CapabilityRequest): Grant | null | undefined {
  if (request.optional) return null; // not granted at all
  switch (request.name) {
    case 'kv':
      // The narrower prefix wins: the module's own prefix extended by a segment it never writes.
      return { name: 'kv', scope: { prefix: `${request.scope?.prefix ?? ''}${NOWHERE}/` } };
    case 'call':
      return request.scope?.targets ? undefined : { name: 'call', scope: { targets: [NOWHERE] } };
    case 'net':
      return request.scope?.peers ? undefined : { name: 'net', scope: { peers: [NOWHERE] } };
    case 'emit':
      return request.scope?.topics ? undefined : { name: 'emit', scope: { topics: [NOWHERE] } };
    default:
      return undefined;
  }
}

/** Grants as requested, with `request` replaced by `grant` (or left out when `grant` is null). */
function grantsWithout(manifest: Manifest, request: CapabilityRequest, grant: Grant | null): Grant[] {
  return grantsAsRequested(manifest)
    .filter((g) => g.name !== request.name)
    .concat(grant ? [grant] : []);
}

/** The error code of a failed outcome, or undefined for an output or an untyped error. */
const codeOf = (o: Awaited<ReturnType<typeof outcome>>) => (!o.ok && o.error instanceof Mcp0Error && isErrorCode(o.error.code) ? o.error.code : undefined);

/**
 * Calls every export under the narrowed grants, and the same calls in a twin loaded with the grants
 * as requested: a call that fails only for want of the capability (or fails differently without
 * it) must answer EPERM; nothing may trap, answer untyped, or replace the instance.
 */
async function exercise(subject: PluginSubject, request: CapabilityRequest, grant: Grant | null): Promise<void> {
  const b = await bench(subject, { grants: grantsWithout(subject.manifest, request, grant) });
  const granted = await bench(subject, { grants: grantsAsRequested(subject.manifest) });
  try {
    for (const name of callableExports(subject.manifest)) {
      for (const [i, input] of probesFor(name).entries()) {
        const withIt = await outcome(() => invoke(granted.module, name, input));
        const o = await outcome(() => invoke(b.module, name, input));
        const what = `without ${request.name}: ${name} (probe ${i})`;
        if (o.ok) continue;
        const code = codeOf(o);
        if (code === undefined) throw new CaseFailure(`${what}: expected a typed error or an output, got ${describeOutcome(o)}`);
        if (['ETRAP', 'ETIMEOUT', 'EMEMORY'].includes(code))
          throw new CaseFailure(`${what}: expected EPERM to come back as an error, got ${describeOutcome(o)}`);
        if (code !== 'EPERM' && code !== codeOf(withIt)) {
          throw new CaseFailure(
            `${what}: expected EPERM (the same call answers ${describeOutcome(withIt)} with ${request.name} granted), got ${describeOutcome(o)}`,
            { export: name, probe: i, code },
          );
        }
      }
    }
    const m = b.module.meter.snapshot();
    check(m.restarts === 0, `without ${request.name}: expected no instance replaced, got ${m.restarts} restart(s)`);
    const marker = await outcome(() => invoke(b.module, GUEST_EXPORTS.marker, new Uint8Array(0)));
    check(marker.ok, `without ${request.name}: expected the module to keep serving, got ${describeOutcome(marker)} from ${GUEST_EXPORTS.marker}`);
  } finally {
    await b.close();
    await granted.close();
  }
}

/**
 * Denied capabilities: typed errors, no trap, the module keeps serving; unnarrowable ones refuse the load.
 * @example
 * await runSuite({ ...abiSuite, cases: [deniedCase] }, subject)
 */
export const deniedCase: Case<AbiContext> = {
  name: 'denied capability returns EPERM without a trap',
  async run({ subject }) {
    const requests = (subject.manifest.capabilities ?? []).filter((c) => c.name !== 'log');
    if (requests.length === 0) throw new CaseSkip('the manifest requests no capability that can be denied');
    for (const request of requests) {
      const grant = withholding(request);
      if (grant === undefined) {
        // Required and unscoped: the only honest denial is refusing the load.
        try {
          const b = await bench(subject, { grants: grantsWithout(subject.manifest, request, null) });
          await b.close();
        } catch (e) {
          check(
            e instanceof LoadError && e.code === 'ECAPABILITY',
            `without ${request.name}: expected the load to be refused with ECAPABILITY, got ${e instanceof Mcp0Error ? `${e.code}: ${e.message}` : String(e)}`,
          );
          continue;
        }
        throw new CaseFailure(`without ${request.name}: expected the load to be refused with ECAPABILITY (the capability is required), but it loaded`);
      }
      await exercise(subject, request, grant);
    }
  },
};
