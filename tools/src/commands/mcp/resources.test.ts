/**
 * The parts of `mcp0 mcp`'s resources that need no node: URIs in their one canonical form (and
 * the hostile ones refused), list cursors, and how a stored value is shown.
 */
import { describe, expect, it } from 'vitest';
import { encodeCbor } from '@mcp0/abi';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { agentUri, decodeCursor, encodeCursor, encodeSegment, notFound, parseResourceUri, RESOURCE_NOT_FOUND, valueContents } from './resources.js';
import { agentPart } from './tools.js';

/** The McpError code `f` throws, or 'none'. */
function codeOf(f: () => unknown): number | string {
  try {
    f();
    return 'none';
  } catch (e) {
    return e instanceof McpError ? e.code : `not an McpError: ${String(e)}`;
  }
}

describe('resource URIs', () => {
  it('reads each form, and writes keys as RFC 6570 expands {key}', () => {
    expect(parseResourceUri('mcp0://trace/head')).toEqual({ kind: 'trace-head' });
    expect(parseResourceUri('mcp0://trace/checkpoint')).toEqual({ kind: 'checkpoint' });
    expect(parseResourceUri('mcp0://trace/entries/0-999')).toEqual({ kind: 'entries', from: 0, to: 999 });
    expect(parseResourceUri('mcp0://agents/counter')).toEqual({ kind: 'agent', part: 'counter' });
    expect(encodeSegment("a/b c!'()*~._-é")).toBe('a%2Fb%20c%21%27%28%29%2A~._-%C3%A9');
    for (const key of ['/counter', 'notes/00000001', '', '..', '../../x', '100%', 'ünï/código', '?#&=+']) {
      const uri = agentUri('my_notes-89abcdef', key);
      expect(parseResourceUri(uri), uri).toEqual({ kind: 'state', part: 'my_notes-89abcdef', key });
    }
  });

  it('refuses traversal, encoding tricks, bad ranges and oversized input as invalid params', () => {
    const hostile = [
      'file:///etc/passwd',
      'mcp0://trace/head/',
      'mcp0://trace/entries/5-4',
      'mcp0://trace/entries/0-1000',
      'mcp0://trace/entries/01-2',
      'mcp0://trace/entries/-1-2',
      'mcp0://trace/entries/0-99999999999999999',
      'mcp0://trace/entries/0x1-2',
      'mcp0://agents/',
      'mcp0://agents/../notes',
      'mcp0://agents/counter/../notes',
      'mcp0://agents/counter/state/../../notes/state/x',
      'mcp0://agents/%6Eotes',
      'mcp0://agents/counter/state/%2e%2e%2Fx',
      'mcp0://agents/counter/state/%2fcounter',
      'mcp0://agents/counter/state/a/b',
      'mcp0://agents/counter/state/%',
      'mcp0://agents/counter/state/%C3',
      'mcp0://agents/counter/state/%ED%A0%80',
      'mcp0://agents/counter/state/x?y',
      'mcp0://agents/counter/state/%2Fcounter#frag',
      `mcp0://agents/counter/state/${'x'.repeat(1025)}`,
      `mcp0://agents/counter/state/${'%C3%A9'.repeat(600)}`,
      `mcp0://${'a'.repeat(1_000_000)}`,
    ];
    for (const uri of hostile)
      expect(
        codeOf(() => parseResourceUri(uri)),
        uri.slice(0, 80),
      ).toBe(ErrorCode.InvalidParams);
    expect(codeOf(() => parseResourceUri(`mcp0://agents/counter/state/${'x'.repeat(1024)}`))).toBe('none');
  });

  it("answers a missing resource with MCP's -32002, naming only the URI", () => {
    const e = notFound('mcp0://agents/notes');
    expect(e.code).toBe(RESOURCE_NOT_FOUND);
    expect(e.message).toContain('Resource not found: "mcp0://agents/notes"');
  });

  it('tags an agent name that is only dots, so no URI segment is . or ..', () => {
    expect(agentPart('..', 'agent-0123456789abcdef', new Set())).toBe('..-89abcdef');
    expect(agentPart('.', 'agent-0123456789abcdef', new Set())).toBe('.-89abcdef');
    expect(agentPart('a.b', 'agent-0123456789abcdef', new Set())).toBe('a.b');
  });
});

describe('list cursors', () => {
  it('round-trips a position, with and without a key', () => {
    for (const p of [
      { n: 'notes', i: 'agent-1' },
      { n: 'notes', i: 'agent-1', k: null },
      { n: 'n', i: 'i', k: 'notes/ü\u0000' },
    ]) {
      expect(decodeCursor(encodeCursor(p))).toEqual(p);
    }
  });

  it('refuses what it did not give, without reading past its bound', () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const hostile = [
      '',
      'not a cursor!',
      'x'.repeat(10_000_000),
      b64([1, 2]),
      b64(null),
      b64({ n: 'a' }),
      b64({ n: 'a', i: 'b', k: 3 }),
      b64({ n: 'a', i: 'b', extra: true }),
      b64({ n: 'a', i: 'b', k: 'k'.repeat(1025) }),
      Buffer.from('{"n":').toString('base64url'),
    ];
    for (const c of hostile)
      expect(
        codeOf(() => decodeCursor(c)),
        c.slice(0, 40),
      ).toBe(ErrorCode.InvalidParams);
  });
});

describe('stored values', () => {
  it('shows CBOR as its JSON view, anything else as base64 bytes', () => {
    const uri = 'mcp0://agents/a/state/k';
    expect(valueContents(uri, encodeCbor(5))).toEqual({ uri, mimeType: 'application/json', text: '5' });
    expect(valueContents(uri, encodeCbor({ text: 'hi', raw: new Uint8Array([1]), big: 2n ** 64n - 1n }))).toEqual({
      uri,
      mimeType: 'application/json',
      text: '{"big":"18446744073709551615","raw":{"$bytes":"AQ=="},"text":"hi"}',
    });
    // 0xff is a CBOR break with nothing to end; two items are not one value.
    for (const bytes of [Uint8Array.of(0xff), Uint8Array.of(0x01, 0x02), new Uint8Array(0)])
      expect(valueContents(uri, bytes)).toEqual({ uri, mimeType: 'application/octet-stream', blob: Buffer.from(bytes).toString('base64') });
  });
});
