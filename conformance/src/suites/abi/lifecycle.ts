/**
 * ABI cases about the reserved exports (ABI.md §5): the version marker answers CBOR text of an ABI
 * version this module's range accepts, `mcp0_init` takes an empty config map and answers nothing,
 * and `mcp0_stop` answers nothing and lets the host unload the module. Run in the subject's
 * default tier through a real kernel.
 */
import { ABI_VERSION, GUEST_EXPORTS, checkAbi, decodeCbor, encodeCbor } from '@mcp0/abi';
import { CaseFailure, check, type Case } from '../../runner/case.js';
import { bench, describeError, invoke } from '../harness.js';
import type { AbiContext } from './context.js';

/** major.minor.patch, with an optional pre-release or build suffix. */
const SEMVER = /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$/;

/** Calls a reserved export and fails the case, naming the export, when it errs. */
async function call(b: Awaited<ReturnType<typeof bench>>, exportName: string, input: Uint8Array, expected: string): Promise<Uint8Array> {
  try {
    return await invoke(b.module, exportName, input);
  } catch (e) {
    throw new CaseFailure(`${exportName}: expected ${expected}, got ${describeError(e)}`);
  }
}

/**
 * The marker is exported and answers CBOR text naming an ABI version within the manifest's range.
 * @example
 * await runSuite({ ...abiSuite, cases: [markerCase] }, subject)
 */
export const markerCase: Case<AbiContext> = {
  name: 'version marker mcp0_abi_v1',
  async run({ subject }) {
    const b = await bench(subject);
    try {
      const out = await call(b, GUEST_EXPORTS.marker, new Uint8Array(0), 'CBOR text of the ABI version');
      let version: unknown;
      try {
        version = decodeCbor(out);
      } catch (e) {
        throw new CaseFailure(
          `${GUEST_EXPORTS.marker}: expected CBOR text such as "${ABI_VERSION}", got ${out.length} bytes that do not decode (${describeError(e)})`,
        );
      }
      check(
        typeof version === 'string' && SEMVER.test(version),
        `${GUEST_EXPORTS.marker}: expected CBOR text holding a semver version such as "${ABI_VERSION}", got ${JSON.stringify(version)}`,
      );
      check(
        version.split('.')[0] === ABI_VERSION.split('.')[0],
        `${GUEST_EXPORTS.marker}: expected ABI major version ${ABI_VERSION.split('.')[0]}, got "${version}"`,
      );
      try {
        checkAbi({ name: subject.name, abi: subject.manifest.abi }, version);
      } catch {
        throw new CaseFailure(`${GUEST_EXPORTS.marker}: expected a version within the manifest's abi range "${subject.manifest.abi}", got "${version}"`);
      }
      const again = await call(b, GUEST_EXPORTS.marker, new Uint8Array(0), 'the same answer twice');
      check(
        Buffer.compare(again, out) === 0,
        `${GUEST_EXPORTS.marker}: expected the same bytes on every call, got ${out.length} then ${again.length} bytes that differ`,
      );
    } finally {
      await b.close();
    }
  },
};

/** Exports of the module, by name. */
function exportsOf(bytes: Uint8Array): Set<string> {
  return new Set(WebAssembly.Module.exports(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>)).map((e) => e.name));
}

/**
 * `mcp0_init` with `{}` gives an empty output and no error (the kernel already ran it once at load).
 * @example
 * await runSuite({ ...abiSuite, cases: [initCase] }, subject)
 */
export const initCase: Case<AbiContext> = {
  name: 'mcp0_init with an empty config map',
  async run({ subject }) {
    // Loading runs mcp0_init with {}: a load failure here is the init failing.
    let b;
    try {
      b = await bench(subject, { config: {} });
    } catch (e) {
      throw new CaseFailure(`${GUEST_EXPORTS.init}: expected the module to load and initialise with an empty config map, got ${describeError(e)}`);
    }
    try {
      if (!exportsOf(subject.bytes).has(GUEST_EXPORTS.init)) return; // optional: nothing more to hold it to
      const out = await call(b, GUEST_EXPORTS.init, encodeCbor({}), 'an empty output and no error');
      check(out.length === 0, `${GUEST_EXPORTS.init}: expected an empty output and no error, got ${out.length} bytes of output`);
      const marker = await call(b, GUEST_EXPORTS.marker, new Uint8Array(0), 'the module to keep serving after init');
      check(marker.length > 0, `${GUEST_EXPORTS.marker} after ${GUEST_EXPORTS.init}: expected the version, got an empty output`);
    } finally {
      await b.close();
    }
  },
};

/**
 * `mcp0_stop` gives an empty output and no error, and the host then unloads the module cleanly.
 * @example
 * await runSuite({ ...abiSuite, cases: [stopCase] }, subject)
 */
export const stopCase: Case<AbiContext> = {
  name: 'mcp0_stop and unload',
  async run({ subject }) {
    const b = await bench(subject);
    try {
      if (exportsOf(subject.bytes).has(GUEST_EXPORTS.stop)) {
        const out = await call(b, GUEST_EXPORTS.stop, new Uint8Array(0), 'an empty output and no error');
        check(out.length === 0, `${GUEST_EXPORTS.stop}: expected an empty output and no error, got ${out.length} bytes of output`);
      }
      try {
        await b.kernel.unload(b.module.name);
      } catch (e) {
        throw new CaseFailure(`unload: expected the module to stop cleanly, got ${describeError(e)}`);
      }
      check(b.module.state === 'stopped', `unload: expected the module to be stopped, got state ${b.module.state}`);
    } finally {
      await b.close();
    }
  },
};
