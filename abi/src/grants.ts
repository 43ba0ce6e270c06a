/**
 * Grants: what a host (a distribution, or `mcp0 call --grant`) allows a module. The textual form
 * `name[:scope]` is what people type; the object form is what distributions store.
 */
import { CAPABILITIES, type CapabilityName } from './abi-v1.js';
import type { CapabilityScope } from './manifest/types.js';
import { UsageError } from './errors/index.js';

/** One granted capability with an optional scope (no scope: whatever the module asked for). */
export interface Grant {
  name: CapabilityName;
  scope?: CapabilityScope;
}

/**
 * Parse `kv`, `kv:notes/`, `call:mcp0.storage`, `call:mcp0.storage/get,acme.x`, `net:*`, `emit:audit.`.
 * @example
 * parseGrant('kv:hello/') // → { name: 'kv', scope: { prefix: 'hello/' } }
 */
export function parseGrant(text: string): Grant {
  const colon = text.indexOf(':');
  const name = colon < 0 ? text : text.slice(0, colon);
  const arg = colon < 0 ? undefined : text.slice(colon + 1);
  if (!(CAPABILITIES as readonly string[]).includes(name)) {
    throw new UsageError('EUSAGE', `grant "${text}": unknown capability "${name}", expected one of ${CAPABILITIES.join(', ')}`);
  }
  const cap = name as CapabilityName;
  if (arg === undefined) return { name: cap };
  const list = arg.split(',').filter((s) => s.length > 0);
  switch (cap) {
    case 'kv':
      return { name: cap, scope: { prefix: arg } };
    case 'call':
      return { name: cap, scope: { targets: list } };
    case 'net':
      return { name: cap, scope: { peers: list } };
    case 'emit':
      return { name: cap, scope: { topics: list } };
    default:
      throw new UsageError('EUSAGE', `grant "${text}": capability "${cap}" takes no scope`);
  }
}
