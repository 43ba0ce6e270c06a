#!/usr/bin/env -S node --no-warnings
// The `mcp0` command. Extism's WASI import prints an ExperimentalWarning in every thread; it says
// nothing to a user of this tool. Only --no-warnings reaches worker threads (--disable-warning is not
// inherited by them in Node 20), hence the shebang flag; the filter
// below covers `node bin/mcp0.js` run without the flag (main thread only).
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type;
  if (type === 'ExperimentalWarning' || warning?.name === 'ExperimentalWarning') return;
  return emitWarning.call(process, warning, ...rest);
};
let cli;
try {
  cli = await import('../dist/cli.js');
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes('dist/cli.js')) throw e;
  process.stderr.write('mcp0: the tools are not built yet: run `npm run build` in the repository first\n');
  process.exit(2);
}
process.exitCode = await cli.main(process.argv.slice(2));
