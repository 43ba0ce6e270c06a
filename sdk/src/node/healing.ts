/**
 * Self-healing: when the kernel marks an agent's module failed (repeated traps, timeouts, a dead
 * worker), the node restores the agent's last snapshot and loads its module again.
 */
import type { AgentHost } from './host.js';

/**
 * Restores the last snapshot and reloads the module, after the kernel marked it failed; reports
 * `healed` or `heal-failed` as an `agent` event. Queued behind the agent's other work.
 * @example
 * kernel.on('transition', (e) => e.to === 'failed' && host.live.has(e.module) && heal(host, e.module, e.reason ?? 'the module failed'))
 */
export function heal(host: AgentHost, id: string, reason: string): void {
  void host.serial(id, async () => {
    const r = host.live.get(id);
    if (!r || host.stopped) return;
    const last = r.snapshots.at(-1);
    try {
      // An agent another node took over is not healed here (its state is that node's now).
      await host.holding(id);
      await host.kernel.unload(id);
      if (last) await host.roles.storage.restore({ agent: id, root: Buffer.from(last.id, 'hex') });
      await host.load(r);
      host.metrics.heal(id);
      host.event('healed', r, { reason, ...(last ? { snapshot: last.id } : {}) });
    } catch (e) {
      host.event('heal-failed', r, { reason: `${reason}; healing failed: ${(e as Error).message}` });
    }
  });
}
