// Typed role clients over a call that plays the plugin: requests checked before they leave,
// answers checked before they are returned, so a hostile plugin's answer is a typed error.
import { Mcp0Error, type CborValue } from '@mcp0/abi';
import { describe, expect, it } from 'vitest';
import { roleClient, roleClients } from './client.js';

const root = new Uint8Array(32).fill(7);

describe('roleClient', () => {
  it('calls the export with the request and answers the typed response', async () => {
    const sent: [string, CborValue][] = [];
    const storage = roleClient('storage', async (e, v) => {
      sent.push([e, v]);
      return { root, version: 3 };
    });
    const { root: got, version } = await storage.snapshot({ agent: 'acme.notes' });
    expect(got).toEqual(root);
    expect(version).toBe(3);
    expect(sent).toEqual([['snapshot', { agent: 'acme.notes' }]]);
  });

  it('sends {} for an export whose request needs nothing', async () => {
    const sent: CborValue[] = [];
    const trace = roleClient('trace', async (_e, v) => (sent.push(v), { seq: null, head: '0' }));
    expect(await trace.head()).toEqual({ seq: null, head: '0' });
    expect(sent).toEqual([{}]);
  });

  it('refuses a request that breaks the contract without calling the plugin', async () => {
    let calls = 0;
    const storage = roleClient('storage', async () => (calls++, null));
    const e = await storage.put({ agent: 'a', key: 'k', value: 'text' as never }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Mcp0Error);
    expect((e as Mcp0Error).message).toBe('mcp0.storage@1 put: the request breaks the role\'s contract: /value expected bytes, got "text"');
    expect(calls).toBe(0);
  });

  it('refuses a hostile answer with EINPUT naming the member', async () => {
    const hostile: [string, CborValue][] = [
      ['a 5-byte root', { root: new Uint8Array(5), version: 1 }],
      ['a text version', { root, version: '1' }],
      ['no version', { root }],
      ['bytes instead of a map', new Uint8Array(3)],
      ['a negative version', { root, version: -1 }],
    ];
    for (const [what, answer] of hostile) {
      const storage = roleClient('storage', async () => answer);
      const e = await storage.snapshot({ agent: 'a' }).catch((x: unknown) => x);
      expect(e, what).toBeInstanceOf(Mcp0Error);
      expect((e as Mcp0Error).code, what).toBe('EINPUT');
      expect((e as Mcp0Error).details, what).toMatchObject({ role: 'storage', export: 'snapshot', side: 'response' });
    }
  });

  it('passes the plugin’s own typed errors through unchanged', async () => {
    const denied = new Mcp0Error('ENOTFOUND', 'no agreement agr-9 is registered');
    const agreements = roleClient('agreements', async () => {
      throw denied;
    });
    await expect(agreements.get({ id: 'agr-9' })).rejects.toBe(denied);
  });

  it('gives every role a client with every export of its contract', () => {
    const roles = roleClients(async () => null);
    expect(Object.keys(roles)).toEqual(['storage', 'agreements', 'trace', 'rpc']);
    expect(Object.keys(roles.trace)).toEqual(['poseidon', 'poseidon_batch', 'head', 'get', 'range', 'verifyRange']);
  });
});
