/**
 * What the rpc tests share: the plugin built from source and signed with a throwaway key, loaded
 * into a kernel over a memory kv with a clock the test moves, envelopes signed with the host
 * library (`signEnvelope` in @mcp0/abi), and `verify` whose every answer is checked against the
 * role's contract (`checkRoleResponse`).
 */
import { checkRoleResponse, generateKeyPair, signEnvelope, signModule, type CborValue, type Grant, type PrivateKey, type RpcVerifyResponse } from '@mcp0/abi';
import { Kernel, type KvProvider } from '@mcp0/kernel';
import { MemoryStore } from '@mcp0/sdk';
import { unsigned } from '../../../test/fixtures.js';
import { rejection } from '../../../test/rejection.js';

export const NAME = 'mcp0.rpc';
/** The tests' "now": a whole second, far from 0 and from 2^53. */
export const T0 = 1_800_000_000_000;
export const GRANTS: Grant[] = [{ name: 'kv' }, { name: 'crypto' }, { name: 'clock' }];

const publisher = generateKeyPair();
let built: Promise<Uint8Array> | undefined;

/** The plugin, built once per test file. */
export function plugin(): Promise<Uint8Array> {
  built ??= unsigned('rpc').then((wasm) => signModule(wasm, publisher));
  return built;
}

/** The node's operator, a consumer of some agent's agreement, and a stranger. */
export const operator: PrivateKey = generateKeyPair();
export const consumer: PrivateKey = generateKeyPair();
export const stranger: PrivateKey = generateKeyPair();

/** The tests' config: the operator may call the node; the rest are the defaults. */
export const CONFIG = { operators: [operator.kid] };

/** A kernel with the plugin, and the clock it reads (set `clock.now`). */
export interface Rpc {
  kernel: Kernel;
  clock: { now: number };
  kv: KvProvider;
}

/** A kernel with the plugin loaded over `kv` (a fresh memory kv unless given), its clock at T0. */
export async function makeRpc(options: { kv?: KvProvider; config?: CborValue; isolation?: 'inline' | 'worker' } = {}): Promise<Rpc> {
  const kv = options.kv ?? new MemoryStore().kv;
  const clock = { now: T0 };
  const kernel = new Kernel({ trust: [publisher.publicKey], providers: { kv, clock: { now: () => clock.now } } });
  await kernel.load(await plugin(), { grants: GRANTS, config: options.config ?? CONFIG, isolation: options.isolation ?? 'inline' });
  return { kernel, clock, kv };
}

/** The error loading the plugin with `config` gives (mcp0_init refusing it), or null when it loads. */
export async function loadError(config: CborValue): Promise<{ code: string; message: string } | null> {
  const kernel = new Kernel({ trust: [publisher.publicKey], providers: { kv: new MemoryStore().kv } });
  try {
    await kernel.load(await plugin(), { grants: GRANTS, config });
    return null;
  } catch (e) {
    return e as { code: string; message: string };
  } finally {
    await kernel.stop();
  }
}

const utf8 = new TextEncoder();
export const PAYLOAD = utf8.encode('{"text":"buy milk"}');

/** An envelope signed by `key` (default: the consumer) for agent `notes`, method `remember`, at T0, deadline 5 s on. */
export function envelope(
  over: { key?: PrivateKey; target?: string; method?: string; payload?: Uint8Array; time?: number; deadline?: number; nonce?: Uint8Array } = {},
): Uint8Array {
  const time = over.time ?? T0;
  return signEnvelope({
    key: over.key ?? consumer,
    target: over.target ?? 'notes',
    method: over.method ?? 'remember',
    payload: over.payload ?? PAYLOAD,
    time,
    deadline: over.deadline ?? time + 5_000,
    ...(over.nonce === undefined ? {} : { nonce: over.nonce }),
  });
}

/** The request `verify` gets: the envelope, its payload, and the consumer the host read from the agreements role. */
export function request(envelopeBytes: Uint8Array, consumerKid: string | null = consumer.kid, payload: Uint8Array = PAYLOAD): Record<string, CborValue> {
  return { envelope: envelopeBytes, payload, consumer: consumerKid };
}

/** Call verify; the answer, checked against the role's contract. */
export async function verify(rpc: Rpc, input: unknown): Promise<RpcVerifyResponse> {
  return checkRoleResponse('rpc', 'verify', await rpc.kernel.callValue(NAME, 'verify', input as CborValue));
}

export { rejection };

/** verify's refusal of `input`. */
export function refusal(rpc: Rpc, input: unknown): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  return rejection(verify(rpc, input));
}
