/**
 * Building a plugin: `plugin.json` + `assembly/index.ts` → one `.wasm` artifact with its manifest
 * in the `mcp0.manifest` section (unsigned; signing is a later step). The build is reproducible:
 * the same sources give the same bytes, so a published hash can be checked by rebuilding.
 */
import { readdirSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ABI_VERSION, appendManifest, checkExports, checkImports, parseJson, validateManifest, type Manifest } from '@mcp0/abi';
import { ASC_FLAGS, ASC_VERSION, compileAssembly } from './asc.js';
import { writeAtomic } from './atomic-write.js';
import { BuildInputs, reusable, toolsFingerprint, writeRecord } from './incremental.js';

/** What a build gives. */
export interface BuildResult {
  /** The artifact: compiled module plus manifest section. */
  wasm: Uint8Array;
  /** Where it was written. */
  file: string;
  /** The validated manifest. */
  manifest: Manifest;
  /** True when an incremental build found nothing changed and reused the artifact. */
  reused: boolean;
}

/** Build options. */
export interface BuildOptions {
  /** Output file. Default `<dir>/build/<last part of the manifest name>.wasm`. */
  out?: string;
  /**
   * Reuse the artifact at `out` when nothing it was built from changed (default false): the record
   * of every input is kept beside it at `<out>.inputs.json` (incremental.ts). Off, it compiles.
   */
  incremental?: boolean;
}

/** Imports AssemblyScript adds for some std features, with what to use instead. */
const ENV_HINTS: Record<string, string> = {
  abort: 'the abort handler was not wired in: the module must import "@mcp0/abi/as"',
  seed: 'Math.random needs a host seed: use randomBytes() from "@mcp0/abi/as"',
  'Date.now': 'Date.now is not available: use clockNow() from "@mcp0/abi/as"',
  trace: 'trace() is not available: use log() from "@mcp0/abi/as"',
};

/**
 * Build the plugin in `dir`.
 * @example
 * const { file, wasm } = await buildPlugin('plugins/hello') // → plugins/hello/build/hello.wasm
 */
export async function buildPlugin(dir: string, opts: BuildOptions = {}): Promise<BuildResult> {
  const root = resolve(dir);
  const manifestFile = join(root, 'plugin.json');
  let manifestText: string;
  let json: unknown;
  try {
    manifestText = await readFile(manifestFile, 'utf8');
    // Strict JSON: a member named twice would put the last into the artifact, unseen by its author.
    json = parseJson(manifestText);
  } catch (e) {
    throw new Error(`build: cannot read ${manifestFile}: ${(e as Error).message}`, { cause: e });
  }
  const manifest = validateManifest(json);
  const file = opts.out !== undefined ? resolve(opts.out) : join(root, 'build', `${manifest.name.split('.').pop()}.wasm`);

  if (opts.incremental === true) {
    const wasm = await reusable(file, buildTools());
    if (wasm !== undefined) return { wasm, file, manifest, reused: true };
  }
  const inputs = new BuildInputs();
  inputs.file(manifestFile, manifestText);
  const compiled = await compileAssembly({ baseDir: root, onRead: (path, text) => inputs.file(path, text), onList: (path, files) => inputs.dir(path, files) });
  const mod = new WebAssembly.Module(compiled);
  for (const imp of WebAssembly.Module.imports(mod)) {
    if (imp.module === 'env') {
      const hint = ENV_HINTS[imp.name] ?? 'only extism:host/env and mcp0:abi/v1 may be imported';
      throw new Error(`build: ${manifest.name} imports env.${imp.name}: ${hint}`);
    }
  }
  checkImports(mod);
  checkExports(mod, manifest);

  const wasm = appendManifest(compiled, manifest);
  await mkdir(dirname(file), { recursive: true });
  await writeAtomic(file, wasm);
  // A record left by an earlier incremental build names other bytes now, so it can never match.
  if (opts.incremental === true) await writeRecord(file, inputs.record(buildTools(), wasm));
  return { wasm, file, manifest, reused: false };
}

let tools: string | undefined;

/**
 * What decides a build's output besides its sources: the compiler, the flags, the ABI library, this
 * package's code. Read once per process, and only by incremental builds.
 */
function buildTools(): string {
  if (tools !== undefined) return tools;
  const here = dirname(fileURLToPath(import.meta.url));
  const code = readdirSync(here)
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts') && !f.includes('.test.'))
    .sort()
    .map((f) => join(here, f));
  tools = toolsFingerprint([`assemblyscript ${ASC_VERSION}`, `abi ${ABI_VERSION}`, ...ASC_FLAGS], code);
  return tools;
}
