/**
 * The error a call rejects with, for the plugins' tests that check refusals member by member (a
 * plugin's typed error, its code, message and details).
 */
import { CallError } from '@mcp0/abi';

/**
 * The error `p` rejects with; fails the test when it resolves.
 * @example
 * expect((await rejection(kernel.callValue(name, 'verify', input))).code).toBe('ESIGNATURE')
 */
export async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; message: string; details: Record<string, unknown> };
  }
  throw new Error('expected a rejection, the call succeeded');
}

/**
 * The CallError `p` rejects with; fails the test when it resolves or rejects with anything else.
 * @example
 * expect((await callRejection(kernel.execute(request))).details.pointer).toBe('/by')
 */
export async function callRejection(p: Promise<unknown>): Promise<CallError> {
  const e = await rejection(p);
  if (!(e instanceof CallError)) throw new Error(`expected a CallError, got ${String(e)}`);
  return e;
}
