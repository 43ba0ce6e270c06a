/**
 * `mcp0 remote <addr> agent|trace|node ...`: the command line's client of a node served by
 * `mcp0 start --listen`, through the SDK's `Client` (`@mcp0/sdk/rpc`). Its subcommands take the
 * shapes of the local `mcp0 agent` and `mcp0 trace` ones, and print what they print (text, or JSON
 * with --json), so a script moves from a store to a served node by changing the prefix. Every call
 * is signed with `--key`; the node's refusals come back typed (EPERM, EDENIED, ...) and exit 1.
 * The SDK's transport (gRPC) is loaded only when this command runs.
 */
import { readFile } from 'node:fs/promises';
import { Mcp0Error, UsageError, type CborValue } from '@mcp0/abi';
import type { Client } from '@mcp0/sdk/rpc';
import { type Args, type Command, type Io, listOption, positionals, stringOption } from '../command.js';
import { parseJsonArg, printExecution, toJson } from '../json-cbor.js';
import { CONNECT_OPTIONS, checkAddress, connectNode, connectOptions } from './remote/connect.js';

/** Each group's subcommands and the positionals each takes after it. */
const GROUPS = {
  agent: {
    list: [0, 0, ''],
    execute: [2, 3, '<agent> <intent> [json-input]'],
    spawn: [1, 1, '<module.wasm> --name <name>'],
    snapshot: [1, 1, '<agent>'],
    recover: [2, 2, '<agent> <snapshot-id>'],
    pause: [1, 1, '<agent>'],
    resume: [1, 1, '<agent>'],
    terminate: [1, 1, '<agent>'],
  },
  trace: { head: [0, 0, ''], entries: [2, 2, '<from> <to>'], checkpoint: [0, 0, ''] },
  node: { info: [0, 0, ''], metrics: [0, 0, ''] },
} as const satisfies Record<string, Record<string, readonly [number, number, string]>>;
type Group = keyof typeof GROUPS;

/** The node's own method for a call that has no shorthand on the client (Recover). */
const NODE_METHOD = (name: string) => `mcp0.v1.Node/${name}`;

/** What a subcommand was given, checked before the node is dialled: usage errors come at once. */
interface Request {
  group: Group;
  sub: string;
  rest: string[];
  input?: CborValue;
  spawn?: { module: Uint8Array; name: string; grants?: string[]; config?: CborValue; agreement?: string };
  range?: { from: number; to: number };
}

/** A trace position given as an argument: an unsigned integer, or a usage error naming it. */
function seqArg(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new UsageError('EUSAGE', `<${what}>: expected an unsigned integer, got ${JSON.stringify(text)}`);
  return n;
}

async function parse(args: Args, group: string, sub: string, rest: string[]): Promise<Request> {
  if (!(group in GROUPS)) throw new UsageError('EUSAGE', `unknown group ${JSON.stringify(group)}: expected one of ${Object.keys(GROUPS).join(', ')}`);
  const subs: Record<string, readonly [number, number, string]> = GROUPS[group as Group];
  const arity = subs[sub];
  if (arity === undefined)
    throw new UsageError('EUSAGE', `unknown subcommand ${JSON.stringify(`${group} ${sub}`)}: expected ${group} ${Object.keys(subs).join('|')}`);
  const [min, max, names] = arity;
  if (rest.length < min || rest.length > max)
    throw new UsageError(
      'EUSAGE',
      `mcp0 remote <addr> ${group} ${sub}${names ? ` ${names}` : ''}: expected ${min === max ? min : `${min} to ${max}`} argument(s), got ${rest.length}`,
    );
  const request: Request = { group: group as Group, sub, rest };
  if (group === 'agent' && sub === 'execute') request.input = parseJsonArg(rest[2], 'input');
  if (group === 'agent' && sub === 'spawn') {
    const name = stringOption(args, 'name', true);
    const grants = listOption(args, 'grant');
    const agreement = stringOption(args, 'agreement');
    const config = stringOption(args, 'config');
    request.spawn = {
      module: new Uint8Array(await readFile(rest[0]!)),
      name,
      ...(grants.length > 0 ? { grants } : {}),
      ...(config === undefined ? {} : { config: parseJsonArg(config, '--config') }),
      ...(agreement === undefined ? {} : { agreement }),
    };
  }
  if (group === 'trace' && sub === 'entries') {
    const [from, to] = [seqArg(rest[0]!, 'from'), seqArg(rest[1]!, 'to')];
    if (from > to) throw new UsageError('EUSAGE', `<from> ${from} is after <to> ${to}`);
    request.range = { from, to };
  }
  return request;
}

/** An agent as the wire gives it ({id, name, state, module: {name, version}, agreement, snapshots: [{id, at}]}), shaped as `mcp0 agent` prints one. */
function agentOf(value: CborValue): { id: string; name: string; state: string; module: string; agreement: unknown; snapshots: string[] } {
  const a = (value ?? {}) as { [k: string]: CborValue };
  const module = (a.module ?? {}) as { [k: string]: CborValue };
  const snapshots = Array.isArray(a.snapshots) ? a.snapshots : [];
  return {
    id: String(a.id),
    name: String(a.name),
    state: String(a.state),
    module: `${String(module.name)}@${String(module.version)}`,
    agreement: toJson(a.agreement ?? null),
    snapshots: snapshots.map((s) => String((s as { [k: string]: CborValue }).id)),
  };
}

async function runAgent(client: Client, args: Args, io: Io, r: Request): Promise<number> {
  const json = args.values.json === true;
  const print = (value: unknown, text: string) => io.out(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
  const [name, second] = r.rest;
  switch (r.sub) {
    case 'list': {
      const all = ((await client.agents.list()) as CborValue[]).map(agentOf);
      print(
        all,
        all.length === 0
          ? 'no agents'
          : all.map((a) => `${a.id}  ${a.name.padEnd(16)} ${a.state.padEnd(8)} ${a.module}  ${a.snapshots.length} snapshot(s)`).join('\n'),
      );
      return 0;
    }
    case 'execute': {
      return printExecution(client.agents.get(name!).execute(second!, r.input), json, (line) => io.out(line));
    }
    case 'spawn': {
      const a = agentOf(await client.agents.spawn(r.spawn!));
      print(a, `spawned ${a.name} as ${a.id} (${a.module})`);
      if (r.spawn!.agreement === undefined)
        io.err(
          `note: ${a.name} is bound to no agreement: a node whose admit hook is mcp0.agreements denies its every operation (no-agreement), and only an agreement's consumer may call an agent over the network\n`,
        );
      return 0;
    }
    case 'snapshot': {
      const snap = (await client.agents.get(name!).snapshot()) as { id: string; at: number };
      print(snap, `snapshot ${snap.id}`);
      return 0;
    }
    case 'recover': {
      const force = args.values.force === true;
      if (force)
        io.err(
          `WARNING: --force: recovering ${name} to ${second} even if it is not in its history (another agent's state, say): its state, and what its exports carry, then hold that root's blocks\n`,
        );
      await client.call('', NODE_METHOD('Recover'), { agent: name!, snapshot: second!, ...(force ? { force } : {}) });
      print({ recovered: second }, `recovered ${name} to ${second}`);
      return 0;
    }
    case 'pause':
    case 'resume': {
      const agent = client.agents.get(name!);
      const { id, name: n, state } = agentOf(await (r.sub === 'pause' ? agent.pause() : agent.resume()));
      print({ id, name: n, state }, `${n} (${id}): ${state}`);
      return 0;
    }
    default: {
      // Terminate answers nothing; the list before it names the agent as `mcp0 agent terminate` does.
      const known = ((await client.agents.list()) as CborValue[]).map(agentOf).find((a) => a.name === name || a.id === name);
      await client.agents.get(name!).terminate();
      const [id, n] = known ? [known.id, known.name] : [name!, name!];
      print({ id, name: n, state: 'terminated' }, `${n} (${id}): terminated`);
      return 0;
    }
  }
}

async function runTrace(client: Client, args: Args, io: Io, r: Request): Promise<number> {
  if (r.sub === 'head') {
    const h = (await client.trace.head()) as { seq: number | null; head: string };
    io.out(args.values.json ? `${JSON.stringify(h)}\n` : `seq:  ${h.seq ?? '(empty trace)'}\nhead: ${h.head}\n`);
    return 0;
  }
  if (r.sub === 'entries') {
    const entries = (await client.trace.entries(r.range!.from, r.range!.to)) as CborValue[];
    // One entry a line, as JSON: what `jq` and `grep` read best, whatever --json says.
    io.out(entries.map((e) => `${JSON.stringify(toJson(e))}\n`).join(''));
    return 0;
  }
  const cp = await client.trace.checkpoint();
  if (cp === null)
    throw new Mcp0Error(
      'ENOTFOUND',
      'the node has signed no trace checkpoint: a node signs them only with an operator key (mcp0 start --operator-key <file>), once its trace head moved',
    );
  io.out(`${JSON.stringify(toJson(cp), null, 2)}\n`);
  return 0;
}

async function runNode(client: Client, args: Args, io: Io, r: Request): Promise<number> {
  if (r.sub === 'metrics') {
    io.out(`${JSON.stringify(toJson(await client.metrics()), null, args.values.json ? undefined : 2)}\n`);
    return 0;
  }
  const info = (await client.info()) as { distribution: { name: string; version: string }; roles: string[]; abi: string };
  io.out(
    args.values.json
      ? `${JSON.stringify(info)}\n`
      : `distribution: ${info.distribution.name}@${info.distribution.version}\nroles:        ${info.roles.join(', ')}\nabi:          ${info.abi}\n`,
  );
  return 0;
}

export const remote: Command = {
  name: 'remote',
  summary: 'call a node served by mcp0 start --listen: its agents, its trace, its info and metrics',
  usage: '<addr> <agent|trace|node> <subcommand> [args] --key <file> [--ca <file> [--cert <file> --cert-key <file>] | --insecure] [--timeout <ms>]',
  options: {
    ...CONNECT_OPTIONS,
    name: { type: 'string', arg: '<name>', description: "agent spawn: the agent's name, unique on the node" },
    grant: { type: 'string', multiple: true, arg: '<grant>', description: "agent spawn: a capability to grant (default: the node's, kv, clock, random)" },
    agreement: {
      type: 'string',
      arg: '<id>',
      description:
        'agent spawn: run the agent under this agreement, registered on the node already (mcp0 agent spawn --agreement <file> registers one locally); its consumer must be the key that signed the agent',
    },
    config: { type: 'string', arg: '<json>', description: "agent spawn: the agent's configuration (JSON)" },
    force: { type: 'boolean', description: "agent recover: restore a root that is not in the agent's history, with a warning; refused (EPERM) without it" },
    json: { type: 'boolean', description: 'print results as JSON (trace entries, trace checkpoint and node metrics are JSON either way)' },
  },
  details: [
    'subcommands (an agent is named by its id or its name; the shapes of mcp0 agent and mcp0 trace):',
    '  agent list',
    '  agent execute <agent> <intent> [json-input]    bytes are {"$bytes": "<base64>"}',
    '  agent spawn <module.wasm> --name <name> [--grant <g>]... [--agreement <id>] [--config <json>]',
    '  agent snapshot <agent>                          prints the snapshot id (the state root)',
    '  agent recover <agent> <snapshot-id> [--force]',
    '  agent pause|resume|terminate <agent>',
    '  trace head | trace entries <from> <to> (at most 1,000) | trace checkpoint',
    '  node info | node metrics',
    '',
    "Who may call what is the node's to say, never the caller's: the node's own methods (every subcommand but",
    "agent execute) answer only the operator keys of its rpc plugin's config (for the standard distribution, its",
    "assembler: a local build's development key); an agent's intents answer only the consumer of the agreement",
    'it runs under. Anyone else gets EPERM (not-authorised); a caller over its rate, EDENIED with retryAfterMs.',
    '',
    'The connection: TLS trusting --ca (mcp0 keygen --tls <dir> writes <dir>/ca.crt), with --cert and --cert-key',
    'for a node started with --tls-client-ca (mcp0 keygen --tls <dir> --client <name> makes them); --insecure is',
    'plaintext, to a loopback address only. The caller key id goes to stderr.',
    '',
    'Exit codes: 0 success; 1 the call failed (refused, denied, not found, no node answering: EUNAVAILABLE; the',
    'error code is printed); 2 usage error, or a key or TLS file that cannot be read.',
    '',
    'example: mcp0 remote 127.0.0.1:7040 agent execute tally increment \'{"by":1}\' --key me.jwk --insecure',
  ].join('\n'),
  async run(args, io) {
    const [address, group, sub, ...rest] = positionals(args, this, 3, 6);
    checkAddress(address!);
    const request = await parse(args, group!, sub!, rest);
    const client = await connectNode(address!, await connectOptions(args, io));
    try {
      if (request.group === 'agent') return await runAgent(client, args, io, request);
      if (request.group === 'trace') return await runTrace(client, args, io, request);
      return await runNode(client, args, io, request);
    } finally {
      client.close();
    }
  },
};
