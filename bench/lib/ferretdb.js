/**
 * FerretDB for the benchmarks: finds the test binary (MCP0_FERRETDB, or
 * ${MCP0_CACHE:-~/.cache/mcp0}/ferretdb-1.24.2/ferretdb-test; see scripts/ferretdb/build.sh) and
 * starts it on 127.0.0.1 with a throwaway SQLite directory.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The FerretDB binary, or null when there is none.
 * @example
 * const bin = ferretdbPath(); if (!bin) console.log('MongoDB column skipped')
 */
export function ferretdbPath() {
  if (process.env.MCP0_FERRETDB) return existsSync(process.env.MCP0_FERRETDB) ? process.env.MCP0_FERRETDB : null;
  const p = join(process.env.MCP0_CACHE || join(homedir(), '.cache', 'mcp0'), 'ferretdb-1.24.2', 'ferretdb-test');
  return existsSync(p) ? p : null;
}

/**
 * Spawns `ferretdb-test --listen 127.0.0.1:0 --dir <tmp>` and waits for its `ready <host:port>` line.
 * @example
 * const server = await startFerretdb(bin, 'mcp0bench'); const store = await openStore(server.uri); …; await server.stop()
 */
export async function startFerretdb(bin, database = 'mcp0bench') {
  const dir = mkdtempSync(join(tmpdir(), 'mcp0-bench-ferretdb-'));
  const child = spawn(bin, ['--listen', '127.0.0.1:0', '--dir', dir, '--exit-on-stdin-close'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s) => (stderr = (stderr + s).slice(-8192)));
  const exited = new Promise((r) => child.once('close', (code, signal) => r({ code, signal })));
  process.on('exit', () => child.kill('SIGKILL'));
  const addr = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`FerretDB printed no ready line within 30 s\n${stderr}`)), 30_000);
    child.once('error', (e) => (clearTimeout(timer), reject(e)));
    exited.then((x) => (clearTimeout(timer), reject(new Error(`FerretDB exited (${x.code ?? x.signal})\n${stderr}`))));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s) => {
      buf += s;
      const m = /^ready (\S+)$/m.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  return {
    uri: `mongodb://${addr}/${database}?directConnection=true`,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
