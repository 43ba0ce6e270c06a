// Crash-test child: runs the storage plugin through the BUILT kernel and SDK (dist/) on a store,
// and acknowledges on stdout only after a call has returned. The tests SIGKILL it mid-run.
//   node child.fixture.mjs write <store uri> <unsigned wasm> <tier> <agent>
//     puts key /c/<i> = value(i) for i = 1, 2, …; prints "<i> <root hex>" after each put returns
//   node child.fixture.mjs gc <store uri> <unsigned wasm> <tier> <keep>
//     runs collectGarbage(keep, grace 0), deleting one block per store call; prints "d" after each
import { readFileSync, writeSync } from 'node:fs';
import { generateKeyPair, signModule } from '@mcp0/abi';
import { Kernel } from '@mcp0/kernel';
import { MongoSyncStore } from '@mcp0/sdk/mongo';
import { collectGarbage, openStore } from '@mcp0/sdk';

const [mode, uri, wasmPath, tier, arg] = process.argv.slice(2);
const key = generateKeyPair();
// Inline tier on MongoDB goes through the synchronous bridge, as in the parent test.
const store = tier === 'inline' && uri.startsWith('mongodb') ? await MongoSyncStore.open(uri) : await openStore(uri);
const kernel = new Kernel({ trust: [key.publicKey], providers: { blocks: store.blocks } });
await kernel.load(signModule(new Uint8Array(readFileSync(wasmPath)), key), { isolation: tier, grants: [{ name: 'blocks' }, { name: 'random' }] });
const call = (exp, input) => kernel.callValue('mcp0.storage', exp, input);
writeSync(1, 'ready\n');

/** The value of /c/<i>: out of line (over 64 bytes) every third key, so value blocks are in play. */
function value(i) {
  return new TextEncoder().encode(i % 3 === 0 ? `value ${i} `.repeat(20) : `v${i}`);
}

if (mode === 'write') {
  for (let i = 1; ; i++) {
    const { root } = await call('put', { agent: arg, key: `/c/${i}`, value: value(i) });
    writeSync(1, `${i} ${Buffer.from(root).toString('hex')}\n`);
  }
} else if (mode === 'gc') {
  const slow = {
    listRefs: (...a) => store.listRefs(...a),
    listBlocks: (...a) => store.listBlocks(...a),
    deleteBlocks: async (ids, options) => {
      let n = 0;
      for (const id of ids) {
        n += await store.deleteBlocks([id], options);
        writeSync(1, 'd\n');
      }
      return n;
    },
  };
  const report = await collectGarbage({ store: slow, call, keep: Number(arg), graceMs: 0 });
  writeSync(1, `done ${JSON.stringify(report)}\n`);
  await kernel.stop();
  await store.close();
}
