/**
 * The campaign's summary as text: modules generated and loaded, calls, outcomes by code, host
 * crashes by class with a reproducing seed and module, and the RSS figures against the target.
 */
import type { CampaignReport } from './campaign.js';

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * The summary printed at the end of `npm run fuzz`.
 * @example
 * process.stdout.write(formatSummary(report))
 */
export function formatSummary(r: CampaignReport): string {
  const lines: string[] = [];
  const m = r.modules;
  const what = r.generators.includes('replay') ? `replay of ${m.generated} saved modules` : `seeds ${r.seed}..${m.lastSeed ?? r.seed}`;
  lines.push(
    `fuzz campaign: ${what}, ${r.seconds} s, tiers ${r.tiers.join(', ')}, generators ${r.generators.join(', ')}, limits ${r.limits.memoryPages} pages / ${r.limits.timeoutMs} ms`,
  );
  if (r.wasmTools) lines.push(`  wasm-tools: ${r.wasmTools}`);
  lines.push(
    `  modules generated: ${count(m.generated)} (${
      Object.entries(m.byGenerator)
        .map(([g, n]) => `${g} ${count(n)}`)
        .join(', ') || 'none'
    })${m.skipped ? `, ${m.skipped} seeds smith could not use` : ''}${m.packedAbnormally ? `, ${m.packedAbnormally} unsigned or altered after signing` : ''}`,
  );
  lines.push(
    `  modules loaded: ${Object.entries(m.loaded)
      .map(([t, n]) => `${t} ${count(n)}`)
      .join(', ')}`,
  );
  lines.push(`  calls made: ${count(r.calls)}; child restarts: ${r.childRestarts}; worst event-loop delay seen by the child: ${r.maxLagMs} ms`);
  const byPhase = new Map<string, [string, number][]>();
  for (const [key, n] of Object.entries(r.outcomes).sort(([a], [b]) => a.localeCompare(b))) {
    const [phase, code] = key.split(':') as [string, string];
    byPhase.set(phase, [...(byPhase.get(phase) ?? []), [code, n]]);
  }
  lines.push('  outcomes:');
  for (const [phase, codes] of byPhase)
    lines.push(
      `    ${phase.padEnd(7)} ${codes
        .sort((a, b) => b[1] - a[1])
        .map(([c, n]) => `${c} ${count(n)}`)
        .join(', ')}`,
    );
  lines.push(
    `  host crashes: ${r.crashes.total} (target 0)${r.crashes.total ? `, ${r.crashes.classes.length} classes, modules saved under ${r.crashes.folder}` : ''}`,
  );
  for (const c of r.crashes.classes) {
    lines.push(`    [${c.id}] ×${c.count}: ${c.signature}`);
    lines.push(
      `        e.g. seed ${c.example.seed}${c.example.export ? `, export ${c.example.export}` : ''}${c.example.input ? `, input ${c.example.input}` : ''}: ${c.example.message.split('\n')[0]!.slice(0, 240)}`,
    );
    lines.push(`        seeds ${c.seeds.join(', ')}; modules in ${c.folder}`);
  }
  if (r.internalErrors.total > 0) {
    lines.push(
      `  EINTERNAL answers: ${r.internalErrors.total} (typed, so not host crashes; the code means a host-side fault, though a broken guest can report it of itself), ${r.internalErrors.classes.length} classes:`,
    );
    for (const c of r.internalErrors.classes)
      lines.push(`    [${c.id}] ×${c.count}: ${c.signature}; seeds ${c.seeds.slice(0, 5).join(', ')}; modules in ${c.folder}`);
  }
  if (r.rss) {
    const x = r.rss;
    const verdict = x.withinTarget === undefined ? 'too few calls to judge' : x.withinTarget ? 'within target' : 'OVER TARGET';
    lines.push(
      `  RSS run: ${count(x.calls)} hostile calls, sampled every ${x.sampleEvery}: ${x.at1kMb ?? '?'} MiB after 1,000 calls, ${x.atEndMb ?? '?'} MiB after ${count(x.calls)}` +
        `${x.growth === undefined ? '' : ` (${x.growth >= 0 ? '+' : ''}${(x.growth * 100).toFixed(1)}%, trend ${x.slopeMbPer1k} MiB per 1,000 calls)`}: ${verdict}`,
    );
    lines.push(
      `    RSS run outcomes: ${Object.entries(x.outcomes)
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k} ${count(n)}`)
        .join(', ')}${x.crashes ? `; ${x.crashes} host crashes` : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
