// The Store contract against the in-memory store, plus openStore's scheme handling.
import { describe, expect, it } from 'vitest';
import { storeContract } from './contract.test-support.js';
import { MemoryStore } from './memory.js';
import { openStore } from './open.js';

storeContract('memory', async (faults) => new MemoryStore({ faults }));

describe('openStore', () => {
  it('opens memory: and answers synchronously', async () => {
    const store = await openStore('memory:');
    expect(store.durable).toBe(false);
    expect(store.blocks.has([new Uint8Array(32)])).toEqual([false]);
    await store.close();
  });

  it('refuses unknown schemes with EUSAGE naming the supported ones', async () => {
    await expect(openStore('mongo://127.0.0.1:27017/mcp0')).rejects.toMatchObject({
      code: 'EUSAGE',
      details: { scheme: 'mongo:', supported: ['lmdb:', 'memory:', 'mongodb:', 'mongodb+srv:'] },
    });
    await expect(openStore('./data')).rejects.toMatchObject({ code: 'EUSAGE', message: expect.stringContaining('lmdb:, memory:, mongodb:, mongodb+srv:') });
    await expect(openStore('lmdb:')).rejects.toMatchObject({ code: 'EUSAGE' });
  });
});
