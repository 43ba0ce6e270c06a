/**
 * The case every role suite starts with: the plugin's manifest lists every export its role's
 * contract requires (abi/ROLES.md), so a node calling any of them finds it. What each answers is
 * checked by the other cases, through `caller`, against the same contract.
 */
import { ROLE_NAMES, roleExports, type RoleName } from '@mcp0/abi';
import { CaseFailure, type Case } from '../../runner/case.js';
import type { PluginSubject } from '../../runner/subject.js';

/**
 * The exports case of `role`'s suite.
 * @example
 * const suite = { name: 'role mcp0.trace@1', setup, cases: [exportsCase('trace'), …] }
 */
export function exportsCase(role: RoleName): Case<{ subject: { manifest: Pick<PluginSubject['manifest'], 'exports'> } }> {
  return {
    name: "the manifest lists every export of the role's contract",
    async run({ subject }) {
      const listed = new Set(subject.manifest.exports.map((e) => e.name));
      const missing = roleExports(role, { required: true }).filter((e) => !listed.has(e));
      if (missing.length > 0)
        throw new CaseFailure(`${ROLE_NAMES[role]} requires the exports ${missing.join(', ')}: the manifest lists ${[...listed].join(', ') || 'none'}`, {
          missing,
        });
    },
  };
}
