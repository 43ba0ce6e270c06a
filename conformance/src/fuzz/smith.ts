/**
 * Generator (a): random valid modules from `wasm-tools smith`, aimed at the kernel. smith reads its
 * choices from a byte string; the campaign feeds it bytes from the seeded PRNG, so the same seed
 * gives the same module. Each module gets a swarm-style configuration (limits, features, with or
 * without smith's termination fuel) drawn from the same seed, the ABI's imports as the imports it
 * may use, and an exports shape holding the version marker, so most modules load and run.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '@mcp0/abi';
import type { Prng } from './prng.js';
import { abiImportsModule, chooseExports, exportsModule, type ExportShape } from './shape.js';

/** The wasm-tools release the campaign is written against (its smith options are version-specific). */
export const WASM_TOOLS_VERSION = '1.263.0';

/**
 * The `wasm-tools` binary: `$WASM_TOOLS`, else the CI cache (`~/.cache/mcp0/wasm-tools-<v>/bin`,
 * or under `$MCP0_CACHE`), else undefined.
 * @example
 * const bin = findWasmTools() ?? skip('wasm-tools is not built')
 */
export function findWasmTools(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.WASM_TOOLS) return existsSync(env.WASM_TOOLS) ? env.WASM_TOOLS : undefined;
  const cache = env.MCP0_CACHE ?? join(homedir(), '.cache', 'mcp0');
  const path = join(cache, `wasm-tools-${WASM_TOOLS_VERSION}`, 'bin', 'wasm-tools');
  return existsSync(path) ? path : undefined;
}

/** One generated module with the exports its manifest must list. */
export interface SmithModule {
  bytes: Uint8Array;
  /** Function exports (the marker and hooks included). */
  exports: ExportShape[];
  /** The smith options used, for the crash report. */
  options: Record<string, unknown>;
}

/**
 * smith's configuration for one module. Features Node 20's V8 cannot compile (GC, exnref
 * exceptions, memory64, relaxed SIMD, wide arithmetic, compact imports...) are off so modules get
 * past compilation; the rest varies per module: instruction and function counts, traps allowed
 * or not, a start function, padded LEB128s, table sizes up to ten million elements, memory over
 * the cap (the load must refuse it), threads (a shared memory must be refused too).
 */
function smithConfig(rng: Prng, importsPath: string, exportsPath: string, exportsMemory: boolean): Record<string, unknown> {
  return {
    'available-imports': importsPath,
    exports: exportsPath,
    'compact-imports-enabled': false,
    'gc-enabled': false,
    'exceptions-enabled': false,
    'memory64-enabled': false,
    'relaxed-simd-enabled': false,
    'wide-arithmetic-enabled': false,
    'custom-page-sizes-enabled': false,
    'extended-const-enabled': false,
    // smith adds the exported memory on top of those it chose itself: then it may choose none.
    'max-memories': exportsMemory ? 0 : 1,
    'threads-enabled': rng.chance(0.1),
    'simd-enabled': rng.chance(0.5),
    'tail-call-enabled': rng.chance(0.5),
    'reference-types-enabled': rng.chance(0.7),
    'bulk-memory-enabled': rng.chance(0.8),
    'multi-value-enabled': rng.chance(0.8),
    'allow-start-export': rng.chance(0.3),
    'disallow-traps': rng.chance(0.3),
    'canonicalize-nans': rng.chance(0.1),
    'generate-custom-sections': rng.chance(0.1),
    'min-uleb-size': rng.chance(0.15) ? rng.range(2, 5) : 1,
    // Imports count against max-funcs, and min-funcs makes most seeds fail (smith's exit 2).
    'max-funcs': rng.pick([10, 30, 100]),
    'max-instructions': rng.pick([10, 50, 100, 400, 1000]),
    'max-imports': rng.pick([4, 20, 100]),
    'max-types': rng.pick([10, 50, 100]),
    'max-globals': rng.pick([0, 10, 50]),
    'max-data-segments': rng.pick([0, 4, 20]),
    'max-element-segments': rng.pick([0, 4, 20]),
    'max-tables': rng.pick([0, 1, 3]),
    'max-table-elements': Number(rng.weighted({ '100': 50, '10000': 30, '1000000': 15, '10000000': 5 })),
    // Memory over the manifest's 32 pages must be refused at load, so a few modules ask for more.
    'max-memory32-bytes': rng.chance(0.9) ? 32 * 65536 : 4096 * 65536,
  };
}

/**
 * Runs `wasm-tools smith` for one seed; undefined when smith cannot build a module from the bytes
 * (its exit code 2, which its documentation calls rare and harmless).
 */
export class SmithGenerator {
  readonly #bin: string;
  readonly #dir: string;
  readonly #importsPath: string;
  #n = 0;

  private constructor(bin: string, dir: string) {
    this.#bin = bin;
    this.#dir = dir;
    this.#importsPath = join(dir, 'abi-imports.wasm');
  }

  /**
   * A generator using `bin`, with a scratch folder for smith's input files.
   * @example
   * const smith = await SmithGenerator.create(findWasmTools()!)
   */
  static async create(bin: string): Promise<SmithGenerator> {
    const g = new SmithGenerator(bin, await mkdtemp(join(tmpdir(), 'mcp0-fuzz-smith-')));
    await writeFile(g.#importsPath, abiImportsModule());
    return g;
  }

  /** Generate the module of one seed. */
  async generate(rng: Prng): Promise<SmithModule | undefined> {
    const id = this.#n++;
    const shape = chooseExports(rng);
    const exportsPath = join(this.#dir, `exports-${id}.wasm`);
    const configPath = join(this.#dir, `config-${id}.json`);
    const outPath = join(this.#dir, `module-${id}.wasm`);
    const config = smithConfig(rng, this.#importsPath, exportsPath, shape.memory !== undefined);
    // A third of the modules run without smith's fuel: those are the ones that loop for ever.
    const terminate = rng.chance(0.66);
    const fuel = rng.pick([10, 100, 1000, 100_000]);
    const args = ['smith', '-c', configPath, '-o', outPath, ...(terminate ? ['--ensure-termination', '--fuel', String(fuel)] : [])];
    const seedBytes = rng.bytes(rng.pick([256, 1024, 4096, 4096, 16384]));
    await writeFile(exportsPath, exportsModule(shape.exports, shape.memory));
    await writeFile(configPath, JSON.stringify(config));
    try {
      const code = await run(this.#bin, args, seedBytes);
      if (code === 2) return undefined;
      const bytes = new Uint8Array(await readFile(outPath));
      const options = {
        ...config,
        'available-imports': undefined,
        exports: shape.exports.map((e) => e.name),
        memory: shape.memory,
        ensureTermination: terminate ? fuel : false,
      };
      return { bytes, exports: shape.exports, options };
    } finally {
      await Promise.all([exportsPath, configPath, outPath].map((p) => rm(p, { force: true })));
    }
  }

  /** Remove the scratch folder. */
  async close(): Promise<void> {
    await rm(this.#dir, { recursive: true, force: true });
  }
}

/** Run smith with `input` on stdin; resolves its exit code, rejects (EUSAGE) on anything but 0 or 2. */
function run(bin: string, args: string[], input: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new UsageError('EUSAGE', `wasm-tools smith could not be run (${bin}): ${e.message}`, { bin }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 || code === 2) resolve(code);
      else reject(new UsageError('EUSAGE', `wasm-tools smith failed (${signal ?? `exit ${code}`}): ${stderr.trim().slice(0, 1000)}`, { bin, args }));
    });
    // smith may exit before reading all of its input (it stops when it has what it needs).
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}
