/**
 * A node over gRPC (`mcp0.v1.Node`, abi/proto/mcp0/v1/node.proto): the byte-moving half of the
 * transport. Every call needs a deadline and a signed envelope, and runs only after the node's rpc
 * plugin (role `mcp0.rpc@1`) verifies the envelope: signature, time, nonce, authority, rate. Beside
 * it, standard health checking (`grpc.health.v1`, NOT_SERVING while draining or while a role's
 * plugin has failed) and server reflection, so stock tools (grpcurl, grpc-health-probe) work.
 */
import {
  Server,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { CallError, decodeCbor, decodeEnvelope, encodeCbor, UsageError, type CborValue, type Envelope } from '@mcp0/abi';
import type { Node } from '../node/index.js';
import { NODE_SERVICE, nodeClientClass, nodePackageDefinition } from './proto.js';
import { statusOf } from './status.js';
import { serverCredentials, type ServerTls } from './tls.js';
import { NODE_METHODS, executeAgent } from './methods.js';
import { DEADLINE_SLACK_MS } from './deadline.js';
import { releaseProver } from './prover.js';
import { roleClient } from '../roles/index.js';
import { roleModule } from '../node/roles.js';

/**
 * How a node listens.
 * @example
 * const options: ServeOptions = { listen: '0.0.0.0:7040', tls: { cert: 'node.crt', key: 'node.key' } }
 */
export interface ServeOptions {
  /** `host:port`; port 0 picks a free one (see `NodeServer.port`). */
  listen: string;
  tls?: ServerTls;
  /** Plaintext: refused unless `listen` is a loopback address. */
  insecure?: boolean;
  /** The longest deadline a call may ask for, ms (default 300,000). A call without one is refused. */
  maxDeadlineMs?: number;
  /** The largest message either way, bytes (default 4 MiB + 64 KiB: the kernel's input cap and framing). */
  maxMessageBytes?: number;
  /** How long `drain` lets health checkers see NOT_SERVING before it stops taking calls, ms (default 1,000). */
  drainNoticeMs?: number;
}

/**
 * A node being served.
 * @example
 * const server = await serveNode(node, { listen: '127.0.0.1:0', insecure: true }); server.port
 */
export interface NodeServer {
  readonly address: string;
  readonly port: number;
  /** Calls being served now. */
  readonly inFlight: number;
  /**
   * Graceful drain: health says NOT_SERVING, new calls are refused (UNAVAILABLE) after the notice,
   * calls in flight finish (at most `graceMs`, then they are cut), then the server closes.
   */
  drain(graceMs?: number): Promise<void>;
  /** Closes at once, cutting calls in flight. */
  close(): Promise<void>;
}

interface CallMessage {
  envelope: Buffer;
  payload: Buffer;
}

const DEFAULT_MAX_DEADLINE_MS = 300_000;

const DEFAULT_MAX_MESSAGE = 4 * 1024 * 1024 + 64 * 1024;

/** A unary or server-streaming call: what `serve` reads of either. */
type IncomingCall = ServerUnaryCall<CallMessage, unknown> | ServerWritableStream<CallMessage, unknown>;

/** The most progress bytes a stream holds for a slow reader before it drops events (never the result). */
const MAX_PENDING_PROGRESS = 1024 * 1024;

/** The absolute deadline of a call in ms, or EUSAGE when it has none or one too far away. */
function deadlineOf(call: IncomingCall, maxMs: number): number {
  const d = call.getDeadline();
  const at = d instanceof Date ? d.getTime() : d;
  if (!Number.isFinite(at)) throw new UsageError('EUSAGE', 'the call has no deadline: every call to a node must set one');
  if (at - Date.now() > maxMs + DEADLINE_SLACK_MS)
    throw new UsageError('EUSAGE', `the call's deadline is ${Math.round(at - Date.now())} ms away; at most ${maxMs} ms`, { maxDeadlineMs: maxMs });
  return at;
}

/** `work`, or ETIMEOUT when `deadline` (ms since the epoch) passes first. */
function beforeDeadline<T>(work: Promise<T>, deadline: number, what: string): Promise<T> {
  const left = deadline - Date.now();
  if (left <= 0) {
    // Nobody waits for the work now; its own failure (most often its cutoff) is not news.
    work.catch(() => undefined);
    return Promise.reject(new CallError('ETIMEOUT', `${what}: the deadline passed before it began`));
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CallError('ETIMEOUT', `${what}: the deadline passed (${left} ms)`)), left);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** The consumer of the agreement the target agent runs under, or null (no agreement, no agreements role). */
async function consumerOf(node: Node, target: string, intent: string): Promise<string | null> {
  const agent = node.agents.list().find((a) => a.name === target || a.id === target);
  if (agent === undefined) return null;
  // The rpc plugin keeps a token bucket per caller and method: an intent the agent does not have
  // would get a fresh one for each name made up. Refused here, before it reaches the plugin.
  if (!node.kernel.module(agent.id).exportNames.has(intent))
    throw new CallError('ENOTFOUND', `agent ${target} has no intent ${JSON.stringify(intent.slice(0, 64))}`, { target });
  if (agent.agreement === null || !node.hasRole('agreements')) return null;
  return (await node.roles.agreements.get({ id: agent.agreement })).document.consumer;
}

/**
 * Serves `node` over gRPC. The distribution must have an rpc plugin: without one nothing could
 * check who calls, so nothing is served (EUNAVAILABLE).
 * @example
 * const server = await serveNode(node, { listen: '0.0.0.0:7040', tls: { cert: 'node.crt', key: 'node.key' } })
 * process.on('SIGTERM', () => server.drain(10_000))
 */
export async function serveNode(node: Node, options: ServeOptions): Promise<NodeServer> {
  if (!node.hasRole('rpc'))
    throw new CallError(
      'EUNAVAILABLE',
      `the distribution ${node.distribution.name} has no plugin providing mcp0.rpc@1: nothing would check who calls, so the node is not served`,
    );
  // Found once: a plugin restarted by the kernel keeps its name.
  const rpcModule = roleModule(node.kernel, node.distribution.name, 'rpc').name;
  const credentials = serverCredentials(options.listen, options);
  const maxDeadlineMs = options.maxDeadlineMs ?? DEFAULT_MAX_DEADLINE_MS;
  const maxMessage = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE;
  const server = new Server({
    'grpc.max_receive_message_length': maxMessage,
    'grpc.max_send_message_length': maxMessage,
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
  });
  const definition = nodePackageDefinition();
  const health = new HealthImplementation({ '': 'SERVING', [NODE_SERVICE]: 'SERVING' });
  health.addToServer(server);
  // Reflection describes every service the server has, health included, so stock tools see them all.
  new ReflectionService({ ...definition, ...loadSync(healthProtoPath) }).addToServer(server);

  let draining = false;
  let inFlight = 0;
  // Health follows the plugins the node cannot serve without: any role's plugin failed is NOT_SERVING.
  const rolesHealthy = () => node.kernel.modules().every((m) => (m.manifest.provides?.length ?? 0) === 0 || m.state !== 'failed');
  const setHealth = () => {
    const status = !draining && rolesHealthy() ? 'SERVING' : 'NOT_SERVING';
    health.setStatus('', status);
    health.setStatus(NODE_SERVICE, status);
  };
  const onTransition = () => setHealth();
  node.on('transition', onTransition);

  /**
   * One call: envelope, the rpc plugin's verdict, then the work. The call's deadline and its
   * cancellation go on to the operation, so work still queued when either comes never runs.
   */
  async function serve(
    rpc: string,
    call: IncomingCall,
    deadline: number,
    signal: AbortSignal,
    onEmit?: (topic: string, data: CborValue) => void,
  ): Promise<object> {
    if (draining) throw new CallError('EBUSY', 'the node is draining: call another node or retry later');
    const { envelope, payload } = call.request;
    const e: Envelope = decodeEnvelope(envelope);
    const agentCall = rpc === 'Execute' || rpc === 'ExecuteStream';
    if (agentCall ? e.target === '' : e.target !== '' || e.method !== `${NODE_SERVICE}/${rpc}`) {
      throw new CallError('EPERM', `the envelope asks for ${e.target === '' ? 'the node' : `agent ${e.target}`}'s ${e.method}, not ${NODE_SERVICE}/${rpc}`, {
        target: e.target,
        method: e.method,
      });
    }
    // The envelope's deadline is the call's; the transport's may be a little later (a client
    // leaves room for the node's answer to arrive: see DEADLINE_SLACK_MS). Taking the earlier of
    // the two before the signature is checked can only shorten the call, never lengthen it.
    const until = Math.min(deadline, e.deadline);
    const consumer = e.target === '' ? null : await consumerOf(node, e.target, e.method);
    // Verified under the call's cutoff too: a call that waited past its deadline for the plugin
    // costs no verification (and spends no nonce).
    const cutoff = { deadline: until, signal };
    const rpcPlugin = roleClient('rpc', (name, value) => node.kernel.callValue(rpcModule, name, value, cutoff));
    const verdict = await rpcPlugin.verify({ envelope, payload, consumer });
    const by = Math.min(until, verdict.deadline);
    let input: CborValue;
    try {
      input = decodeCbor(payload);
    } catch (err) {
      throw new CallError('EINPUT', `the payload: ${(err as Error).message}`);
    }
    // The envelope's hash is the operation's cause: the callee's trace binds it into the entry,
    // so a caller holding the answer's trace head can later show this node ran its request.
    const cause = verdict.envelopeHash;
    const work = agentCall
      ? executeAgent(node, e.target, e.method, input, { deadline: by, signal, cause, ...(onEmit ? { onEmit } : {}) })
      : NODE_METHODS[rpc]!(node, input, { deadline: by, signal });
    const out = await beforeDeadline(work, by, `${e.target === '' ? rpc : `${e.target}/${e.method}`}`);
    const head = node.hasRole('trace') ? await node.roles.trace.head() : undefined;
    return {
      payload: Buffer.from(encodeCbor(out)),
      ...(head === undefined ? {} : { trace: { ...(head.seq === null ? {} : { seq: String(head.seq) }), head: head.head } }),
      envelope_hash: Buffer.from(verdict.envelopeHash),
    };
  }

  /**
   * Runs `serve` for a call, answering by its deadline at the latest: the deadline is read first
   * (a call without one is refused), and a client that goes away aborts the operation's signal.
   */
  function run(rpc: string, call: IncomingCall, onEmit?: (topic: string, data: CborValue) => void): Promise<object> {
    inFlight++;
    const cancelled = new AbortController();
    call.on('cancelled', () => cancelled.abort());
    let deadline: number;
    try {
      deadline = deadlineOf(call, maxDeadlineMs);
    } catch (e) {
      inFlight--;
      return Promise.reject(e);
    }
    return beforeDeadline(serve(rpc, call, deadline, cancelled.signal, onEmit), deadline, rpc).finally(() => inFlight--);
  }

  const implementation: UntypedServiceImplementation = {};
  for (const rpc of ['Execute', ...Object.keys(NODE_METHODS)]) {
    const handle: handleUnaryCall<CallMessage, object> = (call, callback) => {
      run(rpc, call).then(
        (value) => callback(null, value),
        (error) => callback(statusOf(error)),
      );
    };
    implementation[rpc] = handle;
  }
  // Progress is the agent's emits during the operation; a reader too slow to keep up loses
  // progress events (never the result) rather than growing the node's memory without bound.
  const stream: handleServerStreamingCall<CallMessage, object> = (call) => {
    const onEmit = (topic: string, data: CborValue) => {
      if (call.cancelled || call.writableLength > MAX_PENDING_PROGRESS) return;
      call.write({ progress: Buffer.from(encodeCbor({ topic, data })) });
    };
    run('ExecuteStream', call, onEmit).then(
      (result) => {
        if (call.cancelled) return;
        call.write({ result });
        call.end();
      },
      (error) => {
        if (!call.cancelled) call.emit('error', statusOf(error));
      },
    );
  };
  implementation.ExecuteStream = stream;
  server.addService(nodeClientClass().service, implementation);

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.listen, credentials, (error, bound) =>
      error ? reject(new CallError('EUNAVAILABLE', `listen ${options.listen}: ${error.message}`, { listen: options.listen })) : resolve(bound),
    ),
  );
  const host = options.listen.slice(0, options.listen.lastIndexOf(':'));
  let closed = false;
  const stop = () => {
    closed = true;
    node.off('transition', onTransition);
  };
  return {
    address: `${host}:${port}`,
    port,
    get inFlight() {
      return inFlight;
    },
    async drain(graceMs = 10_000) {
      if (closed) return;
      draining = true;
      setHealth();
      await new Promise((r) => setTimeout(r, options.drainNoticeMs ?? 1_000));
      const done = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      const cut = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
      await Promise.race([done, cut]);
      server.forceShutdown();
      stop();
      await releaseProver();
    },
    async close() {
      if (closed) return;
      server.forceShutdown();
      stop();
      await releaseProver();
    },
  };
}
