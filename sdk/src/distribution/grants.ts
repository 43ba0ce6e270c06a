/**
 * Grant texts in a distribution: parsed with abi's `parseGrant`, written back in one canonical
 * form, and compared (does one grant cover another?) so a diff can say "widened" or "narrowed".
 */
import { LoadError, Mcp0Error, parseGrant, type Grant } from '@mcp0/abi';

/**
 * The text of a grant, the inverse of `parseGrant` (`kv:trace/`, `call:a,b/x`, `crypto`).
 * @example
 * formatGrant(parseGrant('call:mcp0.storage,,acme.x')) // 'call:mcp0.storage,acme.x'
 */
export function formatGrant(grant: Grant): string {
  const s = grant.scope;
  if (!s) return grant.name;
  if (s.prefix !== undefined) return `${grant.name}:${s.prefix}`;
  const list = s.targets ?? s.peers ?? s.topics;
  return list ? `${grant.name}:${list.join(',')}` : grant.name;
}

/**
 * Parse the grant texts of one plugin: each must parse, and a capability may be granted once
 * (a second grant of it would be ignored by the kernel, so it is an error, not a silent surprise).
 * Throws `EINPUT` (check 'grants') naming the plugin and the text.
 * @example
 * parseGrants('mcp0.trace', ['kv:trace/']) // [{ name: 'kv', scope: { prefix: 'trace/' } }]
 */
export function parseGrants(plugin: string, texts: readonly string[]): Grant[] {
  const grants = texts.map((text) => {
    try {
      return parseGrant(text);
    } catch (e) {
      const reason = e instanceof Mcp0Error ? e.message : String(e);
      throw new LoadError('EINPUT', `plugin ${plugin}: ${reason}`, { check: 'grants', plugin, grant: text }, { cause: e });
    }
  });
  const names = grants.map((g) => g.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) {
    throw new LoadError(
      'EINPUT',
      `plugin ${plugin}: capability ${dup} is granted twice (${texts.filter((t) => t.split(':')[0] === dup).join(', ')}); grant it once`,
      { check: 'grants', plugin, capability: dup },
    );
  }
  return grants;
}

/**
 * True when grant `a` allows everything `b` does: same capability, and `a`'s scope is absent
 * (anything) or contains `b`'s (a kv prefix that prefixes b's, a list that holds b's entries or `*`).
 * @example
 * covers(parseGrant('kv'), parseGrant('kv:trace/')) // true
 * covers(parseGrant('kv:trace/'), parseGrant('kv')) // false
 */
export function covers(a: Grant, b: Grant): boolean {
  if (a.name !== b.name) return false;
  if (!a.scope) return true;
  if (!b.scope) return false;
  if (a.scope.prefix !== undefined) return b.scope.prefix !== undefined && b.scope.prefix.startsWith(a.scope.prefix);
  const listA = a.scope.targets ?? a.scope.peers ?? a.scope.topics ?? [];
  const listB = b.scope.targets ?? b.scope.peers ?? b.scope.topics ?? [];
  return (
    listA.includes('*') || listB.every((entry) => listA.some((x) => x === entry || entry.startsWith(`${x}/`) || (a.name !== 'call' && entry.startsWith(x))))
  );
}

/**
 * How a plugin's grants moved: 'widened' when the new ones allow all the old did and more,
 * 'narrowed' the reverse, 'changed' otherwise, 'same' when each covers the other.
 * @example
 * grantChange(['blocks'], ['blocks', 'net:*']) // 'widened'
 */
export function grantChange(before: readonly string[], after: readonly string[]): 'same' | 'widened' | 'narrowed' | 'changed' {
  const parse = (texts: readonly string[]) =>
    texts.flatMap((t) => {
      try {
        return [parseGrant(t)];
      } catch {
        return [];
      }
    });
  const old = parse(before);
  const now = parse(after);
  const allCovered = (xs: Grant[], by: Grant[]) => xs.every((x) => by.some((y) => covers(y, x)));
  const keeps = allCovered(old, now);
  const within = allCovered(now, old);
  if (keeps && within) return 'same';
  if (keeps) return 'widened';
  if (within) return 'narrowed';
  return 'changed';
}
