// Least privilege: requested ∩ granted, with scope intersection per capability.
import { describe, expect, it } from 'vitest';
import { CallError, LoadError, parseGrant, type Manifest } from '@mcp0/abi';
import { effectiveCapabilities } from './capabilities.js';

const manifest = (capabilities: Manifest['capabilities']): Manifest => ({
  name: 'acme.x',
  version: '1.0.0',
  abi: '^1.0',
  kind: 'plugin',
  exports: [],
  capabilities,
});

describe('effectiveCapabilities', () => {
  it('grants only what was both requested and granted', () => {
    const caps = effectiveCapabilities(manifest([{ name: 'clock' }, { name: 'random', optional: true }]), [parseGrant('clock'), parseGrant('crypto')]);
    expect(caps.has('clock')).toBe(true);
    expect(caps.has('random')).toBe(false); // optional, not granted
    expect(caps.has('crypto')).toBe(false); // granted, not requested
    expect(caps.has('log')).toBe(true); // always
  });

  it('names every missing required capability', () => {
    expect(() => effectiveCapabilities(manifest([{ name: 'kv' }, { name: 'net' }]), [])).toThrow(LoadError);
    expect(() => effectiveCapabilities(manifest([{ name: 'kv' }, { name: 'net' }]), [])).toThrow(/kv, net/);
  });

  it('narrows kv prefixes and refuses disjoint ones', () => {
    const wide = effectiveCapabilities(manifest([{ name: 'kv', scope: { prefix: 'a/' } }]), [parseGrant('kv')]);
    expect(wide.list()).toEqual([{ name: 'kv', scope: { prefix: 'a/' } }]);
    const narrower = effectiveCapabilities(manifest([{ name: 'kv', scope: { prefix: 'a/' } }]), [parseGrant('kv:a/b/')]);
    expect(narrower.list()).toEqual([{ name: 'kv', scope: { prefix: 'a/b/' } }]);
    expect(() => effectiveCapabilities(manifest([{ name: 'kv', scope: { prefix: 'a/' } }]), [parseGrant('kv:b/')])).toThrow(/not within grant/);
  });

  it('checks kv keys against the effective prefix with EPERM', () => {
    const caps = effectiveCapabilities(manifest([{ name: 'kv', scope: { prefix: 'a/' } }]), [parseGrant('kv')]);
    expect(() => caps.requireKey('a/1', 'kv_get')).not.toThrow();
    const e = (() => {
      try {
        caps.requireKey('b/1', 'kv_get');
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(CallError);
    expect(e).toMatchObject({ code: 'EPERM', details: { capability: 'kv', key: 'b/1', prefix: 'a/' } });
  });

  it('intersects call targets, a module covering its exports', () => {
    const caps = effectiveCapabilities(manifest([{ name: 'call', scope: { targets: ['mcp0.storage/get', 'acme.y'] } }]), [
      parseGrant('call:mcp0.storage,acme.z'),
    ]);
    expect(caps.list()).toEqual([{ name: 'call', scope: { targets: ['mcp0.storage/get'] } }]);
    expect(() => caps.requireCallTarget('mcp0.storage', 'get')).not.toThrow();
    expect(() => caps.requireCallTarget('mcp0.storage', 'put')).toThrow(/not granted/);
    expect(() => caps.requireCallTarget('acme.y', 'x')).toThrow(expect.objectContaining({ code: 'EPERM' }));
  });

  it('EPERM names the capability of an ungranted call', () => {
    const caps = effectiveCapabilities(manifest([]), []);
    expect(() => caps.require('blocks', 'blocks_put')).toThrow(/blocks_put needs capability "blocks"/);
  });
});
