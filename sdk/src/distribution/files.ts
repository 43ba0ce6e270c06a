/**
 * Plugin artifacts inside a distribution directory: a `file` entry must stay inside the
 * directory (no `..`, no absolute path, no symbolic link pointing out), and is read whole up to a
 * size limit, so a hostile lockfile cannot make the verifier read /etc/shadow or a 10 GB file.
 */
import { createHash } from 'node:crypto';
import { open, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { LoadError } from '@mcp0/abi';

/**
 * The largest plugin artifact read (a WebAssembly module of 64 MiB is already absurd for a plugin).
 * @example
 * if (stat.size > MAX_ARTIFACT_BYTES) refuse()
 */
export const MAX_ARTIFACT_BYTES = 64 * 1024 * 1024;

/**
 * Lower-case hex SHA-256.
 * @example
 * sha256Hex(bytes) // 'e3b0c442…'
 */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const inside = (root: string, path: string) => {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
};

/**
 * Read the artifact `file` (relative to `dir`) of plugin `plugin`. Throws `ENOTFOUND` (check
 * 'file') when it is missing, `EINPUT` when the path leaves the directory, `ETOOBIG` past the limit.
 * @example
 * const bytes = await readArtifact('distributions/standard/build', 'mcp0.trace', 'plugins/mcp0.trace.wasm')
 */
export async function readArtifact(dir: string, plugin: string, file: string): Promise<Uint8Array> {
  const root = resolve(dir);
  const path = resolve(root, file);
  if (isAbsolute(file) || !inside(root, path)) {
    throw new LoadError('EINPUT', `plugin ${plugin}: file ${file} is outside the distribution directory`, { check: 'file', plugin, file });
  }
  let real: string;
  try {
    real = await realpath(path);
  } catch (e) {
    throw new LoadError(
      'ENOTFOUND',
      `plugin ${plugin}: file ${file} is missing (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      { check: 'file', plugin, file },
      { cause: e },
    );
  }
  if (!inside(await realpath(root), real)) {
    throw new LoadError('EINPUT', `plugin ${plugin}: file ${file} links outside the distribution directory (to ${real})`, { check: 'file', plugin, file });
  }
  const handle = await open(real, 'r');
  try {
    const { size } = await handle.stat();
    if (size > MAX_ARTIFACT_BYTES)
      throw new LoadError('ETOOBIG', `plugin ${plugin}: file ${file} is ${size} bytes, the limit is ${MAX_ARTIFACT_BYTES}`, { check: 'file', plugin, file });
    const bytes = new Uint8Array(size);
    const { bytesRead } = await handle.read(bytes, 0, size, 0);
    return bytes.subarray(0, bytesRead);
  } catch (e) {
    if (e instanceof LoadError) throw e;
    throw new LoadError(
      'ENOTFOUND',
      `plugin ${plugin}: file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      { check: 'file', plugin, file },
      { cause: e },
    );
  } finally {
    await handle.close();
  }
}
