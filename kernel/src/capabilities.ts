/**
 * Least privilege: a module's effective capabilities are what its manifest requests ∩ what the
 * host grants. The set is computed once at load and checked on every host call.
 */
import { CallError, LoadError, type CapabilityName, type CapabilityRequest, type CapabilityScope, type Grant, type Manifest } from '@mcp0/abi';

/** The effective, checked capabilities of one loaded module. */
export class CapabilitySet {
  readonly #scopes: Map<CapabilityName, CapabilityScope>;
  readonly #module: string;

  constructor(moduleName: string, scopes: Map<CapabilityName, CapabilityScope>) {
    this.#module = moduleName;
    this.#scopes = scopes;
  }

  /** True when `name` is granted. */
  has(name: CapabilityName): boolean {
    return name === 'log' || this.#scopes.has(name);
  }

  /** The effective grants, for inspection and metrics. */
  list(): { name: CapabilityName; scope?: CapabilityScope }[] {
    return [...this.#scopes].map(([name, scope]) => (Object.keys(scope).length ? { name, scope } : { name }));
  }

  /** Throws `EPERM` naming the capability unless it is granted. */
  require(name: CapabilityName, fn: string): CapabilityScope {
    if (name === 'log') return {};
    const scope = this.#scopes.get(name);
    if (!scope)
      throw new CallError('EPERM', `${this.#module}: ${fn} needs capability "${name}", which is not granted`, { capability: name, module: this.#module });
    return scope;
  }

  /** Throws `EPERM` unless `key` lies under the granted kv prefix. */
  requireKey(key: string, fn: string): void {
    const prefix = this.require('kv', fn).prefix ?? '';
    if (!key.startsWith(prefix)) {
      throw new CallError('EPERM', `${this.#module}: kv key ${JSON.stringify(key)} is outside the granted prefix ${JSON.stringify(prefix)}`, {
        capability: 'kv',
        key,
        prefix,
      });
    }
  }

  /** Throws `EPERM` unless `target/exportName` is a granted call target. */
  requireCallTarget(target: string, exportName: string): void {
    const targets = this.require('call', 'call').targets;
    if (targets && !targets.some((t) => t === target || t === `${target}/${exportName}`)) {
      throw new CallError('EPERM', `${this.#module}: calling ${target}/${exportName} is not granted (granted: ${targets.join(', ') || 'none'})`, {
        capability: 'call',
        target,
        export: exportName,
      });
    }
  }

  /** Throws `EPERM` unless `value` matches the granted list (`*` or an entry that prefixes it). */
  requireListed(name: 'net' | 'emit', value: string): void {
    const scope = this.require(name, name);
    const list = name === 'net' ? scope.peers : scope.topics;
    if (list && !list.some((p) => p === '*' || value.startsWith(p))) {
      throw new CallError('EPERM', `${this.#module}: ${name} to ${JSON.stringify(value)} is not granted`, { capability: name, value });
    }
  }
}

/**
 * Intersect requests with grants. A required capability whose grant is missing, or whose scopes do
 * not overlap, fails the load with `ECAPABILITY`; an optional one is silently left out.
 * @example
 * const caps = effectiveCapabilities(manifest, [{ name: 'kv', scope: { prefix: 'hello/' } }])
 */
export function effectiveCapabilities(manifest: Manifest, grants: readonly Grant[]): CapabilitySet {
  const scopes = new Map<CapabilityName, CapabilityScope>();
  const missing: string[] = [];
  for (const request of manifest.capabilities ?? []) {
    if (request.name === 'log') continue;
    const grant = grants.find((g) => g.name === request.name);
    const scope = grant ? intersect(request, grant) : undefined;
    if (scope) scopes.set(request.name, scope);
    else if (!request.optional)
      missing.push(
        grant ? `${request.name} (scope ${JSON.stringify(request.scope ?? {})} not within grant ${JSON.stringify(grant.scope ?? {})})` : request.name,
      );
  }
  if (missing.length > 0) {
    throw new LoadError('ECAPABILITY', `${manifest.name}: requested capabilities not granted: ${missing.join(', ')}`, {
      check: 'capabilities',
      missing,
      granted: grants.map((g) => g.name),
    });
  }
  return new CapabilitySet(manifest.name, scopes);
}

/** The overlap of one request and one grant, or undefined when there is none. */
function intersect(request: CapabilityRequest, grant: Grant): CapabilityScope | undefined {
  const want = request.scope ?? {};
  const have = grant.scope ?? {};
  switch (request.name) {
    case 'kv': {
      const a = want.prefix ?? '';
      const b = have.prefix;
      if (b === undefined || a.startsWith(b)) return { prefix: a };
      return b.startsWith(a) ? { prefix: b } : undefined;
    }
    case 'call':
      return intersectList(want.targets, have.targets, (g, w) => g === w || w.startsWith(`${g}/`), 'targets');
    case 'net':
      return intersectList(want.peers, have.peers, prefixMatch, 'peers');
    case 'emit':
      return intersectList(want.topics, have.topics, prefixMatch, 'topics');
    default:
      return {};
  }
}

function prefixMatch(granted: string, wanted: string): boolean {
  return granted === '*' || wanted.startsWith(granted);
}

/** Requested entries covered by some granted entry; no list on either side means "any". */
function intersectList(
  wanted: string[] | undefined,
  granted: string[] | undefined,
  covers: (granted: string, wanted: string) => boolean,
  key: 'targets' | 'peers' | 'topics',
): CapabilityScope | undefined {
  if (granted === undefined) return wanted === undefined ? {} : { [key]: wanted };
  if (wanted === undefined) return { [key]: granted };
  const both = wanted.filter((w) => granted.some((g) => covers(g, w)));
  return both.length > 0 ? { [key]: both } : undefined;
}
