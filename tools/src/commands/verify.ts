/** `mcp0 verify`: run the loading checks up to the grants; the exit code is the verdict. */
import { readFile } from 'node:fs/promises';
import { LoadError, Mcp0Error } from '@mcp0/abi';
import { verifyArtifact } from '@mcp0/kernel';
import { type Command, listOption, positionals, stringOption } from '../command.js';
import { announce, thumbprints, trustedKeys } from '../trust.js';

export const verify: Command = {
  name: 'verify',
  summary: 'check a module: WebAssembly, signature, trusted signer, manifest, ABI, imports',
  usage: '<file.wasm> --trust <public key file | key id>... [--json]',
  options: {
    trust: {
      type: 'string',
      multiple: true,
      arg: '<key>',
      description: 'a trusted public key: a file path (with a / or ending .jwk/.json) or a key id in the keyring',
    },
    keyring: { type: 'string', arg: '<dir>', description: 'where key ids are looked up (default $MCP0_KEYRING or ~/.mcp0/keyring)' },
    json: { type: 'boolean', description: 'print the verdict as JSON' },
  },
  details: [
    'A --trust value with a "/" or ending in .jwk or .json is a file (./<name> for one in this folder); a key id',
    '(43 base64url characters) is looked up in the keyring only. The keys trusted, and from where, go to stderr.',
    '',
    'Exit codes: 0 valid and trusted; 1 a check failed (named on stderr); 2 usage error.',
  ].join('\n'),
  async run(args, io) {
    const [file] = positionals(args, this, 1);
    const trustValues = listOption(args, 'trust');
    if (trustValues.length === 0) throw new Mcp0Error('EUSAGE', '--trust is required: trust comes from you, never from the artifact');
    const keyring = stringOption(args, 'keyring');
    const trusted = await trustedKeys(trustValues, '--trust', keyring);
    announce(io, 'publisher', trusted);
    const trust = trusted.map((t) => t.key);
    const bytes = new Uint8Array(await readFile(file!));
    try {
      const v = await verifyArtifact(bytes, { trust, grants: 'as-requested' });
      const verdict = { ok: true, module: v.manifest.name, version: v.manifest.version, signers: v.signers, sha256: v.sha256 };
      io.out(
        args.values.json
          ? `${JSON.stringify(verdict)}\n`
          : `ok: ${v.manifest.name}@${v.manifest.version} is signed by trusted ${v.signers.join(', ')}; wasm, signature, trust, manifest, abi and imports checks passed\n`,
      );
      return 0;
    } catch (e) {
      if (!(e instanceof LoadError)) throw e;
      const check = String(e.details.check ?? 'unknown');
      if (args.values.json) io.out(`${JSON.stringify({ ok: false, check, error: e.toJSON() })}\n`);
      // Signatures carry wasmsign2 hex ids; name the keys the user knows by their thumbprints.
      io.err(`verify failed at the ${check} check (${e.code}): ${await thumbprints(e.message, keyring, trust)}\n`);
      return 1;
    }
  },
};
