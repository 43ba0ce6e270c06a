/** `mcp0 pack`: wrap a module compiled from any language with a manifest. */
import { readFile, writeFile } from 'node:fs/promises';
import { appendManifest, checkExports, checkImports, countSignatures, parseJson, readManifest, stripSignatures, UsageError } from '@mcp0/abi';
import { type Command, positionals, stringOption } from '../command.js';

export const pack: Command = {
  name: 'pack',
  summary: 'add a manifest to a module built with any toolchain (Rust, TinyGo, WAT, ...)',
  usage: '<module.wasm> --manifest <plugin.json> --out <file.wasm>',
  options: {
    manifest: { type: 'string', arg: '<file>', description: 'the manifest (JSON, checked against the schema)' },
    out: { type: 'string', arg: '<file>', description: 'the artifact to write (unsigned)' },
  },
  async run(args, io) {
    const [input] = positionals(args, this, 1);
    const manifestPath = stringOption(args, 'manifest', true);
    const out = stringOption(args, 'out', true);
    let manifestJson: unknown;
    try {
      // Strict: a manifest naming a member twice could show a reader one capability and grant another.
      manifestJson = parseJson(await readFile(manifestPath, 'utf8'));
    } catch (e) {
      throw new UsageError('EUSAGE', `${manifestPath}: not a readable JSON file (${(e as Error).message})`, {}, { cause: e });
    }
    // A new manifest changes the module, so signatures it carried would no longer verify: drop them
    // rather than write an artifact that says "unsigned" yet holds stale signatures.
    const original = new Uint8Array(await readFile(input!));
    const stale = countSignatures(original);
    const wasm = appendManifest(stale > 0 ? stripSignatures(original) : original, manifestJson);
    const manifest = readManifest(wasm);
    const compiled = await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>);
    checkImports(compiled);
    checkExports(compiled, manifest);
    await writeFile(out, wasm);
    if (stale > 0) io.err(`dropped ${stale} signature${stale === 1 ? '' : 's'} the module carried: they covered it without this manifest; sign ${out} again\n`);
    io.out(`packed ${manifest.name}@${manifest.version}: ${out} (${wasm.length} bytes, unsigned)\n`);
    return 0;
  },
};
