#!/usr/bin/env node
// Packs `mcp0 new`'s templates into the package (npm's prepack; `postpack` removes them): an
// installed mcp0 has no repository around it, so it carries copies of plugins/hello and
// agents/counter (their plugin.json and assembly/) in templates/<kind>/. In the repository the
// templates are read from those folders themselves (tools/src/commands/new.ts), never from copies.
//   node scripts/templates.mjs pack | clean
import { cpSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const TEMPLATES = { plugin: '../../plugins/hello', agent: '../../agents/counter' };
const out = here('../templates');

const [what] = process.argv.slice(2);
rmSync(out, { recursive: true, force: true });
if (what === 'pack') {
  for (const [kind, from] of Object.entries(TEMPLATES)) {
    for (const part of ['plugin.json', 'assembly']) cpSync(here(`${from}/${part}`), `${out}/${kind}/${part}`, { recursive: true });
  }
} else if (what !== 'clean') {
  process.stderr.write(`usage: node scripts/templates.mjs pack|clean (got ${JSON.stringify(what)})\n`);
  process.exitCode = 2;
}
