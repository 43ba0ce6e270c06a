// The role suites' caller checks every answer against the role's contract: a plugin that answers
// the wrong shape fails the case, naming the call and the member, even where no case looks at it.
import { Mcp0Error, type CborValue } from '@mcp0/abi';
import { describe, expect, it } from 'vitest';
import { CaseFailure } from '../../runner/case.js';
import { caller } from './call.js';

/** Only what `caller` uses of a kernel: one export's answer, or its error. */
const answering = (answer: () => Promise<CborValue>) => ({ callValue: answer });

describe('caller', () => {
  it('answers what keeps to the contract', async () => {
    const root = new Uint8Array(32);
    const call = caller(
      answering(async () => ({ root, version: 2 })),
      'acme.storage',
      'storage',
    );
    expect(await call('snapshot', { agent: 'a' })).toEqual({ root, version: 2 });
  });

  it('fails the case on an answer that breaks the contract, naming the member', async () => {
    const call = caller(
      answering(async () => ({ root: new Uint8Array(31), version: 2 })),
      'acme.storage',
      'storage',
    );
    const e = await call('snapshot', { agent: 'a' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CaseFailure);
    expect((e as Error).message).toBe(
      "snapshot: mcp0.storage@1 snapshot: the plugin's answer breaks the role's contract: /root expected 32 bytes, got Uint8Array(31)",
    );
  });

  it('fails the case on an error, naming the call', async () => {
    const call = caller(
      answering(async () => {
        throw new Mcp0Error('ESTATE', 'the head is corrupt');
      }),
      'acme.trace',
      'trace',
    );
    await expect(call('head', {})).rejects.toThrow('head: expected an answer, got ESTATE');
  });
});
