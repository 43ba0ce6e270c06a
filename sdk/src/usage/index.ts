/** Process CPU and RSS sampling against the hardware budgets. */
export { UsageSampler, BUDGETS, REFERENCE_CORE_FACTOR, checkBudgets, type UsageSample, type UsageSummary } from './sampler.js';
