/**
 * ABI cases about the artifact itself (ABI.md §1 and §4): the signature verifies against the
 * trusted keys, the manifest is valid and matches the module's exports, and every import is part of
 * ABI v1. They read the bytes; nothing runs.
 */
import {
  ABI_NAMESPACE,
  EXTISM_IMPORTS,
  EXTISM_NAMESPACE,
  GUEST_EXPORTS,
  HOST_FUNCTIONS,
  Mcp0Error,
  RESERVED_EXPORT_PREFIX,
  checkAbi,
  parseSections,
  readManifest,
  verifyModule,
} from '@mcp0/abi';
import { CaseFailure, check, type Case } from '../../runner/case.js';
import type { AbiContext } from './context.js';

/** "ESIGNATURE (check signature): …" for a load error, the plain message otherwise. */
function loadFailure(e: unknown): string {
  if (e instanceof Mcp0Error) {
    const where = typeof e.details?.check === 'string' ? ` (check ${e.details.check})` : '';
    return `${e.code}${where}: ${e.message}`;
  }
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** The module, or a failure saying it does not compile. */
function compiledOf(ctx: AbiContext): WebAssembly.Module {
  if (ctx.compiled instanceof Error) throw new CaseFailure(`expected a WebAssembly module, got ENOTWASM: ${ctx.compiled.message}`);
  return ctx.compiled;
}

/**
 * Signature section present and well formed, content hash matching, signed by a trusted key.
 * @example
 * await runSuite({ ...abiSuite, cases: [signatureCase] }, subject)
 */
export const signatureCase: Case<AbiContext> = {
  name: 'signature verifies against the trusted keys',
  async run({ subject }) {
    try {
      parseSections(subject.bytes);
      const { signers } = verifyModule(subject.bytes, subject.trust);
      check(signers.length > 0, 'signature: expected at least one signature by a trusted key, got none');
    } catch (e) {
      if (e instanceof CaseFailure) throw e;
      throw new CaseFailure(`signature: expected a valid signature by one of ${subject.trust.length} trusted key(s), got ${loadFailure(e)}`, {
        ...(e instanceof Mcp0Error ? { code: e.code, check: e.details?.check } : {}),
      });
    }
  },
};

/**
 * The manifest section is valid (schema, canonical form, ABI range) and the module exports what it lists.
 * @example
 * await runSuite({ ...abiSuite, cases: [manifestCase] }, subject)
 */
export const manifestCase: Case<AbiContext> = {
  name: 'manifest is valid and matches the exports',
  async run(ctx) {
    let manifest;
    try {
      manifest = readManifest(ctx.subject.bytes);
      checkAbi(manifest);
    } catch (e) {
      throw new CaseFailure(`manifest: expected a valid ${'mcp0.manifest'} section, got ${loadFailure(e)}`);
    }
    const exported = new Set(
      WebAssembly.Module.exports(compiledOf(ctx))
        .filter((e) => e.kind === 'function')
        .map((e) => e.name),
    );
    const wanted = [GUEST_EXPORTS.marker, ...manifest.exports.map((e) => e.name), ...(manifest.hooks ?? []).map((h) => GUEST_EXPORTS[h])];
    const missing = wanted.filter((name) => !exported.has(name));
    check(missing.length === 0, `manifest: expected the module to export ${wanted.join(', ')}, got no ${missing.join(', ')}`, { missing });
    const reserved = manifest.exports.map((e) => e.name).filter((n) => n.startsWith(RESERVED_EXPORT_PREFIX));
    check(reserved.length === 0, `manifest: expected service exports outside the reserved ${RESERVED_EXPORT_PREFIX} prefix, got ${reserved.join(', ')}`);
    // Hook exports present but not declared would never be called: a manifest out of step with its code.
    const undeclared = (['admit', 'observe', 'tick'] as const).filter((h) => exported.has(GUEST_EXPORTS[h]) && !(manifest.hooks ?? []).includes(h));
    check(
      undeclared.length === 0,
      `manifest: expected every hook the module exports to be declared, got ${undeclared.map((h) => GUEST_EXPORTS[h]).join(', ')} exported but hooks ${JSON.stringify(manifest.hooks ?? [])}`,
    );
  },
};

/**
 * Every import is a function of the Extism subset or of mcp0:abi/v1; lists every offender.
 * @example
 * await runSuite({ ...abiSuite, cases: [importsCase] }, subject) // fail: 'imports: … got wasi_snapshot_preview1.fd_write (function)'
 */
export const importsCase: Case<AbiContext> = {
  name: 'imports are a subset of ABI v1',
  async run(ctx) {
    const offending = WebAssembly.Module.imports(compiledOf(ctx))
      .filter(
        (imp) =>
          !(
            imp.kind === 'function' &&
            ((imp.module === EXTISM_NAMESPACE && Object.hasOwn(EXTISM_IMPORTS, imp.name)) ||
              (imp.module === ABI_NAMESPACE && Object.hasOwn(HOST_FUNCTIONS, imp.name)))
          ),
      )
      .map((imp) => `${imp.module}.${imp.name} (${imp.kind})`);
    check(
      offending.length === 0,
      `imports: expected only functions of ${EXTISM_NAMESPACE} (the ABI subset) and ${ABI_NAMESPACE}, got ${offending.join(', ')}`,
      { offending },
    );
  },
};
