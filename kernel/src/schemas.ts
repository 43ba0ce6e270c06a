/**
 * The per-call checks of ABI 1.3's export schemas (ABI.md §2 "Schemas on exports"): a call's
 * input against its export's input schema before the module (or, for an operation, any hook)
 * sees it, and the module's output against the output schema after. The schemas were compiled
 * once when the module loaded (`exportSchemas`); here only the CBOR is decoded and checked.
 */
import { CallError, decodeCbor, type ExportSchemaChecks, type SchemaSide, type SchemaViolation } from '@mcp0/abi';

/** The value whose JSON view a schema checks: zero bytes are null, as callers read an empty output. */
function valueOf(bytes: Uint8Array): unknown {
  return bytes.length === 0 ? null : decodeCbor(bytes);
}

function refused(code: 'EINPUT' | 'EGUEST', where: string, side: SchemaSide, v: SchemaViolation, extra: Record<string, unknown>): CallError {
  const whose = side === 'input' ? 'the input breaks its input schema' : 'the output breaks its own output schema';
  return new CallError(code, `${where}: ${whose} at ${v.pointer || '/'}: expected ${v.expected}, got ${v.got}`, {
    side,
    reason: 'schema',
    pointer: v.pointer,
    expected: v.expected,
    got: v.got,
    ...extra,
  });
}

/**
 * Throws `EINPUT` unless `input` is CBOR whose JSON view fits the export's input schema, naming
 * the JSON Pointer, what the schema expected and what came. A no-op for an export without one.
 * @example
 * checkInputSchema(module.schemaChecks('add'), 'acme.counter/add', encodeCbor({ by: 'one' })) // throws EINPUT at /by
 */
export function checkInputSchema(checks: ExportSchemaChecks | undefined, where: string, input: Uint8Array, details: Record<string, unknown> = {}): void {
  if (checks?.input === undefined) return;
  let value: unknown;
  try {
    value = valueOf(input);
  } catch (e) {
    throw new CallError('EINPUT', `${where}: the input is not one CBOR value, which its input schema needs: ${(e as Error).message}`, {
      side: 'input',
      reason: 'schema',
      ...details,
    });
  }
  const v = checks.input.check(value);
  if (v !== undefined) throw refused('EINPUT', where, 'input', v, details);
}

/**
 * Throws `EGUEST` unless `output` is CBOR whose JSON view fits the export's output schema. The
 * module signed that promise, so a broken one is the module's fault, not the caller's (EINPUT)
 * nor the host's (EINTERNAL). `cost` is what the call used, for the failed operation's bill.
 * @example
 * checkOutputSchema(module.schemaChecks('add'), 'acme.counter/add', output, 3)
 */
export function checkOutputSchema(
  checks: ExportSchemaChecks | undefined,
  where: string,
  output: Uint8Array,
  cost: number,
  details: Record<string, unknown> = {},
): void {
  if (checks?.output === undefined) return;
  let value: unknown;
  try {
    value = valueOf(output);
  } catch (e) {
    throw new CallError('EGUEST', `${where}: the output is not one CBOR value, which its own output schema needs: ${(e as Error).message}`, {
      side: 'output',
      reason: 'schema',
      cost,
      ...details,
    });
  }
  const v = checks.output.check(value);
  if (v !== undefined) throw refused('EGUEST', where, 'output', v, { cost, ...details });
}
