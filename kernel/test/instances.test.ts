// Instances: one artifact loaded several times under names of their own (how agents run), each
// with its own kv namespace; agents' kv goes to the agent-state provider, plugins' to the store.
import { describe, expect, it } from 'vitest';
import { UsageError, generateKeyPair, parseGrant } from '@mcp0/abi';
import { Kernel } from '@mcp0/kernel';
import { signed, trusted } from '../../test/fixtures.js';
import { TestKv } from './memory-kv.js';

const HELLO_GRANTS = ['kv:hello/', 'clock', 'random'].map(parseGrant);

describe('named instances', () => {
  it('runs one artifact as two instances with separate kv namespaces', async () => {
    const kv = new TestKv();
    const kernel = new Kernel({ trust: [trusted], providers: { kv } });
    const bytes = await signed('hello');
    await kernel.load(bytes, { name: 'first', grants: HELLO_GRANTS });
    await kernel.load(bytes, { name: 'second', grants: HELLO_GRANTS });
    await kernel.callValue('first', 'count', { key: 'k', by: 5 });
    expect(await kernel.callValue('second', 'count', { key: 'k' })).toEqual({ key: 'k', value: 1 });
    expect(await kernel.callValue('first', 'count', { key: 'k' })).toEqual({ key: 'k', value: 6 });
    expect(kv.get('first', 'hello/k')).toBeDefined();
    expect(kv.get('mcp0.hello', 'hello/k')).toBeUndefined();
    expect(Object.keys(kernel.metrics()).sort()).toEqual(['first', 'second']);
    await kernel.stop();
  });

  it('refuses a duplicate or malformed instance name', async () => {
    const kernel = new Kernel({ trust: [trusted], providers: { kv: new TestKv() } });
    const bytes = await signed('hello');
    await kernel.load(bytes, { name: 'one', grants: HELLO_GRANTS });
    await expect(kernel.load(bytes, { name: 'one', grants: HELLO_GRANTS })).rejects.toMatchObject({ code: 'EUSAGE' });
    for (const name of ['', '-lead', 'has space', 'a/b', 'x'.repeat(65)]) {
      const e = await kernel.load(bytes, { name, grants: HELLO_GRANTS }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UsageError);
      expect((e as UsageError).message).toContain(JSON.stringify(name));
    }
    await kernel.stop();
  });

  it("routes an agent's kv to agentKv under the instance name, and a plugin's to kv", async () => {
    const kv = new TestKv();
    const agentKv = new TestKv();
    const kernel = new Kernel({ trust: [trusted], providers: { kv, agentKv } });
    await kernel.load(await signed('counter'), { name: 'agent-a', grants: [parseGrant('kv')] });
    await kernel.load(await signed('hello'), { grants: HELLO_GRANTS });
    expect(await kernel.callValue('agent-a', 'increment', { by: 3 })).toEqual({ value: 3 });
    await kernel.callValue('mcp0.hello', 'count', { key: 'k' });
    expect(agentKv.get('agent-a', '/counter')).toBeDefined();
    expect(kv.get('agent-a', '/counter')).toBeUndefined();
    expect(kv.get('mcp0.hello', 'hello/k')).toBeDefined();
    expect(agentKv.get('mcp0.hello', 'hello/k')).toBeUndefined();
    await kernel.stop();
  });

  it('trusts a key given to one load for that load only', async () => {
    const other = generateKeyPair();
    const kernel = new Kernel({ trust: [trusted], providers: { kv: new TestKv() } });
    const bytes = await signed('hello', other);
    await expect(kernel.load(bytes, { name: 'x', grants: HELLO_GRANTS })).rejects.toMatchObject({ code: 'EUNTRUSTED' });
    await kernel.load(bytes, { name: 'y', grants: HELLO_GRANTS, trust: [other.publicKey] });
    await expect(kernel.load(bytes, { name: 'z', grants: HELLO_GRANTS })).rejects.toMatchObject({ code: 'EUNTRUSTED' });
    await kernel.stop();
  });

  it('answers EUNAVAILABLE to an agent when no agent-state provider is registered', async () => {
    const kernel = new Kernel({ trust: [trusted], providers: { kv: new TestKv() } });
    await kernel.load(await signed('counter'), { name: 'agent-b', grants: [parseGrant('kv')] });
    await expect(kernel.callValue('agent-b', 'get', {})).rejects.toMatchObject({ code: 'EUNAVAILABLE' });
    await kernel.stop();
  });
});
