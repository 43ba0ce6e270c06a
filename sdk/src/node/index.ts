/** The node and its agents: what an application embeds to run agents on a distribution. */
export { Node } from './node.js';
export { Agents } from './agents.js';
export { ROLES } from './roles.js';
export { DEFAULT_AGENT_CEILINGS, type NodeOptions, type NodeDistribution, type SpawnOptions } from './options.js';
export { type AgentEvent, type OperationEvent, type NodeEvents, type RefusedAgent } from './events.js';
export { Agent, type AgentStatus, type ExecuteOptions, type RecoverOptions } from './agent.js';
export { OPERATION_WRITE_BUDGET } from './agent-state.js';
export { type NodeMetricsJson } from './metrics.js';
export { collectNodeGarbage, type NodeGcOptions } from './gc.js';
export { AgentRecords, NODE_NAMESPACE, MAX_SNAPSHOTS, type AgentRecord, type SnapshotRecord } from './records.js';
export { DEFAULT_CHECKPOINT_INTERVAL_MS } from './checkpoints.js';
