/**
 * Building a plugin: `plugin.json` + `assembly/index.ts` → one `.wasm` artifact with its manifest
 * in the `mcp0.manifest` section (unsigned; signing is a later step). The build is reproducible:
 * the same sources give the same bytes, so a published hash can be checked by rebuilding.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { appendManifest, checkExports, checkImports, parseJson, validateManifest, type Manifest } from '@mcp0/abi';
import { compileAssembly } from './asc.js';

/** What a build gives. */
export interface BuildResult {
  /** The artifact: compiled module plus manifest section. */
  wasm: Uint8Array;
  /** Where it was written. */
  file: string;
  /** The validated manifest. */
  manifest: Manifest;
}

/** Build options. */
export interface BuildOptions {
  /** Output file. Default `<dir>/build/<last part of the manifest name>.wasm`. */
  out?: string;
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
  let json: unknown;
  try {
    // Strict JSON: a member named twice would put the last into the artifact, unseen by its author.
    json = parseJson(await readFile(manifestFile, 'utf8'));
  } catch (e) {
    throw new Error(`build: cannot read ${manifestFile}: ${(e as Error).message}`, { cause: e });
  }
  const manifest = validateManifest(json);

  const compiled = await compileAssembly({ baseDir: root });
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
  const file = opts.out !== undefined ? resolve(opts.out) : join(root, 'build', `${manifest.name.split('.').pop()}.wasm`);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, wasm);
  return { wasm, file, manifest };
}
