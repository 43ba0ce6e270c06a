/** The roles' shared contract: their names, the cost-unit formula, the trace role's kv layout and cost cap. */
export { ROLE_NAMES, type RoleName } from './names.js';
export { costUnits } from './cost.js';
export { TRACE_NAMESPACE, TRACE_HEAD_KEY, traceEntryKey, MAX_CHAIN_COST, chainCost } from './trace.js';
