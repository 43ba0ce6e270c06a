/** `mcp0 keygen`: a new Ed25519 signing key as a JWK file (mode 0600), its public half beside it and in the keyring. */
import { formatJwk, generateKeyPair, publicKeyOf, UsageError, writeKeyFile } from '@mcp0/abi';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { type Command, positionals, stringOption } from '../command.js';
import { addToKeyring } from '../keyring.js';

export const keygen: Command = {
  name: 'keygen',
  summary: 'generate an Ed25519 signing key (JWK)',
  usage: '--out <key.jwk> [--force]',
  options: {
    out: { type: 'string', arg: '<file>', description: 'where to write the private key (mode 0600); the public key goes to <file without .jwk>.pub.jwk' },
    force: { type: 'boolean', description: 'overwrite existing files' },
    keyring: { type: 'string', arg: '<dir>', description: 'keyring to add the public key to (default $MCP0_KEYRING or ~/.mcp0/keyring)' },
  },
  async run(args, io) {
    positionals(args, this, 0);
    const out = stringOption(args, 'out', true);
    const key = generateKeyPair();
    const pubPath = `${out.replace(/\.jwk$/, '')}.pub.jwk`;
    // Check both files first, so a refusal never leaves a private key without its public half.
    const existing = args.values.force === true ? undefined : [out, pubPath].find((p) => existsSync(p));
    if (existing !== undefined) throw new UsageError('EUSAGE', `${existing} already exists (EEXIST); pass --force to overwrite it`);
    // Overwriting keeps an old file's mode; remove it so the new private key is created 0600.
    if (args.values.force === true) await rm(out, { force: true });
    await writeKeyFile(out, key);
    await writeFile(pubPath, formatJwk(publicKeyOf(key)), { flag: args.values.force === true ? 'w' : 'wx' });
    const ring = await addToKeyring(key, stringOption(args, 'keyring'));
    io.out(`key id:     ${key.kid}\nprivate key: ${out} (mode 0600)\npublic key:  ${pubPath}\nkeyring:     ${ring}\n`);
    return 0;
  },
};
