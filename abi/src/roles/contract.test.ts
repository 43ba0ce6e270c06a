// The role contracts' checks: known requests and answers that keep to them, and hostile answers a
// plugin could give, each refused with EINPUT naming the member.
import { describe, expect, it } from 'vitest';
import { Mcp0Error } from '../errors/index.js';
import { checkRoleRequest, checkRoleResponse, ROLE_SCHEMAS, roleExports } from './contract.js';

const bytes = (n: number) => new Uint8Array(n);

function refusal(work: () => unknown): Mcp0Error {
  try {
    work();
  } catch (e) {
    if (e instanceof Mcp0Error) return e;
    throw e;
  }
  throw new Error('expected a typed error, got none');
}

describe('the role contracts', () => {
  it('list each role’s exports as its plugin’s manifest does', () => {
    expect(roleExports('storage')).toEqual(['get', 'put', 'delete', 'list', 'snapshot', 'restore', 'diff', 'apply', 'history', 'gc']);
    expect(roleExports('agreements')).toEqual(['register', 'revoke', 'get', 'bind', 'binding', 'unbind', 'meter', 'usage', 'invoice']);
    expect(roleExports('trace')).toEqual(['poseidon', 'poseidon_batch', 'head', 'get', 'range', 'verifyRange']);
    expect(roleExports('trace', { required: true })).toEqual(['poseidon', 'head', 'get', 'range', 'verifyRange']);
    expect(roleExports('rpc')).toEqual(['verify']);
    expect(roleExports('storage', { required: true })).toEqual(roleExports('storage'));
    for (const schema of Object.values(ROLE_SCHEMAS))
      for (const name of Object.keys(schema.definitions).filter((k) => k.endsWith('.request')))
        expect(schema.definitions, `${schema.title} ${name}`).toHaveProperty(name.replace('.request', '.response'));
  });

  it('accept requests and answers that keep to the contract', () => {
    checkRoleRequest('storage', 'get', { agent: 'acme.notes', key: 'k', root: null });
    checkRoleRequest('storage', 'apply', { agent: 'a', delta: { puts: [['k', bytes(3)]], deletes: ['x'] }, expect: 4 });
    checkRoleRequest('trace', 'head', {});
    checkRoleRequest('agreements', 'meter', { consumer: 'c', storageBytes: 2n ** 60n });
    expect(checkRoleResponse('storage', 'snapshot', { root: bytes(32), version: 0 })).toEqual({ root: bytes(32), version: 0 });
    checkRoleResponse('storage', 'get', null);
    checkRoleResponse('storage', 'get', bytes(0));
    checkRoleResponse('trace', 'head', { seq: null, head: '0' });
    checkRoleResponse('trace', 'head', { seq: 2 ** 53 - 1, head: '21888242871839275222246405745257275088548364400416034343698204186575808495616' });
    checkRoleResponse('trace', 'verifyRange', { ok: false, brokenAt: 3, reason: 'eventHash' });
    checkRoleResponse('agreements', 'meter', null);
    // An answer may carry members a later minor version adds; a request may not (a typo is caught).
    checkRoleResponse('storage', 'put', { root: bytes(32), extra: 1 });
    expect(refusal(() => checkRoleRequest('storage', 'put', { agent: 'a', key: 'k', value: bytes(1), vaule: 1 })).message).toContain(
      '/ must NOT have additional properties',
    );
  });

  it('refuse an answer that breaks the contract, naming the member, what was expected and what came', () => {
    const e = refusal(() => checkRoleResponse('storage', 'snapshot', { root: bytes(5), version: 1 }));
    expect(e.code).toBe('EINPUT');
    expect(e.message).toBe("mcp0.storage@1 snapshot: the plugin's answer breaks the role's contract: /root expected 32 bytes, got Uint8Array(5)");
    expect(e.details).toMatchObject({ role: 'storage', export: 'snapshot', side: 'response' });
    expect(refusal(() => checkRoleResponse('storage', 'snapshot', { root: bytes(32), version: -1 })).message).toContain('/version must be >= 0, got number -1');
    expect(refusal(() => checkRoleResponse('storage', 'snapshot', { root: bytes(32), version: 2n ** 53n })).message).toContain('/version must be integer');
    expect(refusal(() => checkRoleResponse('trace', 'get', { seq: 1, event: {}, eventHash: '0', head: '1' })).message).toContain(
      "/event must have required property 'agent'",
    );
    expect(refusal(() => checkRoleResponse('trace', 'head', { seq: 1, head: '007' })).message).toContain('/head must match pattern');
    expect(refusal(() => checkRoleResponse('trace', 'verifyRange', { ok: false })).message).toContain("must have required property 'brokenAt'");
    expect(refusal(() => checkRoleResponse('storage', 'get', 'text')).message).toContain('/ expected bytes, got "text"');
    expect(refusal(() => checkRoleResponse('storage', 'list', { entries: [['k']], cursor: null })).message).toContain(
      '/entries/0 must NOT have fewer than 2 items',
    );
    expect(refusal(() => checkRoleResponse('agreements', 'get', { document: { id: 'x' } })).message).toContain("must have required property 'revoked'");
  });

  it('refuse a request that breaks the contract, and an export the role does not have', () => {
    const e = refusal(() => checkRoleRequest('storage', 'put', { agent: 'a', key: 'k', value: [1, 2] }));
    expect(e.message).toBe("mcp0.storage@1 put: the request breaks the role's contract: /value expected bytes, got array(2)");
    expect(refusal(() => checkRoleRequest('agreements', 'meter', { agent: 'a', consumer: 'c', storageBytes: 1 })).code).toBe('EINPUT');
    expect(refusal(() => checkRoleRequest('agreements', 'meter', { consumer: 'c', storageBytes: 2n ** 64n })).message).toContain(
      '/storageBytes expected an integer from 0 to 2^64 − 1, got bigint 18446744073709551616',
    );
    const missing = refusal(() => checkRoleRequest('trace', 'append' as never, {}));
    expect(missing.code).toBe('ENOTFOUND');
    expect(missing.message).toBe('mcp0.trace@1 has no export "append": expected one of poseidon, poseidon_batch, head, get, range, verifyRange');
  });
});
