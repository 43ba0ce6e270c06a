#!/usr/bin/env node
// Adds a release to the compatibility corpus (test/compat/README.md): a plugin's or an agent's
// sources as they are at a commit, built with the current builder, signed with the corpus
// publisher key and recorded in test/compat/corpus.json; or a distribution built at a commit by
// `mcp0 dist build`, kept as it writes it (the signed lock and the artifacts it pins).
//
//   node scripts/compat/add.mjs plugins/storage                  the version at HEAD, built at HEAD
//   node scripts/compat/add.mjs plugins/storage --version 0.2.0  at the newest commit that changed 0.2.0
//   node scripts/compat/add.mjs plugins/storage --commit <rev>   at that commit
//   node scripts/compat/add.mjs distributions/standard [--commit <rev>]
//   node scripts/compat/add.mjs --check                          rebuild every entry, compare, write nothing
//
// Needs the built packages (`npm run build`). Sources come from `git archive` of the commit, never
// from the working tree, so the commit recorded is exactly what was built; the guest library
// (abi/as) comes from the same commit, and the build's own record of what it read is checked for
// that. An entry is never overwritten: a released version's artifact is what its users have, so a
// rebuild that differs is a change that needed a new version, not a correction of the corpus.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError, parseJson, parsePrivateJwk, parsePublicJwk, signModule } from '@mcp0/abi';
import { buildPlugin, recordFile } from '@mcp0/builder';

const ROOT = resolve(import.meta.dirname, '../..');
/** The corpus folder, and its files relative to it. */
const CORPUS = join(ROOT, 'test', 'compat');
const CORPUS_FILE = join(CORPUS, 'corpus.json');
const KEYS = { publisher: 'keys/publisher', assembler: 'keys/assembler' };
/** What a build reads besides the commit's sources: AssemblyScript's standard library. */
const ASC_DIR = dirname(createRequire(import.meta.url).resolve('assemblyscript/package.json'));
/** The package folders the corpus takes: a reference plugin, an example agent, a distribution spec. */
const PACKAGE = /^(plugins|agents|distributions|dist)\/[A-Za-z0-9._-]+$/;
/** A distribution spec's folder: distributions/<n>, or dist/<n> in entries recorded before the folder's rename. */
const isDistribution = (dir) => /^(distributions|dist)\//.test(dir);

/** A refusal: the message says what is wrong and what to do. */
const refuse = (message, details = {}) => new UsageError('EUSAGE', message, details);

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const git = (...args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 }).trim();

/** A JSON file as it is at `commit`; a refusal naming both when it is not there. */
function showJson(commit, path) {
  let text;
  try {
    text = execFileSync('git', ['show', `${commit}:${path}`], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    throw refuse(`${path} does not exist at ${commit.slice(0, 12)}`, { path, commit });
  }
  return parseJson(text);
}

/** x.y.z order, so corpus.json lists versions oldest first. */
function compareVersions(a, b) {
  const pa = a.split(/[.+-]/).map(Number);
  const pb = b.split(/[.+-]/).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** The full id of a commit, or a refusal naming the revision. */
function commitOf(rev) {
  try {
    return git('rev-parse', '--verify', '--quiet', `${rev}^{commit}`);
  } catch {
    throw refuse(`--commit: ${rev} is not a commit of this repository`, { rev });
  }
}

/**
 * The commit that released `version` of the package in `dir`: the newest commit that changed the
 * package's build inputs or its CHANGELOG while its manifest said that version. (The repository
 * has no release tags; the sources of a version are those it had when it was last changed.)
 */
function releaseCommit(dir, version) {
  const commits = git('log', '--format=%H', '--', `${dir}/plugin.json`, `${dir}/package.json`, `${dir}/CHANGELOG.md`, `${dir}/assembly`)
    .split('\n')
    .filter(Boolean);
  for (const c of commits) {
    let manifest;
    try {
      manifest = JSON.parse(git('show', `${c}:${dir}/plugin.json`));
    } catch {
      continue; // the manifest did not exist yet, or was not JSON at that commit
    }
    if (manifest.version === version) return c;
  }
  throw refuse(`--version: no commit changed ${dir} while its plugin.json said ${version}`, { dir, version });
}

/**
 * Extracts `paths` as they are at `commit` into a new temporary folder laid out like the
 * repository, with node_modules/@mcp0/abi pointing at that commit's abi/, so asc resolves
 * "@mcp0/abi/as" to the commit's guest library rather than the current one.
 */
function extract(commit, paths) {
  const tmp = mkdtempSync(join(tmpdir(), 'mcp0-compat-'));
  const tar = execFileSync('git', ['archive', '--format=tar', commit, '--', ...paths], { cwd: ROOT, maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', tmp], { input: tar });
  mkdirSync(join(tmp, 'node_modules', '@mcp0'), { recursive: true });
  symlinkSync(join('..', '..', 'abi'), join(tmp, 'node_modules', '@mcp0', 'abi'));
  return tmp;
}

/**
 * Throws unless every file the build recorded reading is inside `tmp` (the commit's sources) or
 * AssemblyScript's standard library: a build that reached into the working tree would not be the
 * commit's.
 */
function checkRead(record, tmp) {
  const { files } = JSON.parse(readFileSync(record, 'utf8'));
  const inside = (file, dir) => !relative(dir, file).startsWith('..');
  const stray = Object.entries(files)
    .filter(([file, hash]) => hash !== null && !inside(file, tmp) && !inside(file, ASC_DIR))
    .map(([file]) => file);
  if (stray.length > 0) throw refuse(`the build read files outside the commit's sources: ${stray.join(', ')}`, { stray });
}

/** `## <version>` of a CHANGELOG: whether it lists the version, and whether it says unreleased. */
function changelogStatus(text, version) {
  for (const line of text.split('\n')) {
    const m = /^##\s+v?(\S+)(.*)$/.exec(line);
    if (m && m[1] === version) return { listed: true, released: !/\bunreleased\b/i.test(m[2]) };
  }
  return { listed: false, released: false };
}

/** The corpus keys: private halves for signing, checked against the public halves corpus.json names. */
function corpusKeys(corpus) {
  const load = (name) => {
    const key = parsePrivateJwk(parseJson(readFileSync(join(CORPUS, `${KEYS[name]}.jwk`), 'utf8')));
    const pub = parsePublicJwk(parseJson(readFileSync(join(CORPUS, `${KEYS[name]}.pub.jwk`), 'utf8')));
    if (key.kid !== pub.kid || key.kid !== corpus.keys[name].kid) {
      throw refuse(`${KEYS[name]}.jwk is key ${key.kid}; expected ${corpus.keys[name].kid} (corpus.json) and ${pub.kid} (its .pub.jwk)`);
    }
    return key;
  };
  return { publisher: load('publisher'), assembler: load('assembler') };
}

/** corpus.json, or a new one naming the keys in keys/ when there is none yet. */
function readCorpus() {
  if (existsSync(CORPUS_FILE)) return parseJson(readFileSync(CORPUS_FILE, 'utf8'));
  const kid = (name) => parsePublicJwk(parseJson(readFileSync(join(CORPUS, `${KEYS[name]}.pub.jwk`), 'utf8'))).kid;
  return {
    format: 1,
    keys: {
      publisher: { file: `${KEYS.publisher}.pub.jwk`, kid: kid('publisher') },
      assembler: { file: `${KEYS.assembler}.pub.jwk`, kid: kid('assembler') },
    },
    artifacts: [],
    distributions: [],
  };
}

function writeCorpus(corpus) {
  const order = (a, b) => a.package.localeCompare(b.package) || compareVersions(a.version, b.version);
  corpus.artifacts.sort(order);
  corpus.distributions.sort(order);
  writeFileSync(CORPUS_FILE, `${JSON.stringify(corpus, null, 2)}\n`);
}

/**
 * Builds the plugin or agent in `dir` at `commit`, signed by `publisher`. Refuses a version its
 * CHANGELOG does not list, or lists as unreleased: the corpus keeps what was released.
 */
async function buildArtifact(dir, commit, publisher) {
  const tmp = extract(commit, [dir, 'abi/as']);
  try {
    const out = join(tmp, 'out.wasm');
    // incremental: a fresh output has nothing to reuse, so this compiles, and records what it read.
    const built = await buildPlugin(join(tmp, dir), { out, incremental: true });
    checkRead(recordFile(out), tmp);
    const { name, version, kind } = built.manifest;
    const changelog = existsSync(join(tmp, dir, 'CHANGELOG.md')) ? readFileSync(join(tmp, dir, 'CHANGELOG.md'), 'utf8') : '';
    const status = changelogStatus(changelog, version);
    if (!status.listed)
      throw refuse(`${dir}/CHANGELOG.md at ${commit.slice(0, 12)} does not list ${version}: a release is written in its CHANGELOG first`, {
        dir,
        version,
        commit,
      });
    if (!status.released)
      throw refuse(
        `${dir}/CHANGELOG.md at ${commit.slice(0, 12)} marks ${version} unreleased: the corpus keeps released versions (a distribution entry keeps the unreleased plugins it ships)`,
        { dir, version, commit },
      );
    const wasm = signModule(built.wasm, publisher);
    return { entry: { package: dir, name, version, kind, commit, file: `artifacts/${name}@${version}.wasm`, sha256: sha256(wasm), bytes: wasm.length }, wasm };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Builds the distribution spec in `dir` at `commit` with `mcp0 dist build`, the corpus keys as
 * assembler and publisher. Each plugin it pins that the corpus also holds (same name and version)
 * must be the corpus's artifact byte for byte: otherwise its sources changed without a new version.
 */
function buildDistribution(dir, commit, corpus, keys) {
  const spec = showJson(commit, `${dir}/dist.json`);
  const sources = spec.plugins.map((p) => posix.normalize(posix.join(dir, p.source)));
  const tmp = extract(commit, [dir, ...sources, 'abi/as']);
  try {
    // Private key files readable by others are refused, as ssh does; git checks them out 0644.
    mkdirSync(join(tmp, 'keys'));
    for (const name of ['publisher', 'assembler'])
      writeFileSync(join(tmp, 'keys', `${name}.jwk`), readFileSync(join(CORPUS, `${KEYS[name]}.jwk`)), { mode: 0o600 });
    const out = join(tmp, 'out');
    const cli = spawnSync(
      process.execPath,
      [
        '--no-warnings',
        join(ROOT, 'tools', 'bin', 'mcp0.js'),
        'dist',
        'build',
        join(tmp, dir),
        '--out',
        out,
        '--key',
        join(tmp, 'keys', 'assembler.jwk'),
        '--publisher-key',
        join(tmp, 'keys', 'publisher.jwk'),
        '--quiet',
      ],
      { cwd: tmp, encoding: 'utf8' },
    );
    if (cli.status !== 0) throw refuse(`mcp0 dist build ${dir} at ${commit.slice(0, 12)} failed (exit ${cli.status}):\n${cli.stderr}${cli.stdout}`);
    for (const f of readdirSync(join(out, '.cache')).filter((f) => f.endsWith('.inputs.json'))) checkRead(join(out, '.cache', f), tmp);

    const lockText = readFileSync(join(out, 'distribution.json'));
    const lock = JSON.parse(lockText.toString('utf8'));
    const plugins = [];
    for (const p of lock.plugins) {
      const bytes = readFileSync(join(out, p.file));
      const source = sources.find((s) => JSON.parse(readFileSync(join(tmp, s, 'plugin.json'), 'utf8')).name === p.name);
      const changelog = source && existsSync(join(tmp, source, 'CHANGELOG.md')) ? readFileSync(join(tmp, source, 'CHANGELOG.md'), 'utf8') : '';
      const released = changelogStatus(changelog, p.version).released;
      const known = corpus.artifacts.find((a) => a.name === p.name && a.version === p.version);
      if (known && known.sha256 !== p.sha256) {
        throw refuse(
          `${p.name}@${p.version} as ${dir} builds it at ${commit.slice(0, 12)} (sha256 ${p.sha256}) is not the corpus's ${known.file} (sha256 ${known.sha256}, built at ${known.commit.slice(0, 12)}): its sources changed without a new version`,
          { plugin: p.name },
        );
      }
      if (!known && released)
        throw refuse(`${p.name}@${p.version} is released but not in the corpus: add it first (node scripts/compat/add.mjs ${source} --commit ${commit})`, {
          plugin: p.name,
        });
      plugins.push({ name: p.name, version: p.version, released, file: p.file, sha256: p.sha256, ...(known ? { artifact: known.file } : {}), bytes });
    }
    const entry = {
      package: dir,
      name: lock.name,
      version: lock.version,
      commit,
      dir: `distributions/${lock.name}@${lock.version}`,
      sha256: sha256(lockText),
      plugins: plugins.map(({ bytes, ...rest }) => rest),
    };
    return { entry, lockText, plugins };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Adds one release of `dir` to the corpus. */
async function add(dir, commit) {
  const corpus = readCorpus();
  const keys = corpusKeys(corpus);
  if (isDistribution(dir)) {
    // Refused before building (a build takes tens of seconds): the spec at the commit names the entry.
    const { name, version } = showJson(commit, `${dir}/dist.json`);
    const existing = corpus.distributions.find((d) => d.name === name && d.version === version);
    if (existing || existsSync(join(CORPUS, `distributions/${name}@${version}`))) {
      throw refuse(
        `${name}@${version} is already in the corpus (distributions/${name}@${version}, built at ${existing?.commit.slice(0, 12) ?? '?'}): never overwritten; a changed distribution is a new version in ${dir}/dist.json`,
      );
    }
    const { entry, lockText, plugins } = buildDistribution(dir, commit, corpus, keys);
    mkdirSync(join(CORPUS, entry.dir, 'plugins'), { recursive: true });
    writeFileSync(join(CORPUS, entry.dir, 'distribution.json'), lockText, { flag: 'wx' });
    for (const p of plugins) writeFileSync(join(CORPUS, entry.dir, p.file), p.bytes, { flag: 'wx' });
    corpus.distributions.push(entry);
    writeCorpus(corpus);
    console.log(
      `added ${entry.name}@${entry.version} ← ${commit.slice(0, 12)}: ${relative(ROOT, join(CORPUS, entry.dir))}/ (${entry.plugins.map((p) => `${p.name}@${p.version}`).join(', ')})`,
    );
    return;
  }
  // Refused before building (a build takes seconds): the manifest at the commit names the entry.
  const { name, version } = showJson(commit, `${dir}/plugin.json`);
  const existing = corpus.artifacts.find((a) => a.name === name && a.version === version);
  if (existing || existsSync(join(CORPUS, `artifacts/${name}@${version}.wasm`))) {
    throw refuse(
      `${name}@${version} is already in the corpus (artifacts/${name}@${version}.wasm, built at ${existing?.commit.slice(0, 12) ?? '?'}): never overwritten; a change to a released plugin is a new version`,
    );
  }
  const { entry, wasm } = await buildArtifact(dir, commit, keys.publisher);
  mkdirSync(join(CORPUS, 'artifacts'), { recursive: true });
  writeFileSync(join(CORPUS, entry.file), wasm, { flag: 'wx' });
  corpus.artifacts.push(entry);
  writeCorpus(corpus);
  console.log(
    `added ${entry.name}@${entry.version} ← ${commit.slice(0, 12)}: ${relative(ROOT, join(CORPUS, entry.file))} (${entry.bytes} bytes, sha256 ${entry.sha256})`,
  );
}

/** Rebuilds every entry at its commit and compares with what is recorded and committed; writes nothing. */
async function check() {
  const corpus = readCorpus();
  const keys = corpusKeys(corpus);
  const problems = [];
  for (const a of corpus.artifacts) {
    const { entry } = await buildArtifact(a.package, a.commit, keys.publisher);
    const onDisk = sha256(readFileSync(join(CORPUS, a.file)));
    if (entry.sha256 !== a.sha256 || onDisk !== a.sha256) problems.push(`${a.file}: recorded ${a.sha256}, rebuilt ${entry.sha256}, on disk ${onDisk}`);
    else console.log(`ok ${a.name}@${a.version} ← ${a.commit.slice(0, 12)}`);
  }
  for (const d of corpus.distributions) {
    const { entry } = buildDistribution(d.package, d.commit, corpus, keys);
    const before = problems.length;
    const onDisk = sha256(readFileSync(join(CORPUS, d.dir, 'distribution.json')));
    if (entry.sha256 !== d.sha256 || onDisk !== d.sha256)
      problems.push(`${d.dir}/distribution.json: recorded ${d.sha256}, rebuilt ${entry.sha256}, on disk ${onDisk}`);
    for (const p of entry.plugins) {
      const disk = sha256(readFileSync(join(CORPUS, d.dir, p.file)));
      if (disk !== p.sha256) problems.push(`${d.dir}/${p.file}: rebuilt ${p.sha256}, on disk ${disk}`);
    }
    if (problems.length === before) console.log(`ok ${d.name}@${d.version} ← ${d.commit.slice(0, 12)}`);
  }
  if (problems.length > 0) throw refuse(`the corpus is not what its commits build:\n  ${problems.join('\n  ')}`);
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { commit: { type: 'string' }, version: { type: 'string' }, check: { type: 'boolean' } },
  });
  if (values.check) {
    if (positionals.length > 0) throw refuse('--check takes no package: it rebuilds every entry');
    return check();
  }
  if (positionals.length !== 1)
    throw refuse('usage: node scripts/compat/add.mjs <plugins/<n> | agents/<n> | distributions/<n>> [--commit <rev> | --version <x.y.z>] | --check');
  const dir = relative(ROOT, resolve(positionals[0])).split(sep).join('/');
  if (!PACKAGE.test(dir)) throw refuse(`expected a package folder of this repository (plugins/<n>, agents/<n> or distributions/<n>), got ${positionals[0]}`);
  if (values.commit !== undefined && values.version !== undefined) throw refuse('--commit and --version: give one');
  if (values.version !== undefined && isDistribution(dir)) throw refuse("--version is for plugins and agents; give a distribution's --commit");
  const commit = values.version !== undefined ? releaseCommit(dir, values.version) : commitOf(values.commit ?? 'HEAD');
  await add(dir, commit);
}

try {
  await main();
} catch (e) {
  console.error(`compat: ${e?.code ?? 'ERROR'}: ${e?.message ?? e}`);
  process.exitCode = 1;
}
