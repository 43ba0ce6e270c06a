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
 *
 * A node served over the network runs beside the commands that call it, as in a shell: an `sh` line
 * ending in ` &` is started in the background (numbered as bash numbers jobs) and must `--listen`
 * on a host:port, which must be free before it starts; the walk goes on once that port takes
 * connections (polled, with a generous deadline; the node binds it only when it serves). `kill %N`
 * sends that job SIGTERM and waits for it to exit: its exit code and everything it printed are the
 * line's result. A job a walk leaves running fails the walk (and is stopped). `python` blocks run
 * with $MCP0_PYTHON (`scripts/python/setup.sh` prints it; .ci/run sets it): without it they are
 * skipped with a warning, except under CI, where the walk fails. A `json` block is an MCP client's
 * configuration (`mcpServers`): each server it names is launched as a client would launch it (from
 * another folder, with the clone's path put in for `/home/you/mcp-zero`), and asked over stdio to
 * initialize, list its tools and call one; what it answered is the block's result.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
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

/** The walks: sections run in one folder, in this order (Running agents signs with Writing a plugin's key; the network section calls its agent). */
const WALKS: string[][] = [
  ['Writing a plugin', 'Loading and running, in short', 'Running agents', 'A node over the network', 'Serving agents to MCP clients'],
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
  { section: 'A node over the network', command: 'npx mcp0 remote 127.0.0.1:7040 agent execute tally increment', output: /^\{"value":3\}$/m },
  {
    section: 'A node over the network',
    command: 'npx mcp0 remote 127.0.0.1:7040 agent list --key distributions/standard/build/dev-key.jwk',
    output: /^\S+  tally +running +acme\.tally@0\.1\.0  1 snapshot\(s\)$/m,
  },
  { section: 'A node over the network', command: 'npx mcp0 remote 127.0.0.1:7040 trace head', output: /^seq:  \d+\nhead: \d+$/m },
  {
    section: 'A node over the network',
    command: 'npx mcp0 remote 127.0.0.1:7040 agent list --key me.jwk',
    code: 1,
    output: /^mcp0 remote: EPERM: .*not-authorised/m,
  },
  { section: 'A node over the network', command: 'node', output: /^\{ value: 13 \}\n\{ value: 13 \} \d+ \d{12}\nEPERM$/m },
  { section: 'A node over the network', command: 'python', output: /^\{'value': 113\}\nEPERM$/m },
  {
    section: 'A node over the network',
    command: 'kill %1',
    output: /serving gRPC on 127\.0\.0\.1:7040 \(plaintext\)[^]*SIGTERM: node stopped cleanly/,
  },
  { section: 'A node over the network', command: 'npx mcp0 remote 127.0.0.1:7040 node info', output: /^distribution: standard@/m },
  {
    section: 'Serving agents to MCP clients',
    command: 'json',
    output: /"serverInfo":\{"name":"mcp0"[^]*"name":"tally\.increment"[^]*\{\\"value\\":\d+\}[^]*stdin closed: stopping/,
  },
  { section: 'A node over the network', command: 'kill %1', nth: 2, output: /serving gRPC on 127\.0\.0\.1:7040 \(TLS\)[^]*SIGTERM: node stopped cleanly/ },
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

/** A command the README starts in the background with ` &`, as a shell job. */
interface Job {
  /** Its job number, as bash gives it: one more than the highest of the jobs still running. */
  number: number;
  command: string;
  child: ChildProcess;
  /** What it printed so far, stdout and stderr. */
  out: string;
  /** Its exit code once it exited (-1 when killed by a signal). */
  exited: Promise<number>;
  done: boolean;
}

/** How long a backgrounded node may take to serve, or to stop after SIGTERM: generous, for a loaded machine. */
const JOB_DEADLINE_MS = 180_000;

/** Resolves true once `host:port` accepts a connection, false when it refuses one. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('error', () => (socket.destroy(), done(false)));
  });
}

/** Rejects, naming the README line, when `host:port` is taken already: the walk would talk to someone else's server. */
function assertFree(host: string, port: number, where: string): Promise<void> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', (e: NodeJS.ErrnoException) =>
      fail(new Error(`${where}: ${host}:${port} is in use (${e.code}) before the walk starts its node there: stop what listens on it and run again`)),
    );
    probe.listen(port, host, () => probe.close(() => done()));
  });
}

/**
 * Starts `step` (an `sh` line ending in ` &`) as a job: `npx mcp0` is the bin npx would run,
 * exec'd by bash so that the job is the node's own process (its SIGTERM reaches the node, not a
 * shell in between). Resolves once it says it serves on its `--listen` address and the port
 * takes connections.
 */
async function startJob(dir: string, step: string, env: NodeJS.ProcessEnv, jobs: Job[], where: string): Promise<Ran> {
  const command = step.replace(/\s*&$/, '');
  const listen = /--listen (\S+):(\d+)(?:\s|$)/.exec(command);
  if (!listen) throw new Error(`${where}: a command run in the background must --listen <host:port>, so the walk knows when it serves`);
  const [host, port] = [listen[1]!, Number(listen[2])];
  await assertFree(host, port, where);
  const bin = `'${join(dir, 'node_modules', '.bin', 'mcp0')}'`;
  const child = spawn('bash', ['-c', `exec ${command.replace(/^npx mcp0 /, `${bin} `)}`], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const job: Job = {
    number: Math.max(0, ...jobs.filter((j) => !j.done).map((j) => j.number)) + 1,
    command,
    child,
    out: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code ?? -1))),
    done: false,
  };
  child.stdout!.on('data', (d) => (job.out += d));
  child.stderr!.on('data', (d) => (job.out += d));
  void job.exited.then(() => (job.done = true));
  jobs.push(job);
  const deadline = Date.now() + JOB_DEADLINE_MS;
  // Ready once it says so (its start has finished, not just bound the port: a node still busy
  // starting can leave the next command's connection waiting past that command's timeout on a
  // loaded machine) and the port takes connections.
  const said = `serving gRPC on ${host}:${port}`;
  while (!job.out.includes(said) || !(await accepts(host, port))) {
    if (job.done) throw new Error(`${where}: exited (code ${await job.exited}) before it served on ${host}:${port}:\n${job.out}`);
    if (Date.now() > deadline) throw new Error(`${where}: not serving on ${host}:${port} after ${JOB_DEADLINE_MS} ms:\n${job.out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { code: 0, out: job.out };
}

/** Sends the job SIGTERM and waits for it to exit (SIGKILL after the deadline); undefined when it was gone already. */
async function stopJob(job: Job): Promise<number | undefined> {
  if (job.done) return undefined;
  job.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), JOB_DEADLINE_MS)));
  const code = await Promise.race([job.exited, late]).finally(() => clearTimeout(timer));
  if (code !== 'late') return code;
  job.child.kill('SIGKILL');
  await job.exited;
  throw new Error(`${job.command} did not exit within ${JOB_DEADLINE_MS} ms of SIGTERM:\n${job.out}`);
}

/** `kill %N`: the job numbered N, stopped; its exit code and all it printed are the line's result. */
async function killJob(step: string, jobs: Job[], where: string): Promise<Ran> {
  const n = Number(/^kill %(\d+)$/.exec(step)![1]);
  const job = jobs.find((j) => j.number === n && !j.done);
  if (job === undefined)
    throw new Error(`${where}: no job %${n} is running (jobs: ${jobs.map((j) => `%${j.number} ${j.done ? 'exited' : 'running'}: ${j.command}`).join('; ')})`);
  const code = await stopJob(job);
  return { code: code ?? -1, out: job.out };
}

/** The path the README's MCP client configuration names for your clone. */
const CLONE_PLACEHOLDER = '/home/you/mcp-zero';

/**
 * A `json` block: an MCP client configuration. Each server is started with its command and args
 * (the clone's path in place of the placeholder, from a folder elsewhere, as a desktop client
 * does), sent initialize, tools/list and a call of the first tool listed, then its stdin is
 * closed, as a client does to stop it. The result is everything it printed and its exit code.
 */
async function mcpConfig(dir: string, text: string, env: NodeJS.ProcessEnv, where: string): Promise<Ran> {
  const config = JSON.parse(text.replaceAll(CLONE_PLACEHOLDER, dir)) as { mcpServers?: Record<string, { command: string; args?: string[] }> };
  const servers = Object.entries(config.mcpServers ?? {});
  if (servers.length === 0) throw new Error(`${where}: a json block that is not an MCP client configuration (mcpServers)`);
  let out = '';
  for (const [name, { command, args = [] }] of servers) {
    const child = spawn(command, args, { cwd: tmpdir(), env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const waiting: { id: number; resolve: (line: Record<string, unknown>) => void }[] = [];
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdout!.on('data', (d) => {
      stdout += d;
      for (const line of stdout.split('\n').slice(0, -1)) {
        const message = JSON.parse(line) as { id?: number };
        for (const w of waiting.filter((x) => x.id === message.id)) w.resolve(message);
      }
    });
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    const ask = async (id: number, method: string, params: object): Promise<Record<string, unknown>> => {
      const answer = new Promise<Record<string, unknown>>((resolve) => waiting.push({ id, resolve }));
      child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
      const late = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`${where}: ${name} did not answer ${method}:\n${stderr}`)), 120_000).unref(),
      );
      return Promise.race([answer, late, exited.then((code) => Promise.reject(new Error(`${where}: ${name} exited ${code}:\n${stderr}`)))]);
    };
    try {
      await ask(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'readme', version: '0' } });
      child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
      const listed = (await ask(2, 'tools/list', {})) as { result?: { tools?: { name: string }[] } };
      const first = listed.result?.tools?.[0]?.name;
      if (first !== undefined) await ask(3, 'tools/call', { name: first, arguments: {} });
    } finally {
      child.stdin!.end();
    }
    const code = await Promise.race([exited, new Promise<number>((resolve) => setTimeout(() => resolve(-1), JOB_DEADLINE_MS).unref())]);
    if (code === -1) child.kill('SIGKILL');
    out += `${stdout}${stderr}`;
    if (code !== 0) return { code, out };
  }
  return { code: 0, out };
}

/** The Python of `python` blocks: $MCP0_PYTHON, which scripts/python/setup.sh prints and .ci/run sets. */
const python = process.env.MCP0_PYTHON;

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
      const jobs: Job[] = [];
      try {
        for (const section of sections) {
          const blocks = readme.filter((b) => b.section === section);
          expect(blocks.length, `no code block in section "${section}"`).toBeGreaterThan(0);
          for (const block of blocks) {
            const steps = block.lang === 'sh' ? commands(block.text) : [block.lang === 'python' || block.lang === 'json' ? block.lang : 'node'];
            for (const step of steps) {
              if (step in COVERED_ELSEWHERE) continue;
              const nth = (seen.get(`${section}\0${step}`) ?? 0) + 1;
              seen.set(`${section}\0${step}`, nth);
              const at = `README.md:${block.line} (${section}): ${step}`;
              let ran: Ran;
              if (block.lang === 'sh' && step.endsWith(' &')) ran = await startJob(dir, step, env, jobs, at);
              else if (block.lang === 'sh' && /^kill %\d+$/.test(step)) ran = await killJob(step, jobs, at);
              else if (block.lang === 'sh') {
                const viaNpx: boolean = !npxRan && step.includes('npx mcp0');
                npxRan ||= viaNpx;
                ran = await sh(dir, placeholders(step, dir), env, viaNpx);
              } else if (block.lang === 'json') {
                ran = await mcpConfig(dir, block.text, env, at);
              } else if (block.lang === 'python') {
                if (python === undefined) {
                  const why = `${at}: no Python for the Python client: run scripts/python/setup.sh and set MCP0_PYTHON to the path it prints`;
                  if (process.env.CI) throw new Error(why);
                  console.warn(`[readme] skipping: ${why}`);
                  continue;
                }
                const file = join(dir, `readme-${block.line}.py`);
                writeFileSync(file, block.text);
                ran = await sh(dir, `'${python}' ${file}`, env);
              } else {
                const file = join(dir, `readme-${block.line}.mjs`);
                writeFileSync(file, block.text);
                ran = await sh(dir, `node --no-warnings ${file}`, env);
              }
              const expected = EXPECTED.find((e) => e.section === section && step.startsWith(e.command) && (e.nth ?? 1) === nth);
              const where = `${at}\n${ran.out}`;
              expect(ran.code, where).toBe(expected?.code ?? 0);
              if (expected?.output) expect(ran.out, where).toMatch(expected.output);
            }
          }
        }
        const left = jobs.filter((j) => !j.done).map((j) => `%${j.number} ${j.command}`);
        expect(left, 'a job the README starts with & and never stops (kill %N)').toEqual([]);
      } finally {
        for (const job of jobs) await stopJob(job).catch(() => job.child.kill('SIGKILL'));
      }
      expect(existsSync(dir)).toBe(true);
    },
    900_000,
  );
});
