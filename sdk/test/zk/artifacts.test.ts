// The committed artifacts in sdk/zk/trace_batch_32/ match circuits/trace_batch.circom: the manifest's
// source hashes match the files, its artifact hashes match the artifacts, and recompiling the circuit
// (circom2 is deterministic: same r1cs and wasm bytes from any output folder) gives the same r1cs and
// wasm that the ceremony used.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ARTIFACTS_DIR, TRACE_BATCH_N, TRACE_BATCH_PUBLIC_SIGNALS } from '../../src/zk/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const require = createRequire(import.meta.url);
const circomlibDir = dirname(require.resolve('circomlib/package.json'));
const manifestPath = join(DEFAULT_ARTIFACTS_DIR, 'manifest.json');
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

interface Manifest {
  n: number;
  publicSignals: string[];
  constraints: number;
  tools: { circomlib: string };
  sources: Record<string, string>;
  r1cs: { sha256: string };
  artifacts: Record<string, { sha256: string; bytes: number }>;
}

describe.skipIf(!existsSync(manifestPath))('committed zk artifacts match the circuit source', () => {
  const manifest = () => JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;

  it('describes TraceBatch(32) with the documented public signal order', () => {
    const m = manifest();
    expect(m.n).toBe(TRACE_BATCH_N);
    expect(m.publicSignals).toEqual([...TRACE_BATCH_PUBLIC_SIGNALS]);
    const vkey = JSON.parse(readFileSync(join(DEFAULT_ARTIFACTS_DIR, 'verification_key.json'), 'utf8')) as { nPublic: number; protocol: string };
    expect(vkey).toMatchObject({ nPublic: TRACE_BATCH_PUBLIC_SIGNALS.length, protocol: 'groth16' });
  });

  it('the circuit source and every circomlib file it includes hash as recorded', () => {
    const m = manifest();
    expect(Object.keys(m.sources)).toContain('circuits/trace_batch.circom');
    expect(Object.keys(m.sources)).toContain('circomlib/circuits/poseidon.circom');
    for (const [name, hash] of Object.entries(m.sources)) {
      const file = name.startsWith('circomlib/') ? join(circomlibDir, name.slice('circomlib/'.length)) : join(ROOT, name);
      expect(sha256(file), name).toBe(hash);
    }
    expect(JSON.parse(readFileSync(join(circomlibDir, 'package.json'), 'utf8')).version).toBe(m.tools.circomlib);
  });

  it('the artifacts hash as recorded', () => {
    for (const [name, { sha256: hash }] of Object.entries(manifest().artifacts)) {
      expect(sha256(join(DEFAULT_ARTIFACTS_DIR, name)), name).toBe(hash);
    }
  });

  it('recompiling the circuit gives the same r1cs and wasm', () => {
    const m = manifest();
    const out = mkdtempSync(join(tmpdir(), 'mcp0-circom-'));
    try {
      execFileSync(process.execPath, [require.resolve('circom2/cli.js'), join(ROOT, 'circuits/trace_batch.circom'), '--O2', '--r1cs', '--wasm', '-o', out], {
        cwd: ROOT,
        stdio: 'pipe',
      });
      expect(sha256(join(out, 'trace_batch.r1cs'))).toBe(m.r1cs.sha256);
      expect(sha256(join(out, 'trace_batch_js/trace_batch.wasm'))).toBe(m.artifacts['trace_batch.wasm']!.sha256);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

// `npm run zk:setup` overwrites these artifacts: a typo or --help must never start the ceremony.
describe('scripts/zk/setup.mjs refuses what it does not know', () => {
  const script = join(ROOT, 'scripts/zk/setup.mjs');
  const setup = (...argv: string[]) => {
    try {
      return { code: 0, out: execFileSync(process.execPath, [script, ...argv], { encoding: 'utf8', stdio: 'pipe' }), err: '' };
    } catch (e) {
      const x = e as { status: number; stdout: string; stderr: string };
      return { code: x.status, out: x.stdout, err: x.stderr };
    }
  };

  it('--help prints the usage and exits 0, doing nothing', () => {
    const before = sha256(manifestPath);
    const r = setup('--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage: npm run zk:setup/);
    expect(sha256(manifestPath)).toBe(before);
  });

  it.each([['--hepl'], ['--compile-only', 'extra'], ['--fresh', '--compile-only']])('%s exits 2 before any work', (...argv) => {
    const r = setup(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/nothing was done/);
    expect(r.out).toBe('');
  });
});
