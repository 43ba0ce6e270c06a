/**
 * The mcp0.storage@1 role suite: the contract of plugins/storage/README.md, run against the plugin
 * under test through a real kernel over an SDK memory store as the blocks provider. Each case uses
 * its own fresh kernel and store, so one failure cannot hide or cause another.
 */
import { ROLE_NAMES } from '@mcp0/abi';
import type { Suite } from '../../../runner/case.js';
import type { PluginSubject } from '../../../runner/subject.js';
import type { StorageContext } from './common.js';
import { corrupted, concurrent } from './integrity.js';
import { isolation, limits, listing, roundTrip } from './keyspace.js';
import { diffApply, expectAndRoots, gc, history, snapshots } from './versions.js';
import { exportsCase } from '../exports.js';

/**
 * The role id.
 * @example
 * registerRoleSuite(STORAGE_ROLE, mySuite) // replaces the standard suite
 */
export const STORAGE_ROLE = ROLE_NAMES.storage;

/**
 * The storage role suite.
 * @example
 * const results = await runSuite(storageSuite, subject)
 */
export const storageSuite: Suite<PluginSubject, StorageContext> = {
  name: `role ${STORAGE_ROLE}`,
  setup: async (subject) => ({ subject }),
  cases: [exportsCase('storage'), roundTrip, listing, snapshots, diffApply, expectAndRoots, history, gc, limits, corrupted, concurrent, isolation],
};
