/**
 * The AssemblyScript compiler, run in-process through its JS API with the one set of flags every
 * MCP-ZERO module is built with. Sources are read from disk, the binary is kept in memory, and
 * diagnostics are collected so a failed build throws them rather than printing them.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

/**
 * The guest library's abort handler, by its internal name. asc names a file inside a package
 * `~lib/<package>/<path>`, and an element `<file without .ts>/<name>`.
 */
export const ABORT_HANDLER = '~lib/@mcp0/abi/as/errors/mcp0Abort';

/**
 * The flags of every build. `--use abort=` replaces AssemblyScript's default abort, which would
 * import `env.abort` (Extism provides none), with the library's handler (host `panic`, then trap).
 * The incremental runtime frees memory, which long-lived plugins need (`stub` never frees).
 */
export const ASC_FLAGS: readonly string[] = Object.freeze(['-O3', '--noAssert', '--runtime', 'incremental', '--use', `abort=${ABORT_HANDLER}`, '--noColors']);

/** What to compile. */
export interface CompileOptions {
  /** The directory the entry and relative paths (also those embedded in abort messages) are relative to. */
  baseDir: string;
  /** The entry file, relative to `baseDir`. Default `assembly/index.ts`. */
  entry?: string;
  /** Flags appended after ASC_FLAGS, e.g. `['--maximumMemory', '16']` or `['--debug']`. */
  extraFlags?: readonly string[];
  /** Told of every file the compiler asks for, by absolute path, with its text (null: not there). */
  onRead?: (path: string, text: string | null) => void;
  /** Told of every folder the compiler lists, by absolute path, with the sources in it (null: not there). */
  onList?: (path: string, files: string[] | null) => void;
}

/**
 * The compiler's version, which decides the output as much as the sources do.
 * @example
 * ASC_VERSION // '0.28.20'
 */
export const ASC_VERSION: string = (createRequire(import.meta.url)('assemblyscript/package.json') as { version: string }).version;

/** A compile that failed: the message holds asc's diagnostics. */
export class CompileError extends Error {
  override name = 'CompileError';
  constructor(
    message: string,
    /** asc's diagnostics, as it would print them. */
    readonly diagnostics: string,
  ) {
    super(message);
  }
}

/**
 * Compile one AssemblyScript entry file to a WebAssembly binary.
 * @example
 * const wasm = await compileAssembly({ baseDir: 'plugins/hello' })
 */
export async function compileAssembly(opts: CompileOptions): Promise<Uint8Array<ArrayBuffer>> {
  const baseDir = resolve(opts.baseDir);
  const entry = opts.entry ?? 'assembly/index.ts';
  const argv = [entry, '--baseDir', baseDir, '--outFile', 'module.wasm', ...ASC_FLAGS];
  const packages = guestPackagesDir();
  // A plugin's own node_modules wins; this fallback finds the library next to this tool.
  if (packages !== null) argv.push('--path', packages);
  argv.push(...(opts.extraFlags ?? []));

  // Loaded here, not with this module: it takes half a second, which an up-to-date build skips.
  const { default: asc } = await import('assemblyscript/asc');
  const stdout = asc.createMemoryStream();
  const stderr = asc.createMemoryStream();
  let binary: Uint8Array<ArrayBuffer> | null = null;
  const result = await asc.main(argv, {
    stdout,
    stderr,
    readFile: async (file, dir) => {
      const path = resolve(dir, file);
      const text = await readFile(path, 'utf8').catch(() => null);
      opts.onRead?.(path, text);
      return text;
    },
    writeFile: (file, contents) => {
      if (file === 'module.wasm' && contents instanceof Uint8Array) binary = new Uint8Array(contents);
    },
    listFiles: async (dir, base) => {
      const path = resolve(base, dir);
      const files = await readdir(path).then(
        (all) => all.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
        () => null,
      );
      opts.onList?.(path, files);
      return files;
    },
  });
  const diagnostics = stderr.toString().trim();
  if (result.error !== null) {
    // The one failure every newcomer meets: a module that never imports the guest library.
    const hint = diagnostics.includes(ABORT_HANDLER)
      ? '\nhint: the module must import "@mcp0/abi/as" (at least `export { mcp0_abi_v1 } from "@mcp0/abi/as"`)'
      : '';
    throw new CompileError(`asc: ${join(baseDir, entry)} did not compile: ${result.error.message}\n${diagnostics}${hint}`, diagnostics);
  }
  if (binary === null) throw new CompileError(`asc: ${join(baseDir, entry)} produced no binary\n${diagnostics}`, diagnostics);
  return binary;
}

/** The nearest node_modules above this file that holds the guest library, or null. */
function guestPackagesDir(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'node_modules');
    if (existsSync(join(candidate, '@mcp0', 'abi', 'as', 'index.ts'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}
