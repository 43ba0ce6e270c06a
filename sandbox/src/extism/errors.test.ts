// A guest's error JSON as the host reads it: code and message, the optional details (ABI.md §5),
// what happens to details that are not an object or too large, and that the host's own members
// cannot be claimed by a guest.
import { describe, expect, it } from 'vitest';
import { guestError } from './errors.js';
import { GUEST_ERROR_PREFIX } from './plugin.js';

const thrown = (body: unknown) => guestError(GUEST_ERROR_PREFIX + (typeof body === 'string' ? body : JSON.stringify(body)));

describe('guestError', () => {
  it('reads code and message, and marks the error as the guest’s', () => {
    const e = thrown({ code: 'EINPUT', message: 'bad' })!;
    expect(e).toMatchObject({ code: 'EINPUT', message: 'bad', details: { byGuest: true } });
    expect(guestError('RuntimeError: unreachable')).toBeUndefined();
    expect(thrown('not json')).toMatchObject({ code: 'EGUEST', message: 'not json' });
  });

  it('passes an object of details on, below the host’s own members', () => {
    const e = thrown({ code: 'EDENIED', message: 'rate-limited: 0 of 2 left', details: { retryAfterMs: 20, byGuest: false, nested: { a: [1] } } })!;
    expect(e.code).toBe('EDENIED');
    expect(e.details).toEqual({ retryAfterMs: 20, nested: { a: [1] }, byGuest: true });
    // An unknown code becomes EGUEST, keeping the code it had beside the details.
    expect(thrown({ code: 'ENOPE', message: 'x', details: { n: 1 } })!.details).toEqual({ n: 1, code: 'ENOPE', byGuest: true });
  });

  it('drops details that are not an object, and those too large to pass on', () => {
    for (const details of [null, 7, 'text', [1, 2], true])
      expect(thrown({ code: 'EINPUT', message: 'm', details })!.details, String(details)).toEqual({ byGuest: true });
    const big = { blob: 'x'.repeat(5000) };
    expect(thrown({ code: 'EINPUT', message: 'm', details: big })!.details).toEqual({ detailsDropped: JSON.stringify(big).length, byGuest: true });
  });
});
