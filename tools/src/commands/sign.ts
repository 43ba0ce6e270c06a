/** `mcp0 sign`: add a signature (Signatures.md format); earlier signers are kept unless --replace. */
import { readFile, writeFile } from 'node:fs/promises';
import { countSignatures, Mcp0Error, readManifest, signModule, stripSignatures, UsageError, type Manifest } from '@mcp0/abi';
import { type Command, positionals, stringOption } from '../command.js';
import { readPrivateKey } from '../trust.js';

export const sign: Command = {
  name: 'sign',
  summary: 'sign a module with an Ed25519 JWK key; a second signer keeps the first',
  usage: '<file.wasm> --key <key.jwk> [--out <file>] [--replace]',
  options: {
    replace: {
      type: 'boolean',
      description: 'drop the signatures already in the module first (a module changed after signing, e.g. by pack); otherwise earlier signers are kept',
    },
    key: { type: 'string', arg: '<file>', description: 'the private key (JWK; refused when group or others can read it: chmod 600)' },
    out: { type: 'string', arg: '<file>', description: 'where to write (default: in place)' },
  },
  async run(args, io) {
    const [file] = positionals(args, this, 1);
    const key = await readPrivateKey(stringOption(args, 'key', true), '--key');
    const read = new Uint8Array(await readFile(file!));
    const dropped = args.values.replace === true ? countSignatures(read) : 0;
    const bytes = args.values.replace === true ? stripSignatures(read) : read;
    const manifest = manifestOf(bytes, file!);
    const signed = signModule(bytes, key);
    if (dropped > 0) io.err(`--replace: dropped ${dropped} earlier signature${dropped === 1 ? '' : 's'}\n`);
    const out = stringOption(args, 'out') ?? file!;
    await writeFile(out, signed);
    const count = countSignatures(signed);
    io.out(`signed ${manifest.name}@${manifest.version} with ${key.kid}: ${out} (${count} signature${count === 1 ? '' : 's'})\n`);
    return 0;
  },
};

/** The module's manifest; a module without one is a usage error that says how to add it. */
function manifestOf(bytes: Uint8Array, file: string): Manifest {
  try {
    return readManifest(bytes);
  } catch (e) {
    if (e instanceof Mcp0Error && e.code === 'EMANIFEST' && (e.details as { found?: number }).found === 0) {
      throw new UsageError(
        'EUSAGE',
        `${file} has no mcp0 manifest: a module built outside mcp0 build gets one with mcp0 pack ${file} --manifest plugin.json --out <file.wasm>, then sign that`,
        {},
        { cause: e },
      );
    }
    throw e;
  }
}
