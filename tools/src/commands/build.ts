/** `mcp0 build`: compile an AssemblyScript plugin and add its manifest section. */
import { relative } from 'node:path';
import { buildPlugin } from '@mcp0/builder';
import { type Command, positionals, stringOption } from '../command.js';

export const build: Command = {
  name: 'build',
  summary: 'compile a plugin (asc) and add its manifest; reproducible',
  usage: '<plugin-dir> [--out <file.wasm>]',
  options: {
    out: { type: 'string', arg: '<file>', description: 'output file (default <dir>/build/<name>.wasm)' },
    quiet: { type: 'boolean', description: 'print nothing on success' },
  },
  async run(args, io) {
    const [dir] = positionals(args, this, 1);
    const out = stringOption(args, 'out');
    const result = await buildPlugin(dir!, out === undefined ? {} : { out });
    if (args.values.quiet !== true) io.out(`built ${result.manifest.name}@${result.manifest.version}: ${relative(process.cwd(), result.file)} (${result.wasm.length} bytes, unsigned)\n`);
    return 0;
  },
};
