// Deadline instrumentation on the real AssemblyScript builds, run in-process by Extism 1.0.3 as
// the inline tier runs them: hostile/loop is preempted, echo and greet behave as before. In the
// sandbox's tests, which own the Extism dependency and the inline tier, not @mcp0/preempt's, which
// knows no runtime (and building the plugins needs the tools).
import createPlugin, { type CallContext, type Plugin } from '@extism/extism';
import { Mcp0Error, encodeCbor, parseSections } from '@mcp0/abi';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEADLINE_IMPORT, DEFAULT_SLICE, GROW_FAILED_EXPORT, SLICE_EXPORT, instrumentDeadline } from '@mcp0/preempt';
import { unsigned } from '../../test/fixtures.js';

/** Stand-ins returning 0n for every `mcp0:abi/v1` import (all are i64 -> i64). */
function abiStandIns(module: WebAssembly.Module): Record<string, () => bigint> {
  const names = WebAssembly.Module.imports(module)
    .filter((i) => i.module === 'mcp0:abi/v1')
    .map((i) => i.name);
  return Object.fromEntries(names.map((n) => [n, () => 0n]));
}

/**
 * A host whose deadline import throws at call number `throwOn`: a deadline counted in slices, not
 * read from a clock, so the test does not depend on how busy the machine is.
 */
function deadlineHost(throwOn = Infinity) {
  const host = {
    throwOn,
    calls: 0,
    // Extism binds host functions as (callContext, ...args); an i32 result must be a number.
    fn: (): number => {
      if (++host.calls >= host.throwOn) throw new Error('deadline passed');
      return DEFAULT_SLICE;
    },
  };
  return host;
}

/** What a call gave: its output or its error message. */
type Outcome = { ok?: Uint8Array; error?: string };

async function extism(module: WebAssembly.Module, host?: ReturnType<typeof deadlineHost>): Promise<Plugin> {
  const functions: Record<string, Record<string, (ctx: CallContext, ...args: bigint[]) => unknown>> = { 'mcp0:abi/v1': abiStandIns(module) };
  if (host) functions[DEADLINE_IMPORT.module] = { [DEADLINE_IMPORT.name]: host.fn };
  return createPlugin({ wasm: [{ module, name: 'main' }] }, { useWasi: false, functions });
}

describe('instrumentDeadline on AssemblyScript plugins', () => {
  let hello: Uint8Array<ArrayBuffer>;
  let hostile: Uint8Array<ArrayBuffer>;
  beforeAll(async () => {
    [hello, hostile] = (await Promise.all([unsigned('hello'), unsigned('hostile')])) as [Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>];
  });

  it('produces valid modules with one more import and two more exports (the slice, the grow flag)', () => {
    for (const bytes of [hello, hostile]) {
      const out = instrumentDeadline(bytes);
      expect(WebAssembly.validate(out)).toBe(true);
      const [a, b] = [new WebAssembly.Module(bytes), new WebAssembly.Module(out)];
      expect(WebAssembly.Module.imports(b)).toEqual([...WebAssembly.Module.imports(a), { module: 'mcp0:kernel', name: 'deadline', kind: 'function' }]);
      expect(WebAssembly.Module.exports(b)).toEqual([
        ...WebAssembly.Module.exports(a),
        { name: SLICE_EXPORT, kind: 'global' },
        { name: GROW_FAILED_EXPORT, kind: 'global' },
      ]);
    }
  });

  // How late after a wall-clock deadline the guest is stopped is a speed figure: bench/preempt.js
  // measures it. Here the behaviour: the loop keeps checking in, and the host's throw ends it.
  it('preempts hostile/loop when the deadline import throws; a new instance still echoes', async () => {
    const module = await WebAssembly.compile(instrumentDeadline(hostile));
    const host = deadlineHost();
    const plugin = await extism(module, host);
    expect((await plugin.call('ok', 'before'))?.text()).toBe('before');

    host.calls = 0;
    host.throwOn = 50;
    await expect(plugin.call('loop', 'x')).rejects.toThrow('deadline passed');
    expect(host.calls).toBe(50);
    await plugin.close();

    host.throwOn = Infinity;
    const fresh = await extism(module, host);
    const slice = (await fresh.getInstance('main')).exports[SLICE_EXPORT] as WebAssembly.Global;
    slice.value = DEFAULT_SLICE; // what the kernel does before each call
    expect((await fresh.call('ok', 'after'))?.text()).toBe('after');
    await fresh.close();
  });

  it('keeps hello/echo and hello/greet outputs byte for byte', async () => {
    const plain = await extism(await WebAssembly.compile(hello));
    const instrumented = await extism(await WebAssembly.compile(instrumentDeadline(hello)), deadlineHost());
    const inputs: [string, Uint8Array][] = [
      ['echo', new Uint8Array(0)],
      ['echo', new TextEncoder().encode('hello, world')],
      ['echo', new Uint8Array(100_000).map((_, i) => i * 31)],
      ['greet', encodeCbor({ name: 'wasm' })],
      ['greet', encodeCbor({ name: 'ü'.repeat(5000) })],
      ['greet', encodeCbor(42)],
    ];
    let succeeded = 0;
    for (const [fn, input] of inputs) {
      const expected: Outcome = await plain.call(fn, input).then(
        (o) => ({ ok: o?.bytes() }),
        (e: Error) => ({ error: e.message }),
      );
      const got: Outcome = await instrumented.call(fn, input).then(
        (o) => ({ ok: o?.bytes() }),
        (e: Error) => ({ error: e.message }),
      );
      expect(got).toEqual(expected);
      if (got.ok) succeeded++;
    }
    expect(succeeded).toBeGreaterThanOrEqual(5); // greet(42) is an input error, the same in both
    await Promise.all([plain.close(), instrumented.close()]);
  });

  it('survives mutated and truncated builds: a typed error, or valid output when the input is valid', () => {
    let seed = 12345;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return Math.floor((seed / 2 ** 32) * n);
    };
    const seen = { refused: 0, valid: 0, invalid: 0 };
    for (const original of [hello, hostile]) {
      const code = parseSections(original).find((s) => s.id === 10)!;
      for (let i = 0; i < 300; i++) {
        const bytes = original.slice();
        for (let k = 1 + random(3); k > 0; k--) bytes[code.start + random(code.end - code.start)] = random(256);
        const input = i % 10 === 9 ? bytes.subarray(0, code.start + random(code.end - code.start)) : bytes;
        let out: Uint8Array<ArrayBuffer> | undefined;
        try {
          out = instrumentDeadline(input);
        } catch (e) {
          expect(e).toBeInstanceOf(Mcp0Error);
          seen.refused++;
          continue;
        }
        if (WebAssembly.validate(input)) {
          expect(WebAssembly.validate(out)).toBe(true);
          seen.valid++;
        } else seen.invalid++;
      }
    }
    expect(seen.refused + seen.valid + seen.invalid).toBe(600);
    if (process.env.MCP0_BENCH) console.log('mutated builds', seen);
  });
});
