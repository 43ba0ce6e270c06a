/**
 * Trust comes only from the operator, through the CLI: the attacks of the trust issue (defects 1, 3
 * and 9). A file named after a key id in the working folder, a bundle carrying its own assembler
 * key, a re-signed distribution with a planted dev-key.pub.jwk and private keys others can read
 * are refused; trust from --trust, the keyring or --dev is announced on stderr with its source.
 */
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatJwk, generateKeyPair, hex, wasmsign2KeyId, writeKeyFile } from '@mcp0/abi';
import { addPlugin, createDistribution, keyEntry, lockDistribution, readDistribution, setPipeline, writeDistribution } from '@mcp0/sdk';
import { publisher, signed } from '../../test/fixtures.js';
import { KEYRING, run, tempDir, unsignedFile, writeKeys } from './helpers.js';
import { nodeDist } from './node-dist.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'tools', 'bin', 'mcp0.js');
const GRANTS = ['--grant', 'kv:hello/', '--grant', 'clock', '--grant', 'random'];

/** Run `work` in `dir`: the attacks plant files in the current folder. */
async function inDir<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const before = process.cwd();
  process.chdir(dir);
  try {
    return await work();
  } finally {
    process.chdir(before);
  }
}

/** A locked one-plugin distribution (hello) assembled by `assembler`, with no key file beside it. */
async function helloDist(assembler = generateKeyPair()): Promise<string> {
  const dir = join(tempDir('mcp0-trust-dist-'), 'dist');
  await createDistribution(dir, { name: 'test.hello', assembler: assembler.publicKey });
  await addPlugin(dir, await signed('hello'), { grants: ['kv:hello/', 'clock', 'random'], publishers: [publisher.publicKey] });
  await lockDistribution(dir, assembler);
  return dir;
}

describe('a key id is looked up only in the keyring (defect 1)', () => {
  it("verify and call refuse an attacker's module when a file named after the trusted id holds the attacker's key", async () => {
    const mallory = generateKeyPair();
    const dir = tempDir('mcp0-cwd-');
    writeFileSync(join(dir, 'plugin.wasm'), await signed('hello', mallory));
    writeFileSync(join(dir, publisher.kid), formatJwk(mallory.publicKey));
    writeFileSync(join(KEYRING, `${publisher.kid}.jwk`), formatJwk(publisher.publicKey));

    const v = await inDir(dir, () => run('verify', 'plugin.wasm', '--trust', publisher.kid));
    expect(v.code, v.out).toBe(1);
    expect(v.err).toMatch(/EUNTRUSTED/);
    expect(v.err).toContain(`trust: publisher ${publisher.kid} from keyring entry ${publisher.kid}`);
    const c = await inDir(dir, () => run('call', 'plugin.wasm', '--trust', publisher.kid, ...GRANTS, 'greet={"name":"x"}'));
    expect(c.code).toBe(2);
    expect(c.out).toBe('');
    expect(c.err).toMatch(/EUNTRUSTED/);
    // The same id in `dist add --publisher` (the same resolution) names the keyring's key, not the file's.
    const d = join(dir, 'd');
    expect((await inDir(dir, () => run('dist', 'new', d, '--name', 'x', '--key', publisher.kid))).code).toBe(0);
    const added = await inDir(dir, () => run('dist', 'add', d, 'plugin.wasm', ...GRANTS, '--publisher', publisher.kid));
    expect(added.code).toBe(2);
    expect(added.err).toMatch(/EUNTRUSTED/);
  });

  it('an id missing from the keyring is an error even when a file of that name exists', async () => {
    const mallory = generateKeyPair();
    const dir = tempDir('mcp0-cwd-');
    writeFileSync(join(dir, 'plugin.wasm'), await signed('hello', mallory));
    writeFileSync(join(dir, mallory.kid), formatJwk(mallory.publicKey));
    const r = await inDir(dir, () => run('verify', 'plugin.wasm', '--trust', mallory.kid));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`no public key with the id ${mallory.kid} in the keyring`);
    expect(r.err).toContain(`./${mallory.kid}`);
  });

  it('a path is a path: ./<name> or a .jwk name loads that file; a bare word that is neither path nor id is a usage error', async () => {
    const key = generateKeyPair();
    const dir = tempDir('mcp0-cwd-');
    writeFileSync(join(dir, 'plugin.wasm'), await signed('hello', key));
    writeFileSync(join(dir, 'pubkey'), formatJwk(key.publicKey));
    writeFileSync(join(dir, 'pubkey.jwk'), formatJwk(key.publicKey));
    for (const value of ['./pubkey', 'pubkey.jwk', join(dir, 'pubkey')]) {
      const r = await inDir(dir, () => run('verify', 'plugin.wasm', '--trust', value));
      expect(r.code, `${value}: ${r.err}`).toBe(0);
      expect(r.err).toContain(`trust: publisher ${key.kid} from --trust ${value}`);
    }
    const bare = await inDir(dir, () => run('verify', 'plugin.wasm', '--trust', 'pubkey'));
    expect(bare.code).toBe(2);
    expect(bare.err).toContain('./pubkey');
    const missing = await inDir(dir, () => run('verify', 'plugin.wasm', '--trust', 'nothing.jwk'));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/nothing\.jwk: no such file/);
  });

  it("dist verify never resolves the document's assembler id against the filesystem: a bundle carrying its own key file is not trusted", async () => {
    const mallory = generateKeyPair();
    const bundle = await helloDist(mallory);
    writeFileSync(join(bundle, mallory.kid), formatJwk(mallory.publicKey));
    writeFileSync(join(bundle, `${mallory.kid}.jwk`), formatJwk(mallory.publicKey));
    const r = await inDir(bundle, () => run('dist', 'verify', '.'));
    expect(r.code).toBe(2);
    expect(r.out).not.toMatch(/trusted assembler/);
    expect(r.err).toContain(`the assembler ${mallory.kid} is not in your keyring`);
  });

  it('names a signer by its thumbprint in a trust failure when the keyring knows it', async () => {
    const signer = generateKeyPair();
    const dir = tempDir();
    const keys = writeKeys(dir, signer, 'signer');
    const other = writeKeys(dir, generateKeyPair(), 'other');
    const ring = tempDir('mcp0-ring-');
    writeFileSync(join(ring, `${signer.kid}.jwk`), formatJwk(signer.publicKey));
    const u = await unsignedFile('hello');
    expect((await run('sign', u.file, '--key', keys.priv)).code).toBe(0);
    const r = await run('verify', u.file, '--trust', other.pub, '--keyring', ring);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${signer.kid} (wasmsign2 key id ${hex(wasmsign2KeyId(signer))})`);
  });
});

describe('no trust from a file beside the artifacts (defect 3)', () => {
  /** A local build: its assembler's public key beside it as dev-key.pub.jwk. */
  let genuine: string;
  /** A copy re-signed by an attacker, trace out of its pipeline, the attacker's key planted as dev-key.pub.jwk. */
  let evil: string;
  beforeAll(async () => {
    genuine = await nodeDist();
    evil = join(tempDir('mcp0-evil-'), 'dist');
    cpSync(genuine, evil, { recursive: true });
    const mallory = generateKeyPair();
    await setPipeline(evil, { admit: [], observe: [] });
    await writeDistribution(evil, { ...(await readDistribution(evil)), assembler: keyEntry(mallory.publicKey) });
    await lockDistribution(evil, mallory);
    await writeKeyFile(join(evil, 'dev-key.pub.jwk'), mallory.publicKey, { overwrite: true });
  });

  it('agent refuses a re-signed copy with a planted dev-key.pub.jwk, and a genuine build too, without --dev or --trust', async () => {
    const r = await run('agent', 'list', '--dist', evil, '--store', 'memory:');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/is not in your keyring: pass --trust .*, or, for a development build made on this machine, --dev/);
    const plain = await run('agent', 'list', '--dist', genuine, '--store', 'memory:');
    expect(plain.code).toBe(2);
    const dev = await run('agent', 'list', '--dist', genuine, '--store', 'memory:', '--dev');
    expect(dev.code, dev.err).toBe(0);
    expect(dev.err).toMatch(/WARNING: --dev: trusting the DEVELOPMENT key/);
    expect(dev.err).toMatch(/trust: assembler \S+ from --dev/);
  });

  it('start refuses it too (a child process: it must exit, never say ready)', async () => {
    const child = spawn(process.execPath, ['--no-warnings', BIN, 'start', '--dist', evil, '--store', 'memory:', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MCP0_KEYRING: KEYRING },
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const outcome = await new Promise<string>((done) => {
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('"ready"')) {
          child.kill('SIGTERM');
          done('ready');
        }
      });
      child.on('exit', (code) => done(`exit ${code}`));
    });
    expect(outcome, `${out}\n${err}`).toBe('exit 2');
    expect(err).toMatch(/is not in your keyring/);
  });

  it('conformance refuses it without --dev or --trust', async () => {
    const r = await run('conformance', evil, '--quick');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is not in your keyring/);
  });

  it('--dev takes only the development key a build left, and not with --trust', async () => {
    const bare = await helloDist();
    const r = await run('agent', 'list', '--dist', bare, '--store', 'memory:', '--dev');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--dev: .* has no dev-key\.pub\.jwk/);
    const both = await run('agent', 'list', '--dist', genuine, '--store', 'memory:', '--dev', '--trust', join(genuine, 'dev-key.pub.jwk'));
    expect(both.code).toBe(2);
  });

  it('start, agent, conformance and dist verify find the assembler in the keyring (--keyring or $MCP0_KEYRING)', async () => {
    const assembler = generateKeyPair();
    const d = await helloDist(assembler);
    const ring = tempDir('mcp0-ring-');
    writeFileSync(join(ring, `${assembler.kid}.jwk`), formatJwk(assembler.publicKey));
    const listed = await run('agent', 'list', '--dist', d, '--store', 'memory:', '--keyring', ring);
    expect(listed.code, listed.err).toBe(0);
    expect(listed.err).toContain(`trust: assembler ${assembler.kid} from keyring entry ${assembler.kid} (${join(ring, `${assembler.kid}.jwk`)})`);
    const verified = await run('dist', 'verify', d, '--keyring', ring);
    expect(verified.code, verified.err).toBe(0);
    expect(verified.err).toContain(`trust: assembler ${assembler.kid} from keyring entry`);
    const checked = await run('conformance', d, '--quick', '--keyring', ring);
    expect(checked.code, checked.out).toBe(0);
    expect(checked.err).toContain(`trust: assembler ${assembler.kid} from keyring entry`);
  });
});

describe('private keys others can read are refused (defect 9)', () => {
  it('sign refuses a 0644 private key and says how to fix it', async () => {
    const u = await unsignedFile('hello');
    const keys = writeKeys(tempDir(), generateKeyPair(), 'loose');
    chmodSync(keys.priv, 0o644);
    const r = await run('sign', u.file, '--key', keys.priv);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`chmod 600 ${keys.priv}`);
    expect(r.err).not.toMatch(/\n\s+at /);
    chmodSync(keys.priv, 0o600);
    expect((await run('sign', u.file, '--key', keys.priv)).code).toBe(0);
  });

  it('every command that reads a private key refuses a group-readable one', async () => {
    const dir = tempDir();
    const keys = writeKeys(dir, generateKeyPair(), 'group');
    chmodSync(keys.priv, 0o640);
    const doc = join(dir, 'agr.json');
    expect((await run('agreement', 'new', '--template', 'free', '--consumer', keys.kid, '--provider', generateKeyPair().kid, '--out', doc)).code).toBe(0);
    const d = join(dir, 'd');
    expect((await run('dist', 'new', d, '--name', 'x', '--key', keys.pub)).code).toBe(0);
    for (const argv of [
      ['agreement', 'sign', doc, '--key', keys.priv, '--party', 'consumer'],
      ['dist', 'lock', d, '--key', keys.priv],
      ['dist', 'new', join(dir, 'e'), '--name', 'x', '--key', keys.priv],
      ['verify', join(dir, 'none.wasm'), '--trust', keys.priv],
    ]) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toContain(`chmod 600 ${keys.priv}`);
    }
  });

  it('keygen and dist build write private keys 0600 under umask 000; dist build refuses to reuse a readable dev-key.jwk', async () => {
    const old = process.umask(0o000);
    try {
      const dir = tempDir();
      const ring = join(dir, 'ring');
      expect((await run('keygen', '--out', join(dir, 'k.jwk'), '--keyring', ring)).code).toBe(0);
      expect(statSync(join(dir, 'k.jwk')).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, 'k.pub.jwk')).mode & 0o777).toBe(0o644);
      expect(statSync(ring).mode & 0o777).toBe(0o700);

      const spec = tempDir();
      writeFileSync(
        join(spec, 'dist.json'),
        JSON.stringify({
          name: 'test.modes',
          version: '0.1.0',
          plugins: [{ source: join(ROOT, 'plugins', 'hello'), grants: ['kv:hello/', 'clock', 'random'] }],
          pipeline: {},
        }),
      );
      const built = await run('dist', 'build', spec, '--quiet');
      expect(built.code, built.err).toBe(0);
      expect(statSync(join(spec, 'build', 'dev-key.jwk')).mode & 0o777).toBe(0o600);
      expect(statSync(join(spec, 'build', 'dev-key.pub.jwk')).mode & 0o777).toBe(0o644);

      chmodSync(join(spec, 'build', 'dev-key.jwk'), 0o644);
      const reused = await run('dist', 'build', spec, '--quiet');
      expect(reused.code).toBe(2);
      expect(reused.err).toContain(`chmod 600 ${join(spec, 'build', 'dev-key.jwk')}`);
    } finally {
      process.umask(old);
    }
  });
});

describe('keyring commands (the "new user" items)', () => {
  it('keygen says it added the public key and how to take it out; --no-keyring leaves the keyring alone', async () => {
    const dir = tempDir();
    const ring = tempDir('mcp0-ring-');
    const made = await run('keygen', '--out', join(dir, 'me.jwk'), '--keyring', ring);
    expect(made.code).toBe(0);
    const kid = /key id:\s+(\S+)/.exec(made.out)![1]!;
    expect(made.out).toContain(`mcp0 keyring remove ${kid}`);
    const solo = await run('keygen', '--out', join(dir, 'solo.jwk'), '--keyring', ring, '--no-keyring');
    expect(solo.code).toBe(0);
    expect(solo.out).toMatch(/not added to the keyring/);
    const listed = await run('keyring', 'list', '--keyring', ring, '--json');
    expect(JSON.parse(listed.out)).toEqual([{ id: kid, label: 'me', file: join(ring, `${kid}.jwk`), type: 'public' }]);
  });

  it('list, add and remove, with --help; a private key in the keyring is flagged', async () => {
    const ring = tempDir('mcp0-ring-');
    const dir = tempDir();
    const a = writeKeys(dir, generateKeyPair(), 'alice');
    const b = writeKeys(dir, generateKeyPair(), 'bob');
    const empty = await run('keyring', 'list', '--keyring', ring);
    expect(empty.code).toBe(0);
    expect(empty.out).toMatch(/no keys/);
    expect((await run('keyring', 'add', a.pub, '--keyring', ring)).code).toBe(0);
    expect((await run('keyring', 'add', b.pub, '--label', 'Bob the builder', '--keyring', ring)).code).toBe(0);
    writeFileSync(join(ring, 'stray.jwk'), readFileSync(b.priv), { mode: 0o600 });

    const text = await run('keyring', 'list', '--keyring', ring);
    expect(text.code).toBe(0);
    expect(text.out).toContain(a.kid);
    expect(text.out).toContain('alice.pub');
    expect(text.out).toContain('Bob the builder');
    expect(text.out).toMatch(/PRIVATE/);
    const rows = JSON.parse((await run('keyring', 'list', '--keyring', ring, '--json')).out) as { id: string; type: string }[];
    expect(rows.map((r) => r.type).sort()).toEqual(['private', 'public', 'public']);

    const removed = await run('keyring', 'remove', '--keyring', ring, '--', b.kid);
    expect(removed.code, removed.err).toBe(0);
    expect(removed.out).toContain('stray.jwk');
    expect(JSON.parse((await run('keyring', 'list', '--keyring', ring, '--json')).out).map((r: { id: string }) => r.id)).toEqual([a.kid]);
    const again = await run('keyring', 'remove', '--keyring', ring, '--', b.kid);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/ENOTFOUND/);
    expect((await run('keyring', 'remove', 'not-an-id', '--keyring', ring)).code).toBe(2);
    expect((await run('keyring', 'frob')).code).toBe(2);
    const help = await run('keyring', '--help');
    expect(help.code).toBe(0);
    for (const sub of ['list', 'add', 'remove']) expect(help.out).toContain(`mcp0 keyring ${sub}`);
  });

  it('refuses a keyring entry others can write, as ssh refuses such an authorized_keys', async () => {
    const ring = tempDir('mcp0-ring-');
    const key = generateKeyPair();
    const entry = join(ring, `${key.kid}.jwk`);
    writeFileSync(entry, formatJwk(key.publicKey));
    chmodSync(entry, 0o666);
    const u = await unsignedFile('hello');
    const r = await run('verify', u.file, '--trust', key.kid, '--keyring', ring);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`chmod go-w ${entry}`);
    const sub = join(tempDir(), 'open');
    mkdirSync(sub, { mode: 0o777 });
    chmodSync(sub, 0o777);
    writeFileSync(join(sub, `${key.kid}.jwk`), formatJwk(key.publicKey));
    const open = await run('verify', u.file, '--trust', key.kid, '--keyring', sub);
    expect(open.code).toBe(2);
    expect(open.err).toContain(`chmod go-w ${sub}`);
  });
});
