// Known answers for the trace role's kv layout and cost cap, which clients use to read a chain from a store.
import { describe, expect, it } from 'vitest';
import { checkRoleRecord, checkRoleResponse } from './contract.js';
import { ROLE_NAMES } from './names.js';
import { chainCost, MAX_CHAIN_COST, TRACE_HEAD_KEY, TRACE_NAMESPACE, traceEntryKey } from './trace.js';

describe('the trace role contract', () => {
  it('keys entries by 20-digit seq under the plugin namespace, beside the head record', () => {
    expect(TRACE_NAMESPACE).toBe('mcp0.trace');
    expect(TRACE_HEAD_KEY).toBe('trace/head');
    expect(traceEntryKey(0)).toBe('trace/e/00000000000000000000');
    expect(traceEntryKey(41)).toBe('trace/e/00000000000000000041');
    // Byte order of the keys is seq order, so a prefix scan reads the chain in order.
    expect([traceEntryKey(10), traceEntryKey(9), traceEntryKey(100)].sort()).toEqual([traceEntryKey(9), traceEntryKey(10), traceEntryKey(100)]);
  });

  it('saturates costs at 2^32 − 1, the circuit range', () => {
    expect(MAX_CHAIN_COST).toBe(4294967295n);
    expect(chainCost(0n)).toBe(0n);
    expect(chainCost(4294967295n)).toBe(4294967295n);
    expect(chainCost(4294967296n)).toBe(4294967295n);
    expect(chainCost(2n ** 64n - 1n)).toBe(4294967295n);
  });

  it('types an event with or without a cause, the cause exactly 32 bytes', () => {
    const event = { seq: 0, agent: 'a', intent: 'i', inputHash: new Uint8Array(32), outputHash: new Uint8Array(32), status: 'ok', cost: 1, logicalTime: 5 };
    const entry = (e: object) => ({ seq: 0, event: e, eventHash: '1', head: '2' });
    checkRoleRecord('trace', 'kv.entry', entry(event), 'v1');
    checkRoleRecord('trace', 'kv.entry', entry({ ...event, cause: new Uint8Array(32).fill(7) }), 'v2');
    checkRoleResponse('trace', 'get', entry({ ...event, cause: new Uint8Array(32) }));
    for (const [cause, what] of [
      [new Uint8Array(31), '31 bytes'],
      [new Uint8Array(33), '33 bytes'],
      ['00'.repeat(32), 'text'],
      [null, 'null'],
    ] as const) {
      expect(() => checkRoleRecord('trace', 'kv.entry', entry({ ...event, cause }), 'entry 0'), what).toThrow(
        expect.objectContaining({ code: 'ESTATE', message: expect.stringContaining('/event/cause expected 32 bytes') }),
      );
    }
  });

  it('names each role by name@major', () => {
    expect(ROLE_NAMES).toEqual({ storage: 'mcp0.storage@1', agreements: 'mcp0.agreements@1', trace: 'mcp0.trace@1', rpc: 'mcp0.rpc@1' });
  });
});
