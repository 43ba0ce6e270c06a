/**
 * The compatibility corpus as the tests read it (README.md here): corpus.json's entries, the
 * committed artifacts and distribution locks, and the corpus keys. Every read is checked against
 * what corpus.json recorded (sha256), so a test never exercises an artifact other than the one the
 * corpus promises.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LoadError, parseJson, parsePrivateJwk, parsePublicJwk, type PrivateKey, type PublicKey } from '@mcp0/abi';

/** The corpus folder. */
export const CORPUS_DIR = import.meta.dirname;

/** One plugin or agent release: its artifact as released, signed by the corpus publisher. */
export interface ArtifactEntry {
  /** The package folder it was built from (`plugins/storage`). */
  package: string;
  /** The manifest's name and version. */
  name: string;
  version: string;
  kind: 'plugin' | 'agent';
  /** The commit whose sources were built. */
  commit: string;
  /** The artifact, relative to the corpus folder. */
  file: string;
  sha256: string;
  bytes: number;
}

/** A plugin a distribution pins, as the corpus recorded it. */
export interface DistributionMember {
  name: string;
  version: string;
  /** Whether its CHANGELOG called the version released at the distribution's commit. */
  released: boolean;
  /** The file in the distribution folder. */
  file: string;
  sha256: string;
  /** The corpus artifact it is byte for byte, when the corpus has that version. */
  artifact?: string;
}

/** A distribution release: the folder `mcp0 dist build` wrote (the signed lock and its plugins). */
export interface DistributionEntry {
  package: string;
  name: string;
  version: string;
  commit: string;
  /** The folder, relative to the corpus folder. */
  dir: string;
  /** Of its distribution.json. */
  sha256: string;
  plugins: DistributionMember[];
}

/** corpus.json. */
export interface Corpus {
  format: 1;
  keys: Record<'publisher' | 'assembler', { file: string; kid: string }>;
  artifacts: ArtifactEntry[];
  distributions: DistributionEntry[];
}

/**
 * corpus.json, read strictly.
 * @example
 * for (const a of readCorpus().artifacts) console.log(`${a.name}@${a.version} ← ${a.commit}`)
 */
export function readCorpus(): Corpus {
  const corpus = parseJson(readFileSync(join(CORPUS_DIR, 'corpus.json'), 'utf8')) as Corpus;
  if (corpus.format !== 1) throw new LoadError('EINPUT', `corpus.json: expected format 1, got ${String(corpus.format)}`, { format: corpus.format });
  return corpus;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * The bytes of a corpus file, refused (`EINPUT`) unless they have the sha256 corpus.json recorded.
 * @example
 * const wasm = corpusBytes(entry.file, entry.sha256)
 */
export function corpusBytes(file: string, expected: string): Uint8Array {
  const bytes = new Uint8Array(readFileSync(join(CORPUS_DIR, file)));
  const found = sha256(bytes);
  if (found !== expected) throw new LoadError('EINPUT', `${file}: expected sha256 ${expected} (corpus.json), found ${found}`, { file, expected, found });
  return bytes;
}

/**
 * The artifact of a corpus entry.
 * @example
 * const hello = artifact(entry('mcp0.hello', '0.1.0'))
 */
export function artifact(entry: ArtifactEntry): Uint8Array {
  return corpusBytes(entry.file, entry.sha256);
}

/**
 * The corpus entry `name@version`; `EINPUT` when there is none.
 * @example
 * const storage = entry('mcp0.storage', '0.2.0')
 */
export function entry(name: string, version: string, corpus: Corpus = readCorpus()): ArtifactEntry {
  const found = corpus.artifacts.find((a) => a.name === name && a.version === version);
  if (!found) throw new LoadError('EINPUT', `the corpus has no ${name}@${version}`, { name, version });
  return found;
}

/**
 * Every corpus entry of `name`, oldest version first (corpus.json keeps them in that order).
 * @example
 * releases('mcp0.storage').map((e) => e.version) // ['0.1.0', '0.2.0', '0.3.0']
 */
export function releases(name: string, corpus: Corpus = readCorpus()): ArtifactEntry[] {
  return corpus.artifacts.filter((a) => a.name === name);
}

/**
 * A corpus key, checked to be the one corpus.json names. The private halves are test-only keys,
 * public on purpose (keys/README in README.md): they let the tests sign agreements as the parties.
 * @example
 * const trust = [publicKey('publisher')]
 */
export function publicKey(role: 'publisher' | 'assembler', corpus: Corpus = readCorpus()): PublicKey {
  const key = parsePublicJwk(parseJson(readFileSync(join(CORPUS_DIR, corpus.keys[role].file), 'utf8')));
  if (key.kid !== corpus.keys[role].kid) throw new LoadError('EINPUT', `${corpus.keys[role].file}: expected key ${corpus.keys[role].kid}, found ${key.kid}`);
  return key;
}

/**
 * The private half of a corpus key (test-only, committed on purpose).
 * @example
 * signAgreement(doc, privateKey('assembler'), 'provider')
 */
export function privateKey(role: 'publisher' | 'assembler', corpus: Corpus = readCorpus()): PrivateKey {
  const key = parsePrivateJwk(parseJson(readFileSync(join(CORPUS_DIR, corpus.keys[role].file.replace(/\.pub\.jwk$/, '.jwk')), 'utf8')));
  if (key.kid !== corpus.keys[role].kid) throw new LoadError('EINPUT', `the private key of ${role}: expected key ${corpus.keys[role].kid}, found ${key.kid}`);
  return key;
}
