// Shared set-up for the storage tests: the plugin built from source and signed with a throwaway key
// once per process, loaded into a real kernel over a host block store.
import { createHash } from 'node:crypto';
import { generateKeyPair, signModule } from '@mcp0/abi';
import { Kernel, type Tier } from '@mcp0/kernel';
import type { BlockProvider, RandomProvider } from '@mcp0/kernel';
import { fixtureFile, unsigned } from '../../../test/fixtures.js';
import { decodeCommit, decodeNode, nodeRefs } from './format.js';

export const key = generateKeyPair();
let built: Promise<Uint8Array> | undefined;
/** Where the unsigned build goes (child processes of crash tests sign it with a key of their own). */
export const unsignedPath = fixtureFile('storage');

/** The signed storage plugin (built once per process; the unsigned build is left at `unsignedPath`). */
export function storageWasm(): Promise<Uint8Array> {
  built ??= unsigned('storage').then((wasm) => signModule(wasm, key));
  return built;
}

export const NAME = 'mcp0.storage';

/** A kernel serving `blocks` from the given provider, with the storage plugin loaded (`random`: its entropy, e.g. a fixed salt). */
export async function boot(blocks: BlockProvider, tier: Tier = 'inline', random?: RandomProvider): Promise<Kernel> {
  const kernel = new Kernel({ trust: [key.publicKey], providers: random ? { blocks, random } : { blocks } });
  await kernel.load(await storageWasm(), { isolation: tier, grants: [{ name: 'blocks' }, { name: 'random' }] });
  return kernel;
}

/** Wraps a block provider, counting the bytes of blocks that were not stored before. */
export function counting(inner: BlockProvider): { blocks: BlockProvider; newBytes: () => number; reset: () => void } {
  let bytes = 0;
  const blocks: BlockProvider = {
    // Synchronous, as the inline tier needs (the stores under test answer synchronously).
    put: (list) => {
      const had = inner.has(list.map(sha)) as boolean[];
      list.forEach((b, i) => {
        if (!had[i]) bytes += b.length;
      });
      return inner.put(list);
    },
    get: (id) => inner.get(id),
    has: (idList) => inner.has(idList),
    refGet: (ns, name) => inner.refGet(ns, name),
    refCas: (ns, name, expect, root) => inner.refCas(ns, name, expect, root),
  };
  return {
    blocks,
    newBytes: () => bytes,
    reset: () => {
      bytes = 0;
    },
  };
}

export const sha = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

export const enc = new TextEncoder();
export const bytes = (s: string): Uint8Array => enc.encode(s);

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * Every block an agent's head reaches (commits, tree nodes, out-of-line values), walked by the
 * README's format (test/format.ts) independently of the plugin: the expected live set of gc tests. Throws when a
 * reachable block is missing.
 */
export async function reachable(blocks: BlockProvider, agent: string, out = new Set<string>()): Promise<Set<string>> {
  const ref = await blocks.refGet(NAME, `head/${agent}`);
  let commit: Uint8Array | null = ref?.root ?? null;
  const need = async (id: Uint8Array): Promise<Uint8Array> => {
    const b = await blocks.get(id);
    if (!b) throw new Error(`block ${hexOf(id)} is missing`);
    return b;
  };
  const tree = async (id: Uint8Array): Promise<void> => {
    if (out.has(hexOf(id))) return;
    out.add(hexOf(id));
    const node = decodeNode(await need(id));
    for (const ref of nodeRefs(node)) {
      if (node.level > 0) await tree(ref);
      else {
        await need(ref);
        out.add(hexOf(ref));
      }
    }
  };
  while (commit) {
    out.add(hexOf(commit));
    const c = decodeCommit(await need(commit));
    await tree(c.tree);
    commit = c.parent;
  }
  return out;
}
