/** Test helper shared by the SDK's suites: the error a call rejects (or throws) with. */
import type { Mcp0Error } from '@mcp0/abi';

/** The error `f` rejects with, or fails the test when it succeeds. */
export async function rejection(f: () => unknown): Promise<Mcp0Error> {
  try {
    await f();
  } catch (e) {
    return e as Mcp0Error;
  }
  throw new Error('expected an error, none was thrown');
}
