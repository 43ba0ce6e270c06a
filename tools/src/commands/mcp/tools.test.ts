/**
 * The parts of `mcp0 mcp`'s tool derivation that need no node: permission globs (the agreements
 * plugin's semantics), tool names within MCP's rules, schemas from a manifest entry, annotations
 * from grants, and the bearer tokens file.
 */
import { describe, expect, it } from 'vitest';
import { CallError } from '@mcp0/abi';
import { globMatch } from './glob.js';
import { failureResult, successResult } from './server.js';
import { agentPart, annotationsOf, permits, schemasOf } from './tools.js';
import { holderOf, parseTokens } from './tokens.js';

describe('permission globs', () => {
  it('reads * as a run without /, ** as any run, ? as one character but /', () => {
    expect(globMatch('get*', 'getAll')).toBe(true);
    expect(globMatch('*', 'a/b')).toBe(false);
    expect(globMatch('**', 'a/b')).toBe(true);
    expect(globMatch('agent-1/*', 'agent-1/reset')).toBe(true);
    expect(globMatch('a?c', 'abc')).toBe(true);
    expect(globMatch('a?c', 'a/c')).toBe(false);
    expect(globMatch('inc', 'increment')).toBe(false);
    expect(globMatch(`${'*a'.repeat(60)}b`, 'a'.repeat(2000))).toBe(false); // quadratic, not exponential
  });

  it('permits an intent by the intents list or <agent id>/<intent> by the exports list', () => {
    expect(permits({ intents: ['get'], exports: [] }, 'agent-1', 'get')).toBe(true);
    expect(permits({ intents: [], exports: ['agent-1/*'] }, 'agent-1', 'reset')).toBe(true);
    expect(permits({ intents: [], exports: ['agent-1/*'] }, 'agent-2', 'reset')).toBe(false);
  });
});

describe('tool names', () => {
  it("keeps a legal agent name, and tags with the id's end one changed, clashing or too long", () => {
    expect(agentPart('counter', 'agent-0123456789abcdef', new Set())).toBe('counter');
    expect(agentPart('my notes', 'agent-0123456789abcdef', new Set())).toBe('my_notes-89abcdef');
    expect(agentPart('counter', 'agent-0123456789abcdef', new Set(['counter']))).toBe('counter-89abcdef');
    expect(agentPart('counter', 'agent-0123456789abcdef', new Set(), true)).toBe('counter-89abcdef');
    const long = agentPart('n'.repeat(200), 'agent-0123456789abcdef', new Set());
    expect(long.length).toBeLessThanOrEqual(63);
    expect(`${long}.${'i'.repeat(64)}`).toMatch(/^[A-Za-z0-9_.-]{1,128}$/);
    expect(agentPart('ünïcode/ågent', 'agent-0123456789abcdef', new Set())).toMatch(/^[A-Za-z0-9_.-]+$/);
  });
});

describe('schemas and annotations', () => {
  it("uses the manifest entry's object schemas, else an open input and no output schema", () => {
    const input = { type: 'object', properties: { by: { type: 'integer' } } };
    const output = { type: 'object', properties: { value: { type: 'integer' } }, required: ['value'] };
    expect(schemasOf({ name: 'increment', input, output })).toEqual({ inputSchema: input, outputSchema: output });
    expect(schemasOf({ name: 'get' })).toEqual({ inputSchema: { type: 'object' } });
    // MCP requires object schemas at the top: anything else is not offered (a client would refuse the list).
    expect(schemasOf({ name: 'x', input: { type: 'string' }, output: [] })).toEqual({ inputSchema: { type: 'object' } });
  });

  it('is read-only only without kv, blocks, call and net; open-world with net', () => {
    expect(annotationsOf(['clock', 'random', 'emit'])).toEqual({ readOnlyHint: true, openWorldHint: false });
    expect(annotationsOf(['kv', 'clock'])).toEqual({ readOnlyHint: false, openWorldHint: false });
    expect(annotationsOf(['call'])).toEqual({ readOnlyHint: false, openWorldHint: false });
    expect(annotationsOf(['net'])).toEqual({ readOnlyHint: false, openWorldHint: true });
  });
});

describe('the tokens file', () => {
  const kid = 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k';
  const token = 'a'.repeat(40);
  it('maps a bearer token to its consumer, and nothing else', () => {
    const tokens = parseTokens(JSON.stringify({ tokens: [{ token, consumer: kid, name: 'desktop' }] }), 't.json');
    expect(holderOf(tokens, `Bearer ${token}`)).toEqual({ consumer: kid, name: 'desktop' });
    expect(holderOf(tokens, `bearer ${token}`)).toEqual({ consumer: kid, name: 'desktop' });
    expect(holderOf(tokens, `Bearer ${token}x`)).toBeUndefined();
    expect(holderOf(tokens, `Basic ${token}`)).toBeUndefined();
  });

  it('refuses short tokens, bad consumers, duplicates, unknown members and duplicate JSON members', () => {
    const bad: [unknown, RegExp][] = [
      [{ tokens: [{ token: 'short', consumer: kid }] }, /"token" must be 32/],
      [{ tokens: [{ token, consumer: 'acme.notes' }] }, /"consumer" must be a key id/],
      [
        {
          tokens: [
            { token, consumer: kid },
            { token, consumer: kid },
          ],
        },
        /listed twice/,
      ],
      [{ tokens: [{ token, consumer: kid, scope: 'all' }] }, /unknown member "scope"/],
      [{ tokens: {} }, /expected \{"tokens"/],
    ];
    for (const [doc, message] of bad) expect(() => parseTokens(JSON.stringify(doc), 't.json')).toThrow(message);
    expect(() => parseTokens(`{"tokens":[{"token":"${token}","consumer":"${kid}","consumer":"${kid}"}]}`, 't.json')).toThrow(/duplicate member/);
  });
});

describe('tool results', () => {
  it('carries the output as JSON text, and as structuredContent only with an output schema and an object', () => {
    const meta = { 'mcp0/trace': { seq: 3, head: '12' } };
    expect(successResult({ value: 2n ** 64n - 1n, raw: new Uint8Array([1]) }, true, meta)).toEqual({
      content: [{ type: 'text', text: '{"value":"18446744073709551615","raw":{"$bytes":"AQ=="}}' }],
      structuredContent: { value: '18446744073709551615', raw: { $bytes: 'AQ==' } },
      _meta: meta,
    });
    expect(successResult({ value: 2 }, false, {})).toEqual({ content: [{ type: 'text', text: '{"value":2}' }], _meta: {} });
    expect(successResult([1, 2], true, {})).toEqual({ content: [{ type: 'text', text: '[1,2]' }], _meta: {} });
  });

  it('answers a failure with isError, its ABI code first, and the details under mcp0/error', () => {
    const r = failureResult(new CallError('EDENIED', 'quota-exhausted: 10 calls used', { retryAfterMs: 900 }), {});
    expect(r).toEqual({
      isError: true,
      content: [{ type: 'text', text: 'EDENIED: quota-exhausted: 10 calls used' }],
      _meta: { 'mcp0/error': { code: 'EDENIED', message: 'quota-exhausted: 10 calls used', details: { retryAfterMs: 900 } } },
    });
    expect(failureResult(new TypeError('boom'), {})._meta!['mcp0/error']).toMatchObject({ code: 'EINTERNAL', message: 'boom' });
  });
});
