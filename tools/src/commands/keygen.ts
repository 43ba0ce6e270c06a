/**
 * `mcp0 keygen`: a new Ed25519 signing key as a JWK file (mode 0600), its public half beside it
 * (0644), and, unless --no-keyring, the public half in the keyring so key ids find it. Adding to
 * the keyring means trusting the key by id, so the output says so and how to undo it.
 */
import { formatJwk, generateKeyPair, publicKeyOf, UsageError, writeKeyFile } from '@mcp0/abi';
import { existsSync } from 'node:fs';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { type Args, type Command, type Io, listOption, positionals, stringOption } from '../command.js';
import { addToKeyring } from '../keyring.js';

export const keygen: Command = {
  name: 'keygen',
  summary: 'generate an Ed25519 signing key (JWK), or the TLS certificates of a node (--tls)',
  usage: '--out <key.jwk> [--force] [--label <text>] [--no-keyring] | --tls <dir> [--host <name or ip>]... [--client <name>] [--force]',
  options: {
    out: { type: 'string', arg: '<file>', description: 'where to write the private key (mode 0600); the public key goes to <file without .jwk>.pub.jwk' },
    force: { type: 'boolean', description: 'overwrite existing files' },
    keyring: { type: 'string', arg: '<dir>', description: 'keyring to add the public key to (default $MCP0_KEYRING or ~/.mcp0/keyring)' },
    label: { type: 'string', arg: '<text>', description: "the key's label in the keyring (default: the file name)" },
    'no-keyring': { type: 'boolean', description: 'do not add the public key to the keyring' },
    tls: {
      type: 'string',
      arg: '<dir>',
      description: 'TLS for mcp0 start --listen: a local CA in <dir> (made once, then reused) and a node certificate it signs (node.crt, node.key)',
    },
    host: {
      type: 'string',
      multiple: true,
      arg: '<name or ip>',
      description: '--tls: a name or address clients dial the node by (default localhost, 127.0.0.1, ::1)',
    },
    client: { type: 'string', arg: '<name>', description: '--tls: a client certificate for mutual TLS instead (client-<name>.crt, .key)' },
  },
  details: [
    'The public half is added to the keyring, so `--trust <key id>` and `mcp0 dist verify` find it: every key',
    'in the keyring is one you trust by id. `mcp0 keyring list` shows them; `mcp0 keyring remove <id>` takes one out.',
    '',
    'With --tls: mcp0 keygen --tls tls --host node.example && mcp0 start --listen 0.0.0.0:7040 --tls-cert tls/node.crt',
    '--tls-key tls/node.key; clients trust tls/ca.crt. --client alice signs tls/client-alice.crt for mutual TLS',
    '(mcp0 start --tls-client-ca tls/ca.crt). The CA key (tls/ca.key) signs whatever it is given: keep it off the node.',
  ].join('\n'),
  async run(args, io) {
    positionals(args, this, 0);
    const tlsDir = stringOption(args, 'tls');
    if (tlsDir !== undefined) return tls(args, tlsDir, io);
    if (listOption(args, 'host').length > 0 || stringOption(args, 'client') !== undefined)
      throw new UsageError('EUSAGE', '--host and --client go with --tls <dir>');
    const out = stringOption(args, 'out', true);
    const key = generateKeyPair();
    const pubPath = `${out.replace(/\.jwk$/, '')}.pub.jwk`;
    // Check both files first, so a refusal never leaves a private key without its public half.
    const existing = args.values.force === true ? undefined : [out, pubPath].find((p) => existsSync(p));
    if (existing !== undefined) throw new UsageError('EUSAGE', `${existing} already exists (EEXIST); pass --force to overwrite it`);
    // Overwriting keeps an old file's mode; remove it so the new private key is created 0600.
    if (args.values.force === true) await rm(out, { force: true });
    await writeKeyFile(out, key);
    // 0644 whatever the umask: a public key others could rewrite could be swapped for theirs.
    await writeFile(pubPath, formatJwk(publicKeyOf(key)), { flag: args.values.force === true ? 'w' : 'wx', mode: 0o644 });
    await chmod(pubPath, 0o644);
    const lines = [`key id:      ${key.kid}`, `private key: ${out} (mode 0600)`, `public key:  ${pubPath}`];
    if (args.values['no-keyring'] === true) lines.push('keyring:     not added to the keyring (--no-keyring); add it later with: mcp0 keyring add ' + pubPath);
    else {
      const label = stringOption(args, 'label') ?? basename(out).replace(/\.jwk$/, '');
      const ring = await addToKeyring(key, stringOption(args, 'keyring'), label);
      lines.push(
        `keyring:     ${ring}`,
        `             added: --trust ${key.kid} and dist verify now trust this key; take it out with: mcp0 keyring remove ${key.kid}`,
      );
    }
    io.out(`${lines.join('\n')}\n`);
    return 0;
  },
};

/** `--tls <dir>`: the CA (made once) and a node or client certificate it signs. */
async function tls(args: Args, dir: string, io: Io): Promise<number> {
  if (stringOption(args, 'out') !== undefined) throw new UsageError('EUSAGE', '--tls writes certificates into <dir>: give it without --out');
  const { makeTlsFiles } = await import('./keygen/tls.js');
  const client = stringOption(args, 'client');
  const made = await makeTlsFiles(dir, { hosts: listOption(args, 'host'), ...(client ? { client } : {}), force: args.values.force === true });
  const lines = [
    `CA:          ${made.ca}${made.newCa ? ' (new; its key, beside it, signs what mcp0 keygen --tls is given: keep it off the node)' : ' (existing, reused)'}`,
    `certificate: ${made.cert}`,
    `private key: ${made.key} (mode 0600)`,
    client === undefined
      ? `serve with:  mcp0 start --listen <host:port> --tls-cert ${made.cert} --tls-key ${made.key}; clients trust ${made.ca}`
      : `connect with the certificate and key above; the node requires them with: mcp0 start ... --tls-client-ca ${made.ca}`,
  ];
  io.out(`${lines.join('\n')}\n`);
  return 0;
}
