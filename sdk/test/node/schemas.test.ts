// ABI 1.3's export schemas on a node: the example agents declare theirs, a request that breaks one
// is refused before the pipeline (nothing traced, nothing written), and an agent whose output
// breaks its own schema fails the operation: traced as an error, its writes discarded.
import { afterEach, describe, expect, it } from 'vitest';
import { CallError, appendManifest, readManifest, signModule, type CborValue, type Manifest } from '@mcp0/abi';
import type { Node } from '@mcp0/sdk';
import { publisher, signed, unsigned } from '../../../test/fixtures.js';
import { callRejection } from '../../../test/rejection.js';
import { startNode } from './harness.js';

let node: Node | undefined;
afterEach(async () => {
  await node?.stop();
  node = undefined;
});

describe('export schemas on a node', () => {
  it('the example agents carry schemas for every export, under abi ^1.3', async () => {
    for (const name of ['counter', 'memory'] as const) {
      const m = readManifest(await unsigned(name));
      expect(m.abi).toBe('^1.3');
      for (const e of m.exports) expect(Object.keys(e)).toEqual(expect.arrayContaining(['input', 'output']));
    }
  });

  it('refuses a request that breaks the input schema before the pipeline: nothing traced or written', async () => {
    node = await startNode('memory:');
    const notes = await node.agents.spawn({ module: await signed('memory'), name: 'notes' });
    await notes.execute('remember', { text: 'kept', tags: ['a'] });
    const head = await node.roles.trace.head();
    const refused: [CborValue, string][] = [
      [{ text: '' }, '/text'],
      [{ text: 'x', tags: Array.from({ length: 17 }, () => 't') }, '/tags'],
      [{ text: 'x', tags: [1] }, '/tags/0'],
      [{ note: 'no text' }, ''],
    ];
    for (const [input, pointer] of refused) {
      const e = await callRejection(notes.execute('remember', input));
      expect(e).toMatchObject({ code: 'EINPUT', details: { side: 'input', pointer, export: 'remember' } });
    }
    expect(await node.roles.trace.head()).toEqual(head);
    const listed = (await notes.execute('list', {})) as { notes: { text: string }[]; next: unknown };
    expect(listed).toMatchObject({ notes: [{ id: 1, text: 'kept', tags: ['a'] }], next: null });
  });

  it('fails an operation whose output breaks its own schema: EGUEST, traced as failed, writes discarded', async () => {
    node = await startNode('memory:');
    const bytes = await unsigned('counter');
    const m = readManifest(bytes);
    // The same counter promising never to answer more than 1.
    const capped: Manifest = {
      ...m,
      name: 'test.capped-counter',
      exports: m.exports.map((e) =>
        e.name === 'increment' ? { ...e, output: { type: 'object', properties: { value: { type: 'integer', maximum: 1 } }, required: ['value'] } } : e,
      ),
    };
    const c = await node.agents.spawn({ module: signModule(appendManifest(bytes, capped), publisher), name: 'capped' });
    expect(await c.execute('increment')).toEqual({ value: 1 });
    const before = await node.roles.trace.head();
    const e = await callRejection(c.execute('increment'));
    expect(e).toMatchObject({ code: 'EGUEST', details: { side: 'output', pointer: '/value', expected: 'must be <= 1 (maximum)', got: 'number 2' } });
    // Observed (the trace moved on by one entry), but the write of 2 never landed.
    expect((await node.roles.trace.head()).seq).toBe(Number(before.seq) + 1);
    expect(await c.execute('get')).toEqual({ value: 1 });
  });
});
