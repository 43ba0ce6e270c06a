// The first case of every role suite: a manifest that leaves out an export its role's contract
// requires fails, naming the export; optional exports may be left out.
import { roleExports } from '@mcp0/abi';
import { describe, expect, it } from 'vitest';
import { exportsCase } from './exports.js';

/** A subject whose manifest lists these exports: all the case reads. */
const listing = (names: readonly string[]) => ({ subject: { manifest: { exports: names.map((name) => ({ name, description: '' })) } } });

describe('exportsCase', () => {
  it('passes a manifest with every required export, optional ones left out', async () => {
    await exportsCase('trace').run(listing(roleExports('trace', { required: true })));
    await exportsCase('agreements').run(listing([...roleExports('agreements'), 'extra']));
  });

  it('fails a manifest that leaves one out, naming it and what the manifest lists', async () => {
    const without = roleExports('agreements').filter((e) => e !== 'binding');
    await expect(exportsCase('agreements').run(listing(without))).rejects.toThrow(
      `mcp0.agreements@1 requires the exports binding: the manifest lists ${without.join(', ')}`,
    );
    await expect(exportsCase('storage').run(listing([]))).rejects.toThrow(/requires the exports get, put, delete, .*: the manifest lists none$/);
  });
});
