/**
 * `mcp0 start`: run a node until SIGINT or SIGTERM, then stop it cleanly (operations in progress
 * finish, modules stop, the store is flushed and closed). Agents stored by earlier runs come back.
 */
import type { Command } from '../command.js';
import { NODE_OPTIONS, openNode } from './node/open.js';

export const start: Command = {
  name: 'start',
  summary: 'run a node on a distribution and a store until interrupted',
  usage: '[--dist <dir>] [--store <uri>] [--trust <key>... | --dev] [--json]',
  options: {
    ...NODE_OPTIONS,
    json: { type: 'boolean', description: 'print the ready and stopped lines as JSON' },
  },
  details: [
    'The distribution is verified against --trust, else its assembler found in your keyring; --dev trusts the',
    'development key a local build (npm run build) left in the distribution folder, for that build only.',
    'The keys trusted, and from where, go to stderr.',
    '',
    'SIGINT (Ctrl-C) or SIGTERM stops the node cleanly and exits 0.',
  ].join('\n'),
  async run(args, io) {
    const node = await openNode(args, io);
    const json = args.values.json === true;
    // Listen before saying ready, so a signal sent on seeing "ready" is never missed. Signal
    // listeners do not keep the event loop alive; the timer does, until a signal comes.
    const alive = setInterval(() => undefined, 1 << 30);
    const stopping = new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    const agents = node.agents.list();
    const ready = { event: 'ready', distribution: `${node.distribution.name}@${node.distribution.version}`, store: node.store.uri, plugins: node.kernel.modules().length - agents.length, agents: agents.map((a) => ({ id: a.id, name: a.name, state: a.state })) };
    io.out(json ? `${JSON.stringify(ready)}\n` : `node up: ${ready.distribution} on ${ready.store}, ${ready.plugins} plugins, ${agents.length} agents (${agents.map((a) => a.name).join(', ') || 'none'}); Ctrl-C stops it\n`);
    const signal = await stopping;
    clearInterval(alive);
    const m = node.metrics();
    await node.stop();
    const stopped = { event: 'stopped', signal, operations: m.operations.total };
    io.out(json ? `${JSON.stringify(stopped)}\n` : `${signal}: node stopped cleanly after ${m.operations.total} operations; state flushed\n`);
    return 0;
  },
};
