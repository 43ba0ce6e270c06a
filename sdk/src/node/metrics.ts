/**
 * A node's metrics: operations, denials, errors and self-healing per agent, the agents by state,
 * and the kernel's per-module metering, as one JSON object and as Prometheus text (prom-client, on a
 * registry of the node's own so two nodes in one process never mix their figures).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Kernel, ModuleMetrics } from '@mcp0/kernel';

/**
 * `node.metrics()`.
 * @example
 * const m: NodeMetricsJson = node.metrics()
 * console.log(m.operations.ok, m.denials.by['mcp0.agreements'] ?? 0, m.agents.running)
 */
export interface NodeMetricsJson {
  operations: { total: number; ok: number; error: number };
  denials: { total: number; by: Record<string, number> };
  errors: Record<string, number>;
  heals: number;
  agents: { running: number; paused: number };
  modules: Record<string, ModuleMetrics & { state: string; tier: string }>;
  process: { rssBytes: number; heapUsedBytes: number; cpuUserUs: number; cpuSystemUs: number };
}

/**
 * Counts what the node does.
 * @example
 * const m = new NodeMetrics(kernel, () => ({ running: 2, paused: 0 }))
 * m.operation('agent-1', 'ok'); await m.text()
 */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly #kernel: Kernel;
  readonly #agents: () => { running: number; paused: number };
  readonly #ops = { total: 0, ok: 0, error: 0 };
  readonly #denials = new Map<string, number>();
  readonly #errors = new Map<string, number>();
  #heals = 0;
  readonly #opsCounter: Counter<'agent' | 'status'>;
  readonly #denialCounter: Counter<'agent' | 'by'>;
  readonly #errorCounter: Counter<'agent' | 'code'>;
  readonly #healCounter: Counter<'agent'>;

  constructor(kernel: Kernel, agents: () => { running: number; paused: number }) {
    this.#kernel = kernel;
    this.#agents = agents;
    const registers = [this.registry];
    this.#opsCounter = new Counter({
      name: 'mcp0_operations_total',
      help: 'Operations executed, by agent and status (ok, error, denied).',
      labelNames: ['agent', 'status'],
      registers,
    });
    this.#denialCounter = new Counter({
      name: 'mcp0_denials_total',
      help: 'Operations an admit hook denied, by agent and hook module.',
      labelNames: ['agent', 'by'],
      registers,
    });
    this.#errorCounter = new Counter({
      name: 'mcp0_operation_errors_total',
      help: 'Failed operations, by agent and error code.',
      labelNames: ['agent', 'code'],
      registers,
    });
    this.#healCounter = new Counter({
      name: 'mcp0_agent_heals_total',
      help: 'Agents restored from their last snapshot after repeated failures.',
      labelNames: ['agent'],
      registers,
    });
    const self = this;
    new Gauge({
      name: 'mcp0_agents',
      help: 'Agents on the node, by state.',
      labelNames: ['state'],
      registers,
      collect() {
        const a = self.#agents();
        this.set({ state: 'running' }, a.running);
        this.set({ state: 'paused' }, a.paused);
      },
    });
    const perModule = (name: string, help: string, pick: (m: ModuleMetrics) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['module'],
        registers,
        collect() {
          for (const [module, m] of Object.entries(self.#kernel.metrics())) this.set({ module }, pick(m));
        },
      });
    perModule('mcp0_module_calls', 'Calls per module since it was loaded.', (m) => m.calls);
    perModule('mcp0_module_errors', 'Failed calls per module since it was loaded.', (m) => m.errors);
    perModule('mcp0_module_cost_units', 'Cost units per module since it was loaded.', (m) => m.costUnits);
    perModule('mcp0_module_wall_p99_seconds', 'p99 wall time of a call, per module.', (m) => m.wallUs.p99 / 1e6);
    perModule('mcp0_module_restarts', 'Instance replacements and restarts per module.', (m) => m.restarts);
    collectDefaultMetrics({ register: this.registry, prefix: 'mcp0_' });
  }

  /**
   * One operation's result: `ok`, `denied` (with the hook that denied) or an error code.
   * @example
   * metrics.operation('agent-1', 'denied', 'mcp0.agreements')
   * metrics.operation('agent-1', 'error', 'ETIMEOUT')
   */
  operation(agent: string, status: 'ok' | 'denied' | 'error', detail?: string): void {
    this.#ops.total++;
    this.#opsCounter.inc({ agent, status });
    if (status === 'ok') {
      this.#ops.ok++;
    } else if (status === 'denied') {
      const by = detail ?? 'unknown';
      this.#denials.set(by, (this.#denials.get(by) ?? 0) + 1);
      this.#denialCounter.inc({ agent, by });
    } else {
      this.#ops.error++;
      const code = detail ?? 'EINTERNAL';
      this.#errors.set(code, (this.#errors.get(code) ?? 0) + 1);
      this.#errorCounter.inc({ agent, code });
    }
  }

  /**
   * Counts one self-healing of `agent` (its last snapshot restored and its module reloaded).
   * @example
   * metrics.heal('agent-1')
   */
  heal(agent: string): void {
    this.#heals++;
    this.#healCounter.inc({ agent });
  }

  /**
   * The counters, the agents by state, the per-module metering and process figures: what `node.metrics()` returns.
   * @example
   * const { operations, heals, process } = metrics.json()
   */
  json(): NodeMetricsJson {
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    return {
      operations: { ...this.#ops },
      denials: { total: [...this.#denials.values()].reduce((a, b) => a + b, 0), by: Object.fromEntries(this.#denials) },
      errors: Object.fromEntries(this.#errors),
      heals: this.#heals,
      agents: this.#agents(),
      modules: this.#kernel.metrics(),
      process: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, cpuUserUs: cpu.user, cpuSystemUs: cpu.system },
    };
  }

  /**
   * The Prometheus text exposition format.
   * @example
   * res.end(await metrics.text())
   */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
