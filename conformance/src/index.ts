/**
 * @mcp0/conformance: the suites any plugin or distribution can be run through. The ABI suite holds
 * every plugin to ABI.md; role suites hold a plugin that `provides` a role to that role's contract;
 * the budgets run a reference workload on a distribution against the hardware gates.
 */
export { abiLock } from '@mcp0/abi';
export * from './runner/case.js';
export * from './runner/subject.js';
export * from './report/types.js';
export { runConformance, type ConformanceTarget, type ConformanceOptions } from './runner/run.js';
export { abiSuite } from './suites/abi/index.js';
export { roleSuites, registerRoleSuite, suitesFor, unknownRoles, type RoleSuite } from './suites/roles/index.js';
export { runBudgets, REFERENCE_WORKLOAD, type BudgetOptions } from './budgets/index.js';
export { reportSchema, validateReport, ReportError, renderTable, renderHtml } from './report/index.js';
