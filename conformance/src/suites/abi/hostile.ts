/**
 * ABI cases: hostile input to every export (service exports and declared hooks). Each call must
 * give an output or a typed error with a code from the table (never a trap, never an untyped
 * exception), the host must survive, and the module must answer the version marker afterwards.
 * The 16 MiB payload (past the kernel's 4 MiB input limit) and the worker tier are slow cases.
 */
import { GUEST_EXPORTS, Mcp0Error, isErrorCode } from '@mcp0/abi';
import type { Tier } from '@mcp0/kernel';
import { CaseFailure, type Case } from '../../runner/case.js';
import { bench, callableExports, describeOutcome, invoke, outcome, type Bench } from '../harness.js';
import type { PluginSubject } from '../../runner/subject.js';
import type { AbiContext } from './context.js';
import { hostileInputs, payload, type HostileInput } from './inputs.js';

/** Codes that say the guest lost control rather than refused the input. */
const LOST = new Set(['ETRAP']);

/**
 * Sends each input to each export of a fresh bench; fails naming the export and input.
 * @example
 * await survive(subject, 'inline', hostileInputs())
 */
export async function survive(
  subject: PluginSubject,
  tier: Tier,
  inputs: readonly HostileInput[],
  allowed: (code: string) => boolean = () => true,
): Promise<void> {
  const b: Bench = await bench(subject, { isolation: tier });
  try {
    for (const name of callableExports(subject.manifest)) {
      for (const input of inputs) {
        const o = await outcome(() => invoke(b.module, name, input.bytes));
        const what = `${name} with ${input.name} (${tier})`;
        if (!o.ok) {
          const e = o.error;
          if (!(e instanceof Mcp0Error) || !isErrorCode(e.code))
            throw new CaseFailure(`${what}: expected an output or a typed error, got ${describeOutcome(o)}`);
          if (LOST.has(e.code) || !allowed(e.code))
            throw new CaseFailure(`${what}: expected a typed refusal (e.g. EINPUT), got ${describeOutcome(o)}`, {
              export: name,
              input: input.name,
              code: e.code,
            });
        }
        const alive = await outcome(() => invoke(b.module, GUEST_EXPORTS.marker, new Uint8Array(0)));
        if (!alive.ok) throw new CaseFailure(`${what}: expected the module to keep serving, got ${describeOutcome(alive)} from ${GUEST_EXPORTS.marker}`);
      }
    }
  } finally {
    await b.close();
  }
}

/**
 * The small hostile inputs, in the tier given.
 * @example
 * const c = hostileCase('worker', true) // left out by --quick
 */
export function hostileCase(tier: Tier, slow = false): Case<AbiContext> {
  return {
    name: `hostile input to every export (${tier})`,
    slow,
    run: ({ subject }) => survive(subject, tier, hostileInputs()),
  };
}

/**
 * A 16 MiB payload: past the kernel's input limit, it must come back as ETOOBIG, not reach the guest.
 * @example
 * await runSuite({ ...abiSuite, cases: [hugePayloadCase] }, subject)
 */
export const hugePayloadCase: Case<AbiContext> = {
  name: 'hostile input: 16 MiB payload to every export',
  slow: true,
  run: ({ subject }) =>
    survive(
      subject,
      subject.manifest.kind === 'agent' ? 'worker' : 'inline',
      [{ name: 'a 16 MiB payload', bytes: payload(16 << 20) }],
      (code) => code === 'ETOOBIG',
    ),
};
