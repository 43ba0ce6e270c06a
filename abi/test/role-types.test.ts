// The role types are generated from the role schemas: a schema changed without regenerating them
// (or a hand edit to a generated file) fails here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generate, OUT, ROLES } from '../scripts/role-types.mjs';

describe('abi/src/roles/generated', () => {
  it.each(ROLES as string[])('%s.ts is what abi/scripts/role-types.mjs makes of its schema', async (role) => {
    expect(readFileSync(join(OUT as string, `${role}.ts`), 'utf8')).toBe(await generate(role));
  });
});
