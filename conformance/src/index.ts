/**
 * @mcp0/conformance: the suites any plugin or distribution can be run through (ABI, role contracts,
 * hardware budgets). The suites arrive with the conformance work; this exports the ABI tables they
 * check against.
 */
export { abiLock } from '@mcp0/abi';
