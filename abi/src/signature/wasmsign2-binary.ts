/**
 * Finding the `wasmsign2` binary (crate wasmsign2-cli) used to cross-check our signatures:
 * env `WASMSIGN2`, then the project's build cache, then `PATH`.
 */
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Where `.ci/run` builds wasmsign2 (cargo install --root), unless MCP0_CACHE moves it. */
export const WASMSIGN2_CACHE_PATH = join(process.env.MCP0_CACHE ?? join(homedir(), '.cache', 'mcp0'), 'wasmsign2-0.2.8', 'bin', 'wasmsign2');

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The path of an executable wasmsign2, or undefined when there is none. When `WASMSIGN2` is set it
 * is the only candidate, so a wrong setting is noticed instead of silently replaced.
 * @example
 * const bin = findWasmsign2()
 * if (bin) execFileSync(bin, ['verify', '-i', 'plugin.wasm', '-K', 'key.public'])
 */
export function findWasmsign2(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.WASMSIGN2) return isExecutable(env.WASMSIGN2) ? env.WASMSIGN2 : undefined;
  const onPath = (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, 'wasmsign2'));
  return [WASMSIGN2_CACHE_PATH, ...onPath].find(isExecutable);
}
