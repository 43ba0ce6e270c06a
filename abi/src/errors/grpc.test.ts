// Every ABI error code has exactly one gRPC status, and ABI.md's table says the same as the code.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from './codes.js';
import { GRPC_STATUS, GRPC_STATUS_OF, grpcStatusOf } from './grpc.js';

describe('GRPC_STATUS_OF', () => {
  it('maps every error code, and nothing else', () => {
    expect(Object.keys(GRPC_STATUS_OF).sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('is the table in ABI.md', () => {
    const text = readFileSync(new URL('../../ABI.md', import.meta.url), 'utf8');
    const table = text.slice(text.indexOf('### Errors over gRPC'), text.indexOf('## 9. Versioning'));
    const rows = [...table.matchAll(/^\| ((?:`E[A-Z]+`(?:, )?)+) \| `([A-Z_]+)`/gm)];
    const documented: Record<string, string> = {};
    for (const [, codes, status] of rows) for (const code of codes!.match(/E[A-Z]+/g)!) documented[code] = status!;
    expect(documented).toEqual(GRPC_STATUS_OF);
  });

  it('makes a denial with a retry-after RESOURCE_EXHAUSTED, any other PERMISSION_DENIED', () => {
    expect(grpcStatusOf('EDENIED', { retryAfterMs: 250 })).toBe(GRPC_STATUS.RESOURCE_EXHAUSTED);
    expect(grpcStatusOf('EDENIED')).toBe(GRPC_STATUS.PERMISSION_DENIED);
    expect(grpcStatusOf('ETIMEOUT' as ErrorCode)).toBe(4);
    expect(grpcStatusOf('ESIGNATURE')).toBe(16);
  });
});
