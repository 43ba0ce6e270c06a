/**
 * What the agreements tests share: the plugin and hello built from source and signed with a
 * throwaway key, a kernel wiring agreements as the admit and observe hook with hello as the agent
 * (the plugin configured to accept `providerKey`), and signed agreement documents between
 * `consumerKey` and `providerKey` made with the host library (@mcp0/abi).
 */
import { generateKeyPair, signAgreement, signModule, type Agreement, type CborValue, type PrivateKey } from '@mcp0/abi';
import { Kernel, type KvProvider } from '@mcp0/kernel';
import { MemoryStore } from '@mcp0/sdk';
import { unsigned } from '../../../test/fixtures.js';

export const NAME = 'mcp0.agreements';
export const HELLO = 'mcp0.hello';
export const T0 = 1_800_000_000_000; // a whole hour: 500,000 hours since the epoch
export const HOUR = 3_600_000;

const publisher = generateKeyPair();
let built: Promise<{ agreements: Uint8Array; hello: Uint8Array }> | undefined;

/** Both plugins, built once per test file. */
export function plugins(): Promise<{ agreements: Uint8Array; hello: Uint8Array }> {
  built ??= (async () => {
    const agreements = await unsigned('agreements');
    const hello = await unsigned('hello');
    return { agreements: signModule(agreements, publisher), hello: signModule(hello, publisher) };
  })();
  return built;
}

/** The error loading the plugin alone with `config` gives (mcp0_init refusing it), or null when it loads. */
export async function loadError(config: CborValue): Promise<{ code: string; message: string } | null> {
  const { agreements } = await plugins();
  const kernel = new Kernel({ trust: [publisher.publicKey], providers: { kv: new MemoryStore().kv } });
  try {
    await kernel.load(agreements, { grants: [{ name: 'kv' }, { name: 'crypto' }, { name: 'clock' }], config });
    return null;
  } catch (e) {
    return e as { code: string; message: string };
  } finally {
    await kernel.stop();
  }
}

export const consumerKey: PrivateKey = generateKeyPair();
export const providerKey: PrivateKey = generateKeyPair();
/** The consumer's key id: what usage and invoice are asked about. */
export const CONSUMER = consumerKey.kid;

/** The plugin's config in these tests: the one provider the node's operator accepts. */
export const CONFIG = { providers: [providerKey.kid] };

/**
 * A kernel with agreements admitting and observing, and hello as the agent (both inline unless
 * told); the plugin gets `config` (default: it accepts `providerKey`).
 */
export async function makeKernel(
  kv: KvProvider = new MemoryStore().kv,
  helloTier: 'inline' | 'worker' = 'inline',
  hooks = true,
  agreementsTier: 'inline' | 'worker' = 'inline',
  config: CborValue = CONFIG,
): Promise<Kernel> {
  const { agreements, hello } = await plugins();
  const kernel = new Kernel({ trust: [publisher.publicKey], providers: { kv } });
  await kernel.load(agreements, { isolation: agreementsTier, grants: [{ name: 'kv' }, { name: 'crypto' }, { name: 'clock' }], config });
  await kernel.load(hello, { isolation: helloTier, grants: [{ name: 'kv' }, { name: 'clock' }, { name: 'random' }] });
  if (hooks) kernel.setPipeline({ admit: [NAME], observe: [NAME] });
  return kernel;
}

/** An unsigned agreement between consumerKey and providerKey, valid for [T0, T0 + 30 days), with overrides merged one level deep. */
export function doc(over: Partial<Agreement> & Record<string, unknown> = {}): Agreement {
  const base: Agreement = {
    type: 'mcp0.agreement/1',
    id: 'agr-1',
    consumer: consumerKey.kid,
    provider: providerKey.kid,
    permissions: { intents: ['echo', 'greet'], exports: [] },
    quotas: { windowMs: 60_000 },
    pricing: { currency: 'EUR', baseFee: 0, perCall: 0, perCostUnit: 0 },
    validity: { notBefore: T0, notAfter: T0 + 30 * 24 * HOUR },
  };
  return { ...base, ...over } as Agreement;
}

/** Signed by both parties (consumerKey, providerKey unless told). */
export function signed(d: Agreement, c: PrivateKey = consumerKey, p: PrivateKey = providerKey): Agreement {
  return signAgreement(signAgreement(d, c, 'consumer'), p, 'provider');
}

export async function register(kernel: Kernel, d: unknown): Promise<Record<string, unknown>> {
  return (await kernel.callValue(NAME, 'register', { document: d as never })) as Record<string, unknown>;
}

/** Bind `agent` to agreement `id`, acting for `consumer` (default: the consumer of the tests' documents). */
export async function bind(kernel: Kernel, id: string, agent = HELLO, consumer = consumerKey.kid): Promise<unknown> {
  return kernel.callValue(NAME, 'bind', { agent, agreement: id, consumer });
}

/** Register a signed document and bind `agent` (default hello) to it for its consumer: what a node does at spawn. */
export async function agree(kernel: Kernel, d: Agreement, agent = HELLO): Promise<Record<string, unknown>> {
  const r = await register(kernel, d);
  await bind(kernel, d.id, agent, d.consumer);
  return r;
}

export { rejection } from '../../../test/rejection.js';

const input = new TextEncoder().encode('hi');

/**
 * Runs `work` with the agent paused: its operations are admitted, then refused by the kernel
 * before they run (ESTATE), so each costs exactly 1 cost unit, the least an operation costs (a
 * failed operation is billed what it used, which depends on the machine's speed).
 */
export async function whilePaused<T>(kernel: Kernel, work: () => Promise<T>): Promise<T> {
  const agent = kernel.module(HELLO);
  agent.pause();
  try {
    return await work();
  } finally {
    agent.resume();
  }
}

/** Run echo at logical time `time`; 'ok' or the denial/error. */
export async function op(
  kernel: Kernel,
  time: number,
  intent = 'echo',
  agent = HELLO,
): Promise<{ ok: true; cost: number } | { ok: false; code: string; reason?: string; retryAfterMs?: number; message: string }> {
  try {
    const r = await kernel.execute({ agent, intent, input: intent === 'greet' ? new TextEncoder().encode('not cbor') : input, time });
    return { ok: true, cost: r.outcome.cost };
  } catch (e) {
    const err = e as { code: string; message: string; details?: { reason?: string; retryAfterMs?: number } };
    return {
      ok: false,
      code: err.code,
      message: err.message,
      ...(err.details?.reason === undefined ? {} : { reason: err.details.reason }),
      ...(err.details?.retryAfterMs === undefined ? {} : { retryAfterMs: err.details.retryAfterMs }),
    };
  }
}
