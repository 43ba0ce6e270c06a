/**
 * Running guest modules in tests: instantiate through Extism 1.0.3 with the stand-in host, and
 * call an export getting back its output, its ABI error (parsed from the error JSON), or the trap.
 */
import createPlugin, { type Plugin } from '@extism/extism';
import { stubHost, type StubHost, type StubOptions } from './stub-host.js';

/** What one call gave. */
export type Outcome =
  | { kind: 'output'; bytes: Uint8Array }
  | { kind: 'error'; code: string; message: string; details?: Record<string, unknown> }
  | { kind: 'trap'; error: Error };

export interface Guest {
  plugin: Plugin;
  host: StubHost;
  /** Call an export; resets Extism's buffers after each call (1.0.3 leaks them otherwise). */
  call(name: string, input?: Uint8Array): Promise<Outcome>;
}

const PREFIX = 'Plugin-originated error: ';

/** Instantiate a module in-process with a fresh stand-in host. */
export async function loadGuest(wasm: Uint8Array, opts: StubOptions = {}): Promise<Guest> {
  const host = stubHost(opts);
  const plugin = await createPlugin(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), { useWasi: false, functions: host.functions });
  return {
    plugin,
    host,
    async call(name, input = new Uint8Array(0)) {
      try {
        // Extism 1.0.3 stores a Uint8Array by its whole underlying ArrayBuffer, ignoring the
        // view's offset and length: hand it a copy that owns its buffer.
        const out = await plugin.call(name, new Uint8Array(input));
        return { kind: 'output', bytes: out === null ? new Uint8Array(0) : new Uint8Array(out.bytes()) };
      } catch (e) {
        const err = e as Error;
        if (err.message.startsWith(PREFIX)) {
          const json = JSON.parse(err.message.slice(PREFIX.length)) as { code: string; message: string; details?: Record<string, unknown> };
          return { kind: 'error', code: json.code, message: json.message, ...(json.details === undefined ? {} : { details: json.details }) };
        }
        return { kind: 'trap', error: err };
      } finally {
        await plugin.reset();
      }
    },
  };
}
