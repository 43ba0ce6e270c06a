/**
 * The hostile-module corpus: hand-written WebAssembly modules (text format) that attack a host
 * through the ABI, each with the manifest it is packed with and what a host that holds must
 * answer. Any host of ABI v1 (the kernel's tests, `mcp0 conformance`) runs them in both tiers:
 * every load and call ends in the expected typed outcome, and the host keeps serving.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { UsageError, isErrorCode, type ErrorCode } from '../errors/index.js';
import type { Manifest } from '../manifest/types.js';

/** What a call (or the load) must end in: its output, or a typed error with one of these codes. */
export type Expected = 'ok' | ErrorCode[];

/** One hostile module and what a sound host answers it. */
export interface HostileEntry {
  /** The file name without extension; the module loads as `corpus.<name>`. */
  name: string;
  /** What it does, and the class of defect it shows. */
  description: string;
  /** WebAssembly text: assemble it (e.g. binaryen's `parseText`), append the manifest, sign. */
  wat: string;
  /** The manifest fields beyond name, version, abi and kind. */
  manifest: Partial<Manifest>;
  /** Grants in `mcp0 call --grant` form (`kv`, `kv:prefix/`, `call:target`). */
  grants: string[];
  /** Host limits to load it under (default: the host's own). */
  limits: { memoryPages?: number; timeoutMs?: number; hostBytesPerCall?: number };
  /** How the load ends. */
  load: Expected;
  /** The calls to make after a load that succeeded, in order, each `times` times (default 1). */
  calls: { export: string; input: Uint8Array; expect: Expected; times: number }[];
}

const DIR = new URL('../../corpus/hostile/', import.meta.url);

/**
 * Every entry of the corpus, in name order. Throws EUSAGE naming the file on a malformed entry.
 * @example
 * for (const entry of hostileCorpus()) console.log(entry.name, entry.load)
 */
export function hostileCorpus(): HostileEntry[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) =>
      parseEntry(
        file.slice(0, -'.json'.length),
        JSON.parse(readFileSync(new URL(file, DIR), 'utf8')),
        readFileSync(new URL(file.replace(/\.json$/, '.wat'), DIR), 'utf8'),
      ),
    );
}

function parseEntry(name: string, raw: Record<string, unknown>, wat: string): HostileEntry {
  const where = `corpus/hostile/${name}.json`;
  const fail = (what: string): never => {
    throw new UsageError('EUSAGE', `${where}: ${what}`, { entry: name });
  };
  const expected = (v: unknown, what: string): Expected => {
    if (v === undefined || v === 'ok') return 'ok';
    if (Array.isArray(v) && v.length > 0 && v.every(isErrorCode)) return v as ErrorCode[];
    return fail(`${what}: expected "ok" or a list of error codes, got ${JSON.stringify(v)}`);
  };
  if (typeof raw.description !== 'string') fail('description: expected text');
  const calls = raw.calls ?? [];
  if (!Array.isArray(calls)) fail('calls: expected a list');
  return {
    name,
    description: raw.description as string,
    wat,
    manifest: (raw.manifest ?? {}) as Partial<Manifest>,
    grants: (raw.grants ?? []) as string[],
    limits: (raw.limits ?? {}) as HostileEntry['limits'],
    load: expected(raw.load, 'load'),
    calls: (calls as Record<string, unknown>[]).map((c, i) => {
      if (typeof c.export !== 'string') fail(`calls[${i}].export: expected text`);
      const hex = c.input ?? '';
      if (typeof hex !== 'string' || !/^([0-9a-f]{2})*$/.test(hex)) fail(`calls[${i}].input: expected hex`);
      const times = c.times ?? 1;
      if (!Number.isSafeInteger(times) || (times as number) < 1) fail(`calls[${i}].times: expected a positive integer`);
      return {
        export: c.export as string,
        input: Uint8Array.from(Buffer.from(hex as string, 'hex')),
        expect: expected(c.expect, `calls[${i}].expect`),
        times: times as number,
      };
    }),
  };
}
