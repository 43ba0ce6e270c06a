/**
 * From a seed to a packed, signed module: the seed picks the generator (smith or a mutant of a
 * reference artifact) and drives every random choice after that, so module `seed` of a campaign
 * is the same module in any later campaign run with the same reference artifacts and wasm-tools
 * version (and the same generator: a run with both picks one per seed).
 */
import { UsageError, type PrivateKey } from '@mcp0/abi';
import type { Artifact } from './artifacts.js';
import { spliceLoop } from './loops.js';
import { mutate } from './mutate.js';
import { fuzzManifest, pack, type FuzzLimits } from './pack.js';
import { Prng } from './prng.js';
import type { SmithGenerator } from './smith.js';

/** The module generators. */
export type GeneratorName = 'smith' | 'mutate';

/** One generated module, ready for the target. */
export interface FuzzModule {
  seed: number;
  /** `replay`: a saved crash module run again. */
  generator: GeneratorName | 'replay';
  /** What it came from: smith's options, or the artifact and the mutations applied. */
  origin: Record<string, unknown>;
  /** The packed artifact the kernel is given. */
  bytes: Uint8Array;
  /** The service exports its manifest lists: the ones the target calls. */
  exports: string[];
  /** Set when the module could not be packed normally (see pack.ts). */
  packing?: string;
  /** A replayed module's signer (hex), when it is not the campaign's key. */
  publicKey?: string;
}

/** What the factory needs. */
export interface FactoryOptions {
  generators: readonly GeneratorName[];
  artifacts: readonly Artifact[];
  smith?: SmithGenerator;
  key: PrivateKey;
  limits: FuzzLimits;
}

/**
 * Makes the module of a seed.
 * @example
 * const m = await new ModuleFactory(options).make(1234)
 */
export class ModuleFactory {
  readonly #o: FactoryOptions;

  constructor(options: FactoryOptions) {
    if (options.generators.includes('smith') && !options.smith) throw new UsageError('EUSAGE', 'ModuleFactory: the smith generator needs a SmithGenerator');
    this.#o = options;
  }

  /** The module of `seed`, or undefined when smith could not build one from its bytes. */
  async make(seed: number): Promise<FuzzModule | undefined> {
    // The generator is drawn from a stream of its own, so module `seed` is the same module whether
    // the run had one generator or both (`--generators mutate --seed S` regenerates mutant S).
    const generator = new Prng(`fuzz/${seed}/generator`).pick([...this.#o.generators].sort());
    const rng = new Prng(`fuzz/${seed}`);
    const name = `fuzz.m${seed}`;
    if (generator === 'smith') {
      const m = await this.#o.smith!.generate(rng.fork('smith'));
      if (!m) return undefined;
      // A quarter of smith's modules get a loop spliced in (host calls with valid requests, memory.grow).
      const looped = rng.chance(0.25) ? spliceLoop(rng.fork('loop'), m.bytes) : undefined;
      const manifest = fuzzManifest(
        name,
        m.exports.map((e) => e.name),
        this.#o.limits,
      );
      const packed = pack(rng.fork('pack'), looped?.bytes ?? m.bytes, manifest, this.#o.key);
      const origin = { smith: m.options, ...(looped ? { mutations: [looped.mutation] } : {}) };
      return {
        seed,
        generator,
        origin,
        bytes: packed.bytes,
        exports: manifest.exports.map((e) => e.name),
        ...(packed.packing ? { packing: packed.packing } : {}),
      };
    }
    const artifact = rng.pick(this.#o.artifacts);
    const { bytes, mutations } = mutate(
      rng.fork('mutate'),
      artifact.bare,
      this.#o.artifacts.map((a) => a.bare),
    );
    const manifest = fuzzManifest(
      name,
      artifact.manifest.exports.map((e) => e.name),
      this.#o.limits,
    );
    const packed = pack(rng.fork('pack'), bytes, manifest, this.#o.key);
    return {
      seed,
      generator,
      origin: { artifact: artifact.path, mutations },
      bytes: packed.bytes,
      exports: manifest.exports.map((e) => e.name),
      ...(packed.packing ? { packing: packed.packing } : {}),
    };
  }
}
