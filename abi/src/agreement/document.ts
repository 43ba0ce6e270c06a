/**
 * Checking agreement documents on the host: the size and nesting limits a hostile document meets
 * first, then strict JSON (no member named twice), then the JSON Schema (ajv), then the rules a
 * schema cannot say. Every problem is an `EINPUT` (or `ETOOBIG`) error listing what was expected
 * and what came.
 */
import { createRequire } from 'node:module';
import type { ErrorObject } from 'ajv';
import { describe, Mcp0Error } from '../errors/index.js';
import { compileOnFirstUse, JsonError, parseJson } from '../json/index.js';
import type { Agreement, AgreementTemplate } from './types.js';

const require = createRequire(import.meta.url);
/**
 * The agreement JSON Schema, as shipped in `abi/schema/`.
 * @example
 * new Ajv().compile(agreementSchema)
 */
export const agreementSchema: object = require('../../schema/agreement.schema.json');
/**
 * The template JSON Schema, as shipped in `abi/schema/`.
 * @example
 * new Ajv().addSchema(agreementSchema).compile(agreementTemplateSchema)
 */
export const agreementTemplateSchema: object = require('../../schema/agreement-template.schema.json');

const agreementValidator = compileOnFirstUse<Agreement>(agreementSchema);
const templateValidator = compileOnFirstUse<AgreementTemplate>(agreementTemplateSchema, [agreementSchema]);

/**
 * Largest agreement document accepted (JSON text, or CBOR into the plugin).
 * @example
 * if (text.length > MAX_AGREEMENT_BYTES) refuse()
 */
export const MAX_AGREEMENT_BYTES = 64 * 1024;
/**
 * Deepest nesting a valid document has is 3 (signatures[i].party); anything past 8 is hostile.
 * @example
 * MAX_AGREEMENT_DEPTH // 8
 */
export const MAX_AGREEMENT_DEPTH = 8;

/**
 * An agreement document (or template) that is malformed (EINPUT), too big (ETOOBIG) or wrongly
 * signed (ESIGNATURE).
 * @example
 * try { verifyAgreement(doc) } catch (e) { if (e instanceof AgreementError && e.code === 'ESIGNATURE') reject() }
 */
export class AgreementError extends Mcp0Error {}

function invalid(what: string, problems: string[]): never {
  throw new AgreementError('EINPUT', `invalid ${what}: ${problems.join('; ')}`, { problems });
}

/** Depth of a JSON value, without recursion, so a hostile document cannot blow the stack. */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d > max) max = d;
    if (max > MAX_AGREEMENT_DEPTH) return max;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

function checkShape(value: unknown, what: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) invalid(what, [`expected a JSON object, got ${describe(value)}`]);
  const depth = depthOf(value);
  if (depth > MAX_AGREEMENT_DEPTH) invalid(what, [`nesting deeper than ${MAX_AGREEMENT_DEPTH} levels`]);
}

/** What the schema says of a party, in words a person can act on (ajv would only print the pattern). */
function partyProblem(path: string, value: unknown): string {
  return `${path}: expected a key id (the RFC 7638 thumbprint of the party's Ed25519 key, 43 base64url characters), got ${describe(value)}`;
}

/** One ajv error as "path what (extra)"; a party that is not a key id says so plainly. */
function schemaProblem(e: ErrorObject, value: Record<string, unknown>): string {
  const party = /^\/(consumer|provider)$/.exec(e.instancePath)?.[1];
  if (party !== undefined && e.keyword === 'pattern') return partyProblem(e.instancePath, value[party]);
  return `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`;
}

/**
 * Validate an agreement value (signed or not): schema (parties are key ids), then consumer ≠
 * provider, notBefore < notAfter and at most one signature per party. Returns it typed.
 * @example
 * const doc = validateAgreement(JSON.parse(text))
 */
export function validateAgreement(value: unknown): Agreement {
  checkShape(value, 'agreement');
  const validateDoc = agreementValidator();
  if (!validateDoc(value)) {
    invalid(
      'agreement',
      (validateDoc.errors ?? []).map((e) => schemaProblem(e, value as Record<string, unknown>)),
    );
  }
  // One key on both sides would let a single holder set any terms (a free enterprise plan) and
  // have them look agreed: an agreement is between two keys.
  if (value.consumer === value.provider)
    invalid('agreement', [
      `/provider: expected a key other than the consumer's (an agreement is between two parties), got the consumer's key id ${value.consumer}`,
    ]);
  const { notBefore, notAfter } = value.validity;
  if (notBefore >= notAfter) invalid('agreement', [`/validity: expected notBefore < notAfter, got ${notBefore} ≥ ${notAfter}`]);
  const parties = (value.signatures ?? []).map((s) => s.party);
  const twice = parties.find((p, i) => parties.indexOf(p) !== i);
  if (twice !== undefined) invalid('agreement', [`/signatures: expected at most one signature by the ${twice}, got two`]);
  return value;
}

/**
 * Parse and validate agreement JSON text, refusing oversized text before parsing it, and a member
 * named twice in one object (`EINPUT` with `details.key` and `details.path`, e.g. '/pricing/perCall').
 * @example
 * const doc = parseAgreement(readFileSync('agreement.json', 'utf8'))
 */
export function parseAgreement(text: string): Agreement {
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_AGREEMENT_BYTES)
    throw new AgreementError('ETOOBIG', `agreement: expected at most ${MAX_AGREEMENT_BYTES} bytes of JSON, got ${size}`, { size, limit: MAX_AGREEMENT_BYTES });
  let value: unknown;
  try {
    // Strict: a member named twice would let a reader see one set of terms and the signer another.
    value = parseJson(text);
  } catch (e) {
    if (!(e instanceof JsonError)) throw e;
    if (e.details.reason !== 'duplicate') invalid('agreement', [e.message]);
    const { key, path, offset } = e.details;
    throw new AgreementError('EINPUT', `invalid agreement: ${e.message}`, { problems: [e.message], key, path, offset }, { cause: e });
  }
  return validateAgreement(value);
}

/**
 * Validate a template value (abi/schema/agreement-template.schema.json).
 * @example
 * const t = validateTemplate(JSON.parse(readFileSync('free.json', 'utf8')))
 */
export function validateTemplate(value: unknown): AgreementTemplate {
  checkShape(value, 'agreement template');
  const validateTemplateDoc = templateValidator();
  if (!validateTemplateDoc(value))
    invalid(
      'agreement template',
      (validateTemplateDoc.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`),
    );
  return value;
}
