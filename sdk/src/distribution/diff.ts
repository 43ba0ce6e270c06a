/**
 * What changed between two versions of a distribution document, in words a person acts on:
 * "plugin removed: mcp0.trace", "grant widened on mcp0.storage: blocks → blocks, net:*",
 * "pipeline changed: admit [a] → [b]". Used by verify to compare a document with the copy its
 * assembler signed.
 */
import canonicalize from 'canonicalize';
import { grantChange } from './grants.js';
import type { DistributionDocument, PluginEntry } from './types.js';

type Doc = Omit<DistributionDocument, 'signature'>;

const short = (sha: string) => `${sha.slice(0, 12)}…`;
const list = (xs: readonly string[]) => `[${xs.join(', ')}]`;
const grantsText = (xs: readonly string[]) => (xs.length === 0 ? '(none)' : xs.join(', '));
const json = (v: unknown) => {
  const text = canonicalize(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
};
const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

function pluginChanges(before: PluginEntry, after: PluginEntry): string[] {
  const name = after.name;
  const out: string[] = [];
  if (before.sha256 !== after.sha256) out.push(`plugin swapped: ${name} sha256 ${short(before.sha256)} → ${short(after.sha256)}`);
  if (before.file !== after.file) out.push(`plugin file changed on ${name}: ${before.file} → ${after.file}`);
  if (before.version !== after.version) out.push(`plugin version changed on ${name}: ${before.version} → ${after.version}`);
  if (!same([...before.grants].sort(), [...after.grants].sort())) {
    const how = grantChange(before.grants, after.grants);
    const verb = how === 'same' ? 'grants rewritten' : how === 'changed' ? 'grants changed' : `grant ${how}`;
    out.push(`${verb} on ${name}: ${grantsText(before.grants)} → ${grantsText(after.grants)}`);
  }
  if (before.isolation !== after.isolation) out.push(`isolation changed on ${name}: ${before.isolation} → ${after.isolation}`);
  if (before.preempt !== after.preempt) out.push(`preempt changed on ${name}: ${before.preempt ?? 'default'} → ${after.preempt ?? 'default'}`);
  if (canonicalize(before.config) !== canonicalize(after.config)) out.push(`config changed on ${name}: ${json(before.config)} → ${json(after.config)}`);
  return out;
}

/**
 * Every difference between `before` and `after`, one line each; empty when they are equal
 * (signatures ignored).
 * @example
 * diffDistributions(signedCopy, current) // ['plugin removed: mcp0.trace', 'pipeline changed: observe [mcp0.trace] → []']
 */
export function diffDistributions(before: Doc, after: Doc): string[] {
  const out: string[] = [];
  for (const field of ['name', 'version', 'abi'] as const) {
    if (before[field] !== after[field]) out.push(`${field} changed: ${before[field]} → ${after[field]}`);
  }
  if (before.assembler.kid !== after.assembler.kid) out.push(`assembler changed: ${before.assembler.kid} → ${after.assembler.kid}`);

  const oldKids = before.publishers.map((k) => k.kid);
  const newKids = after.publishers.map((k) => k.kid);
  for (const kid of newKids.filter((k) => !oldKids.includes(k))) out.push(`publisher added: ${kid}`);
  for (const kid of oldKids.filter((k) => !newKids.includes(k))) out.push(`publisher removed: ${kid}`);

  const oldNames = before.plugins.map((p) => p.name);
  const newNames = after.plugins.map((p) => p.name);
  for (const p of before.plugins.filter((x) => !newNames.includes(x.name))) out.push(`plugin removed: ${p.name}`);
  for (const p of after.plugins.filter((x) => !oldNames.includes(x.name)))
    out.push(`plugin added: ${p.name}@${p.version} (${p.file}, sha256 ${short(p.sha256)}, grants ${grantsText(p.grants)})`);
  for (const p of after.plugins) {
    const old = before.plugins.find((x) => x.name === p.name);
    if (old) out.push(...pluginChanges(old, p));
  }
  const kept = oldNames.filter((n) => newNames.includes(n));
  const keptNow = newNames.filter((n) => oldNames.includes(n));
  if (!same(kept, keptNow)) out.push(`plugin load order changed: ${list(kept)} → ${list(keptNow)}`);

  for (const hook of ['admit', 'observe'] as const) {
    if (!same(before.pipeline[hook], after.pipeline[hook]))
      out.push(`pipeline changed: ${hook} ${list(before.pipeline[hook])} → ${list(after.pipeline[hook])}`);
  }
  for (const budget of ['cpuPercent', 'rssPeakMB', 'rssAvgMB'] as const) {
    if (before.budgets[budget] !== after.budgets[budget]) out.push(`budget changed: ${budget} ${before.budgets[budget]} → ${after.budgets[budget]}`);
  }
  // Anything else the schema allows but the lines above do not name (a safety net, never silent).
  if (out.length === 0 && canonicalize(before) !== canonicalize(after)) out.push('the document changed in a way not itemised above (compare the signed copy)');
  return out;
}
