/**
 * Runs the budgets in a fresh child process, so that the CPU and RSS measured are the node's and
 * the workload's alone: a caller that has just compiled agents or run the conformance suites holds
 * a heap of its own (about 190 MB more RSS was measured that way), which the gates must not charge
 * to the distribution.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CallError, UsageError, isErrorCode, type PublicKey } from '@mcp0/abi';
import type { LoadedDistribution } from '@mcp0/sdk';
import type { BudgetReport } from '../report/types.js';

/**
 * The child's entry point. Under the TypeScript sources (tests) it is the built file in dist/,
 * since a plain `node` child cannot run TypeScript.
 */
function childEntry(): string {
  const here = import.meta.url;
  const path = fileURLToPath(new URL(here.endsWith('.ts') ? '../../dist/budgets/child.js' : './child.js', here));
  if (!existsSync(path))
    throw new UsageError('EUSAGE', `the budgets child ${path} is missing: expected a built conformance package (run npx tsc -b)`, { path });
  return path;
}

/**
 * Forks the child, hands it the distribution and the options, relays its progress and returns its
 * report; its typed errors come back with their codes.
 * @example
 * const budgets = await inChildProcess(distribution, { quick: true, agents, trust }, console.error)
 */
export function inChildProcess(
  distribution: LoadedDistribution,
  options: { quick?: boolean; durationS?: number; coreFactor?: number; agents: { name: string; bytes: Uint8Array }[]; trust: PublicKey[]; store?: string },
  progress: (text: string) => void,
): Promise<BudgetReport> {
  const entry = childEntry();
  return new Promise((resolve, reject) => {
    const child = fork(entry, [], { serialization: 'advanced', execArgv: ['--no-warnings'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    let settled = false;
    child.on('message', (m: { progress?: string; report?: BudgetReport; error?: { code: string; message: string; details: Record<string, unknown> } }) => {
      if (m.progress !== undefined) progress(m.progress);
      if (m.report) {
        settled = true;
        resolve(m.report);
      }
      if (m.error) {
        settled = true;
        const code = isErrorCode(m.error.code) ? m.error.code : 'EINTERNAL';
        reject(code === 'EUSAGE' ? new UsageError(code, m.error.message, m.error.details) : new CallError(code, m.error.message, m.error.details));
      }
    });
    child.on('error', (e) => {
      if (!settled) reject(new CallError('EINTERNAL', `the budgets child process failed to run: ${e.message}`));
      settled = true;
    });
    child.on('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      reject(
        new CallError(
          'EINTERNAL',
          `the budgets child process exited (${signal ?? `code ${code}`}) before reporting; expected a report. Its stderr ends: ${stderr.trim().slice(-500) || '(empty)'}`,
          { code, signal },
        ),
      );
    });
    progress(`budgets: in a child process (pid ${child.pid}), so only the node and its workload are measured`);
    child.send({ distribution, options });
  });
}
