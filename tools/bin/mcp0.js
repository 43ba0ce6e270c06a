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
const { main } = await import('../dist/cli.js');
process.exitCode = await main(process.argv.slice(2));
