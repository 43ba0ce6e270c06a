/**
 * The trace role's entries as its `get` and `range` exports return them (plugins/trace/README.md):
 * the typed client side of `mcp0.trace@1`, shared by everything that reads a chain.
 */

/**
 * One observed operation, as the trace hashes it.
 * @example
 * const { event } = (await node.callRole('trace', 'get', { seq: 0 })) as TraceEntry
 * console.log(event.agent, event.intent, event.status, event.cost)
 */
export interface TraceEvent {
  seq: number;
  agent: string;
  intent: string;
  inputHash: Uint8Array;
  outputHash: Uint8Array;
  status: 'ok' | 'error';
  cost: number | bigint;
  logicalTime: number | bigint;
}

/**
 * One link of the chain: the event, its Poseidon hash and the head after it (decimal field elements).
 * @example
 * const [entry] = (await node.callRole('trace', 'range', { from: 0, to: 0 })) as TraceEntry[]
 */
export interface TraceEntry {
  seq: number;
  event: TraceEvent;
  eventHash: string;
  head: string;
}
