/** The manifest's TypeScript shape; `abi/schema/manifest.schema.json` is the authority. */
import type { CapabilityName, HookName } from '../abi-v1.js';

/** What a module asks for: one capability with an optional scope. */
export interface CapabilityRequest {
  name: CapabilityName;
  /** When true, a missing grant only denies the calls; otherwise the load fails. */
  optional?: boolean;
  scope?: CapabilityScope;
}

/** Scopes, per capability: `prefix` for kv, `targets` for call, `peers` for net, `topics` for emit. */
export interface CapabilityScope {
  prefix?: string;
  targets?: string[];
  peers?: string[];
  topics?: string[];
}

/**
 * One service export. `input` and `output` (ABI 1.3) are JSON Schemas (draft 2020-12) of the JSON
 * view of its CBOR input and output (ABI.md §2), checked on every call; plain JSON, so an MCP server
 * can publish them as a tool's `inputSchema` and `outputSchema`.
 */
export interface ManifestExport {
  name: string;
  description?: string;
  input?: Record<string, unknown>;
  output?: Record<string, unknown>;
}

/** A module manifest (ABI v1). */
export interface Manifest {
  name: string;
  version: string;
  abi: string;
  kind: 'plugin' | 'agent';
  provides?: string[];
  exports: ManifestExport[];
  hooks?: HookName[];
  capabilities?: CapabilityRequest[];
  limits?: { memoryPages?: number; timeoutMs?: number };
  description?: string;
  license?: string;
  homepage?: string;
}
