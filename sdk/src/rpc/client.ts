/**
 * A node's TypeScript client over gRPC, shaped like the local API: `client.agents.get('notes')
 * .execute('remember', {...})`. Each call is signed with the caller's key (an envelope, abi/ROLES.md
 * `mcp0.rpc@1`), carries a deadline, and fails with the typed error the node answered.
 */
import type { Client as GrpcClient, ServiceError } from '@grpc/grpc-js';
import { CallError, decodeCbor, encodeCbor, GRPC_STATUS, Mcp0Error, signEnvelope, UsageError, type CborValue, type PrivateKey } from '@mcp0/abi';
import { NODE_SERVICE, nodeClientClass } from './proto.js';
import { errorOf } from './status.js';
import { DEADLINE_SLACK_MS } from './deadline.js';
import { channelCredentials } from './tls.js';
import { parseTraceProofFile, type TraceProofFile } from '../trace/proof.js';

/**
 * The deadline of `client.trace.prove` unless it says otherwise, ms: proving takes seconds of every
 * core of the node, more on a busy one.
 * @example
 * await client.trace.prove(0, 31, { costLimit: 10_000n, timeoutMs: 2 * PROVE_TIMEOUT_MS })
 */
export const PROVE_TIMEOUT_MS = 120_000;

/**
 * What `client.trace.prove` proves under, and its call's deadline and cancellation.
 * @example
 * const options: ProveOptions = { agreement: 'agr-1', timeoutMs: 180_000 }
 */
export interface ProveOptions extends Omit<CallOptions, 'onProgress' | 'timeoutMs'> {
  /** The cost limit, an integer from 0 to 2^64 − 1 (sent as decimal text). */
  costLimit?: bigint | number | string;
  /** Take the cost limit from this agreement's quotas.costUnitsPerWindow. */
  agreement?: string;
  /** The call's deadline, ms from now (default `PROVE_TIMEOUT_MS`). */
  timeoutMs?: number;
}

/**
 * How to reach a node and who calls.
 * @example
 * const options: ConnectOptions = { key: myKey, ca: readFileSync('ca.crt') }
 */
export interface ConnectOptions {
  /** The caller's key: it signs every call, and the node authorises by its key id. */
  key: PrivateKey;
  /** The CA that signed the node's certificate (PEM); the system's roots when absent. */
  ca?: Uint8Array;
  /** For mutual TLS: this client's certificate chain and key (PEM). */
  cert?: Uint8Array;
  certKey?: Uint8Array;
  /** Plaintext to a loopback address (a node started with insecure). */
  insecure?: boolean;
  /** The deadline of each call unless it says otherwise, ms (default 10,000). */
  timeoutMs?: number;
}

/**
 * What a call answered: its value, the node's trace head after it, and the hash of the envelope
 * that asked for it (what names the call in the node's logs).
 * @example
 * const { value, trace } = await client.call('notes', 'remember', { text: 'hi' })
 */
export interface Receipt {
  value: CborValue;
  trace?: { seq: number | null; head: string };
  envelopeHash: Uint8Array;
}

/**
 * An agent on a remote node.
 * @example
 * const notes: RemoteAgent = client.agents.get('notes')
 */
export interface RemoteAgent {
  readonly name: string;
  /** Runs an intent; with `onProgress`, over the stream that passes on the agent's progress. */
  execute(intent: string, input?: CborValue, options?: CallOptions): Promise<CborValue>;
  snapshot(): Promise<CborValue>;
  pause(): Promise<CborValue>;
  resume(): Promise<CborValue>;
  terminate(): Promise<void>;
}

/**
 * Per call: its deadline, its cancellation, and (agents' intents) a listener for progress.
 * @example
 * await client.call('builder', 'build', {}, { timeoutMs: 60_000, onProgress: (p) => console.log(p.topic, p.data) })
 */
export interface CallOptions {
  /**
   * The call's deadline, ms from now (default: the connection's `timeoutMs`): signed into the
   * envelope, and the node answers ETIMEOUT by then. A node that does not answer at all is given
   * up on `DEADLINE_SLACK_MS` later.
   */
  timeoutMs?: number;
  /** Aborting it cancels the call: the node drops the operation if it has not begun. */
  signal?: AbortSignal;
  /**
   * Given for an agent's intent, the call streams (`ExecuteStream`): each `emit` the agent makes
   * while it runs arrives here, then the result. A node may drop progress a slow reader cannot take.
   */
  onProgress?: (event: { topic: string; data: CborValue }) => void;
}

interface Cancellable {
  cancel(): void;
}

type Unary = (
  request: { envelope: Buffer; payload: Buffer },
  options: { deadline: Date },
  callback: (e: ServiceError | null, r?: ResultMessage) => void,
) => Cancellable;
type ServerStream = (
  request: { envelope: Buffer; payload: Buffer },
  options: { deadline: Date },
) => Cancellable & {
  on(event: 'data', listener: (m: { progress?: Buffer; result?: ResultMessage }) => void): void;
  on(event: 'error', listener: (e: ServiceError) => void): void;
  on(event: 'end', listener: () => void): void;
};
interface ResultMessage {
  payload: Buffer;
  trace?: { seq?: string; head: string } | null;
  envelope_hash: Buffer;
}

/** A Result message as the caller's receipt. */
function receiptOf(r: ResultMessage): Receipt {
  return {
    value: decodeCbor(r.payload),
    envelopeHash: new Uint8Array(r.envelope_hash),
    ...(r.trace ? { trace: { seq: r.trace.seq === undefined || r.trace.seq === null ? null : Number(r.trace.seq), head: r.trace.head } } : {}),
  };
}

/** A progress event's CBOR, checked to be the `{topic, data}` a node sends. */
function progressOf(bytes: Buffer): { topic: string; data: CborValue } {
  const v = decodeCbor(bytes);
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array || typeof v.topic !== 'string')
    throw new CallError('EINPUT', 'a progress event: expected a CBOR map {topic: text, data}');
  return { topic: v.topic, data: v.data ?? null };
}

/**
 * A connection to a node.
 * @example
 * const client = await Client.connect('node.example:7040', { key, ca })
 * await client.agents.get('notes').execute('remember', { text: 'buy milk' })
 * client.close()
 */
export class Client {
  readonly #grpc: GrpcClient & Record<string, Unary | ServerStream>;
  readonly #key: PrivateKey;
  readonly #timeoutMs: number;

  private constructor(grpc: GrpcClient & Record<string, Unary | ServerStream>, options: ConnectOptions) {
    this.#grpc = grpc;
    this.#key = options.key;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /**
   * Connects to `address` (`host:port`), waiting until the channel is ready; EUNAVAILABLE when it
   * is not within the timeout (nothing listening, a TLS handshake refused).
   * @example
   * const client = await Client.connect('127.0.0.1:7040', { key, insecure: true })
   */
  static async connect(address: string, options: ConnectOptions): Promise<Client> {
    const NodeClient = nodeClientClass();
    const credentials = channelCredentials(address, {
      ...(options.ca ? { ca: options.ca } : {}),
      ...(options.cert ? { cert: options.cert } : {}),
      ...(options.certKey ? { key: options.certKey } : {}),
      ...(options.insecure ? { insecure: true } : {}),
    });
    const grpc = new NodeClient(address, credentials, { 'grpc.max_receive_message_length': 4 * 1024 * 1024 + 64 * 1024 }) as GrpcClient &
      Record<string, Unary | ServerStream>;
    const timeoutMs = options.timeoutMs ?? 10_000;
    await new Promise<void>((resolve, reject) =>
      grpc.waitForReady(Date.now() + timeoutMs, (e) =>
        e ? reject(new CallError('EUNAVAILABLE', `connect ${address}: the node did not answer within ${timeoutMs} ms (${e.message})`, { address })) : resolve(),
      ),
    ).catch((e) => {
      grpc.close();
      throw e;
    });
    return new Client(grpc, options);
  }

  /**
   * Calls `method` of `target` (an agent's intent; `""` and a `mcp0.v1.Node/<Name>` method for the
   * node itself) with `input`, signed, before the deadline.
   * @example
   * const { value, trace } = await client.call('notes', 'recall', { query: 'milk' })
   */
  call(target: string, method: string, input: CborValue = {}, options: CallOptions = {}): Promise<Receipt> {
    const streamed = options.onProgress !== undefined && target !== '';
    const rpc = target === '' ? method.slice(`${NODE_SERVICE}/`.length) : streamed ? 'ExecuteStream' : 'Execute';
    const payload = encodeCbor(input);
    const deadline = Date.now() + (options.timeoutMs ?? this.#timeoutMs);
    const envelope = signEnvelope({ key: this.#key, target, method, payload, deadline });
    const fn = this.#grpc[rpc];
    if (typeof fn !== 'function') return Promise.reject(new UsageError('EUSAGE', `${NODE_SERVICE} has no method ${rpc}`));
    const request = { envelope: Buffer.from(envelope), payload: Buffer.from(payload) };
    const signal = options.signal;
    // What the caller gets once it cancelled, whatever the node had reached: the in-process API's error.
    const cancelled = () => new CallError('ETIMEOUT', `${target || NODE_SERVICE}/${method}: the caller cancelled the call`, { cutoff: 'cancelled' });
    if (signal?.aborted) return Promise.reject(cancelled());
    return new Promise<Receipt>((resolve, reject) => {
      let call: Cancellable;
      const cancel = () => call.cancel();
      const settle = (error: Mcp0Error | undefined, r?: ResultMessage) => {
        signal?.removeEventListener('abort', cancel);
        if (error) reject(signal?.aborted && error.details.status === GRPC_STATUS.CANCELLED ? cancelled() : error);
        else resolve(receiptOf(r!));
      };
      if (streamed) {
        let result: ResultMessage | undefined;
        const s = (fn as ServerStream).call(this.#grpc, request, { deadline: new Date(deadline + DEADLINE_SLACK_MS) });
        call = s;
        s.on('data', (m) => {
          if (m.result) result = m.result;
          else if (m.progress) {
            // A malformed event (a hostile node) or a listener that throws ends the call, not the process.
            try {
              options.onProgress!(progressOf(m.progress));
            } catch (e) {
              s.cancel();
              settle(e instanceof Mcp0Error ? e : new CallError('EINTERNAL', `${target}/${method}: onProgress threw: ${(e as Error).message}`));
            }
          }
        });
        s.on('error', (e) => settle(errorOf(e)));
        s.on('end', () => settle(result ? undefined : new CallError('EINTERNAL', `${target}/${method}: the stream ended without a result`), result));
      } else {
        call = (fn as Unary).call(this.#grpc, request, { deadline: new Date(deadline + DEADLINE_SLACK_MS) }, (e, r) =>
          settle(e || r === undefined ? errorOf(e!) : undefined, r),
        );
      }
      signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  /** One of the node's own methods. */
  async #node(name: string, input: CborValue = {}, options: CallOptions = {}): Promise<CborValue> {
    return (await this.call('', `${NODE_SERVICE}/${name}`, input, options)).value;
  }

  /** The node's agents. */
  readonly agents = {
    /** An agent by name (or id); nothing is asked of the node until it is called. */
    get: (name: string): RemoteAgent => ({
      name,
      execute: async (intent, input = {}, options = {}) => (await this.call(name, intent, input, options)).value,
      snapshot: () => this.#node('Snapshot', { agent: name }),
      pause: () => this.#node('Pause', { agent: name }),
      resume: () => this.#node('Resume', { agent: name }),
      terminate: async () => void (await this.#node('Terminate', { agent: name })),
    }),
    list: () => this.#node('ListAgents'),
    spawn: (options: { module: Uint8Array; name: string; grants?: string[]; config?: CborValue; agreement?: string }) =>
      this.#node('Spawn', options as { [key: string]: CborValue }),
  };

  /** The node's trace. */
  readonly trace = {
    head: () => this.#node('TraceHead'),
    entries: (from: number, to: number) => this.#node('TraceEntries', { from, to }),
    checkpoint: () => this.#node('Checkpoint'),
    /**
     * A Groth16 proof of entries `from..to` (at most 32), made by the node (`TraceProof`, operator
     * keys): the proof file `mcp0 trace verify` reads, its shape checked. Under `options.costLimit`,
     * else `options.agreement`'s quota, else that of the agreement the entries ran under. Bind it to
     * the chain before trusting it (`verifyTraceProof` with a checkpoint or the entries).
     * @example
     * const file = await client.trace.prove(0, 3, { costLimit: 10_000n })
     * await writeFile('proof.json', JSON.stringify(file)) // mcp0 trace verify proof.json --checkpoint cp.json --trust operator.jwk
     */
    prove: async (from: number, to: number, options: ProveOptions = {}): Promise<TraceProofFile> => {
      const { costLimit, agreement, timeoutMs, ...call } = options;
      const input = {
        from,
        to,
        ...(costLimit === undefined ? {} : { costLimit: String(costLimit) }),
        ...(agreement === undefined ? {} : { agreement }),
      };
      const value = await this.#node('TraceProof', input, { ...call, timeoutMs: timeoutMs ?? PROVE_TIMEOUT_MS });
      return parseTraceProofFile(value, `from the node's TraceProof`);
    },
  };

  /** The node's distribution, roles and ABI version. */
  info(): Promise<CborValue> {
    return this.#node('Info');
  }

  /** The node's metrics. */
  metrics(): Promise<CborValue> {
    return this.#node('Metrics');
  }

  /** Closes the connection. */
  close(): void {
    this.#grpc.close();
  }
}
