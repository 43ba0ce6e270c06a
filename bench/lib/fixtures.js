/**
 * Benchmark fixtures: the hello plugin's bytes (built if missing), a fresh publisher key, the
 * signed artifact, and the two things every comparison needs side by side: a kernel with hello
 * loaded in a given tier, and a bare Extism 1.0.3 plugin of the same module.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import createPlugin from '@extism/extism';
import { generateKeyPair, signModule } from '@mcp0/abi';
import { Kernel } from '@mcp0/kernel';
import { MemoryStore } from '@mcp0/sdk';
import { buildPlugin } from '@mcp0/builder';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const HELLO_WASM = `${ROOT}plugins/hello/build/hello.wasm`;
export const HELLO = 'mcp0.hello';
/** What hello's manifest asks for; the kernel must grant it or the load fails. */
export const GRANTS = Object.freeze([{ name: 'kv' }, { name: 'clock' }, { name: 'random' }]);

/** hello.wasm, running `npm run build` first when it is missing. */
export function helloBytes() {
  if (!existsSync(HELLO_WASM)) {
    console.error(`${HELLO_WASM} is missing: running npm run build …`);
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  }
  return new Uint8Array(readFileSync(HELLO_WASM));
}

/** Everything the groups share: raw bytes, key, signed bytes, trust list, compiled module. */
export function makeFixtures() {
  const wasm = helloBytes();
  const key = generateKeyPair();
  const signed = signModule(wasm, key);
  return { wasm, key, signed, trust: [key.publicKey], module: new WebAssembly.Module(wasm) };
}

/**
 * hello imports these from `mcp0:abi/v1`; echo never calls them, so the bare plugin gets trivial
 * stand-ins that answer 0n.
 */
function stubAbi(module) {
  const stub = () => 0n;
  const fns = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module === 'mcp0:abi/v1' && imp.kind === 'function') fns[imp.name] = stub;
  }
  return { 'mcp0:abi/v1': fns };
}

/**
 * A bare Extism plugin of hello. `call(input)` is the measured unit: in-process it resets after
 * every call (1.0.3 leaks handles otherwise); in Extism's own worker mode a reset is a round trip,
 * so it resets every `resetEvery` calls. (The kernel's worker tier is its own guest thread now,
 * which resets Extism's handle table after every call inside the thread.)
 */
export async function barePlugin(fixtures, { worker = false, resetEvery = 256 } = {}) {
  // The strongest bare baseline: the [module, export] call form (no per-call export search) and,
  // in-process, the synchronous reset not awaited: exactly what the kernel does.
  const plugin = await createPlugin(
    { wasm: [{ module: fixtures.module, name: 'main' }] },
    { useWasi: false, runInWorker: worker, functions: stubAbi(fixtures.module) },
  );
  let sinceReset = 0;
  const call = worker
    ? async (input) => {
        const out = await plugin.call(['main', 'echo'], input);
        if (++sinceReset >= resetEvery) {
          sinceReset = 0;
          await plugin.reset();
        }
        return out;
      }
    : async (input) => {
        const out = await plugin.call(['main', 'echo'], input);
        void plugin.reset();
        return out;
      };
  return { plugin, call, close: () => plugin.close() };
}

/** A kernel with hello loaded in `tier`; `call(input)` is `kernel.call('mcp0.hello', 'echo', input)`. */
export async function kernelWithHello(fixtures, tier) {
  const kernel = new Kernel({ trust: fixtures.trust, providers: { kv: new MemoryStore().kv } });
  await kernel.load(fixtures.signed, { isolation: tier, grants: GRANTS });
  return { kernel, call: (input) => kernel.call(HELLO, 'echo', input), close: () => kernel.stop() };
}

/** `n` bytes of a repeating pattern, in an ArrayBuffer of exactly that size. */
export function payload(n) {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}

/** Throw unless `call(input)` echoes `input` exactly: a benchmark of a broken path is worthless. */
export async function assertEcho(label, call, input) {
  const out = await call(input);
  // Uint8Array (kernel.call, Instance.call), PluginOutput (Extism), or { output } (LoadedModule.invoke).
  const bytes = out instanceof Uint8Array ? out : out.output instanceof Uint8Array ? out.output : out.bytes();
  if (bytes.length !== input.length || !bytes.every((b, i) => b === input[i])) {
    throw new Error(`${label}: echo of ${input.length} B returned ${bytes.length} B that differ from the input`);
  }
}

/**
 * The plugins and agents in `dirs` (relative to the repository), built from source into a temp
 * folder and signed with `key`, in order.
 * @example
 * const [storage, trace] = await builtSigned(['plugins/storage', 'plugins/trace'], key)
 */
export async function builtSigned(dirs, key) {
  const tmp = mkdtempSync(join(tmpdir(), 'mcp0-bench-built-'));
  try {
    return await Promise.all(
      dirs.map(async (dir) => signModule((await buildPlugin(`${ROOT}${dir}`, { out: join(tmp, `${dir.replaceAll('/', '-')}.wasm`) })).wasm, key)),
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
