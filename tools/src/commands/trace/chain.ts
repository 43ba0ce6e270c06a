/**
 * Reading the trace chain that `mcp0.trace` keeps through kv (plugins/trace/README.md, "kv layout"):
 * `trace/e/<seq, 20 digits>` → CBOR `{seq, event, eventHash, head}`, `trace/head` → `{seq, head}`,
 * in the kv namespace of the module, `mcp0.trace`. Only reads; never writes the store. The readers
 * are the SDK's (`readTraceHead`, `readTraceEntry`), loaded only when a command reads a chain, so
 * `--help` and the other commands start without the SDK; the layout and the cost cap are the trace
 * role's contract, in @mcp0/abi.
 */
import { existsSync } from 'node:fs';
import { Mcp0Error } from '@mcp0/abi';
import type { KvProvider } from '@mcp0/kernel';
import type { TraceChainEntry, TraceHead } from '@mcp0/sdk';

/** The head record. */
export type ChainHead = TraceHead;
/** What the CLI needs of an entry. */
export type ChainEntry = TraceChainEntry;

/** Refuses a store URI that would create a store where none is (LmdbStore.open creates its directory). */
export function assertStoreExists(uri: string): void {
  if (!uri.startsWith('lmdb:')) return;
  const dir = uri.slice('lmdb:'.length);
  if (dir !== '' && !existsSync(dir)) {
    throw new Mcp0Error('ENOTFOUND', `no store at ${uri}: ${dir} does not exist (pass --store lmdb:<dir> of the node's data)`, { uri });
  }
}

/** The head record, or undefined when the store holds no trace. */
export async function readHead(kv: KvProvider): Promise<ChainHead | undefined> {
  return (await import('@mcp0/sdk')).readTraceHead(kv);
}

/** Entry `seq`; a missing or malformed entry is `ESTATE` naming it. */
export async function readEntry(kv: KvProvider, seq: number): Promise<ChainEntry> {
  return (await import('@mcp0/sdk')).readTraceEntry(kv, seq);
}
