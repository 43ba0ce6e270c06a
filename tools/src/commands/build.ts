/** `mcp0 build`: compile an AssemblyScript plugin and add its manifest section. */
import { relative } from 'node:path';
import { buildPlugin } from '@mcp0/builder';
import { type Command, positionals, stringOption } from '../command.js';

export const build: Command = {
  name: 'build',
  summary: 'compile a plugin (asc) and add its manifest; reproducible, and skipped when nothing changed',
  usage: '<plugin-dir> [--out <file.wasm>] [--force]',
  options: {
    out: { type: 'string', arg: '<file>', description: 'output file (default <dir>/build/<name>.wasm)' },
    force: { type: 'boolean', description: 'compile even when the output is up to date' },
    quiet: { type: 'boolean', description: 'print nothing on success' },
  },
  details: [
    'A build records every file it read beside the output (<file>.inputs.json); the next build reuses the',
    'output while none of them, the compiler and the flags changed, and says "up to date".',
  ].join('\n'),
  async run(args, io) {
    const [dir] = positionals(args, this, 1);
    const out = stringOption(args, 'out');
    const result = await buildPlugin(dir!, { ...(out === undefined ? {} : { out }), incremental: args.values.force !== true });
    const what = result.reused ? 'up to date' : 'built';
    if (args.values.quiet !== true)
      io.out(`${what} ${result.manifest.name}@${result.manifest.version}: ${relative(process.cwd(), result.file)} (${result.wasm.length} bytes, unsigned)\n`);
    return 0;
  },
};
