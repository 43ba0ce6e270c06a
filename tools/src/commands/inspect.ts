/** `mcp0 inspect`: what a module is, without trusting it: manifest, signers, imports, exports, sizes. */
import { readFile } from 'node:fs/promises';
import { Mcp0Error, hex, parseSections, readManifest, readSignatures, wasmsign2KeyId, type Manifest } from '@mcp0/abi';
import { type Command, positionals, stringOption } from '../command.js';
import { keyringKeys } from '../keyring.js';

const SECTION_NAMES = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start', 'element', 'code', 'data', 'datacount'];

export const inspect: Command = {
  name: 'inspect',
  summary: 'show a module: manifest, signers, imports, exports and sizes (nothing is verified)',
  usage: '<file.wasm> [--json]',
  options: {
    json: { type: 'boolean', description: 'print as JSON' },
    keyring: { type: 'string', arg: '<dir>', description: 'name signers found in this keyring by their key ids (thumbprints)' },
  },
  async run(args, io) {
    const [file] = positionals(args, this, 1);
    const bytes = new Uint8Array(await readFile(file!));
    const sections = parseSections(bytes).map((s) => ({ section: s.id === 0 ? `custom:${s.name}` : SECTION_NAMES[s.id]!, bytes: s.end - s.start }));
    let manifest: Manifest | { error: string };
    try {
      manifest = readManifest(bytes);
    } catch (e) {
      manifest = { error: e instanceof Mcp0Error ? `${e.code}: ${e.message}` : String(e) };
    }
    // Signatures carry wasmsign2's 12-byte key id; name the signer by its thumbprint when the keyring knows it.
    const known = new Map((await keyringKeys(stringOption(args, 'keyring'))).map((k) => [hex(wasmsign2KeyId(k)), k.kid]));
    let signatures: { keyId: string; signer?: string; algorithm: number; current: boolean }[] = [];
    let signatureError: string | undefined;
    try {
      signatures = readSignatures(bytes).flatMap((set) =>
        set.signatures.map((s) => ({
          keyId: s.keyId ?? 'anonymous',
          ...(s.keyId && known.has(s.keyId) ? { signer: known.get(s.keyId)! } : {}),
          algorithm: s.algorithm,
          current: set.current,
        })),
      );
    } catch (e) {
      signatureError = e instanceof Mcp0Error ? `${e.code}: ${e.message}` : String(e);
    }
    const compiled = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
    const sizes: Record<string, number> = { total: bytes.length };
    for (const s of sections) sizes[s.section] = (sizes[s.section] ?? 0) + s.bytes;
    const report = {
      file,
      size: bytes.length,
      manifest,
      /** Distinct signer key ids (wasmsign2 ids in hex: a signature does not reveal its public key). */
      signers: [...new Set(signatures.map((s) => s.signer ?? s.keyId))],
      signatures,
      ...(signatureError ? { signatureError } : {}),
      imports: WebAssembly.Module.imports(compiled).map((i) => `${i.module}.${i.name}`),
      exports: WebAssembly.Module.exports(compiled).map((e) => `${e.name} (${e.kind})`),
      sections,
      sizes,
    };
    if (args.values.json) {
      io.out(`${JSON.stringify(report, null, 2)}\n`);
      return 0;
    }
    const m = 'error' in manifest ? undefined : manifest;
    const lines = [
      `${file}: ${bytes.length} bytes`,
      m ? `module:       ${m.name}@${m.version} (${m.kind}, abi ${m.abi})` : `manifest:     invalid: ${(manifest as { error: string }).error}`,
      ...(m
        ? [
            `provides:     ${(m.provides ?? []).join(', ') || '-'}`,
            `exports:      ${m.exports.map((e) => e.name).join(', ') || '-'}`,
            `hooks:        ${(m.hooks ?? []).join(', ') || '-'}`,
            `capabilities: ${(m.capabilities ?? []).map((c) => `${c.name}${c.scope ? JSON.stringify(c.scope) : ''}${c.optional ? '?' : ''}`).join(', ') || '-'}`,
            `limits:       ${JSON.stringify(m.limits ?? {})}`,
          ]
        : []),
      `signatures:   ${signatureError ? `invalid: ${signatureError}` : signatures.length === 0 ? 'none (unsigned)' : signatures.map((s) => `${s.signer ?? `${s.keyId} (wasmsign2 key id, not in the keyring)`}${s.current ? '' : ' (STALE: module changed since)'}`).join(', ')}`,
      `imports:      ${report.imports.join(', ') || '-'}`,
      `wasm exports: ${report.exports.join(', ')}`,
      `sections:     ${sections.map((s) => `${s.section} ${s.bytes}`).join(', ')}`,
    ];
    io.out(`${lines.join('\n')}\n`);
    return 0;
  },
};
