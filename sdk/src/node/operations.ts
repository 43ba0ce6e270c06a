/**
 * What an `Agent` handle asks of its node (the AgentDriver): running an operation through the
 * pipeline with its writes committed together, pausing and resuming, snapshots, recovery to a root
 * of the agent's own history, and termination. Each runs in the agent's queue, and only while this
 * node still holds the agent's lease.
 */
import { CallError, DeniedError, UsageError, decodeCbor, encodeCbor, type CborValue } from '@mcp0/abi';
import { EMPTY_TREE_ID } from '../archive/format.js';
import { checkCutoff, cutoffError, cutoffReached } from '@mcp0/kernel';
import type { AgentDriver, ExecuteOptions, RecoverOptions } from './agent.js';
import type { AgentHost } from './host.js';
import { MAX_SNAPSHOTS, type SnapshotRecord } from './records.js';

const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * The driver a node hands its Agent handles.
 * @example
 * const agent = new Agent(id, agentDriver(host))
 */
export function agentDriver(host: AgentHost): AgentDriver {
  return {
    record: (id) => host.live.get(id),
    execute: (id, intent, input, options) => execute(host, id, intent, input, options),
    pause: (id) => setState(host, id, 'paused'),
    resume: (id) => setState(host, id, 'running'),
    snapshot: (id) => snapshot(host, id),
    recover: (id, snap, options) => recover(host, id, snap, options),
    terminate: (id) => terminate(host, id),
    stateRoot: (id) => stateRoot(host, id),
  };
}

async function execute(host: AgentHost, id: string, intent: string, input: CborValue, options: ExecuteOptions = {}): Promise<CborValue> {
  const bytes = encodeCbor(input);
  const cutoff = checkCutoff(options);
  const what = () => `${host.live.get(id)?.name ?? id}/${intent}`;
  // began: the operation started, so its caller awaits it; abandoned: its caller was told it was
  // cut, so it must never start (a timer may fire a hair before Date.now() reaches the deadline).
  let began = false;
  let abandoned: CallError | undefined;
  const turn = host.serial(id, async () => {
    const late = abandoned ?? cutoffReached(cutoff, what());
    if (late) {
      host.metrics.operation(id, 'error', late.code);
      throw late;
    }
    began = true;
    const r = host.require(id);
    if (r.state === 'paused') throw new CallError('ESTATE', `agent ${r.name} (${id}) is paused`, { agent: id, state: r.state });
    await host.holding(id);
    try {
      await host.state.begin(id);
      const { output } = await withEmits(host, id, options.onEmit, () =>
        host.kernel.execute({
          agent: id,
          intent,
          input: bytes,
          ...cutoff,
          // The kernel checks it (32 bytes, else EUSAGE) and gives it to every hook as op.cause.
          cause: options.cause,
        }),
      );
      // Fencing: a node whose lease was taken over meanwhile must not write; and the commit
      // itself lands only on the head version the operation began at (ECONFLICT otherwise).
      if (host.state.pending(id) > 0) await host.holding(id);
      await host.state.commit(id);
      host.metrics.operation(id, 'ok');
      host.events.emit('operation', { agent: id, intent, status: 'ok' });
      return output.length === 0 ? null : decodeCbor(output);
    } catch (e) {
      host.state.discard(id);
      if (e instanceof DeniedError) {
        const by = typeof e.details.by === 'string' ? e.details.by : 'unknown';
        host.metrics.operation(id, 'denied', by);
        host.events.emit('operation', { agent: id, intent, status: 'denied', code: e.code, reason: String(e.details.reason ?? e.message) });
      } else {
        const code = e instanceof CallError ? e.code : 'EINTERNAL';
        host.metrics.operation(id, 'error', code);
        host.events.emit('operation', { agent: id, intent, status: 'error', code });
      }
      throw e;
    }
  });
  if (cutoff === undefined) return turn;
  // Waiting for the agent's earlier operations: the caller hears of its cutoff when it comes, and
  // the turn, once reached, finds it cut and does nothing. Once begun, the operation is awaited.
  return new Promise<CborValue>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = () => {
      if (timer !== undefined) clearTimeout(timer);
      cutoff.signal?.removeEventListener('abort', onCut);
    };
    const onCut = () => {
      if (began) return;
      settle();
      abandoned = cutoffError(cutoff.signal?.aborted ? 'cancelled' : 'deadline', what());
      reject(abandoned);
    };
    cutoff.signal?.addEventListener('abort', onCut, { once: true });
    if (cutoff.deadline !== undefined) timer = setTimeout(onCut, Math.max(0, cutoff.deadline - Date.now()));
    turn.then(
      (v) => (settle(), resolve(v)),
      (e) => (settle(), reject(e)),
    );
  });
}

/**
 * Runs `work` with the agent's emits passed to `onEmit`. An agent runs one operation at a time
 * (the node's per-agent queue), so every emit of its module meanwhile belongs to this operation.
 */
async function withEmits<T>(host: AgentHost, id: string, onEmit: ExecuteOptions['onEmit'], work: () => Promise<T>): Promise<T> {
  if (onEmit === undefined) return work();
  const listener = (e: { module: string; topic: string; data: CborValue }) => {
    if (e.module !== id) return;
    try {
      onEmit(e.topic, e.data);
    } catch {
      // The caller's listener is not the agent's business: its failure must not fail the operation.
    }
  };
  host.kernel.on('emit', listener);
  try {
    return await work();
  } finally {
    host.kernel.off('emit', listener);
  }
}

async function setState(host: AgentHost, id: string, state: 'running' | 'paused'): Promise<void> {
  return host.serial(id, async () => {
    const r = host.require(id);
    if (r.state === state) return;
    await host.holding(id);
    const module = host.kernel.module(id);
    if (state === 'paused') module.pause();
    else module.resume();
    r.state = state;
    await host.records.save(r);
    host.event(state === 'paused' ? 'paused' : 'resumed', r);
  });
}

async function snapshot(host: AgentHost, id: string): Promise<SnapshotRecord> {
  return host.serial(id, async () => {
    const r = host.require(id);
    await host.holding(id);
    const out = await host.roles.storage.snapshot({ agent: id });
    const snap = { id: toHex(out.root), at: Date.now() };
    r.snapshots = [...r.snapshots, snap].slice(-MAX_SNAPSHOTS);
    await host.records.save(r);
    host.event('snapshot', r, { snapshot: snap.id });
    return snap;
  });
}

/**
 * Restores a root of the agent's own history: a recorded snapshot, a root among its newest 1,000
 * versions (the most the storage role's `history` answers), or the empty state. Any other root
 * (another agent's snapshot, say) would graft foreign state, and through history its blocks, into
 * this agent: EPERM unless `force`.
 */
async function recover(host: AgentHost, id: string, snapshotId: string, options: RecoverOptions = {}): Promise<void> {
  if (!/^[0-9a-f]{64}$/.test(snapshotId)) throw new UsageError('EUSAGE', `snapshot id: expected 64 hex digits, got ${JSON.stringify(snapshotId)}`);
  return host.serial(id, async () => {
    const r = host.require(id);
    await host.holding(id);
    let ours = r.snapshots.some((s) => s.id === snapshotId) || snapshotId === toHex(EMPTY_TREE_ID);
    if (!ours) {
      const { roots } = await host.roles.storage.history({ agent: id, limit: 1000 });
      ours = roots.some((root) => toHex(root) === snapshotId);
    }
    if (!ours && options.force !== true) {
      const [stored] = await host.store.blocks.has([Buffer.from(snapshotId, 'hex')]);
      if (!stored)
        throw new CallError('ENOTFOUND', `agent ${r.name} (${id}): no snapshot ${snapshotId}: it is not in its history, nor in the store`, {
          agent: id,
          snapshot: snapshotId,
        });
      throw new CallError(
        'EPERM',
        `agent ${r.name} (${id}): ${snapshotId} is not in its history (neither a recorded snapshot nor among its newest 1,000 versions); recover with force to restore it anyway`,
        { agent: id, snapshot: snapshotId, reason: 'not-in-history' },
      );
    }
    await host.roles.storage.restore({ agent: id, root: Buffer.from(snapshotId, 'hex') });
    host.event('recovered', r, { snapshot: snapshotId, ...(ours ? {} : { reason: 'forced: the root is not in its history' }) });
  });
}

async function terminate(host: AgentHost, id: string): Promise<void> {
  return host.serial(id, async () => {
    const r = host.require(id);
    await host.holding(id);
    await host.kernel.unload(id);
    if (r.agreement !== null && host.hasRole('agreements')) await host.roles.agreements.unbind({ agent: id }).catch(() => undefined);
    await host.records.remove(id);
    host.live.delete(id);
    host.publishers.delete(id);
    await host.leases.release(id).catch(() => undefined);
    host.event('terminated', r);
  });
}

async function stateRoot(host: AgentHost, id: string): Promise<string> {
  host.require(id);
  const out = await host.roles.storage.snapshot({ agent: id });
  return toHex(out.root);
}
