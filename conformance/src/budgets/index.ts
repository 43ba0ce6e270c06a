/** The budgets run: the reference workload on a distribution against the hardware gates (ARCHITECTURE.md §8). */
export { runBudgets, type BudgetOptions } from './run.js';
export { runPhase, type PhaseOptions, type PhaseResult } from './phase.js';
export { REFERENCE_WORKLOAD, planOperation, notePayload, type PlannedOperation, type WorkloadAgent, type WorkloadStep } from './workload.js';
export { COMPONENT_BUDGETS, componentShares, type AgreementsInputs, type ComponentInputs } from './components.js';
export { cpuPerSecond, standardError } from './stats.js';
export { paced } from './pace.js';
