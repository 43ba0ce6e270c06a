/**
 * @mcp0/conformance: the suites any plugin or distribution can be run through. The ABI suite holds
 * every plugin to ABI.md; role suites hold a plugin that `provides` a role to that role's contract;
 * the budgets run a reference workload on a distribution against the hardware gates.
 */
export { abiLock } from '@mcp0/abi';
export * from './runner/case.js';
export * from './runner/subject.js';
export * from './report/types.js';
