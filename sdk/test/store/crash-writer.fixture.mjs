// Crash-test writer: a child process that advances one ref in a tight loop through the BUILT
// LmdbStore (sdk/dist), printing "<version> <root hex>" only after blocks.refCas has returned. The test
// kills it with SIGKILL mid-burst and checks that every acknowledged version survived.
// Usage: node crash-writer.fixture.mjs <dir>
import { writeSync } from 'node:fs';
import { LmdbStore } from '../../dist/store/lmdb.js';

const store = LmdbStore.open(process.argv[2]);
let version = store.blocks.refGet('crash', 'head')?.version ?? 0;
writeSync(1, `start ${version}\n`);
for (;;) {
  // A burst: 16 leaf blocks and a root block listing their ids, in one put; then the CAS.
  const leaves = Array.from({ length: 16 }, (_, i) => new TextEncoder().encode(`v${version + 1} leaf ${i} ${process.pid} ${'x'.repeat(200)}`));
  const ids = store.blocks.put(leaves);
  const rootBytes = new Uint8Array(ids.length * 32);
  ids.forEach((id, i) => rootBytes.set(id, i * 32));
  const [root] = store.blocks.put([rootBytes]);
  version = store.blocks.refCas('crash', 'head', version, root);
  writeSync(1, `${version} ${Buffer.from(root).toString('hex')}\n`);
}
