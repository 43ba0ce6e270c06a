/**
 * Writing a build output so that no reader ever sees half of it: the bytes go to a temporary file
 * beside the target, which is then renamed over it (atomic on one file system). Several processes
 * may build the same plugin into one place at once (test processes sharing a fixture cache, two
 * `mcp0 build`s); each reader sees either the old file or a whole new one.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';

/**
 * Replaces `file` with `data` in one step.
 * @example
 * await writeAtomic('plugins/hello/build/hello.wasm', wasm)
 */
export async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const temporary = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, data);
    await rename(temporary, file);
  } catch (e) {
    await rm(temporary, { force: true });
    throw e;
  }
}
