/**
 * Agreement templates (abi/schema/agreement-templates/*.json: free, personal, business,
 * enterprise) and making a new unsigned agreement from one, with `key=value` overrides.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, UsageError } from '../errors/index.js';
import { parseJson } from '../json/index.js';
import { hex } from '../keys/bytes.js';
import { AgreementError, validateAgreement, validateTemplate } from './document.js';
import type { Agreement, AgreementTemplate } from './types.js';

const TEMPLATE_DIR = fileURLToPath(new URL('../../schema/agreement-templates/', import.meta.url));

/**
 * The names of the shipped templates, sorted.
 * @example
 * agreementTemplates() // ['business', 'enterprise', 'free', 'personal']
 */
export function agreementTemplates(): string[] {
  return readdirSync(TEMPLATE_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/**
 * A shipped template by name, validated.
 * @example
 * readAgreementTemplate('free').quotas.callsPerWindow // 100
 */
export function readAgreementTemplate(name: string): AgreementTemplate {
  const names = agreementTemplates();
  if (!names.includes(name))
    throw new UsageError('EUSAGE', `unknown agreement template ${JSON.stringify(name)}: expected one of ${names.join(', ')}`, { expected: names, got: name });
  return validateTemplate(parseJson(readFileSync(`${TEMPLATE_DIR}${name}.json`, 'utf8')));
}

/**
 * What a new agreement needs besides its template.
 * @example
 * const opts: NewAgreementOptions = { consumer: alice.kid, provider: operator.kid, set: { 'quotas.maxConcurrent': '8' } }
 */
export interface NewAgreementOptions {
  /** The consumer's key id. */
  consumer: string;
  /** The provider's key id (not the consumer's). */
  provider: string;
  /** Default: `agr-` and 16 random hex digits. */
  id?: string;
  /** ms since the epoch; default now. */
  notBefore?: number;
  /** Overrides as dotted paths: `{'quotas.callsPerWindow': '50', 'validity.notAfter': '2027-01-01'}`. */
  set?: Record<string, string>;
}

/** Paths whose values are times: they also take ISO 8601 dates. */
const TIME_PATHS = new Set(['validity.notBefore', 'validity.notAfter']);

/**
 * Parse one override value: a time path takes ms or an ISO date; otherwise JSON when it parses
 * (numbers, arrays: `permissions.intents=["get*"]`), else the text itself.
 * @example
 * overrideValue('validity.notAfter', '2027-01-01') // 1798761600000
 */
export function overrideValue(path: string, text: string): unknown {
  if (TIME_PATHS.has(path) && !/^\d+$/.test(text)) {
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) throw new UsageError('EUSAGE', `--set ${path}: expected ms since the epoch or an ISO 8601 date, got ${JSON.stringify(text)}`);
    return ms;
  }
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function setPath(doc: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  if (parts.some((p) => p === '' || p === '__proto__' || p === 'constructor' || p === 'prototype'))
    throw new UsageError('EUSAGE', `--set: expected a dotted path such as quotas.callsPerWindow, got ${JSON.stringify(path)}`);
  let node: Record<string, unknown> = doc;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === null || typeof next !== 'object' || Array.isArray(next))
      throw new UsageError('EUSAGE', `--set ${path}: ${part} is ${describe(next)}, not an object`);
    node = next as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
}

/**
 * A new unsigned agreement from a template, validated against the schema.
 * @example
 * const doc = newAgreement('business', { consumer: alice.kid, provider: operator.kid, set: { 'quotas.maxConcurrent': '8' } })
 */
export function newAgreement(template: string, options: NewAgreementOptions): Agreement {
  const t = readAgreementTemplate(template);
  const notBefore = options.notBefore ?? Date.now();
  const doc: Record<string, unknown> = structuredClone({
    type: 'mcp0.agreement/1',
    id: options.id ?? `agr-${hex(randomBytes(8))}`,
    plan: t.plan,
    consumer: options.consumer,
    provider: options.provider,
    permissions: t.permissions,
    quotas: t.quotas,
    pricing: t.pricing,
    validity: { notBefore, notAfter: notBefore + t.durationMs },
  });
  for (const [path, text] of Object.entries(options.set ?? {})) setPath(doc, path, overrideValue(path, text));
  try {
    return validateAgreement(doc);
  } catch (e) {
    if (e instanceof AgreementError)
      throw new UsageError(e.code, `agreement from template ${template}: ${e.message}`, e.details as Record<string, unknown>, { cause: e });
    throw e;
  }
}
