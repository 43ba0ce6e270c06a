/**
 * The frozen form of ABI v1: what `abi-v1.lock.json` holds. The lock test compares this with the
 * committed file, so any change to an import or export table is a deliberate, reviewed act.
 */
import {
  ABI_NAMESPACE,
  ABI_VERSION,
  CAPABILITIES,
  EXTISM_IMPORTS,
  EXTISM_NAMESPACE,
  GUEST_EXPORTS,
  HOOKS,
  HOST_FUNCTION_TYPE,
  HOST_FUNCTIONS,
  LIMITS,
} from './abi-v1.js';
import { ERROR_CODES } from './errors/codes.js';

/**
 * The ABI v1 tables as plain JSON.
 * @example
 * writeFileSync('abi-v1.lock.json', JSON.stringify(abiLock(), null, 2) + '\n')
 */
export function abiLock() {
  return {
    abi: ABI_VERSION,
    imports: {
      [ABI_NAMESPACE]: Object.fromEntries(Object.entries(HOST_FUNCTIONS).map(([name, capability]) => [name, { ...HOST_FUNCTION_TYPE, capability }])),
      [EXTISM_NAMESPACE]: EXTISM_IMPORTS,
    },
    exports: Object.fromEntries(Object.entries(GUEST_EXPORTS).map(([role, name]) => [name, { role, params: [], results: ['i32'] }])),
    hooks: HOOKS,
    capabilities: CAPABILITIES,
    limits: LIMITS,
    errorCodes: Object.keys(ERROR_CODES),
  };
}
