/**
 * The ABI suite: every plugin, whatever it provides, is held to ABI.md. Load checks first (they
 * only read the bytes), then the reserved exports, determinism, denial, hostile input and limits.
 */
import type { Suite } from '../../runner/case.js';
import type { PluginSubject } from '../../runner/subject.js';
import { importsCase, manifestCase, signatureCase } from './artifact.js';
import { abiContext, type AbiContext } from './context.js';
import { corpusCase } from './corpus.js';
import { deniedCase } from './denied.js';
import { determinismCase } from './determinism.js';
import { hostileCase, hugePayloadCase } from './hostile.js';
import { initCase, markerCase, stopCase } from './lifecycle.js';
import { memoryCapCase, timeoutCase } from './limits.js';

/**
 * The cases of the load checks that only read the artifact: every other case loads the module, so
 * it is not run (one row says why, not a row per case repeating the failure) when one failed.
 * @example
 * LOAD_CHECKS.includes(result.case) && result.status === 'fail' // the module does not load
 */
export const LOAD_CHECKS: readonly string[] = [signatureCase.name, manifestCase.name, importsCase.name];

/**
 * The ABI suite. The inline tier is where plugins run by default; the worker tier (where agents
 * and untrusted code run) repeats the hostile, memory and timeout cases as slow cases.
 * @example
 * const results = await runSuite(abiSuite, subject, { quick: true })
 */
export const abiSuite: Suite<PluginSubject, AbiContext> = {
  name: 'abi',
  setup: abiContext,
  cases: [
    signatureCase,
    manifestCase,
    importsCase,
    ...[
      markerCase,
      initCase,
      stopCase,
      determinismCase,
      deniedCase,
      hostileCase('inline'),
      hostileCase('worker', true),
      hugePayloadCase,
      memoryCapCase('inline'),
      memoryCapCase('worker', true),
      timeoutCase('inline'),
      timeoutCase('worker', true),
      corpusCase('inline'),
      corpusCase('worker', true),
    ].map((c) => ({ ...c, needs: LOAD_CHECKS })),
  ],
};

export type { AbiContext } from './context.js';
