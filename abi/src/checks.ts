/**
 * The contract rules a host applies to a module after its signature and manifest: ABI version
 * compatibility, imports within ABI v1, and exports matching the manifest.
 */
import semver from 'semver';
import { ABI_NAMESPACE, ABI_VERSION, EXTISM_IMPORTS, EXTISM_NAMESPACE, GUEST_EXPORTS, HOST_FUNCTIONS } from './abi-v1.js';
import { LoadError } from './errors/index.js';
import type { Manifest } from './manifest/types.js';

/**
 * Throws `EABI` unless this host's ABI version satisfies the manifest's `abi` range.
 * @example
 * checkAbi({ abi: '^1.0', ... }) // ok on a 1.x host; '^2.0' throws EABI
 */
export function checkAbi(manifest: Pick<Manifest, 'abi' | 'name'>, hostVersion: string = ABI_VERSION): void {
  const range = semver.validRange(manifest.abi);
  if (range === null) {
    throw new LoadError('EABI', `${manifest.name}: abi "${manifest.abi}" is not a semver range`, { check: 'abi', expected: 'a semver range such as ^1.0', got: manifest.abi });
  }
  if (!semver.satisfies(hostVersion, range)) {
    throw new LoadError('EABI', `${manifest.name}: needs ABI ${manifest.abi}, this host serves ${hostVersion}`, { check: 'abi', expected: manifest.abi, got: hostVersion });
  }
}

/**
 * Throws `EIMPORT` naming the first import outside ABI v1 (an unknown namespace or function, or
 * an imported memory, table or global).
 */
export function checkImports(mod: WebAssembly.Module): void {
  for (const imp of WebAssembly.Module.imports(mod)) {
    const where = `${imp.module}.${imp.name}`;
    const allowed =
      imp.kind === 'function' &&
      ((imp.module === EXTISM_NAMESPACE && Object.hasOwn(EXTISM_IMPORTS, imp.name)) ||
        (imp.module === ABI_NAMESPACE && Object.hasOwn(HOST_FUNCTIONS, imp.name)));
    if (!allowed) {
      throw new LoadError('EIMPORT', `import ${where} (${imp.kind}) is not part of ABI v1`, {
        check: 'imports',
        import: where,
        kind: imp.kind,
        expected: `functions from ${EXTISM_NAMESPACE} or ${ABI_NAMESPACE}`,
      });
    }
  }
}

/**
 * Throws `EMANIFEST` unless the module exports the version marker, every export the manifest
 * lists, and the export of every hook it declares.
 */
export function checkExports(mod: WebAssembly.Module, manifest: Manifest): void {
  const functions = new Set(WebAssembly.Module.exports(mod).filter((e) => e.kind === 'function').map((e) => e.name));
  const required = [
    GUEST_EXPORTS.marker,
    ...manifest.exports.map((e) => e.name),
    ...(manifest.hooks ?? []).map((h) => GUEST_EXPORTS[h]),
  ];
  const missing = required.filter((name) => !functions.has(name));
  if (missing.length > 0) {
    throw new LoadError('EMANIFEST', `${manifest.name}: the module does not export ${missing.join(', ')}`, { check: 'exports', missing });
  }
}
