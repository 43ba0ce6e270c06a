/**
 * `mcp0 call`: load a module into one kernel (volatile in-memory kv) and call exports in order.
 * One JSON line per call; exit 0 when all succeeded, 1 when any failed, 2 on usage or load errors.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { CallError, Mcp0Error, parseGrant, UsageError, type CborValue } from '@mcp0/abi';
import { Kernel, type Tier } from '@mcp0/kernel';
import { MemoryStore } from '@mcp0/sdk';
import { type Command, intOption, listOption, stringOption } from '../command.js';
import { announce, thumbprints, trustedKeys } from '../trust.js';
import { cborToJson, jsonToCbor } from '../json-cbor.js';

export const call: Command = {
  name: 'call',
  summary: 'load a module into a kernel and call its exports (JSON in and out, CBOR inside)',
  usage: '<file.wasm> --trust <key>... [--grant <cap>]... [--isolation inline|worker] [--timeout-ms N] [--memory-pages N] <export>[=<json>|=@<file>|=@-]...',
  options: {
    trust: {
      type: 'string',
      multiple: true,
      arg: '<key>',
      description: 'a trusted public key: a file path (with a / or ending .jwk/.json) or a key id in the keyring',
    },
    keyring: { type: 'string', arg: '<dir>', description: 'where key ids are looked up (default $MCP0_KEYRING or ~/.mcp0/keyring)' },
    grant: {
      type: 'string',
      multiple: true,
      arg: '<cap>',
      description: 'grant a capability: kv, kv:<prefix>, clock, random, crypto, call:<module>[/<export>], ...',
    },
    isolation: { type: 'string', arg: 'inline|worker', description: 'isolation tier (default: inline for plugins, worker for agents)' },
    'timeout-ms': {
      type: 'string',
      arg: '<n>',
      description: "per-call time limit, a ceiling on the manifest's (both tiers: inline checks it in loops and host calls, worker terminates the thread)",
    },
    'memory-pages': { type: 'string', arg: '<n>', description: "memory cap in 64 KiB pages, a ceiling on the manifest's" },
    config: { type: 'string', arg: '<json>', description: 'config passed to mcp0_init' },
    json: { type: 'boolean', description: 'accepted for uniformity: call always prints one JSON line per call' },
  },
  details: [
    'Each <export>=<json> converts the JSON to CBOR; bytes are written {"$bytes":"<base64>"}. <export>=@<file> reads',
    'the JSON from a file, and <export>=@- from stdin (for one call): inputs larger than an argument list holds.',
    'Output lines: {"export","ok":true,"output"} or {"export","ok":false,"error":{"code","message"}}.',
    'Exit codes: 0 every call succeeded; 1 some call failed; 2 usage error or the module did not load.',
  ].join('\n'),
  async run(args, io) {
    const [file, ...calls] = args.positionals;
    if (file === undefined) throw new UsageError('EUSAGE', `expected a module file\nusage: mcp0 call ${this.usage}`);
    if (calls.length === 0) throw new UsageError('EUSAGE', 'expected at least one <export>[=<json>] to call');
    if (calls.filter((c) => c.includes('=') && c.slice(c.indexOf('=') + 1) === '@-').length > 1)
      throw new UsageError('EUSAGE', '=@-: stdin can feed one call only');
    const plan = await Promise.all(
      calls.map(async (c) => {
        const eq = c.indexOf('=');
        if (eq < 0) return { name: c, input: new Uint8Array(0) };
        const text = c.slice(eq + 1);
        // No JSON text starts with "@": <export>=@<file> reads the JSON from a file, =@- from stdin
        // (inputs past the ~128 KB an argument list holds).
        if (!text.startsWith('@')) return { name: c.slice(0, eq), input: jsonToCbor(text) };
        const source = text.slice(1);
        let json: string;
        try {
          json = source === '-' ? readFileSync(0, 'utf8') : await readFile(source, 'utf8');
        } catch (e) {
          throw new UsageError('EUSAGE', `${c}: cannot read ${source === '-' ? 'stdin' : source}: ${(e as Error).message}`, {}, { cause: e });
        }
        return { name: c.slice(0, eq), input: jsonToCbor(json) };
      }),
    );
    const isolation = stringOption(args, 'isolation');
    if (isolation !== undefined && isolation !== 'inline' && isolation !== 'worker') {
      throw new UsageError('EUSAGE', `--isolation: expected inline or worker, got ${JSON.stringify(isolation)}`);
    }
    const keyring = stringOption(args, 'keyring');
    const trusted = await trustedKeys(listOption(args, 'trust'), '--trust', keyring);
    announce(io, 'publisher', trusted);
    const trust = trusted.map((t) => t.key);
    const configText = stringOption(args, 'config');
    let config: unknown;
    try {
      config = configText === undefined ? undefined : JSON.parse(configText);
    } catch (e) {
      throw new UsageError('EUSAGE', `--config: not JSON: ${(e as Error).message}`);
    }
    const timeoutMs = intOption(args, 'timeout-ms', 1, 600_000);
    const memoryPages = intOption(args, 'memory-pages', 1, 65_536);
    // An agent's kv is normally its tree in the storage plugin; for a one-off call a volatile map does.
    const kernel = new Kernel({ trust, providers: { kv: new MemoryStore().kv, agentKv: new MemoryStore().kv } });
    kernel.on('log', (l) => io.err(`[${l.module}] ${l.level}: ${l.msg}\n`));
    const bytes = new Uint8Array(await readFile(file));
    let name: string;
    try {
      const module = await kernel.load(bytes, {
        grants: listOption(args, 'grant').map(parseGrant),
        ...(isolation === undefined ? {} : { isolation: isolation as Tier }),
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
        ...(memoryPages === undefined ? {} : { memoryPages }),
        ...(config === undefined ? {} : { config: config as CborValue }),
      });
      name = module.name;
    } catch (e) {
      if (e instanceof Mcp0Error) throw new UsageError(e.code, `${file} did not load: ${await thumbprints(e.message, keyring, trust)}`, e.details);
      throw e;
    }
    let failed = 0;
    try {
      for (const { name: exportName, input } of plan) {
        try {
          const output = await kernel.call(name, exportName, input);
          io.out(`${JSON.stringify({ export: exportName, ok: true, output: cborToJson(output) })}\n`);
        } catch (e) {
          if (!(e instanceof CallError)) throw e;
          failed++;
          io.out(`${JSON.stringify({ export: exportName, ok: false, error: e.toJSON() })}\n`);
        }
      }
    } finally {
      await kernel.stop();
    }
    return failed === 0 ? 0 : 1;
  },
};
