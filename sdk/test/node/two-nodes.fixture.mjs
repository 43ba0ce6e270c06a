// Two-node child (one-writer.processes.test.ts): a node process on a shared store that increments one
// agent until it has `count` acknowledged increments. It runs the BUILT SDK (dist/). Each session
// starts a node on the store, runs up to `batch` increments if the node holds the agent's lease,
// and stops the node (releasing the lease); a node refused the agent (EBUSY: the other process runs
// it) stops and tries again. Prints one line per event:
//   session <pid>       this node holds the agent; the acks up to the next session line are its
//   ack <value>         an increment returned <value> (acknowledged)
//   busy                refused: the other node holds the agent
//   conflict            an increment failed with ECONFLICT (not acknowledged, tried again)
//   done <acked>
//   node two-nodes.fixture.mjs <store uri> <dir with storage.wasm, publisher.pub.jwk> <agent name> <count> <batch>
import { readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseGrant, parsePublicJwk } from '@mcp0/abi';
import { Node } from '@mcp0/sdk';

const [uri, dir, name, countText, batchText] = process.argv.slice(2);
const count = Number(countText);
const batch = Number(batchText);
const publisher = parsePublicJwk(JSON.parse(readFileSync(join(dir, 'publisher.pub.jwk'), 'utf8')));
const distribution = {
  name: 'two-nodes',
  version: '0.0.0',
  publishers: [publisher],
  plugins: [
    {
      name: 'mcp0.storage',
      bytes: new Uint8Array(readFileSync(join(dir, 'storage.wasm'))),
      grants: [parseGrant('blocks'), parseGrant('random')],
      isolation: 'inline',
    },
  ],
  pipeline: { admit: [], observe: [] },
};
const say = (line) => writeSync(1, `${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let acked = 0;
while (acked < count) {
  const node = await Node.start({ distribution, store: uri, trust: [publisher] });
  let busy = false;
  try {
    let agent;
    try {
      agent = node.agents.get(name);
      say(`session ${process.pid}`);
    } catch (e) {
      if (e.code !== 'EBUSY') throw e;
      say('busy');
      busy = true;
    }
    for (let i = 0; agent && i < batch && acked < count; i++) {
      try {
        const { value } = await agent.execute('increment', {});
        acked++;
        say(`ack ${value}`);
      } catch (e) {
        if (e.code !== 'ECONFLICT') throw e;
        say('conflict');
      }
    }
  } finally {
    await node.stop();
  }
  // Refused: the other node runs the agent; try again a little later (starting a node costs).
  await sleep(busy ? 50 + Math.random() * 150 : 5 + Math.random() * 20);
}
say(`done ${acked}`);
