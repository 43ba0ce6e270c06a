/**
 * `mcp0 store gc [--store <uri>]`: garbage collection of a store's blocks, through the distribution's
 * storage plugin on a node opened on the store (so everything a node keeps is marked: each agent's
 * head and kept history, module, and recorded snapshots; @mcp0/sdk `collectNodeGarbage`). Progress
 * goes to stderr as the run goes; the result to stdout (one JSON object with --json).
 */
import { UsageError } from '@mcp0/abi';
import type { GcProgress, GcReport } from '@mcp0/sdk';
import { type Args, type Io, intOption, stringOption } from '../../command.js';
import { openNode } from '../node/open.js';

/** The most commits per agent the storage plugin keeps on request. */
const MAX_KEEP = 1_000_000;
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Intermediate progress lines at most this often (the end of each phase is always said). */
const PROGRESS_EVERY_MS = 1000;

/**
 * A duration in ms from `1h`, `30m`, `45s`, `500ms`, `2d`, `1.5h` or `0`.
 * @example
 * parseDuration('30m', '--grace') // 1_800_000
 */
export function parseDuration(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  const n = m ? Number(m[1]) : Number.NaN;
  if (!m || !Number.isFinite(n) || (m[2] === undefined && n !== 0)) {
    throw new UsageError('EUSAGE', `${option}: expected a duration such as 1h, 30m, 45s, 500ms, 2d or 0, got ${JSON.stringify(text)}`, { value: text });
  }
  return Math.round(n * UNITS[m[2] ?? 'ms']!);
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Runs `mcp0 store gc`; `uri` is the store. */
export async function gcCommand(args: Args, uri: string, io: Io): Promise<number> {
  const keep = intOption(args, 'keep', 1, MAX_KEEP);
  const graceText = stringOption(args, 'grace');
  const graceMs = graceText === undefined ? undefined : parseDuration(graceText, '--grace');
  const dryRun = args.values['dry-run'] === true;
  const json = args.values.json === true;
  if (graceMs === 0 && !dryRun)
    io.err('WARNING: --grace 0: blocks written while this gc runs may be swept; use it only when nothing else writes to the store\n');
  const { collectNodeGarbage } = await import('@mcp0/sdk');
  const node = await openNode({ ...args, values: { ...args.values, store: uri } }, io);
  let report: GcReport;
  try {
    let last = Date.now();
    const say = (p: GcProgress) => {
      if (p.phase === 'heads') io.err(`gc: marking: ${plural(p.agents, 'agent')}, ${plural(p.live, 'block')} live so far\n`);
      else if (p.phase === 'records') io.err(`gc: marked ${plural(p.agents, 'agent')} and the node's records: ${plural(p.live, 'block')} live\n`);
      else io.err(`gc: ${dryRun ? 'counting' : 'sweeping'}: ${plural(p.scanned, 'block')} listed, ${p.swept} ${dryRun ? 'to sweep' : 'swept'}\n`);
    };
    report = await collectNodeGarbage(node, {
      ...(keep === undefined ? {} : { keep }),
      ...(graceMs === undefined ? {} : { graceMs }),
      dryRun,
      // The end of the marking always; within a phase at most once a second.
      onProgress: (p) => {
        if (p.phase !== 'records' && Date.now() - last < PROGRESS_EVERY_MS) return;
        last = Date.now();
        say(p);
      },
    });
    say({ phase: 'sweep', agents: report.agents, live: report.live, scanned: report.scanned, swept: report.swept });
  } catch (e) {
    const partial = (e as { details?: { report?: GcReport } }).details?.report;
    if (partial) {
      for (const f of partial.failed) io.err(`gc: agent ${f.agent}: its mark failed: ${f.code}: ${f.message}\n`);
      warnings(partial, io);
      if (json) io.out(`${JSON.stringify(partial)}\n`);
    }
    throw e;
  } finally {
    await node.stop();
  }
  warnings(report, io);
  if (json) {
    io.out(`${JSON.stringify(report)}\n`);
    return 0;
  }
  const r = report;
  const cut = keep === undefined ? '' : `, at most ${keep} each (${plural(r.dropped, 'history', 'histories')} ${dryRun ? 'to cut' : 'cut'})`;
  io.out(
    [
      `gc of ${uri}${dryRun ? ' (dry run: nothing deleted, no history cut)' : ''}:`,
      `  marked ${plural(r.agents, 'agent')}: ${plural(r.commits, 'commit')} kept${cut}`,
      `  kept ${plural(r.live, 'block')}: ${r.live - r.pinned} reached by the agents' heads, ${r.pinned} more for the node's ${plural(r.records, 'agent record')} (modules, recorded snapshots); ${r.young} unmarked but written within the grace period`,
      `  ${dryRun ? 'would sweep' : 'swept'} ${plural(r.swept, 'block')} of ${r.scanned} listed (last written before ${new Date(r.cutoff).toISOString()})`,
    ].join('\n') + '\n',
  );
  return 0;
}

/** Damage and malformed records found while marking, and notes, on stderr. */
function warnings(r: GcReport, io: Io): void {
  for (const d of r.damaged) io.err(`warning: ${d.what}: block ${d.block}: ${d.message} (what is left of it was kept)\n`);
  for (const m of r.malformed) io.err(`warning: node record ${m.key} is malformed (${m.reason}): the ${plural(m.ids, 'block id')} it names were kept\n`);
  for (const n of r.notes) io.err(`note: ${n}\n`);
}
