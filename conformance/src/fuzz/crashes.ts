/**
 * Host crashes grouped into classes and saved for reproduction. A class is the crash's kind,
 * tier and phase with its message stripped of what varies between modules (seeds, numbers,
 * offsets), so a hundred modules tripping one kernel defect make one class with a hundred seeds.
 * Every crashing module is written under the crash folder with a JSON file that says how to
 * reproduce it.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Crash } from './target.js';

/** One class of crash. */
export interface CrashClass {
  /** Short stable id: a slug of the kind and a hash of the signature. */
  id: string;
  signature: string;
  kind: Crash['kind'];
  count: number;
  /** The first seeds that showed it (at most 20). */
  seeds: number[];
  /** The first crash of the class, in full. */
  example: Crash;
  /** Where its modules were saved. */
  folder: string;
}

/** The line of a dead process's output that says why it died. */
function deathLine(output: string | undefined): string {
  if (!output) return '';
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const telling = lines.find((l) => /FATAL ERROR|out of memory|Fatal error|Check failed|Segmentation|Aborted|RangeError|TypeError|Error:/.test(l));
  return telling ?? lines[lines.length - 1] ?? '';
}

/** A message with the varying parts replaced: module names, numbers, hex, quoted text. */
export function normalise(text: string): string {
  return text
    .replace(/fuzz\.(m|rss)\d+(\.(inline|worker))?/g, 'fuzz.<module>')
    .replace(/0x[0-9a-f]+/gi, '<hex>')
    .replace(/"[^"]{0,200}"/g, '"…"')
    .replace(/\d+/g, 'N')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
}

/**
 * The class signature of a crash.
 * @example
 * signature({ seed: 3, kind: 'hang', tier: 'inline', phase: 'call', message: '…' }) // 'hang inline call'
 */
export function signature(crash: Crash): string {
  const where = [crash.kind, crash.tier ?? '-', crash.phase ?? '-'].join(' ');
  if (crash.kind === 'hang' || crash.kind === 'memory') return where;
  // Traps and link errors thrown by WebAssembly itself are one defect however they read: the
  // kernel let an engine error through where it owed a typed one.
  const firstFrame = crash.stack?.split('\n')[1]?.trim() ?? '';
  if (crash.kind === 'untyped-error' && (/^(RuntimeError|CompileError|LinkError):/.test(crash.message) || firstFrame.startsWith('at wasm://'))) {
    return `${where} a WebAssembly trap or link error, untyped`;
  }
  if (crash.kind === 'exit') return `${where} ${normalise(`${crash.message.replace(/,? before it started.*$/, '')} ${deathLine(crash.output)}`)}`;
  return `${where} ${normalise(crash.message)}`;
}

/** Collects crash classes and writes crashing modules to `folder`. */
export class CrashBook {
  readonly #folder: string;
  readonly #classes = new Map<string, CrashClass>();
  /** (seed, class) pairs already saved. */
  readonly #saved = new Set<string>();
  total = 0;

  constructor(folder: string) {
    this.#folder = folder;
  }

  get folder(): string {
    return this.#folder;
  }

  /** Every class, most frequent first. */
  classes(): CrashClass[] {
    return [...this.#classes.values()].sort((a, b) => b.count - a.count);
  }

  /**
   * Record a crash of the module `bytes` and save the module (once per seed and class).
   * `context` goes into the JSON beside it (generator, origin, how to reproduce).
   */
  add(crash: Crash, bytes: Uint8Array | undefined, context: Record<string, unknown>): CrashClass {
    this.total++;
    const sig = signature(crash);
    let c = this.#classes.get(sig);
    if (!c) {
      const id = `${crash.kind}-${createHash('sha256').update(sig).digest('hex').slice(0, 8)}`;
      c = { id, signature: sig, kind: crash.kind, count: 0, seeds: [], example: crash, folder: join(this.#folder, id) };
      this.#classes.set(sig, c);
    }
    c.count++;
    if (!c.seeds.includes(crash.seed) && c.seeds.length < 20) c.seeds.push(crash.seed);
    const key = `${crash.seed}/${sig}`;
    if (bytes && !this.#saved.has(key)) {
      this.#saved.add(key);
      mkdirSync(c.folder, { recursive: true });
      const base = join(c.folder, `seed-${crash.seed}`);
      writeFileSync(`${base}.wasm`, bytes);
      writeFileSync(
        `${base}.json`,
        `${JSON.stringify({ class: c.id, signature: sig, crash, ...context, replay: `npm run fuzz -- --replay ${base}.wasm` }, null, 2)}\n`,
      );
    }
    return c;
  }
}
