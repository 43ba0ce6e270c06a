/**
 * The README's code blocks, run as written (issue 14). Each walk is one or two README sections,
 * run in a folder of its own that looks like a clone (the repository's node_modules, plugins and
 * agents linked in, distributions/standard and its build copied): every `sh` line runs through bash, every
 * `ts` block as a module with node, in order. A command exits 0 unless EXPECTED says otherwise,
 * and the outputs the README shows are checked. A block no walk covers fails the test, so a new
 * block cannot go untested; the few commands a test cannot run as written say where they are
 * covered instead. Needs the build `npm test` makes first.
 *
 * npx costs about a second a command before mcp0 starts, and the README has some fifty of them: the
 * first `npx mcp0` of each walk runs through npx itself (so the bin npx finds is tested), the rest
 * run that same bin, `node_modules/.bin/mcp0`, directly.
 */
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePublicJwk } from '@mcp0/abi';

const ROOT = resolve(import.meta.dirname, '..');

interface Block {
  /** The line of the opening fence, for messages. */
  line: number;
  lang: string;
  /** The `## ` section it is in. */
  section: string;
  text: string;
}

/** The fenced code blocks of a markdown text, with their sections. */
function codeBlocks(markdown: string): Block[] {
  const out: Block[] = [];
  let section = '';
  let open: Block | undefined;
  markdown.split('\n').forEach((line, i) => {
    const fence = /^```(\w*)\s*$/.exec(line);
    if (open) {
      if (fence) out.push(open), (open = undefined);
      else open.text += `${line}\n`;
    } else if (fence) open = { line: i + 1, lang: fence[1]!, section, text: '' };
    else if (line.startsWith('## ')) section = line.slice(3).trim();
  });
  return out;
}

/** The commands of an `sh` block: continuation lines joined, comments and blank lines left out. */
function commands(text: string): string[] {
  return text
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((l) => l.replace(/\s+#\s.*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** The walks: sections run in one folder, in this order (Running agents signs with Writing a plugin's key). */
const WALKS: string[][] = [
  ['Writing a plugin', 'Loading and running, in short', 'Running agents'],
  ['Running the conformance suite'],
  ['Assembling a custom distribution'],
];

/** Blocks or commands a test cannot run as written, and where each is covered instead. */
const COVERED_ELSEWHERE: Record<string, string> = {
  'npm install && npm start': '.ci/run runs it on a fresh clone, twice',
  'npm test': 'it is this test run',
  'npx mcp0 start --dev': 'runs until stopped: tools/test/agent.test.ts starts it and stops it by SIGTERM and SIGINT',
  'npx mcp0 conformance distributions/standard/build --dev --budgets --html report.html':
    'a 60 s run: conformance/test/budgets.test.ts runs the budgets, CI runs npm start',
  'npx mcp0 conformance distributions/standard/build --dev --budgets --store mongodb://db:27017/fresh':
    'needs a server at db:27017: tools/test/mongo.test.ts runs it on FerretDB',
};

/** What a command gives when it is not a plain success: the walk, the command, and which time it runs. */
const EXPECTED: { section: string; command: string; nth?: number; code?: number; output?: RegExp }[] = [
  { section: 'Writing a plugin', command: 'npx mcp0 call my-plugin/build/greeter.wasm', output: /\{"export":"greet","ok":true,"output":"hello, Ada"\}/ },
  { section: 'Loading and running, in short', command: 'node', output: /^hello, Ada$/m },
  { section: 'Running agents', command: `npx mcp0 agent execute tally increment '{"by":2}' --dev`, output: /^\{"value":2\}$/m },
  { section: 'Running agents', command: 'node', output: /^\{ value: 5 \}$/m },
  {
    section: 'Assembling a custom distribution',
    command: 'npx mcp0 dist verify my-dist',
    nth: 2,
    code: 1,
    output:
      /verify failed: 1 problem in my-dist\n\s+\[changed\] ESIGNATURE: changed since signed: grant widened on mcp0\.storage: blocks, random → blocks, random, net:\*/,
  },
];

const folders: string[] = [];
afterAll(() => {
  for (const f of folders) rmSync(f, { recursive: true, force: true });
});

/** A folder laid out like a clone, for one walk. */
function clone(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcp0-readme-'));
  folders.push(dir);
  for (const name of ['node_modules', 'plugins', 'agents']) symlinkSync(join(ROOT, name), join(dir, name));
  cpSync(join(ROOT, 'distributions', 'standard'), join(dir, 'distributions', 'standard'), { recursive: true });
  chmodSync(join(dir, 'distributions', 'standard', 'build', 'dev-key.jwk'), 0o600);
  return dir;
}

interface Ran {
  code: number;
  out: string;
}

/** A bash function standing in for `npx mcp0 …` in `dir`: the bin npx would run; any other npx as is. */
const npxShim = (dir: string): string =>
  `npx() { if [ "$1" = mcp0 ]; then shift; '${join(dir, 'node_modules', '.bin', 'mcp0')}' "$@"; else command npx "$@"; fi; }\n`;

function sh(dir: string, command: string, env: NodeJS.ProcessEnv, viaNpx = true): Promise<Ran> {
  return new Promise((done) => {
    execFile(
      'bash',
      ['-c', viaNpx ? command : `${npxShim(dir)}${command}`],
      { cwd: dir, env, timeout: 300_000, maxBuffer: 1 << 26 },
      (error, stdout, stderr) => {
        done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, out: `${stdout}${stderr}` });
      },
    );
  });
}

/** The value of the README's placeholder, read from what the walk made so far. */
function placeholders(command: string, dir: string): string {
  if (!command.includes('<your key id>')) return command;
  return command.replace('<your key id>', parsePublicJwk(JSON.parse(readFileSync(join(dir, 'me.pub.jwk'), 'utf8'))).kid);
}

const readme = codeBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));

describe('the README, as written', () => {
  it('every code block is run by a walk below, or says where it is covered', () => {
    const walked = new Set(WALKS.flat());
    const loose = readme.filter((b) => !walked.has(b.section) && !commands(b.text).every((c) => c in COVERED_ELSEWHERE));
    expect(loose.map((b) => `README.md:${b.line} (${b.section})`)).toEqual([]);
    const known = new Set(readme.flatMap((b) => (b.lang === 'sh' ? commands(b.text) : [])));
    expect(Object.keys(COVERED_ELSEWHERE).filter((c) => !known.has(c))).toEqual([]);
  });

  it('puts a key id argument after --: one key id in 64 starts with "-", which would read as an option', () => {
    // The walks make a fresh key each run, so they meet such a key id only by chance (one run did).
    const positional = readme.flatMap((b) => (b.lang === 'sh' ? commands(b.text) : [])).filter((c) => c.includes('<your key id>'));
    expect(positional.length).toBeGreaterThan(0);
    expect(positional.filter((c) => !/ -- <your key id>/.test(c))).toEqual([]);
  });

  it.each(WALKS.map((w) => [w.join(' + '), w] as const))(
    '%s',
    async (_title, sections) => {
      const dir = clone();
      const env = { ...process.env, MCP0_KEYRING: join(dir, 'keyring'), NODE_OPTIONS: '', npm_config_yes: 'false' };
      const seen = new Map<string, number>();
      let npxRan = false;
      for (const section of sections) {
        const blocks = readme.filter((b) => b.section === section);
        expect(blocks.length, `no code block in section "${section}"`).toBeGreaterThan(0);
        for (const block of blocks) {
          const steps = block.lang === 'sh' ? commands(block.text) : ['node'];
          for (const step of steps) {
            if (step in COVERED_ELSEWHERE) continue;
            const nth = (seen.get(`${section}\0${step}`) ?? 0) + 1;
            seen.set(`${section}\0${step}`, nth);
            let ran: Ran;
            if (block.lang === 'sh') {
              const viaNpx: boolean = !npxRan && step.includes('npx mcp0');
              npxRan ||= viaNpx;
              ran = await sh(dir, placeholders(step, dir), env, viaNpx);
            } else {
              const file = join(dir, `readme-${block.line}.mjs`);
              writeFileSync(file, block.text);
              ran = await sh(dir, `node --no-warnings ${file}`, env);
            }
            const expected = EXPECTED.find((e) => e.section === section && step.startsWith(e.command) && (e.nth ?? 1) === nth);
            const where = `README.md:${block.line} (${section}): ${step}\n${ran.out}`;
            expect(ran.code, where).toBe(expected?.code ?? 0);
            if (expected?.output) expect(ran.out, where).toMatch(expected.output);
          }
        }
      }
      expect(existsSync(dir)).toBe(true);
    },
    900_000,
  );
});
