// Shared by the archive tests (sdk) and the `mcp0 store` CLI tests (tools): the real storage plugin,
// built from plugins/storage and signed with a throwaway key once per process, loaded into a kernel
// over a store's block provider, a few hundred keys of agent state written through it, and the
// tools of the hostile archive cases (taking an archive apart, finding the agent's name in it).
import { decodeCbor, encodeCbor, generateKeyPair, signModule } from '@mcp0/abi';
import { Kernel, type BlockProvider, type Tier } from '@mcp0/kernel';
import { unsigned } from './fixtures.js';

export const NAME = 'mcp0.storage';
const key = generateKeyPair();
let built: Promise<Uint8Array> | undefined;

/** The signed storage plugin. */
export function storageWasm(): Promise<Uint8Array> {
  built ??= unsigned('storage').then((wasm) => signModule(wasm, key));
  return built;
}

/** A kernel serving `blocks`, with the storage plugin loaded in `tier`. */
export async function bootStorage(blocks: BlockProvider, tier: Tier = 'inline'): Promise<Kernel> {
  const kernel = new Kernel({ trust: [key.publicKey], providers: { blocks } });
  await kernel.load(await storageWasm(), { isolation: tier, grants: [{ name: 'blocks' }, { name: 'random' }] });
  return kernel;
}

/** A storage call. */
export const storage = (kernel: Kernel, exportName: string, input: unknown): Promise<any> => kernel.callValue(NAME, exportName, input as never) as Promise<any>;

/** Value `i` of generation `gen`: 100 bytes (out of line) for every third key, else 8 to 40 bytes (inline). */
export function value(i: number, gen: number): Uint8Array {
  const n = i % 3 === 0 ? 100 : 8 + (i % 33);
  const v = new Uint8Array(n);
  for (let j = 0; j < n; j++) v[j] = (i * 131 + j * 7 + gen * 17) & 0xff;
  new DataView(v.buffer).setUint32(0, i);
  v[4] = gen;
  return v;
}

export const keyOf = (i: number): string => `/memory/notes/${i}`;

/**
 * Writes `agent`'s state: 300 keys in one apply (snapshot 1), then 30 changed values, 10 deletes
 * and a separate put (snapshot 2). Returns both snapshots and the final entries.
 */
export async function writeState(
  kernel: Kernel,
  agent: string,
): Promise<{ first: { root: Uint8Array; version: number }; second: { root: Uint8Array; version: number }; entries: [string, Uint8Array][] }> {
  await storage(kernel, 'apply', { agent, delta: { puts: Array.from({ length: 300 }, (_, i) => [keyOf(i), value(i, 0)]) } });
  const first = await storage(kernel, 'snapshot', { agent });
  await storage(kernel, 'apply', {
    agent,
    delta: { puts: Array.from({ length: 30 }, (_, k) => [keyOf(k * 7), value(k * 7, 1)]), deletes: Array.from({ length: 10 }, (_, k) => keyOf(k * 7 + 3)) },
  });
  await storage(kernel, 'put', { agent, key: '/memory/extra', value: new Uint8Array(200).fill(9) });
  const second = await storage(kernel, 'snapshot', { agent });
  return { first, second, entries: await listAll(kernel, agent) };
}

/** Every entry of `agent`, through `list`. */
export async function listAll(kernel: Kernel, agent: string): Promise<[string, Uint8Array][]> {
  const all: [string, Uint8Array][] = [];
  let cursor: string | null = null;
  do {
    const page: { entries: [string, Uint8Array][]; cursor: string | null } = await storage(kernel, 'list', { agent, limit: 1000, cursor });
    all.push(...page.entries);
    cursor = page.cursor;
  } while (cursor !== null);
  return all;
}

/** An archive's members, decoded: the seal as the signed statement it is. */
export interface ArchiveFields {
  format: string;
  agent: string;
  head: Uint8Array;
  blocks: Uint8Array[];
  seal: { type: string; signer: string; sig: string; format: string; agent: string; head: string; history: boolean; blocks: number };
}

/** The archive's members, decoded (a fresh copy each call, free to edit). */
export const archiveFields = (bytes: Uint8Array): ArchiveFields => decodeCbor(bytes) as unknown as ArchiveFields;

/** A copy of `bytes` with the byte at `at` XORed with `mask`. */
export function flipByte(bytes: Uint8Array, at: number, mask = 0x01): Uint8Array {
  const b = new Uint8Array(bytes);
  b[at]! ^= mask;
  return b;
}

/**
 * Where the agent's name lies in archive bytes: the offset of its last byte inside the seal, and
 * inside the archive's own `agent` member. Both are the CBOR pair `"agent": "<name>"`; canonical
 * CBOR orders the top-level keys head, seal, agent, blocks, format, so the seal's comes first.
 */
export function agentNameBytes(bytes: Uint8Array, agent: string): { seal: number; archive: number } {
  const pair = Buffer.concat([encodeCbor('agent'), encodeCbor(agent)]);
  const found: number[] = [];
  for (let at = Buffer.from(bytes).indexOf(pair); at >= 0; at = Buffer.from(bytes).indexOf(pair, at + 1)) found.push(at + pair.length - 1);
  if (found.length !== 2) throw new Error(`expected the agent's name twice in the archive (seal, member), found it ${found.length} times`);
  return { seal: found[0]!, archive: found[1]! };
}
