/**
 * Tiny WebAssembly modules that tell `wasm-tools smith` what shape to give the modules it
 * generates: the imports it may use (every function of ABI v1, so generated modules pass the
 * kernel's import check and actually run against the host functions) and the exports they must
 * have (the version marker, optionally `mcp0_init` and `mcp0_stop`, and a few service exports).
 * Only these shape modules are hand-encoded; everything inside the generated modules is smith's.
 */
import {
  ABI_NAMESPACE,
  EXTISM_IMPORTS,
  EXTISM_NAMESPACE,
  GUEST_EXPORTS,
  HOST_FUNCTIONS,
  HOST_FUNCTION_TYPE,
  WASM_HEADER,
  concatBytes,
  encodeSection,
  encodeU32,
} from '@mcp0/abi';
import type { Prng } from './prng.js';

/** A WebAssembly value type by its text name. */
export type ValType = 'i32' | 'i64' | 'f32' | 'f64';

/** A function type. */
export interface FuncType {
  params: readonly ValType[];
  results: readonly ValType[];
}

/** One function export of an exports shape. */
export interface ExportShape {
  name: string;
  type: FuncType;
}

const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c };
const utf8 = new TextEncoder();

function vec(items: readonly Uint8Array[]): Uint8Array {
  return concatBytes(encodeU32(items.length), ...items);
}

function name(text: string): Uint8Array {
  const b = utf8.encode(text);
  return concatBytes(encodeU32(b.length), b);
}

function funcType(t: FuncType): Uint8Array {
  return concatBytes(Uint8Array.of(0x60), vec(t.params.map((p) => Uint8Array.of(VALTYPE[p]))), vec(t.results.map((r) => Uint8Array.of(VALTYPE[r]))));
}

/** Interns function types, so each distinct signature is written once. */
class Types {
  readonly list: FuncType[] = [];
  readonly #index = new Map<string, number>();
  of(t: FuncType): number {
    const key = `${t.params.join(',')}->${t.results.join(',')}`;
    let i = this.#index.get(key);
    if (i === undefined) {
      this.#index.set(key, (i = this.list.length));
      this.list.push(t);
    }
    return i;
  }
  section(): Uint8Array {
    return encodeSection(1, vec(this.list.map(funcType)));
  }
}

/**
 * A module that only imports every function ABI v1 allows, with its exact type: smith's
 * `available-imports`. Generated modules import a random subset of these.
 * @example
 * writeFileSync('imports.wasm', abiImportsModule())
 */
export function abiImportsModule(): Uint8Array {
  const types = new Types();
  const imports: Uint8Array[] = [];
  for (const [fn, t] of Object.entries(EXTISM_IMPORTS)) {
    imports.push(concatBytes(name(EXTISM_NAMESPACE), name(fn), Uint8Array.of(0x00), encodeU32(types.of(t as FuncType))));
  }
  for (const fn of Object.keys(HOST_FUNCTIONS)) {
    imports.push(concatBytes(name(ABI_NAMESPACE), name(fn), Uint8Array.of(0x00), encodeU32(types.of(HOST_FUNCTION_TYPE as unknown as FuncType))));
  }
  return concatBytes(WASM_HEADER, types.section(), encodeSection(2, vec(imports)));
}

/** Extism's export convention: no parameters, an i32 status. */
const EXTISM_EXPORT: FuncType = { params: [], results: ['i32'] };

/**
 * The exports one generated module must have, chosen by `rng`: always the version marker, often
 * `mcp0_init` (so module start-up runs generated code) and `mcp0_stop`, and 1-4 service exports,
 * mostly of Extism's `() -> i32` type and sometimes of another type (the host must survive an
 * export it calls with the wrong arity).
 * @example
 * const { exports, memory } = chooseExports(new Prng('x'))
 */
export function chooseExports(rng: Prng): { exports: ExportShape[]; memory: { min: number; max?: number } | undefined } {
  const exports: ExportShape[] = [{ name: GUEST_EXPORTS.marker, type: EXTISM_EXPORT }];
  if (rng.chance(0.5)) exports.push({ name: GUEST_EXPORTS.init, type: EXTISM_EXPORT });
  if (rng.chance(0.3)) exports.push({ name: GUEST_EXPORTS.stop, type: EXTISM_EXPORT });
  const services = rng.range(1, 4);
  const types: ValType[] = ['i32', 'i64', 'f32', 'f64'];
  for (let i = 0; i < services; i++) {
    const type = rng.chance(0.85)
      ? EXTISM_EXPORT
      : { params: Array.from({ length: rng.int(3) }, () => rng.pick(types)), results: Array.from({ length: rng.int(2) }, () => rng.pick(types)) };
    exports.push({ name: `f${i}`, type });
  }
  // Extism guests export their memory as "memory"; some generated modules do, some have none.
  const memory = rng.chance(0.6) ? { min: rng.pick([0, 1, 1, 2, 16]), ...(rng.chance(0.5) ? { max: rng.pick([1, 16, 32, 64, 65536]) } : {}) } : undefined;
  if (memory && memory.max !== undefined && memory.max < memory.min) memory.max = memory.min;
  return { exports, memory };
}

/**
 * A module exporting exactly `exports` (bodies are `unreachable`) and, when given, a memory named
 * `memory`: smith's `exports` shape. smith keeps the names and types and writes its own bodies.
 * @example
 * exportsModule([{ name: 'mcp0_abi_v1', type: { params: [], results: ['i32'] } }], { min: 1 })
 */
export function exportsModule(exports: readonly ExportShape[], memory?: { min: number; max?: number }): Uint8Array {
  const types = new Types();
  const funcs = exports.map((e) => encodeU32(types.of(e.type)));
  const body = Uint8Array.of(0x00, 0x00, 0x0b); // no locals, unreachable, end
  const code = exports.map(() => concatBytes(encodeU32(body.length), body));
  const exportEntries = exports.map((e, i) => concatBytes(name(e.name), Uint8Array.of(0x00), encodeU32(i)));
  const parts = [WASM_HEADER, types.section(), encodeSection(3, vec(funcs))];
  if (memory) {
    const limits =
      memory.max === undefined
        ? concatBytes(Uint8Array.of(0x00), encodeU32(memory.min))
        : concatBytes(Uint8Array.of(0x01), encodeU32(memory.min), encodeU32(memory.max));
    parts.push(encodeSection(5, vec([limits])));
    exportEntries.push(concatBytes(name('memory'), Uint8Array.of(0x02), encodeU32(0)));
  }
  parts.push(encodeSection(7, vec(exportEntries)), encodeSection(10, vec(code)));
  return concatBytes(...parts);
}
