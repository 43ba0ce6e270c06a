/** Signed statements: JSON documents an operator's key vouches for (trace checkpoints, archive seals). */
export { signStatement, verifyStatement, StatementError, type SignedStatement, type StatementValue } from './statement.js';
