/**
 * `mcp0 start`: run a node until SIGINT or SIGTERM, then stop it cleanly (operations in progress
 * finish, modules stop, a last trace checkpoint is signed, the store is flushed and closed).
 * Agents stored by earlier runs come back. With `--operator-key` the node signs its trace head
 * (`mcp0 trace checkpoint` exports them).
 */
import { UsageError } from '@mcp0/abi';
import type { TraceCheckpoint } from '@mcp0/sdk';
import type { NodeServer } from '@mcp0/sdk/rpc';
import { type Command, stringOption } from '../command.js';
import { readPrivateKey } from '../trust.js';
import { NODE_OPTIONS, openNode } from './node/open.js';

export const start: Command = {
  name: 'start',
  summary: 'run a node on a distribution and a store until interrupted',
  usage:
    '[--dist <dir>] [--store <uri>] [--trust <key>... | --dev] [--operator-key <file>] [--listen <host:port> (--tls-cert <file> --tls-key <file> [--tls-client-ca <file>] | --insecure)] [--json]',
  options: {
    ...NODE_OPTIONS,
    'operator-key': {
      type: 'string',
      arg: '<file>',
      description:
        "the operator's private key (JWK, mode 0600): the node signs its trace head with it every minute the head moved, and at stop (trace checkpoints)",
    },
    json: { type: 'boolean', description: 'print the ready and stopped lines as JSON' },
    listen: { type: 'string', arg: '<host:port>', description: 'also serve the node over gRPC (mcp0.v1.Node) here; port 0 picks a free one' },
    'tls-cert': { type: 'string', arg: '<file>', description: "--listen: the node's certificate chain (PEM), reloaded when the file changes" },
    'tls-key': { type: 'string', arg: '<file>', description: "--listen: the certificate's private key (PEM)" },
    'tls-client-ca': { type: 'string', arg: '<file>', description: '--listen: require client certificates signed by this CA (mutual TLS)' },
    insecure: { type: 'boolean', description: '--listen: plaintext, refused for any address but loopback (127.0.0.1, ::1, localhost)' },
  },
  details: [
    'The distribution is verified against --trust, else its assembler found in your keyring; --dev trusts the',
    'development key a local build (npm run build) left in the distribution folder, for that build only.',
    'The keys trusted, and from where, go to stderr.',
    '',
    'With --operator-key the node signs a trace checkpoint {seq, head, time} every minute when the trace head moved,',
    'and once more when it stops, and keeps them in the store (mcp0.node checkpoint/<seq>): export one with',
    'mcp0 trace checkpoint, and check a proof against it with mcp0 trace verify --checkpoint <file> --trust <key>.',
    '',
    'With --listen the node is also served over gRPC (abi/proto/mcp0/v1/node.proto): every call carries a signed envelope',
    "that the distribution's rpc plugin (mcp0.rpc@1) checks before anything runs; TLS unless --insecure on loopback.",
    'On SIGINT or SIGTERM it drains first: health says NOT_SERVING, new calls are refused, calls in flight finish.',
    '',
    'SIGINT (Ctrl-C) or SIGTERM stops the node cleanly and exits 0. Run through npm (npx mcp0 start, npm start),',
    'the node also stops cleanly when the npm process above it goes away: npm does not pass SIGTERM on, and it',
    "ignores a SIGINT sent to it alone; a supervisor may also signal the node itself (its pid is in --json's ready event).",
  ].join('\n'),
  async run(args, io) {
    const keyFile = stringOption(args, 'operator-key');
    const operatorKey = keyFile === undefined ? undefined : await readPrivateKey(keyFile, '--operator-key');
    if (operatorKey) io.err(`operator: ${operatorKey.kid} from --operator-key ${keyFile}: signs trace checkpoints\n`);
    const listen = stringOption(args, 'listen');
    const tlsCert = stringOption(args, 'tls-cert');
    const tlsKey = stringOption(args, 'tls-key');
    const clientCa = stringOption(args, 'tls-client-ca');
    if (listen === undefined && (tlsCert ?? tlsKey ?? clientCa ?? args.values.insecure) !== undefined)
      throw new UsageError('EUSAGE', '--tls-cert, --tls-key, --tls-client-ca and --insecure go with --listen <host:port>');
    if ((tlsCert === undefined) !== (tlsKey === undefined)) throw new UsageError('EUSAGE', '--tls-cert and --tls-key go together');
    const node = await openNode(args, io, operatorKey ? { operatorKey } : {});
    let server: NodeServer | undefined;
    if (listen !== undefined) {
      try {
        const { serveNode } = await import('@mcp0/sdk/rpc');
        server = await serveNode(node, {
          listen,
          ...(args.values.insecure === true ? { insecure: true } : {}),
          ...(tlsCert !== undefined && tlsKey !== undefined ? { tls: { cert: tlsCert, key: tlsKey, ...(clientCa ? { clientCa } : {}) } } : {}),
        });
      } catch (e) {
        await node.stop();
        throw e;
      }
    }
    let last: TraceCheckpoint | undefined;
    node.on('checkpoint', (cp) => (last = cp));
    node.on('checkpoint-error', (e) => io.err(`checkpoint failed: ${e.message}\n`));
    const json = args.values.json === true;
    // Listen before saying ready, so a signal sent on seeing "ready" is never missed. Signal
    // listeners do not keep the event loop alive; the timer does, until a signal comes.
    const alive = setInterval(() => undefined, 1 << 30);
    let watch: NodeJS.Timeout | undefined;
    const stopping = new Promise<NodeJS.Signals | 'parent exited'>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
      // Under npm (npx, npm start) the node is a grandchild: a SIGTERM to npm kills npm and its
      // shell but is not passed on, which would leave the node running with no one to stop it.
      // Being handed to another parent means the npm above us is gone: stop as for SIGTERM.
      if (process.env.npm_command !== undefined) {
        const parent = process.ppid;
        watch = setInterval(() => process.ppid !== parent && resolve('parent exited'), 250);
        watch.unref();
      }
    });
    const agents = node.agents.list();
    const ready = {
      event: 'ready',
      pid: process.pid,
      distribution: `${node.distribution.name}@${node.distribution.version}`,
      store: node.store.uri,
      plugins: node.kernel.modules().length - agents.length,
      agents: agents.map((a) => ({ id: a.id, name: a.name, state: a.state })),
      ...(server ? { listen: server.address, tls: args.values.insecure !== true } : {}),
    };
    io.out(
      json
        ? `${JSON.stringify(ready)}\n`
        : `node up: ${ready.distribution} on ${ready.store}, ${ready.plugins} plugins, ${agents.length} agents (${agents.map((a) => a.name).join(', ') || 'none'})${server ? `, serving gRPC on ${server.address}${args.values.insecure === true ? ' (plaintext)' : ' (TLS)'}` : ''}; Ctrl-C stops it\n`,
    );
    const signal = await stopping;
    clearInterval(alive);
    clearInterval(watch);
    // No acknowledged call is lost: the transport drains before the node stops.
    await server?.drain(10_000);
    const m = node.metrics();
    await node.stop();
    const stopped = {
      event: 'stopped',
      signal,
      operations: m.operations.total,
      ...(last ? { checkpoint: { seq: last.seq, head: last.head, signer: last.signer } } : {}),
    };
    const signed = last ? `; last trace checkpoint seq ${last.seq}, signed by ${last.signer}` : '';
    io.out(json ? `${JSON.stringify(stopped)}\n` : `${signal}: node stopped cleanly after ${m.operations.total} operations; state flushed${signed}\n`);
    return 0;
  },
};
