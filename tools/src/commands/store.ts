/**
 * `mcp0 store`: back up and restore an agent's `mcp0.storage` state as a self-verifying archive
 * (`mcp0.archive/1`, see @mcp0/sdk `exportAgent` / `importAgent`).
 *
 *   mcp0 store export <uri> --agent <id> --out <file> [--history]
 *   mcp0 store import <uri> --in <file> [--force]
 */
import { readFile, writeFile } from 'node:fs/promises';
import { UsageError } from '@mcp0/abi';
import { type Command, positionals, stringOption } from '../command.js';

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export const store: Command = {
  name: 'store',
  summary: "back up (export) and restore (import) an agent's storage state as a verified archive",
  usage: 'export <store-uri> --agent <id> --out <file> [--history] [--json]\n       mcp0 store import <store-uri> --in <file> [--force] [--json]',
  options: {
    agent: { type: 'string', arg: '<id>', description: 'export: the agent whose state is archived' },
    out: { type: 'string', arg: '<file>', description: 'export: the archive file to write' },
    history: { type: 'boolean', description: 'export: include every earlier version (parent commits and their trees)' },
    in: { type: 'string', arg: '<file>', description: 'import: the archive file to read' },
    force: { type: 'boolean', description: 'import: replace the agent\'s head even when it names other state' },
    json: { type: 'boolean', description: 'print {agent, root, head, blocks, bytes[, version]} as JSON (root and head in hex)' },
  },
  details: [
    'Store URIs: lmdb:<dir>, memory:, mongodb://host[:port]/database.',
    'The archive is deterministic CBOR {format: "mcp0.archive/1", agent, head, blocks}. It holds exactly the',
    'blocks reachable from the head commit; import re-hashes and walks them all and writes nothing unless the',
    'whole archive verifies, then moves head/<agent> (namespace mcp0.storage) with a compare-and-swap.',
    '`root` is the head commit\'s tree root; `bytes` the archive size.',
    'Exit codes: 0 done; 1 refused (a damaged archive, an agent without state, another head without --force); 2 usage error.',
  ].join('\n'),
  async run(args, io) {
    const [sub, uri] = positionals(args, this, 2);
    if (sub !== 'export' && sub !== 'import') throw new UsageError('EUSAGE', `expected export or import, got ${JSON.stringify(sub)}\nusage: mcp0 store ${this.usage}`);
    const only = sub === 'export' ? ['agent', 'out', 'history'] : ['in', 'force'];
    for (const o of ['agent', 'out', 'history', 'in', 'force']) {
      if (args.values[o] !== undefined && !only.includes(o)) throw new UsageError('EUSAGE', `--${o} is not an option of store ${sub}`);
    }
    // Loaded here, not at start-up: the SDK pulls in the store drivers (LMDB, MongoDB).
    const sdk = await import('@mcp0/sdk');
    if (sub === 'export') {
      const agent = stringOption(args, 'agent', true);
      const out = stringOption(args, 'out', true);
      const s = await sdk.openStore(uri!);
      let bytes: Uint8Array;
      try {
        bytes = await sdk.exportAgent(s, agent, { history: args.values.history === true });
      } finally {
        await s.close();
      }
      const info = await sdk.readArchive(bytes);
      await writeFile(out, bytes);
      const r = { agent: info.agent, root: hexOf(info.root), head: hexOf(info.head), blocks: info.blocks.length, bytes: bytes.length };
      io.out(args.values.json ? `${JSON.stringify(r)}\n` : `exported ${r.agent}: ${r.blocks} blocks, ${r.bytes} bytes, root ${r.root}${info.history ? ' (with history)' : ''} → ${out}\n`);
      return 0;
    }
    const file = stringOption(args, 'in', true);
    const bytes = new Uint8Array(await readFile(file));
    // Verify before opening the store: a damaged archive never touches it.
    await sdk.readArchive(bytes);
    const s = await sdk.openStore(uri!);
    try {
      const res = await sdk.importAgent(s, bytes, { force: args.values.force === true });
      const r = { agent: res.agent, root: hexOf(res.root), head: hexOf(res.head), blocks: res.blocks, bytes: bytes.length, version: res.version };
      io.out(args.values.json ? `${JSON.stringify(r)}\n` : `imported ${r.agent}: ${r.blocks} blocks, ${r.bytes} bytes, root ${r.root}, head/${r.agent} at version ${r.version}\n`);
      return 0;
    } finally {
      await s.close();
    }
  },
};
