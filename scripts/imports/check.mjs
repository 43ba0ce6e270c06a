#!/usr/bin/env node
// The import-direction check: imports between the project's packages run one way,
// tools → conformance → sdk → kernel → sandbox → preempt → abi, and only through a package's public
// entry. Plugins and agents use only abi (the guest library @mcp0/abi/as); their test/ folders are
// host code nothing imports, so they may use any package. Run by test/imports.test.ts
// as part of `npm test`; `node scripts/imports/check.mjs` prints what is wrong and exits 1.
// Violations that predate the check are listed in known-violations.json; an entry that no longer
// matches anything fails too, so that list can only shrink.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The layers, highest first: a package may import any package after it, never one before it.
 * @example
 * LAYERS.indexOf('sdk') < LAYERS.indexOf('kernel'); // true: sdk may import kernel
 */
export const LAYERS = Object.freeze(['tools', 'conformance', 'sdk', 'kernel', 'sandbox', 'preempt', 'abi']);

/**
 * The AssemblyScript guest library. abi's `exports` map does not declare it because asc resolves
 * it by path under node_modules and never reads `exports`; it is abi's public entry for guests.
 */
const GUEST_LIBRARY = '@mcp0/abi/as';
/**
 * The plugin build (asc, manifest, checks) is a package of its own beside the layers: it imports
 * only abi, every package's tests may use it to build the plugins they run, and of the shipped
 * code only the CLI does.
 */
const BUILDER = 'builder';
const BUILDER_USER = 'tools';
/** A file of a package that is test code: under test/, a *.test or *.test-support file, a *.fixture script. */
const TEST_FILE = /(^|\/)test\/|\.test(-support)?\.[mc]?[jt]s$|\.fixture\.m?js$/;
const isTestFile = (file) => TEST_FILE.test(file.split('/').slice(1).join('/'));
const SOURCE = /\.(?:ts|mts|js|mjs)$/;
const DEFAULT_ALLOWLIST = fileURLToPath(new URL('./known-violations.json', import.meta.url));

/**
 * @typedef {{ file: string, line: number, specifier: string, rule: string, message: string }} Violation
 * @typedef {{ file: string, specifier: string, why: string }} AllowEntry
 * @typedef {{ kind: 'layer' | 'builder' | 'guest' | 'helper' | 'free', name: string, dir: string,
 *   npm?: string, exports?: string[], parent?: Area }} Area
 */

/**
 * Every import in the tree under `rootDir` that runs the wrong way or bypasses a public entry.
 * Packages are found under `rootDir` (the layer folders, plugins/*, agents/*), never assumed.
 * With `allow`, listed violations are dropped and each entry that matches none is reported as
 * `stale-allowlist` (and each repeated entry as `duplicate-allowlist`).
 * @param {string} rootDir the repository root
 * @param {{ allow?: AllowEntry[] }} [options]
 * @returns {Violation[]} sorted by file and line
 * @example
 * const found = findImportViolations('.', { allow: readAllowlist() });
 * for (const v of found) console.log(v.message);
 */
export function findImportViolations(rootDir, { allow } = {}) {
  const root = resolve(rootDir);
  const areas = findAreas(root);
  const byNpm = new Map(areas.filter((a) => a.npm).map((a) => [a.npm, a]));
  const outside = areas.filter((a) => a.kind === 'helper' || a.kind === 'free');
  const importsOf = memo((abs) => scanImports(readFileSync(abs, 'utf8')));
  /** @type {Violation[]} */
  const found = [];

  for (const area of areas) {
    for (const abs of sourceFiles(area.dir, skippedDirs(area))) {
      const file = toPosix(relative(root, abs));
      for (const { specifier, line } of importsOf(abs)) {
        const at = `${file}:${line} imports ${specifier}`;
        const add = (rule, why) => found.push({ file, line, specifier, rule, message: `${at}: ${why}` });
        if (specifier.startsWith('.')) {
          const target = resolve(dirname(abs), specifier);
          const owner = areaOf(areas, target);
          if (!owner || owner === area || owner === area.parent) continue;
          if (owner.kind === 'layer' || owner.kind === 'guest') {
            add('relative-into-package', `expected a public entry${owner.npm ? ` of ${owner.npm}` : ''}, found a relative path into ${owner.name}/`);
            const why = direction(area, owner, file);
            if (why) add('direction', why);
          } else if (area.kind === 'layer' || area.kind === 'guest') {
            // A package's file that uses root test/ (or bench/, scripts/) depends on whatever that imports.
            for (const [reached, via] of helperImports(helperFile(target), outside, importsOf, byNpm)) {
              const why = direction(area, byNpm.get(packageName(reached)), file);
              if (why) {
                found.push({
                  file,
                  line,
                  specifier: reached,
                  rule: 'direction',
                  message: `${at}, which imports ${reached} (${toPosix(relative(root, via.file))}:${via.line}): ${why}`,
                });
              }
            }
          }
          continue;
        }
        if (!specifier.startsWith('@mcp0/')) continue;
        const name = packageName(specifier);
        const owner = byNpm.get(name);
        if (!owner) {
          add('unknown-package', `expected one of the project's packages (${[...byNpm.keys()].sort().join(', ')}), found ${name}`);
          continue;
        }
        if (!isPublicEntry(specifier, owner)) {
          add('public-entry', `expected ${name} or a subpath its exports map declares (${entryList(owner)}), found ${specifier}`);
        }
        if (owner !== area) {
          const why = direction(area, owner, file);
          if (why) add('direction', why);
        }
      }
    }
  }
  found.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.rule.localeCompare(b.rule));
  return allow ? applyAllowlist(found, allow) : found;
}

/**
 * Reads and validates an allowlist file (default: known-violations.json beside this script).
 * @param {string} [file]
 * @returns {AllowEntry[]}
 * @example
 * readAllowlist(); // [{ file: 'kernel/test/load.test.ts', specifier: '@mcp0/tools', why: '…' }, …]
 */
export function readAllowlist(file = DEFAULT_ALLOWLIST) {
  const entries = readJson(file);
  if (!Array.isArray(entries)) throw new Error(`${file}: expected an array of { file, specifier, why }, found ${typeof entries}`);
  entries.forEach((e, i) => {
    for (const key of ['file', 'specifier', 'why']) {
      if (typeof e?.[key] !== 'string' || e[key] === '') {
        throw new Error(`${file}[${i}]: expected "${key}" to be a non-empty string, found ${JSON.stringify(e?.[key])}`);
      }
    }
  });
  return entries;
}

/**
 * The module specifiers a source file imports: static and type-only imports, re-exports,
 * side-effect imports and `import('…')` with a string literal, each with its 1-based line.
 * Comments, strings, template literals and regular expressions are skipped, so text that merely
 * looks like an import is not one.
 * @param {string} source
 * @returns {{ specifier: string, line: number }[]}
 * @example
 * scanImports("import type { A } from '@mcp0/abi';\nconst s = \"import 'x'\";");
 * // [{ specifier: '@mcp0/abi', line: 1 }]
 */
export function scanImports(source) {
  const tokens = tokenize(source);
  const out = [];
  const seen = new Set();
  const record = (t) => {
    const key = `${t.line}\0${t.value}`;
    if (!seen.has(key)) out.push({ specifier: t.value, line: t.line }), seen.add(key);
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.type !== 'word' || (t.value !== 'import' && t.value !== 'export') || tokens[i - 1]?.value === '.') continue;
    const next = tokens[i + 1];
    if (t.value === 'import' && next?.type === 'string') {
      record(next);
      continue;
    }
    if (t.value === 'import' && next?.value === '(') {
      const arg = tokens[i + 2];
      if (arg?.type === 'string' && (tokens[i + 3]?.value === ')' || tokens[i + 3]?.value === ',')) record(arg);
      continue;
    }
    // The clause before `from` is names, braces, commas and `*`; anything else ends the statement.
    for (let j = i + 1; j < tokens.length; j++) {
      const c = tokens[j];
      if (c.type === 'word' && c.value === 'from' && tokens[j + 1]?.type === 'string') {
        record(tokens[j + 1]);
        break;
      }
      if (c.type === 'word' ? c.value === 'import' || c.value === 'export' : !['{', '}', ',', '*'].includes(c.value)) break;
    }
  }
  return out;
}

// ---- the tree ----

/** @returns {Area[]} */
function findAreas(root) {
  /** @type {Area[]} */
  const areas = [];
  for (const name of LAYERS) {
    const pkg = readPackage(join(root, name));
    if (pkg) areas.push({ kind: 'layer', name, dir: join(root, name), npm: pkg.name, exports: exportKeys(pkg) });
  }
  const builder = readPackage(join(root, BUILDER));
  if (builder) areas.push({ kind: 'builder', name: BUILDER, dir: join(root, BUILDER), npm: builder.name, exports: exportKeys(builder) });
  for (const group of ['plugins', 'agents']) {
    const dir = join(root, group);
    if (!isDir(dir)) continue;
    for (const entry of readdirSync(dir).sort()) {
      if (!isDir(join(dir, entry))) continue;
      const pkg = readPackage(join(dir, entry));
      const guest = { kind: 'guest', name: `${group}/${entry}`, dir: join(dir, entry), npm: pkg?.name, exports: pkg ? exportKeys(pkg) : ['.'] };
      areas.push(guest);
      // A plugin's tests are host code that builds the plugin and runs it on a kernel, a node or a
      // store: nothing imports them, so they may use any package (through its public entry).
      if (isDir(join(guest.dir, 'test'))) areas.push({ kind: 'free', name: `${guest.name}/test`, dir: join(guest.dir, 'test'), parent: guest });
    }
  }
  if (isDir(join(root, 'test'))) areas.push({ kind: 'helper', name: 'test', dir: join(root, 'test') });
  for (const name of ['bench', 'scripts']) if (isDir(join(root, name))) areas.push({ kind: 'free', name, dir: join(root, name) });
  return areas;
}

function readPackage(dir) {
  const file = join(dir, 'package.json');
  return existsSync(file) ? readJson(file) : undefined;
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: expected JSON, found a parse error: ${err.message}`);
  }
}

/** The subpaths a package makes public: '.' and its `exports` keys ('.' alone without a map). */
function exportKeys(pkg) {
  const { exports } = pkg;
  if (exports === undefined || typeof exports === 'string' || Array.isArray(exports)) return ['.'];
  const keys = Object.keys(exports);
  // A map of conditions alone (no './' keys) describes '.' only.
  return keys.some((k) => k.startsWith('.')) ? keys : ['.'];
}

/** Build output inside an area, which mirrors sources and would double every finding. */
function skippedDirs(area) {
  if (area.kind === 'guest') return [join(area.dir, 'test')];
  if (area.kind !== 'layer' && area.kind !== 'builder') return [];
  const tsconfig = join(area.dir, 'tsconfig.json');
  const outDir = existsSync(tsconfig) ? readJson(tsconfig).compilerOptions?.outDir : undefined;
  return [resolve(area.dir, outDir ?? 'dist')];
}

function* sourceFiles(dir, skipped) {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.') || skipped.includes(path)) continue;
      // An AssemblyScript project's build/ (beside its assembly/) holds asc output, not sources.
      if (entry.name === 'build' && isDir(join(dir, 'assembly'))) continue;
      yield* sourceFiles(path, skipped);
    } else if (entry.isFile() && SOURCE.test(entry.name)) {
      yield path;
    }
  }
}

/** The innermost area holding `abs` (a plugin's test/ rather than the plugin). */
function areaOf(areas, abs) {
  const holding = areas.filter((a) => abs === a.dir || abs.startsWith(a.dir + sep));
  return holding.sort((a, b) => b.dir.length - a.dir.length)[0];
}

// ---- the rules ----

/** Why `from` (the area of `file`) may not import `to`, or undefined when it may. */
function direction(from, to, file) {
  if (!to || from === to || from.kind === 'free' || from.kind === 'helper') return undefined;
  if (from.kind === 'guest') {
    return to.name === 'abi' ? undefined : `${from.name} may import only abi (${GUEST_LIBRARY})`;
  }
  if (from.kind === 'builder') return to.name === 'abi' ? undefined : `${from.name} may import only abi`;
  if (to.kind === 'builder') {
    return from.name === BUILDER_USER || isTestFile(file)
      ? undefined
      : `${from.name} may use ${to.npm} (the plugin build) in its tests only; ${BUILDER_USER} uses it in code`;
  }
  const allowed = LAYERS.slice(LAYERS.indexOf(from.name) + 1);
  if (to.kind === 'layer' && allowed.includes(to.name)) return undefined;
  return allowed.length ? `${from.name} may import only ${allowed.join(', ')}` : `${from.name} may import nothing of the project`;
}

function isPublicEntry(specifier, area) {
  if (specifier === GUEST_LIBRARY && area.name === 'abi') return true;
  const sub = '.' + specifier.slice(packageName(specifier).length);
  return area.exports.some((key) => {
    const star = key.indexOf('*');
    return star < 0 ? key === sub : sub.startsWith(key.slice(0, star)) && sub.endsWith(key.slice(star + 1)) && sub.length >= key.length - 1;
  });
}

function entryList(area) {
  const entries = area.exports.map((k) => (k === '.' ? area.npm : `${area.npm}${k.slice(1)}`));
  return (area.name === 'abi' ? [...entries, GUEST_LIBRARY] : entries).join(', ');
}

/** `@mcp0/sdk/x/y` → `@mcp0/sdk`. */
function packageName(specifier) {
  return specifier.split('/').slice(0, 2).join('/');
}

/** The helper file a relative import names: `x.js` is written for `x.ts`. */
function helperFile(target) {
  const candidates = [target, target.replace(/\.js$/, '.ts'), target.replace(/\.mjs$/, '.mts'), `${target}.ts`, join(target, 'index.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

/**
 * The project packages a file outside the packages reaches, through its own imports and those of
 * the files it imports by relative path outside the packages.
 */
function helperImports(start, outside, importsOf, byNpm) {
  /** @type {Map<string, { file: string, line: number }>} */
  const reached = new Map();
  const visited = new Set();
  const queue = start ? [start] : [];
  while (queue.length) {
    const file = queue.shift();
    if (visited.has(file)) continue;
    visited.add(file);
    for (const { specifier, line } of importsOf(file)) {
      if (specifier.startsWith('@mcp0/') && byNpm.has(packageName(specifier))) {
        if (!reached.has(specifier)) reached.set(specifier, { file, line });
      } else if (specifier.startsWith('.')) {
        const next = helperFile(resolve(dirname(file), specifier));
        if (next && outside.includes(areaOf(outside, next))) queue.push(next);
      }
    }
  }
  return reached;
}

/** @returns {Violation[]} */
function applyAllowlist(found, allow) {
  const key = (v) => `${v.file}\0${v.specifier}`;
  const listed = new Map();
  const problems = [];
  for (const entry of allow) {
    if (listed.has(key(entry))) {
      problems.push({
        file: entry.file,
        line: 0,
        specifier: entry.specifier,
        rule: 'duplicate-allowlist',
        message: `known-violations.json lists ${entry.file} → ${entry.specifier} twice: expected each pair once`,
      });
    }
    listed.set(key(entry), entry);
  }
  const used = new Set();
  const remaining = found.filter((v) => {
    if (!listed.has(key(v))) return true;
    used.add(key(v));
    return false;
  });
  for (const [k, entry] of listed) {
    if (!used.has(k)) {
      problems.push({
        file: entry.file,
        line: 0,
        specifier: entry.specifier,
        rule: 'stale-allowlist',
        message: `known-violations.json lists ${entry.file} → ${entry.specifier}, but no such import violates a rule now: remove the entry`,
      });
    }
  }
  return [...remaining, ...problems];
}

// ---- the tokenizer ----

const REGEX_AFTER_WORD = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'instanceof', 'new', 'void', 'delete', 'throw', 'yield', 'await', 'of']);

/**
 * Words, strings and single punctuation characters, with their lines; comments, template text and
 * regular expressions are dropped. Good enough to find import statements, not a parser.
 * @returns {{ type: 'word' | 'string' | 'punct', value: string, line: number }[]}
 */
function tokenize(src) {
  const tokens = [];
  const templates = []; // brace depth at each open `${`, to know which `}` resumes a template
  let depth = 0;
  let line = 1;
  let i = src.startsWith('#!') ? src.indexOf('\n') : 0;
  if (i < 0) i = src.length;
  const count = (from, to) => {
    for (let k = from; k < to; k++) if (src[k] === '\n') line++;
  };
  const skipTemplate = () => {
    // From inside a template literal to its end or to the next `${`.
    while (i < src.length) {
      const c = src[i];
      if (c === '\\') {
        count(i, i + 2);
        i += 2;
        continue;
      }
      if (c === '`') {
        i++;
        return;
      }
      if (c === '$' && src[i + 1] === '{') {
        i += 2;
        templates.push(depth++);
        return;
      }
      if (c === '\n') line++;
      i++;
    }
  };
  while (i < src.length) {
    const c = src[i];
    const start = i;
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      i = end < 0 ? src.length : end + 2;
      count(start, i);
      continue;
    }
    if (c === '"' || c === "'") {
      let value = '';
      for (i++; i < src.length && src[i] !== c && src[i] !== '\n'; i++) {
        if (src[i] === '\\') {
          value += src[i + 1] ?? '';
          count(i + 1, i + 2);
          i++;
        } else value += src[i];
      }
      i++;
      tokens.push({ type: 'string', value, line });
      continue;
    }
    if (c === '`') {
      i++;
      skipTemplate();
      tokens.push({ type: 'punct', value: '`', line });
      continue;
    }
    if (c === '/' && regexAllowed(tokens.at(-1))) {
      let inClass = false;
      for (i++; i < src.length && src[i] !== '\n'; i++) {
        if (src[i] === '\\') i++;
        else if (src[i] === '[') inClass = true;
        else if (src[i] === ']') inClass = false;
        else if (src[i] === '/' && !inClass) break;
      }
      i++;
      while (i < src.length && /[a-z]/i.test(src[i])) i++;
      tokens.push({ type: 'punct', value: '/regex/', line });
      continue;
    }
    const word = /^[A-Za-z_$0-9][\w$]*/.exec(src.slice(i, i + 256));
    if (word) {
      i += word[0].length;
      tokens.push({ type: 'word', value: word[0], line });
      continue;
    }
    i++;
    if (c === '{') depth++;
    if (c === '}') {
      depth--;
      if (templates.length && templates.at(-1) === depth) {
        templates.pop();
        skipTemplate();
        tokens.push({ type: 'punct', value: '`', line });
        continue;
      }
    }
    tokens.push({ type: 'punct', value: c, line });
  }
  return tokens;
}

/** A `/` starts a regular expression where an operand is expected, not after one. */
function regexAllowed(prev) {
  if (!prev) return true;
  if (prev.type === 'string') return false;
  if (prev.type === 'word') return REGEX_AFTER_WORD.has(prev.value);
  return prev.value !== ')' && prev.value !== ']' && prev.value !== '`' && prev.value !== '/regex/';
}

function memo(fn) {
  const cache = new Map();
  return (key) => {
    if (!cache.has(key)) cache.set(key, fn(key));
    return cache.get(key);
  };
}

function isDir(path) {
  return existsSync(path) && statSync(path).isDirectory();
}

function toPosix(path) {
  return path.split(sep).join('/');
}

// ---- the command ----

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const found = findImportViolations(root, { allow: readAllowlist() });
  for (const v of found) console.log(v.message);
  console.log(
    found.length
      ? `${found.length} import problem(s): the rules are at the top of scripts/imports/check.mjs`
      : 'imports: no violations beyond scripts/imports/known-violations.json',
  );
  process.exitCode = found.length ? 1 : 0;
}
