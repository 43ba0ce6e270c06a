/**
 * The reference artifacts the mutation generator starts from, and the hello plugin the campaign
 * calls after every module to check that the kernel still serves. They are the repository's build
 * outputs (`npm run build`): `distributions/standard/build/plugins/*.wasm`, `plugins/<name>/build/*.wasm`
 * and, when `npm start` has built them, `agents/<name>/build/*.wasm`. Each is kept without its
 * signatures and manifest, ready to be mutated, re-packed and re-signed.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANIFEST_SECTION, UsageError, readManifest, removeCustomSections, stripSignatures, type Manifest } from '@mcp0/abi';

/** One reference artifact. */
export interface Artifact {
  /** Path relative to the repository root. */
  path: string;
  /** The module without signature and manifest sections. */
  bare: Uint8Array;
  manifest: Manifest;
}

/**
 * The repository root: `MCP0_ROOT`, else the folder three levels above this file (conformance/
 * src|dist/fuzz), which is the root whenever the campaign runs from a checkout.
 */
export function repositoryRoot(): string {
  if (process.env.MCP0_ROOT) return resolve(process.env.MCP0_ROOT);
  return resolve(fileURLToPath(new URL('../../..', import.meta.url)));
}

function wasmFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.wasm'))
    .sort()
    .map((f) => join(dir, f));
}

function load(root: string, path: string): Artifact {
  const bytes = new Uint8Array(readFileSync(path));
  return { path: relative(root, path), bare: removeCustomSections(stripSignatures(bytes), MANIFEST_SECTION), manifest: readManifest(bytes) };
}

/**
 * Every reference artifact found under `root`. Throws EUSAGE when there is none, since then
 * nothing was built: run `npm run build` first.
 * @example
 * const artifacts = referenceArtifacts(repositoryRoot())
 */
export function referenceArtifacts(root: string): Artifact[] {
  const sub = (dir: string) =>
    existsSync(dir)
      ? readdirSync(dir)
          .sort()
          .map((d) => join(dir, d, 'build'))
      : [];
  const paths = [
    ...wasmFiles(join(root, 'distributions', 'standard', 'build', 'plugins')),
    ...sub(join(root, 'plugins')).flatMap(wasmFiles),
    ...sub(join(root, 'agents')).flatMap(wasmFiles),
  ];
  if (paths.length === 0) {
    throw new UsageError(
      'EUSAGE',
      `no reference artifacts under ${root}: expected distributions/standard/build/plugins/*.wasm and plugins/*/build/*.wasm (run npm run build)`,
      { root },
    );
  }
  return paths.map((p) => load(root, p));
}

/**
 * The hello plugin's built artifact (`plugins/hello/build/hello.wasm`), the known-good module.
 * @example
 * const hello = helloArtifact(repositoryRoot())
 */
export function helloArtifact(root: string): Artifact {
  const path = join(root, 'plugins', 'hello', 'build', 'hello.wasm');
  if (!existsSync(path)) throw new UsageError('EUSAGE', `the hello plugin is not built: expected ${path} (run npm run build)`, { path });
  return load(root, path);
}
