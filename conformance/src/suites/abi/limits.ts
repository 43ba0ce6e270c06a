/**
 * ABI cases: the memory cap and the timeout hold for this artifact (ABI.md §7). The module is
 * loaded under a cap just above its initial memory, or a timeout of a few milliseconds, and every
 * export is given a 3 MiB payload: each call completes or fails with the typed error of the limit,
 * the memory in use never passes the cap, calls never run far past the timeout, and the module
 * answers afterwards.
 */
import { GUEST_EXPORTS, Mcp0Error, decodeU32, isErrorCode, parseSections } from '@mcp0/abi';
import { DEFAULT_CEILINGS, DEFAULT_LIMITS, DEFAULT_MEMORY_PAGES, type Tier } from '@mcp0/kernel';
import { CaseFailure, check, type Case } from '../../runner/case.js';
import { bench, callableExports, describeOutcome, invoke, outcome } from '../harness.js';
import type { AbiContext } from './context.js';
import { nestedArrays, payload } from './inputs.js';

/**
 * The memory section's initial size in pages (0 when the module defines no memory).
 * @example
 * initialPages(helloWasm) // 1
 */
export function initialPages(bytes: Uint8Array): number {
  const memory = parseSections(bytes).find((s) => s.id === 5);
  if (!memory) return 0;
  const [count, at] = decodeU32(memory.payload, 0);
  return count === 0 ? 0 : decodeU32(memory.payload, at + 1)[0];
}

/** Inputs that make a module allocate: a 3 MiB byte string, and deep nesting. */
function heavyInputs() {
  return [
    { name: 'a 3 MiB payload', bytes: payload(3 << 20) },
    { name: '100,000 nested arrays', bytes: nestedArrays(100_000) },
  ];
}

/** Slack allowed past the timeout: moving a 3 MiB input in and out of a worker takes a while. */
const TIMEOUT_SLACK_MS = 1500;

/**
 * The memory cap, in the tier given.
 * @example
 * const c = memoryCapCase('inline')
 */
export function memoryCapCase(tier: Tier, slow = false): Case<AbiContext> {
  return {
    name: `memory cap holds (${tier})`,
    slow,
    async run({ subject }) {
      const initial = initialPages(subject.bytes);
      // The manifest's own limit (or the default), within the host's ceiling.
      const manifestCap = Math.min(subject.manifest.limits?.memoryPages ?? DEFAULT_MEMORY_PAGES, DEFAULT_CEILINGS.memoryPages);
      const cap = Math.max(initial, Math.min(manifestCap, initial + 8));
      // With no host cap, the manifest's own limit (or the default) is what the module runs under.
      const plain = await bench(subject, { isolation: tier });
      const uncapped = plain.module.verified.memoryPages;
      await plain.close();
      check(
        uncapped === manifestCap,
        `memory cap: expected the module to run under the manifest's ${manifestCap} pages when the host sets no cap, got ${uncapped}`,
      );
      const b = await bench(subject, { isolation: tier, memoryPages: cap });
      try {
        check(
          b.module.verified.memoryPages === cap,
          `memory cap: expected the kernel to run the module under ${cap} pages, got ${b.module.verified.memoryPages}`,
        );
        for (const name of callableExports(subject.manifest)) {
          for (const input of heavyInputs()) {
            const o = await outcome(() => invoke(b.module, name, input.bytes));
            const what = `${name} with ${input.name} under a cap of ${cap} pages (${tier})`;
            // Running out at the cap is EMEMORY, or ETRAP where the host cannot tell (ABI.md §7): both are the cap holding.
            if (!o.ok && !(o.error instanceof Mcp0Error && isErrorCode(o.error.code))) {
              throw new CaseFailure(`${what}: expected an output or a typed error (EMEMORY or ETRAP at the cap), got ${describeOutcome(o)}`);
            }
            const pages = b.module.meter.snapshot().memoryPages ?? 0;
            check(pages <= cap, `${what}: expected memory to stay within ${cap} pages, got ${pages}`);
            const alive = await outcome(() => invoke(b.module, GUEST_EXPORTS.marker, new Uint8Array(0)));
            check(alive.ok, `${what}: expected the module to keep serving, got ${describeOutcome(alive)}`);
          }
        }
      } finally {
        await b.close();
      }
    },
  };
}

/**
 * The timeout, in the tier given.
 * @example
 * const c = timeoutCase('worker', true) // left out by --quick
 */
export function timeoutCase(tier: Tier, slow = false): Case<AbiContext> {
  return {
    name: `timeout holds (${tier})`,
    slow,
    async run({ subject }) {
      const timeoutMs = 5;
      const plain = await bench(subject, { isolation: tier });
      const own = plain.module.options.timeoutMs;
      await plain.close();
      const manifestTimeout = Math.min(subject.manifest.limits?.timeoutMs ?? DEFAULT_LIMITS.timeoutMs, DEFAULT_CEILINGS.timeoutMs);
      check(own === manifestTimeout, `timeout: expected the module to run with the manifest's ${manifestTimeout} ms when the host sets no limit, got ${own}`);
      // mcp0_init runs under the same 5 ms when the module loads: on a loaded machine one load may
      // miss it (ETIMEOUT), as one marker call may below; one load that answers proves it loads.
      let b: Awaited<ReturnType<typeof bench>> | undefined;
      for (let attempt = 1; b === undefined; attempt++) {
        try {
          b = await bench(subject, { isolation: tier, timeoutMs });
        } catch (e) {
          if (attempt >= 5 || !(e instanceof Mcp0Error && e.code === 'ETIMEOUT')) throw e;
        }
      }
      try {
        check(
          b.module.options.timeoutMs === timeoutMs,
          `timeout: expected the kernel to run the module with ${timeoutMs} ms, got ${b.module.options.timeoutMs}`,
        );
        for (const name of callableExports(subject.manifest)) {
          for (const input of heavyInputs()) {
            const t = performance.now();
            const o = await outcome(() => invoke(b.module, name, input.bytes));
            const ms = performance.now() - t;
            const what = `${name} with ${input.name} under a ${timeoutMs} ms timeout (${tier})`;
            if (!o.ok && !(o.error instanceof Mcp0Error && isErrorCode(o.error.code))) {
              throw new CaseFailure(`${what}: expected an output or a typed error (ETIMEOUT), got ${describeOutcome(o)}`);
            }
            check(
              ms < timeoutMs + TIMEOUT_SLACK_MS,
              `${what}: expected the call to end within ${timeoutMs + TIMEOUT_SLACK_MS} ms, got ${Math.round(ms)} ms (${describeOutcome(o)})`,
            );
          }
          // The marker is trivial, but on a loaded machine one call may still miss 5 ms: one answer proves the module serves.
          let alive = await outcome(() => invoke(b.module, GUEST_EXPORTS.marker, new Uint8Array(0)));
          for (let i = 0; i < 4 && !alive.ok; i++) alive = await outcome(() => invoke(b.module, GUEST_EXPORTS.marker, new Uint8Array(0)));
          check(
            alive.ok,
            `${name} under a ${timeoutMs} ms timeout (${tier}): expected the module to keep serving, got ${describeOutcome(alive)} from ${GUEST_EXPORTS.marker} five times`,
          );
        }
      } finally {
        await b.close();
      }
    },
  };
}
