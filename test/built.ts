/**
 * For tests that run the BUILT packages (dist/) in child processes or threads: crash writers, node
 * processes, the MongoDB bridge's I/O thread, the installed `mcp0` bin. They must not test
 * yesterday's build. `tsc -b` is the judge of whether a build is current (comparing modification
 * times is not: it leaves an output alone when the source was only touched), and costs under a
 * second when nothing changed, which is always the case under `npm test`, which builds first.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
let built = false;

/**
 * Brings every package's dist/ up to date with its sources (`tsc -b` at the root), once per process.
 * @example
 * beforeAll(() => buildPackages())
 */
export function buildPackages(): void {
  if (built) return;
  // typescript's exports map names only package.json: its bin is found beside it.
  const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [tsc, '-b'], { cwd: ROOT, stdio: 'pipe' });
  } catch (e) {
    const out = e as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`tsc -b failed, so the built packages these tests run are not current:\n${out.stdout ?? ''}${out.stderr ?? ''}`, { cause: e });
  }
  built = true;
}
