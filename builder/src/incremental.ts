/**
 * Incremental builds: what a compile read (every file asc asked for, found or not, every folder it
 * listed, the manifest) is recorded beside the artifact, so a build whose inputs are unchanged
 * reuses the artifact instead of compiling again (about 3 s a plugin). The record also names the
 * tools (the compiler's version, the flags, this package's own code), and the artifact's hash, so
 * a changed compiler or an edited artifact means a fresh compile. The build is reproducible, so a
 * reused artifact is the one a compile would give.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeAtomic } from './atomic-write.js';

/** The record kept at `<artifact>.inputs.json`. */
export interface BuildRecord {
  /** The record's format. */
  format: 1;
  /** What else decides the output: the compiler and this package (hashes), and the flags. */
  tools: string;
  /** Every file read, by absolute path: the SHA-256 of its text, or null when it was looked for and absent. */
  files: Record<string, string | null>;
  /** Every folder listed, by absolute path: its listing, or null when it did not exist. */
  dirs: Record<string, string[] | null>;
  /** The SHA-256 of the artifact. */
  output: string;
}

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/**
 * Collects what one build reads.
 * @example
 * const inputs = new BuildInputs()
 * await compileAssembly({ baseDir, onRead: (path, text) => inputs.file(path, text), onList: (dir, files) => inputs.dir(dir, files) })
 * await writeRecord(file, inputs.record(tools, wasm))
 */
export class BuildInputs {
  readonly #files = new Map<string, string | null>();
  readonly #dirs = new Map<string, string[] | null>();

  /** A file the build read (`null`: looked for, absent). */
  file(path: string, text: string | null): void {
    this.#files.set(path, text === null ? null : sha256(text));
  }

  /** A folder the build listed (`null`: absent). */
  dir(path: string, files: readonly string[] | null): void {
    this.#dirs.set(path, files === null ? null : [...files].sort());
  }

  /** The record of a build that gave `output`. */
  record(tools: string, output: Uint8Array): BuildRecord {
    const sorted = <T>(m: Map<string, T>) => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
    return { format: 1, tools, files: sorted(this.#files), dirs: sorted(this.#dirs), output: sha256(output) };
  }
}

/** Where the record of `artifact` lives. */
export const recordFile = (artifact: string): string => `${artifact}.inputs.json`;

/**
 * Writes the record beside the artifact.
 * @example
 * await writeRecord('plugins/hello/build/hello.wasm', record)
 */
export async function writeRecord(artifact: string, record: BuildRecord): Promise<void> {
  await writeAtomic(recordFile(artifact), `${JSON.stringify(record, null, 1)}\n`);
}

/**
 * The artifact at `artifact` when its record says it was built by `tools` from inputs that are all
 * unchanged, and it is the bytes the record names; otherwise undefined (compile again). Anything
 * unreadable or malformed counts as changed.
 * @example
 * const wasm = await reusable('plugins/hello/build/hello.wasm', tools)
 */
export async function reusable(artifact: string, tools: string): Promise<Uint8Array | undefined> {
  let record: BuildRecord;
  let wasm: Uint8Array;
  try {
    record = JSON.parse(await readFile(recordFile(artifact), 'utf8')) as BuildRecord;
    wasm = new Uint8Array(await readFile(artifact));
  } catch {
    return undefined;
  }
  if (record?.format !== 1 || record.tools !== tools || record.output !== sha256(wasm)) return undefined;
  if (typeof record.files !== 'object' || record.files === null || typeof record.dirs !== 'object' || record.dirs === null) return undefined;
  for (const [path, hash] of Object.entries(record.files)) {
    if (currentFile(path) !== hash) return undefined;
  }
  for (const [path, files] of Object.entries(record.dirs)) {
    if (JSON.stringify(currentDir(path)) !== JSON.stringify(files)) return undefined;
  }
  return wasm;
}

function currentFile(path: string): string | null {
  try {
    return sha256(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

function currentDir(path: string): string[] | null {
  try {
    return readdirSync(path)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .sort();
  } catch {
    return null;
  }
}

/**
 * The fingerprint of the tools behind a build: `parts` (flags, versions) and the SHA-256 of each
 * file in `code` (this package's own modules, so an edited build step rebuilds everything).
 * @example
 * toolsFingerprint(['asc 0.28.20', ...ASC_FLAGS], [fileURLToPath(import.meta.url)])
 */
export function toolsFingerprint(parts: readonly string[], code: readonly string[]): string {
  return sha256(JSON.stringify([parts, code.map((f) => sha256(readFileSync(f)))]));
}
