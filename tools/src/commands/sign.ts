/** `mcp0 sign`: add a signature (Signatures.md format); earlier signers are kept. */
import { readFile, writeFile } from 'node:fs/promises';
import { readManifest, readSignatures, signModule } from '@mcp0/abi';
import { type Command, positionals, stringOption } from '../command.js';
import { readPrivateKey } from '../trust.js';

export const sign: Command = {
  name: 'sign',
  summary: 'sign a module with an Ed25519 JWK key; a second signer keeps the first',
  usage: '<file.wasm> --key <key.jwk> [--out <file>]',
  options: {
    key: { type: 'string', arg: '<file>', description: 'the private key (JWK; refused when group or others can read it: chmod 600)' },
    out: { type: 'string', arg: '<file>', description: 'where to write (default: in place)' },
  },
  async run(args, io) {
    const [file] = positionals(args, this, 1);
    const key = await readPrivateKey(stringOption(args, 'key', true), '--key');
    const bytes = new Uint8Array(await readFile(file!));
    const manifest = readManifest(bytes);
    const signed = signModule(bytes, key);
    const out = stringOption(args, 'out') ?? file!;
    await writeFile(out, signed);
    const count = readSignatures(signed).reduce((n, s) => n + s.signatures.length, 0);
    io.out(`signed ${manifest.name}@${manifest.version} with ${key.kid}: ${out} (${count} signature${count === 1 ? '' : 's'})\n`);
    return 0;
  },
};
