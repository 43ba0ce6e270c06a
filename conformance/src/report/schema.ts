/**
 * The report's JSON Schema (conformance/report.schema.json, shipped with the package) and the
 * check that a value is a report: what a consumer of `--json` files runs before trusting one.
 */
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import { Mcp0Error } from '@mcp0/abi';
import type { ConformanceReport } from './types.js';

const require = createRequire(import.meta.url);

/**
 * The conformance report JSON Schema (draft-07).
 * @example
 * new Ajv().compile(reportSchema)
 */
export const reportSchema: object = require('../../report.schema.json');

/**
 * A value that is not a conformance report: EINPUT, with every problem ajv found.
 * @example
 * try { validateReport(x) } catch (e) { if (e instanceof ReportError) console.error(e.details.problems) }
 */
export class ReportError extends Mcp0Error {}

const REPORT_FORMAT_TEXT = 'a document matching report.schema.json (format mcp0.conformance/1)';
const ajv = new Ajv({ allErrors: true, strict: true });
const check = ajv.compile<ConformanceReport>(reportSchema);

/**
 * Checks `value` against the schema and returns it typed; throws ReportError (EINPUT) naming each
 * problem by its JSON pointer.
 * @example
 * const report = validateReport(JSON.parse(await readFile('report.json', 'utf8')))
 */
export function validateReport(value: unknown): ConformanceReport {
  if (check(value)) return value;
  const problems = (check.errors ?? []).map(
    (e) =>
      `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params && 'allowedValues' in e.params ? ` (${JSON.stringify(e.params.allowedValues)})` : ''}`,
  );
  throw new ReportError(
    'EINPUT',
    `not a conformance report: expected ${REPORT_FORMAT_TEXT}, got: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? `; and ${problems.length - 10} more` : ''}`,
    { problems },
  );
}
