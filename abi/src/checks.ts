/**
 * The contract rules a host applies to a module after its signature and manifest: ABI version
 * compatibility, imports within ABI v1 (names, kinds and types), and exports matching the manifest.
 */
import semver from 'semver';
import { ABI_NAMESPACE, ABI_VERSION, EXTISM_IMPORTS, EXTISM_NAMESPACE, GUEST_EXPORTS, HOST_FUNCTION_TYPE, HOST_FUNCTIONS } from './abi-v1.js';
import { parseSections } from './wasm/sections.js';
import { decodeU32 } from './wasm/leb128.js';
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
    throw new LoadError('EABI', `${manifest.name}: abi "${manifest.abi}" is not a semver range`, {
      check: 'abi',
      expected: 'a semver range such as ^1.0',
      got: manifest.abi,
    });
  }
  if (!semver.satisfies(hostVersion, range)) {
    throw new LoadError('EABI', `${manifest.name}: needs ABI ${manifest.abi}, this host serves ${hostVersion}`, {
      check: 'abi',
      expected: manifest.abi,
      got: hostVersion,
    });
  }
}

/** A function type as ABI v1 writes it. */
interface FuncType {
  readonly params: readonly string[];
  readonly results: readonly string[];
}

/** One import of a module; `type` only when read from the binary (WebAssembly.Module.imports has none in Node 20). */
interface Import {
  module: string;
  name: string;
  kind: string;
  type?: FuncType;
}

/**
 * Throws `EIMPORT` naming the first import outside ABI v1: an unknown namespace or function, an
 * imported memory, table, global or tag, the same import twice, or (given the module's bytes) a
 * function whose type is not the one ABI v1 gives it. A wrongly typed import would reach the host
 * with values the host does not expect (an `f64` NaN where `alloc` counts an `i64`).
 * @example
 * checkImports(bytes) // throws EIMPORT for (import "extism:host/env" "alloc" (func (param f64) (result i64)))
 */
export function checkImports(source: Uint8Array | WebAssembly.Module): void {
  const seen = new Set<string>();
  const imports: Import[] =
    source instanceof Uint8Array ? importsOf(source) : WebAssembly.Module.imports(source).map(({ module, name, kind }) => ({ module, name, kind }));
  for (const imp of imports) {
    const where = `${imp.module}.${imp.name}`;
    const expected: FuncType | undefined =
      imp.kind !== 'function'
        ? undefined
        : imp.module === EXTISM_NAMESPACE && Object.hasOwn(EXTISM_IMPORTS, imp.name)
          ? EXTISM_IMPORTS[imp.name as keyof typeof EXTISM_IMPORTS]
          : imp.module === ABI_NAMESPACE && Object.hasOwn(HOST_FUNCTIONS, imp.name)
            ? HOST_FUNCTION_TYPE
            : undefined;
    const details = { check: 'imports', import: where, kind: imp.kind };
    if (!expected) {
      throw new LoadError('EIMPORT', `import ${where} (${imp.kind}) is not part of ABI v1`, {
        ...details,
        expected: `functions from ${EXTISM_NAMESPACE} or ${ABI_NAMESPACE}`,
      });
    }
    const type = imp.type && typeText(imp.type);
    if (seen.has(where)) {
      throw new LoadError('EIMPORT', `import ${where} appears twice; ABI v1 allows each import once`, {
        ...details,
        expected: typeText(expected),
        got: type ?? 'a second import',
      });
    }
    seen.add(where);
    if (type !== undefined && type !== typeText(expected)) {
      throw new LoadError('EIMPORT', `import ${where} has type ${type}; ABI v1 gives it ${typeText(expected)}`, {
        ...details,
        expected: typeText(expected),
        got: type,
      });
    }
  }
}

function typeText(t: FuncType): string {
  return `(${t.params.join(', ')}) -> (${t.results.join(', ')})`;
}

const VALUE_TYPES: Record<number, string> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };
const IMPORT_KINDS = ['function', 'table', 'memory', 'global', 'tag'];

/**
 * The imports of a module with their function types, from its type (1) and import (2) sections.
 * Stops after the first import that is not a function: ABI v1 refuses it, and its description
 * need not be decoded.
 */
function importsOf(bytes: Uint8Array): Import[] {
  const types: FuncType[] = [];
  const imports: Import[] = [];
  const utf8 = new TextDecoder();
  for (const { id, payload } of parseSections(bytes)) {
    let pos = 0;
    const u32 = () => {
      const [v, next] = decodeU32(payload, pos);
      pos = next;
      return v;
    };
    const byte = () => {
      if (pos >= payload.length) throw new LoadError('ENOTWASM', `section ${id} is truncated`, { check: 'wasm' });
      return payload[pos++]!;
    };
    const valueTypes = () =>
      Array.from({ length: u32() }, () => {
        const code = byte();
        const name = VALUE_TYPES[code];
        if (!name) throw new LoadError('EIMPORT', `type section: value type 0x${code.toString(16)} is outside ABI v1`, { check: 'imports' });
        return name;
      });
    const text = () => {
      const n = u32();
      pos += n;
      return utf8.decode(payload.subarray(pos - n, pos));
    };
    if (id === 1) {
      for (let n = u32(); n > 0; n--) {
        const form = byte();
        if (form !== 0x60) throw new LoadError('EIMPORT', `type section: type form 0x${form.toString(16)} is outside ABI v1`, { check: 'imports' });
        types.push({ params: valueTypes(), results: valueTypes() });
      }
    } else if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        const module = text();
        const name = text();
        const kind = IMPORT_KINDS[byte()] ?? 'unknown';
        if (kind !== 'function') return [...imports, { module, name, kind }];
        const index = u32();
        imports.push({ module, name, kind, type: types[index] ?? { params: [`type #${index}`], results: [] } });
      }
    }
  }
  return imports;
}

/**
 * Throws `EMANIFEST` unless the module exports the version marker, every export the manifest
 * lists, and the export of every hook it declares.
 */
export function checkExports(mod: WebAssembly.Module, manifest: Manifest): void {
  const functions = new Set(
    WebAssembly.Module.exports(mod)
      .filter((e) => e.kind === 'function')
      .map((e) => e.name),
  );
  const required = [GUEST_EXPORTS.marker, ...manifest.exports.map((e) => e.name), ...(manifest.hooks ?? []).map((h) => GUEST_EXPORTS[h])];
  const missing = required.filter((name) => !functions.has(name));
  if (missing.length > 0) {
    throw new LoadError('EMANIFEST', `${manifest.name}: the module does not export ${missing.join(', ')}`, { check: 'exports', missing });
  }
}
