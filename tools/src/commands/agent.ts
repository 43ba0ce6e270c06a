/**
 * `mcp0 agent`: drive the agents stored in a node's store from the command line. Each invocation
 * opens a node on the store (agents come back from their records), does one thing, and stops it,
 * so the store is all the state there is.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { UsageError, parseAgreement, type CborValue } from '@mcp0/abi';
import type { Agent, Node } from '@mcp0/sdk';
import { type Args, type Command, type Io, listOption, positionals, stringOption } from '../command.js';
import { parseJsonArg, printExecution } from '../json-cbor.js';
import { NODE_OPTIONS, openNode } from './node/open.js';

const SUBCOMMANDS = ['spawn', 'list', 'execute', 'snapshot', 'recover', 'pause', 'resume', 'terminate'] as const;
type Sub = (typeof SUBCOMMANDS)[number];

/** What `list` and `spawn` print of an agent. */
async function describe(a: Agent) {
  return {
    id: a.id,
    name: a.name,
    state: a.state,
    module: `${a.module.name}@${a.module.version}`,
    agreement: a.agreement,
    stateRoot: await a.stateRoot(),
    snapshots: a.snapshots.map((s) => s.id),
  };
}

/**
 * The agreement to spawn under: an id already registered, or a signed agreement file, which is
 * registered first (the agreements plugin verifies both signatures and that the provider is one
 * the node's operator accepts; registering the same document again is harmless). The node then
 * binds the agent to it only if the agreement's consumer is the key that signed the agent.
 */
async function agreementId(node: Node, value: string | undefined): Promise<string | undefined> {
  if (value === undefined || !existsSync(value)) return value;
  const document = parseAgreement(await readFile(value, 'utf8'));
  return (await node.roles.agreements.register({ document })).id;
}

/** The positional arguments each subcommand takes, after the subcommand. */
const ARITY: Record<Sub, { min: number; max: number; names: string }> = {
  spawn: { min: 1, max: 1, names: '<module.wasm>' },
  list: { min: 0, max: 0, names: '' },
  execute: { min: 2, max: 3, names: '<agent> <intent> [json-input]' },
  snapshot: { min: 1, max: 1, names: '<agent>' },
  recover: { min: 2, max: 2, names: '<agent> <snapshot-id>' },
  pause: { min: 1, max: 1, names: '<agent>' },
  resume: { min: 1, max: 1, names: '<agent>' },
  terminate: { min: 1, max: 1, names: '<agent>' },
};

/** What the subcommand was given, checked and parsed before a node starts (seconds): usage errors come at once. */
interface Parsed {
  rest: string[];
  input?: CborValue;
  config?: CborValue;
  module?: Uint8Array;
}

async function parse(sub: Sub, args: Args, rest: string[]): Promise<Parsed> {
  const { min, max, names } = ARITY[sub];
  if (rest.length < min || rest.length > max) {
    throw new UsageError(
      'EUSAGE',
      `mcp0 agent ${sub}${names ? ` ${names}` : ''}: expected ${min === max ? min : `${min} to ${max}`} argument(s), got ${rest.length}`,
    );
  }
  if (sub === 'execute') return { rest, input: parseJsonArg(rest[2], 'input') };
  if (sub !== 'spawn') return { rest };
  stringOption(args, 'name', true);
  return { rest, config: parseJsonArg(stringOption(args, 'config'), '--config'), module: new Uint8Array(await readFile(rest[0]!)) };
}

async function runSub(sub: Sub, node: Node, args: Args, io: Io, { rest, input, config, module }: Parsed): Promise<number> {
  const json = args.values.json === true;
  const print = (value: unknown, text: string) => io.out(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
  switch (sub) {
    case 'spawn': {
      const agreement = await agreementId(node, stringOption(args, 'agreement'));
      const agent = await node.agents.spawn({
        module: module!,
        name: stringOption(args, 'name', true),
        ...(agreement ? { agreement } : {}),
        ...(listOption(args, 'grant').length ? { grants: listOption(args, 'grant') } : {}),
        config,
      });
      const d = await describe(agent);
      print(d, `spawned ${d.name} as ${d.id} (${d.module})`);
      if (!agreement) {
        // Said now rather than at the first denial: under an agreements admit hook, an agent bound
        // to no agreement is refused every operation (no-agreement).
        const { ROLES } = await import('@mcp0/sdk'); // loaded already: the node runs on it
        const gate = node.distribution.pipeline.admit.find((name) =>
          node.kernel.modules().some((m) => m.name === name && m.manifest.provides?.includes(ROLES.agreements)),
        );
        if (gate)
          io.err(
            `WARNING: ${d.name} is bound to no agreement, and ${gate} admits operations only under one: every operation will be denied (no-agreement). Spawn it again with --agreement <file|id>\n`,
          );
      }
      return 0;
    }
    case 'list': {
      const all = await Promise.all(node.agents.list().map(describe));
      print(
        all,
        all.length === 0
          ? 'no agents'
          : all
              .map(
                (a) => `${a.id}  ${a.name.padEnd(16)} ${a.state.padEnd(8)} ${a.module}  root ${a.stateRoot.slice(0, 16)}…  ${a.snapshots.length} snapshot(s)`,
              )
              .join('\n'),
      );
      return 0;
    }
    case 'execute': {
      return printExecution(node.agents.get(rest[0]!).execute(rest[1]!, input), json, (line) => io.out(line));
    }
    case 'snapshot': {
      const [name] = rest;
      const snap = await node.agents.get(name!).snapshot();
      print(snap, `snapshot ${snap.id}`);
      return 0;
    }
    case 'recover': {
      const [name, id] = rest;
      const force = args.values.force === true;
      if (force)
        io.err(
          `WARNING: --force: recovering ${name} to ${id} even if it is not in its history (another agent's state, say): its state, and what its exports carry, then hold that root's blocks\n`,
        );
      await node.agents.get(name!).recover(id!, { force });
      print({ recovered: id }, `recovered ${name} to ${id}`);
      return 0;
    }
    case 'pause':
    case 'resume':
    case 'terminate': {
      const agent = node.agents.get(rest[0]!);
      const { id, name } = agent; // read before: a terminated handle forgets them
      await agent[sub]();
      print({ id, name, state: agent.state }, `${name} (${id}): ${agent.state}`);
      return 0;
    }
  }
}

export const agent: Command = {
  name: 'agent',
  summary: 'spawn, list, execute, snapshot, recover, pause, resume or terminate agents in a store',
  usage: '<spawn|list|execute|snapshot|recover|pause|resume|terminate> [args] [options]',
  options: {
    ...NODE_OPTIONS,
    name: { type: 'string', arg: '<name>', description: "spawn: the agent's name, unique on the node" },
    agreement: {
      type: 'string',
      arg: '<id|file>',
      description:
        "spawn: run the agent under this agreement: the id of a registered one, or a signed agreement file to register. Its consumer must be the key that signed the agent, its provider a key the distribution's mcp0.agreements accepts (config.providers): EPERM otherwise",
    },
    grant: { type: 'string', multiple: true, arg: '<grant>', description: 'spawn: a capability to grant (default: kv, clock, random)' },
    config: { type: 'string', arg: '<json>', description: "spawn: the agent's configuration (JSON)" },
    force: {
      type: 'boolean',
      description:
        "recover: restore a root that is not in the agent's history (not one of its snapshots nor among its newest 1,000 versions), with a warning; refused (EPERM) without it",
    },
    json: { type: 'boolean', description: 'print results as JSON' },
  },
  details: [
    'subcommands (an agent is named by its id or its name):',
    '  spawn <module.wasm> --name <name> [--agreement <id|file>] [--grant <g>]... [--trust-agent <key>] [--allow-grant <g>]...',
    '  list',
    '  execute <agent> <intent> [json-input]     runs the whole pipeline; bytes are {"$bytes": "<base64>"}',
    '  snapshot <agent>                          prints the snapshot id (the state root)',
    '  recover <agent> <snapshot-id> [--force] one of its snapshots or versions; another root only with --force',
    '  pause|resume|terminate <agent>',
    '',
    'The distribution is verified against --trust, else its assembler found in your keyring; --dev trusts the',
    'development key a local build (npm run build) left in the distribution folder, for that build only.',
    'The keys trusted, and from where, go to stderr.',
    '',
    'Stored agents come back on each invocation only as far as you trust them now: their publisher must be',
    'given with --trust-agent (or be in your keyring, looked up by the id the record names) and their grants',
    'within kv, clock, random plus --allow-grant; any other is kept in the store, not loaded, and named in a warning.',
    '',
    'The store: --store <uri> (lmdb:<dir>, memory:, mongodb://host/db). Only spawn creates a store that does not',
    'exist; the other subcommands fail with ENOTFOUND "no store at ...". One node runs an agent at a time: while',
    'another process (mcp0 start, say) runs an agent on the same store, commands on it fail with EBUSY naming',
    "that process's pid and host.",
    '',
    'Exit codes: 0 success; 1 the operation failed (denied, trapped, not found, busy: the error code is printed);',
    '2 usage error, or a distribution or agent module that does not verify (EUNTRUSTED, ESIGNATURE, ...).',
  ].join('\n'),
  async run(args, io) {
    const [sub, ...rest] = positionals(args, this, 1, 5);
    if (!SUBCOMMANDS.includes(sub as Sub))
      throw new UsageError('EUSAGE', `unknown subcommand ${JSON.stringify(sub)}: expected one of ${SUBCOMMANDS.join(', ')}`);
    // Only spawn may create the store: the others use agents already there, and a mistyped
    // --store must fail ("no store at …") rather than show an empty store.
    const parsed = await parse(sub as Sub, args, rest);
    const node = await openNode(args, io, sub === 'spawn' ? {} : { createStore: false });
    try {
      return await runSub(sub as Sub, node, args, io, parsed);
    } finally {
      await node.stop();
    }
  },
};
