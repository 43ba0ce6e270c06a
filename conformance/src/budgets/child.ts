/**
 * The budgets child process: receives a distribution and the run's options from its parent over
 * IPC (structured clone), runs the reference workload here, in a process that holds nothing else,
 * and sends back progress lines and the report, or the error with its code.
 */
import { Mcp0Error, type PublicKey } from '@mcp0/abi';
import type { LoadedDistribution } from '@mcp0/sdk';
import { runBudgets } from './run.js';

/** What the parent sends. */
interface Request {
  distribution: LoadedDistribution;
  options: { quick?: boolean; durationS?: number; coreFactor?: number; agents: { name: string; bytes: Uint8Array }[]; trust: PublicKey[]; store?: string };
}

process.once('message', (message: Request) => {
  const send = (m: unknown) => new Promise<void>((resolve) => process.send!(m, () => resolve()));
  runBudgets(message.distribution, { ...message.options, isolate: false, onProgress: (text) => void send({ progress: text }) })
    .then((report) => send({ report }))
    .catch((e: unknown) =>
      send({
        error:
          e instanceof Mcp0Error
            ? { code: e.code, message: e.message, details: e.details }
            : { code: 'EINTERNAL', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e), details: {} },
      }),
    )
    .finally(() => process.disconnect());
});
