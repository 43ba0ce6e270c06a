// A real MongoDB wire-protocol server for tests: FerretDB v1.24.2 with its SQLite backend, built by
// scripts/ferretdb/build.sh (see test/mongo-server.md).
//
//   const mongo = await startMongo();          // null only outside CI when nothing is available
//   describe.skipIf(!mongo)(...)               // or: start it in beforeAll
//   await mongo.stop();
//
// Resolution order: env MONGODB_URI (an external server; stop() is a no-op), env MCP0_FERRETDB (path
// of the binary), then ${MCP0_CACHE:-~/.cache/mcp0}/ferretdb-1.24.2/ferretdb-test. With none of
// them, startMongo() throws when env CI is set (a CI run must fail, never skip) and otherwise warns
// and returns null.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';

export const FERRETDB_VERSION = '1.24.2';

export interface MongoServer {
  /** A mongodb:// URI, with directConnection=true for the FerretDB server. */
  uri: string;
  /** Stops the server this harness started and removes its data directory; no-op for MONGODB_URI. */
  stop(): Promise<void>;
}

export interface StartMongoOptions {
  /** How long to wait for the server to answer `ping`, in ms. */
  readyTimeoutMs?: number;
}

/** The cache path build.sh writes the binary to. */
export function cachedFerretdbPath(): string {
  const cache = process.env.MCP0_CACHE || join(homedir(), '.cache', 'mcp0');
  return join(cache, `ferretdb-${FERRETDB_VERSION}`, 'ferretdb-test');
}

/** The FerretDB binary to run, or null when there is none. */
export function findFerretdb(): string | null {
  const fromEnv = process.env.MCP0_FERRETDB;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`MCP0_FERRETDB=${fromEnv} does not exist; run: bash scripts/ferretdb/build.sh`);
    return fromEnv;
  }
  const cached = cachedFerretdbPath();
  return existsSync(cached) ? cached : null;
}

// Children still running when this process exits are killed synchronously. Their stdin is also a
// pipe from us and the server stops on its end of file (--exit-on-stdin-close), which covers a
// SIGKILL of this process, where no exit handler runs.
const live = new Map<ChildProcess, string>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [child, dir] of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
    live.clear();
  });
}

const STDERR_LIMIT = 16 * 1024;

export async function startMongo(options: StartMongoOptions = {}): Promise<MongoServer | null> {
  const external = process.env.MONGODB_URI;
  if (external) return { uri: external, stop: async () => {} };

  const bin = findFerretdb();
  if (!bin) {
    const msg =
      `no MongoDB server for the tests: set MONGODB_URI, or build FerretDB ${FERRETDB_VERSION} with ` +
      `"bash scripts/ferretdb/build.sh" (or set MCP0_FERRETDB to its binary); looked for ${cachedFerretdbPath()}`;
    if (process.env.CI) throw new Error(msg);
    console.warn(`[mongo] skipping MongoDB tests: ${msg}`);
    return null;
  }
  return startFerretdb(bin, options.readyTimeoutMs ?? 30_000);
}

async function startFerretdb(bin: string, readyTimeoutMs: number): Promise<MongoServer> {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), 'mcp0-ferretdb-'));
  // Port 0: the server binds a free port itself and reports it, so there is no race for the port.
  const child = spawn(bin, ['--listen', '127.0.0.1:0', '--dir', dir, '--exit-on-stdin-close'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  live.set(child, dir);

  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    stderr = (stderr + s).slice(-STDERR_LIMIT);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => resolve({ code, signal }));
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  const fail = async (why: string): Promise<never> => {
    await stopChild(child, exited);
    live.delete(child);
    await rm(dir, { recursive: true, force: true });
    const tail = stderr.trim() ? `\n--- ferretdb stderr ---\n${stderr.trim()}` : ' (ferretdb stderr is empty)';
    throw new Error(`FerretDB (${bin}) ${why}${tail}`);
  };

  // 1. The "ready <host:port>" line on stdout.
  const addr = await withDeadline(readyLine(child), exited, spawnError, readyTimeoutMs);
  if (typeof addr !== 'string') return fail(describeFailure(addr, readyTimeoutMs, 'print its ready line'));
  const uri = `mongodb://${addr}/?directConnection=true`;

  // 2. A mongodb client can ping it.
  const deadline = Date.now() + readyTimeoutMs;
  let lastError: unknown;
  for (;;) {
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 1_000, connectTimeoutMS: 1_000 });
    try {
      await client.db('admin').command({ ping: 1 });
      break;
    } catch (e) {
      lastError = e;
    } finally {
      await client.close().catch(() => {});
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      return fail(describeFailure({ exit: await exited }, readyTimeoutMs, 'answer ping'));
    }
    if (Date.now() > deadline) {
      return fail(`did not answer ping at ${uri} within ${readyTimeoutMs} ms: ${String(lastError)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  // The server must not keep the test process alive; the exit hook and stdin EOF still stop it.
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void })?.unref?.();

  let stopping: Promise<void> | undefined;
  return {
    uri,
    stop: () =>
      (stopping ??= (async () => {
        await stopChild(child, exited);
        live.delete(child);
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}

type Failure = { exit: { code: number | null; signal: NodeJS.Signals | null } } | { error: Error } | { timeout: true };

function describeFailure(f: Failure, ms: number, what: string): string {
  if ('timeout' in f) return `did not ${what} within ${ms} ms`;
  if ('error' in f) return `could not be started: ${f.error.message}`;
  return `exited (code ${f.exit.code}, signal ${f.exit.signal}) before it could ${what}`;
}

function readyLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    child.stdout!.setEncoding('utf8');
    const onData = (s: string): void => {
      buf += s;
      const m = /^ready (\S+)$/m.exec(buf);
      if (m) {
        child.stdout!.off('data', onData);
        child.stdout!.resume(); // keep draining anything else
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
  });
}

async function withDeadline(
  ready: Promise<string>,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  spawnError: Promise<Error>,
  ms: number,
): Promise<string | Failure> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race<string | Failure>([
      ready,
      exited.then((exit) => ({ exit })),
      spawnError.then((error) => ({ error })),
      new Promise<Failure>((r) => (timer = setTimeout(() => r({ timeout: true }), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited. */
async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  // No pid: spawn itself failed and there will be no 'exit' event.
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), 5_000)))]);
  clearTimeout(timer);
  if (killed) {
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * `base` (a server URI) with its path replaced by `database`, keeping the query and adding `extra`.
 * @example
 * withDatabase('mongodb://127.0.0.1:27017/?directConnection=true', 'db1') // 'mongodb://127.0.0.1:27017/db1?directConnection=true'
 */
export function withDatabase(base: string, database: string, extra = ''): string {
  const [head, query] = base.split('?') as [string, string | undefined];
  const hosts = /^mongodb(?:\+srv)?:\/\/[^/]*/i.exec(head)![0];
  const params = [query, extra].filter(Boolean).join('&');
  return `${hosts}/${database}${params ? `?${params}` : ''}`;
}

/**
 * Fresh databases on `server` for one test file, each under a new random name starting with
 * `prefix`; `drop()` removes them from an external server (MONGODB_URI), which keeps its data (a
 * FerretDB this harness started is deleted with its data directory).
 * @example
 * const dbs = testDatabases(server, 'mcp0_cli_')
 * const uri = dbs.fresh()
 * afterAll(() => dbs.drop())
 */
export function testDatabases(server: MongoServer, prefix: string): { fresh(): string; drop(): Promise<void> } {
  const names: string[] = [];
  return {
    fresh() {
      const name = `${prefix}${randomUUID().replaceAll('-', '').slice(0, 16)}`;
      names.push(name);
      return withDatabase(server.uri, name);
    },
    async drop() {
      if (!process.env.MONGODB_URI || names.length === 0) return;
      const client = new MongoClient(server.uri);
      try {
        for (const name of names.splice(0))
          await client
            .db(name)
            .dropDatabase()
            .catch(() => undefined);
      } finally {
        await client.close();
      }
    },
  };
}
