/**
 * JSON Schema validators compiled on first use. Compiling a schema with ajv costs tens of
 * milliseconds; done at import time it made every program that imports the ABI or the SDK (every
 * `mcp0` command, every test file) pay for all the schemas, used or not.
 */
import { Ajv, type ValidateFunction } from 'ajv';

/**
 * A function giving the ajv validator of `schema` (strict, every error listed), compiled the first
 * time it is asked for. `refs` are schemas it refers to by `$id`.
 * @example
 * const manifestValidator = compileOnFirstUse<Manifest>(manifestSchema)
 * const validate = manifestValidator()
 * if (!validate(value)) console.log(validate.errors)
 */
export function compileOnFirstUse<T>(schema: object, refs: readonly object[] = []): () => ValidateFunction<T> {
  let compiled: ValidateFunction<T> | undefined;
  return () => {
    if (compiled === undefined) {
      const ajv = new Ajv({ allErrors: true, strict: true });
      for (const ref of refs) ajv.addSchema(ref);
      compiled = ajv.compile<T>(schema);
    }
    return compiled;
  };
}
