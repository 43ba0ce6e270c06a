/**
 * `mcp0 new`: scaffold a plugin from `plugins/hello` (the smallest complete plugin) or, with
 * `--kind agent`, an agent from `agents/counter` (the smallest example agent), so new code starts
 * from something that builds, signs and runs as it is.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ABI_VERSION, UsageError, validateManifest } from '@mcp0/abi';
import { type Command, positionals, stringOption } from '../command.js';

/** Where each kind's template lives in the repository this tool belongs to. */
const TEMPLATES = { plugin: ['plugins', 'hello'], agent: ['agents', 'counter'] } as const;

/**
 * The template of a kind: plugins/hello or agents/counter of the repository this tool is part of,
 * else the copy an installed package carries (`templates/<kind>`, made by `npm pack`:
 * scripts/templates.mjs). The repository comes first: a copy there is only ever a pack's leftover.
 * @example
 * templateDir('agent') // …/agents/counter in a clone, …/node_modules/@mcp0/tools/templates/agent installed
 */
export function templateDir(kind: keyof typeof TEMPLATES = 'plugin'): string {
  const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const candidates = [resolve(pkg, '..', ...TEMPLATES[kind]), join(pkg, 'templates', kind)];
  const dir = candidates.find((d) => existsSync(join(d, 'plugin.json')));
  if (dir === undefined) throw new UsageError('EUSAGE', `the ${kind} template is missing: expected ${candidates.join(' or ')}`);
  return dir;
}

export const scaffold: Command = {
  name: 'new',
  summary: 'scaffold a plugin or an agent that builds as it is',
  usage: '<dir> --name <publisher.name> [--kind plugin|agent]',
  options: {
    name: { type: 'string', arg: '<name>', description: 'the module name, dotted, publisher first (e.g. acme.search)' },
    kind: { type: 'string', arg: '<kind>', description: 'plugin (a copy of plugins/hello, the default) or agent (a copy of agents/counter)' },
    description: { type: 'string', arg: '<text>', description: 'one line for the manifest' },
  },
  details: 'Then: mcp0 build <dir> && mcp0 sign <dir>/build/<name>.wasm --key <key.jwk>',
  async run(args, io) {
    const [dir] = positionals(args, this, 1);
    const name = stringOption(args, 'name', true);
    const kind = stringOption(args, 'kind') ?? 'plugin';
    if (kind !== 'plugin' && kind !== 'agent') throw new UsageError('EUSAGE', `--kind: expected plugin or agent, got ${JSON.stringify(kind)}`);
    if (existsSync(dir!) && (await readdir(dir!)).length > 0) throw new UsageError('EUSAGE', `${dir} exists and is not empty`);
    const template = templateDir(kind);
    const manifest = JSON.parse(await readFile(join(template, 'plugin.json'), 'utf8'));
    const from = manifest.name as string;
    Object.assign(manifest, {
      name,
      version: '0.1.0',
      description: stringOption(args, 'description') ?? `${name}: ${kind === 'agent' ? 'an agent' : 'a plugin'} for MCP-ZERO`,
    });
    validateManifest(manifest);
    await mkdir(join(dir!, 'assembly'), { recursive: true });
    await cp(join(template, 'assembly'), join(dir!, 'assembly'), { recursive: true });
    const short = name.split('.').pop()!;
    await writeFile(join(dir!, 'plugin.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await writeFile(
      join(dir!, 'package.json'),
      `${JSON.stringify({ name: short, version: '0.1.0', private: true, type: 'module', dependencies: { '@mcp0/abi': `^${ABI_VERSION}` } }, null, 2)}\n`,
    );
    await writeFile(join(dir!, 'CHANGELOG.md'), `# Changelog\n\n## 0.1.0\n\n- First version, scaffolded from ${from}.\n`);
    await writeFile(join(dir!, '.gitignore'), 'build/\nnode_modules/\n');
    io.out(`created ${name} in ${dir}/ (from ${from})\nnext: mcp0 build ${dir} && mcp0 sign ${dir}/build/${short}.wasm --key <key.jwk>\n`);
    return 0;
  },
};
