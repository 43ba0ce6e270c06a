// Grant texts: canonical formatting round-trips parseGrant, duplicates and junk are refused, and
// covers/grantChange classify widening and narrowing the way the kernel's scope checks behave.
import { describe, expect, it } from 'vitest';
import { LoadError, parseGrant } from '@mcp0/abi';
import { covers, formatGrant, grantChange, parseGrants } from './grants.js';

describe('grant texts', () => {
  it.each(['kv', 'kv:trace/', 'blocks', 'crypto', 'call:mcp0.storage', 'call:mcp0.storage/get,acme.x', 'net:*', 'emit:audit.,billing.'])(
    'formats %s back to itself',
    (text) => {
      expect(formatGrant(parseGrant(text))).toBe(text);
    },
  );

  it('drops empty list entries when formatting', () => {
    expect(formatGrant(parseGrant('call:a.b,,c.d'))).toBe('call:a.b,c.d');
  });

  it('refuses an unknown capability, a scope where none is allowed, and a capability granted twice, naming the plugin', () => {
    for (const bad of [['fs'], ['crypto:all'], ['kv:a/', 'kv:b/']]) {
      let error: unknown;
      try {
        parseGrants('acme.x', bad);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(LoadError);
      expect((error as LoadError).code).toBe('EINPUT');
      expect((error as LoadError).message).toMatch(/^plugin acme\.x: /);
      expect((error as LoadError).details.check).toBe('grants');
    }
  });
});

describe('covers', () => {
  const c = (a: string, b: string) => covers(parseGrant(a), parseGrant(b));
  it('follows the kernel: no scope covers any, a kv prefix covers longer prefixes, lists cover their entries', () => {
    expect(c('kv', 'kv:trace/')).toBe(true);
    expect(c('kv:trace/', 'kv')).toBe(false);
    expect(c('kv:tr', 'kv:trace/')).toBe(true);
    expect(c('kv:trace/', 'kv:other/')).toBe(false);
    expect(c('call:mcp0.storage', 'call:mcp0.storage/get')).toBe(true);
    expect(c('call:mcp0.storage/get', 'call:mcp0.storage')).toBe(false);
    expect(c('call:mcp0.st', 'call:mcp0.storage')).toBe(false);
    expect(c('net:*', 'net:peer-1')).toBe(true);
    expect(c('emit:audit.', 'emit:audit.login')).toBe(true);
    expect(c('blocks', 'crypto')).toBe(false);
  });

  it("classifies a change of a plugin's grants", () => {
    expect(grantChange(['blocks'], ['blocks', 'net:*'])).toBe('widened');
    expect(grantChange(['kv:trace/'], ['kv'])).toBe('widened');
    expect(grantChange(['kv', 'crypto'], ['kv'])).toBe('narrowed');
    expect(grantChange(['kv:a/'], ['kv:b/'])).toBe('changed');
    expect(grantChange(['kv', 'crypto'], ['crypto', 'kv'])).toBe('same');
  });
});
