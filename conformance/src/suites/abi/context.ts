/**
 * The ABI suite's shared context: the subject and its module compiled once (uncapped, unsigned
 * checks only), so load-check cases can inspect it even when the artifact would not load.
 */
import type { PluginSubject } from '../../runner/subject.js';

/**
 * What every ABI case gets.
 * @example
 * const c: Case<AbiContext> = { name: 'x', run: async ({ subject, compiled }) => {} }
 */
export interface AbiContext {
  subject: PluginSubject;
  /** The artifact compiled as is, or the reason it does not compile. */
  compiled: WebAssembly.Module | Error;
}

/**
 * Builds the context; never throws, so that each case reports its own failure.
 * @example
 * const ctx = await abiContext(subject)
 */
export async function abiContext(subject: PluginSubject): Promise<AbiContext> {
  let compiled: WebAssembly.Module | Error;
  try {
    compiled = await WebAssembly.compile(subject.bytes as Uint8Array<ArrayBuffer>);
  } catch (e) {
    compiled = e as Error;
  }
  return { subject, compiled };
}
