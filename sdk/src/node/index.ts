/** The node and its agents: what an application embeds to run agents on a distribution. */
export { Node, Agents, ROLES, DEFAULT_AGENT_CEILINGS, type NodeOptions, type NodeDistribution, type SpawnOptions, type AgentEvent, type OperationEvent, type NodeEvents } from './node.js';
export { Agent, type AgentStatus } from './agent.js';
export { AgentStateKv, type StorageCall } from './agent-state.js';
export { NodeMetrics, type NodeMetricsJson } from './metrics.js';
export { AgentRecords, NODE_NAMESPACE, MAX_SNAPSHOTS, type AgentRecord, type SnapshotRecord } from './records.js';
