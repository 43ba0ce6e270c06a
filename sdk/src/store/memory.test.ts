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

describe('MemoryStore kv scans (a sorted key index kept as keys come and go)', () => {
  it('answers every scan as a full sort of the live keys would, through puts, overwrites and deletes', () => {
    const store = new MemoryStore();
    const live = new Set<string>();
    // A fixed pseudo-random walk (xorshift), so a failure replays.
    let seed = 0x2545f491;
    const next = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const keyOf = () => ['t/', 'n/', 't', 'u/'][next(4)]! + String(next(400)).padStart(3, '0');
    for (let step = 0; step < 3_000; step++) {
      const key = keyOf();
      if (next(3) === 0) {
        expect(store.kvDelete('ns', key)).toBe(live.delete(key));
      } else {
        store.kvPut('ns', key, Uint8Array.of(step & 0xff));
        live.add(key);
      }
      if (step % 50 === 0) {
        for (const prefix of ['t/', 'n/', 't', '']) {
          const after = next(2) === 0 ? undefined : keyOf();
          const want = [...live]
            .filter((k) => k.startsWith(prefix) && (after === undefined || k > after))
            .sort()
            .slice(0, 8);
          expect(store.kvScan('ns', prefix, 8, after).map(([k]) => k)).toEqual(want);
        }
      }
    }
  });
});
