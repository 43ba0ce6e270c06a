/**
 * Shared helpers for the CLI tests: run `main` with captured output, temp dirs that are removed
 * after the file, and signed fixtures written to disk with their key files. Importing this file
 * points $MCP0_KEYRING at a temp dir, so no test touches ~/.mcp0.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { formatJwk, type PrivateKey } from '@mcp0/abi';
import { main } from '@mcp0/tools';
import { PLUGIN_DIRS, publisher, signed, unsigned } from '../../test/fixtures.js';

const dirs: string[] = [];

/** A fresh temp dir, removed when the test file ends. */
export function tempDir(prefix = 'mcp0-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** The keyring every test in this process uses. */
export const KEYRING = tempDir('mcp0-keyring-');
process.env.MCP0_KEYRING = KEYRING;

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** What one CLI run gave. */
export interface RunResult {
  code: number;
  out: string;
  err: string;
}

/** Run `mcp0 <argv>` in-process, capturing stdout and stderr. */
export async function run(...argv: string[]): Promise<RunResult> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

/** What a child process gave: its exit code (-1 when it was killed), stdout and stderr. */
export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `file args` in a child process with the keyring of this test process, and a timeout. */
export function runProcess(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }): Promise<ProcessResult> {
  return new Promise((done) => {
    const env = { ...process.env, MCP0_KEYRING: KEYRING, NODE_OPTIONS: '', ...options.env };
    execFile(file, args, { cwd: options.cwd, env, timeout: options.timeout ?? 60_000 }, (error, stdout, stderr) => {
      done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

/** A child process's output as it comes, and what it ended with. */
export interface WatchedOutput {
  /** Everything it printed so far, on stdout and on stderr. */
  out(): string;
  err(): string;
  /** Resolves once stdout holds `text`. */
  printed(text: string): Promise<void>;
  /** `<exit code> <signal>`, once it exited. */
  exited: Promise<string>;
}

/**
 * Watch a child spawned with piped stdout and stderr (`mcp0 start --json`, say).
 * @example
 * const node = watchOutput(spawn(process.execPath, [bin, 'start', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] }))
 * await node.printed('"ready"')
 */
export function watchOutput(child: ChildProcess): WatchedOutput {
  let out = '';
  let err = '';
  const waiting: { text: string; resolve: () => void }[] = [];
  child.stderr!.on('data', (d) => (err += d));
  child.stdout!.on('data', (d) => {
    out += d;
    for (const w of waiting.filter((x) => out.includes(x.text))) w.resolve();
  });
  const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(`${code} ${signal}`)));
  return {
    out: () => out,
    err: () => err,
    printed: (text) => (out.includes(text) ? Promise.resolve() : new Promise((resolve) => waiting.push({ text, resolve }))),
    exited,
  };
}

/** The JSON lines of `mcp0 call` output. */
export function lines(out: string): Array<{ export: string; ok: boolean; output?: unknown; error?: { code: string; message: string } }> {
  return out
    .trim()
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l));
}

/** Key files in `dir`: private (mode 0600) and public JWK. */
export function writeKeys(dir: string, key: PrivateKey = publisher, name = 'publisher'): { priv: string; pub: string; kid: string } {
  const priv = join(dir, `${name}.jwk`);
  const pub = join(dir, `${name}.pub.jwk`);
  writeFileSync(priv, formatJwk(key), { mode: 0o600 });
  writeFileSync(pub, formatJwk(key.publicKey));
  return { priv, pub, kid: key.kid };
}

/** A fixture signed by `publisher`, written to a temp dir with the publisher's key files. */
export async function signedFile(name: keyof typeof PLUGIN_DIRS): Promise<{ dir: string; file: string; priv: string; pub: string; kid: string }> {
  const dir = tempDir();
  const file = join(dir, `${name}.wasm`);
  writeFileSync(file, await signed(name));
  return { dir, file, ...writeKeys(dir) };
}

/** A fixture without a signature, written to a temp dir. */
export async function unsignedFile(name: keyof typeof PLUGIN_DIRS): Promise<{ dir: string; file: string }> {
  const dir = tempDir();
  const file = join(dir, `${name}.wasm`);
  writeFileSync(file, await unsigned(name));
  return { dir, file };
}
