/** `mcp0 dist new|add|remove|grant|pipeline`: the editing subcommands, over @mcp0/sdk's dist library. */
import { readFile } from 'node:fs/promises';
import { UsageError } from '@mcp0/abi';
import { type Args, type Command, type Io, listOption, positionals, stringOption } from '../../command.js';
import { announce, trustedKeys } from '../../trust.js';

const sdk = () => import('@mcp0/sdk');

/**
 * `mcp0 dist new`; `--key` is the assembler's key as a file (private or public) or a key id in the keyring.
 * @example
 * await create({ positionals: ['my-dist'], values: { name: 'acme.edge', key: 'me.pub.jwk' } }, dist, io)
 */
export async function create(args: Args, self: Command, io: Io): Promise<number> {
  const [dir] = positionals(args, self, 1);
  const name = stringOption(args, 'name', true);
  const [assemblerKey] = await trustedKeys([stringOption(args, 'key', true)], '--key', stringOption(args, 'keyring'));
  announce(io, 'assembler', [assemblerKey!]);
  const assembler = assemblerKey!.key;
  const version = stringOption(args, 'version');
  const doc = await (await sdk()).createDistribution(dir!, { name, assembler, ...(version !== undefined ? { version } : {}) });
  io.out(
    `created distribution ${doc.name}@${doc.version} in ${dir}/ (assembler ${doc.assembler.kid})\nnext: mcp0 dist add ${dir} <plugin.wasm> --grant … --publisher <its public key>\n`,
  );
  return 0;
}

function isolationOption(args: Args): 'inline' | 'worker' | undefined {
  const v = stringOption(args, 'isolation');
  if (v === undefined || v === 'inline' || v === 'worker') return v;
  throw new UsageError('EUSAGE', `--isolation: expected inline or worker, got ${JSON.stringify(v)}`);
}

function configOption(args: Args): Record<string, unknown> | undefined {
  const text = stringOption(args, 'config');
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UsageError('EUSAGE', `--config: expected a JSON object, got invalid JSON (${(e as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new UsageError('EUSAGE', `--config: expected a JSON object, got ${JSON.stringify(value)}`);
  return value as Record<string, unknown>;
}

/**
 * `mcp0 dist add <dir> <plugin.wasm>`: copy a signed plugin in, with its grants, tier, config and publishers.
 * @example
 * await add({ positionals: ['my-dist', 'greeter.wasm'], values: { grant: ['kv:hello/'] } }, dist, io)
 */
export async function add(args: Args, self: Command, io: Io): Promise<number> {
  const [dir, file] = positionals(args, self, 2);
  const trusted = await trustedKeys(listOption(args, 'publisher'), '--publisher', stringOption(args, 'keyring'));
  announce(io, 'publisher', trusted);
  const publishers = trusted.map((t) => t.key);
  const isolation = isolationOption(args);
  const config = configOption(args);
  const bytes = new Uint8Array(await readFile(file!));
  const entry = await (await sdk()).addPlugin(dir!, bytes, {
    grants: listOption(args, 'grant'),
    publishers,
    ...(isolation ? { isolation } : {}),
    ...(config ? { config } : {}),
    ...(args.values['no-preempt'] === true ? { preempt: false } : {}),
  });
  io.out(
    `added ${entry.name}@${entry.version} as ${entry.file} (${entry.isolation}, grants: ${entry.grants.join(', ') || 'none'}, sha256 ${entry.sha256.slice(0, 12)}…)\n`,
  );
  return 0;
}

/**
 * `mcp0 dist remove <dir> <name>`.
 * @example
 * await remove({ positionals: ['my-dist', 'mcp0.agreements'], values: {} }, dist, io)
 */
export async function remove(args: Args, self: Command, io: Io): Promise<number> {
  const [dir, name] = positionals(args, self, 2);
  const hooks = await (await sdk()).removePlugin(dir!, name!);
  io.out(`removed ${name}${hooks.length > 0 ? ` (and from the ${hooks.join(' and ')} pipeline)` : ''}\n`);
  return 0;
}

/**
 * `mcp0 dist grant <dir> <name> --grant g --revoke g`.
 * @example
 * await grant({ positionals: ['my-dist', 'mcp0.storage'], values: { revoke: ['net'] } }, dist, io)
 */
export async function grant(args: Args, self: Command, io: Io): Promise<number> {
  const [dir, name] = positionals(args, self, 2);
  const change = { grant: listOption(args, 'grant'), revoke: listOption(args, 'revoke') };
  if (change.grant.length + change.revoke.length === 0) throw new UsageError('EUSAGE', 'nothing to change: pass --grant and/or --revoke');
  const grants = await (await sdk()).changeGrants(dir!, name!, change);
  io.out(`${name}: grants ${grants.join(', ') || 'none'}\n`);
  return 0;
}

const names = (text: string | undefined) =>
  text === undefined
    ? undefined
    : text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);

/**
 * `mcp0 dist pipeline <dir> --admit a,b --observe c,d`.
 * @example
 * await pipeline({ positionals: ['my-dist'], values: { observe: 'mcp0.trace' } }, dist, io)
 */
export async function pipeline(args: Args, self: Command, io: Io): Promise<number> {
  const [dir] = positionals(args, self, 1);
  const admit = names(stringOption(args, 'admit'));
  const observe = names(stringOption(args, 'observe'));
  if (admit === undefined && observe === undefined) throw new UsageError('EUSAGE', 'nothing to change: pass --admit and/or --observe');
  const order = await (await sdk()).setPipeline(dir!, { ...(admit ? { admit } : {}), ...(observe ? { observe } : {}) });
  io.out(`pipeline: admit [${order.admit.join(', ')}] → execute → observe [${order.observe.join(', ')}]\n`);
  return 0;
}
