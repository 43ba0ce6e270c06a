// The main thread's stand-in for guest memory during a proxied host call.
import { describe, expect, it } from 'vitest';
import { ProxyContext } from './proxy-context.js';

describe('ProxyContext', () => {
  const handle = 3n << 48n;
  const request = new Uint8Array([1, 2, 3]);

  it('reads the blocks the guest thread sent, and nothing else', () => {
    const ctx = new ProxyContext([[handle, request]]);
    expect(ctx.read(handle)!.bytes()).toEqual(request);
    expect(ctx.length(handle)).toBe(3n);
    expect(ctx.read(4n << 48n)).toBeNull();
    expect(ctx.read(-1n)).toBeNull();
    expect(ctx.read(0)).toBeNull();
    expect(ctx.length(99n)).toBe(0n);
  });

  it('records stored blocks under distinct placeholders that read back', () => {
    const ctx = new ProxyContext([[handle, request]]);
    const a = ctx.store(new Uint8Array([7]));
    const b = ctx.store('hé');
    expect(a).not.toBe(b);
    expect(a).not.toBe(handle);
    expect(ctx.read(b)!.text()).toBe('hé');
    expect(ctx.stored).toEqual([
      [a, new Uint8Array([7])],
      [b, new TextEncoder().encode('hé')],
    ]);
    // A placeholder past the stored ones is not a block.
    expect(ctx.read(b + 1n)).toBeNull();
  });

  it('refuses what needs the guest memory itself', () => {
    const ctx = new ProxyContext([]);
    expect(() => ctx.alloc()).toThrow(/use store/);
    expect(() => ctx.setVariable()).toThrow(/not available/);
    expect(ctx.getVariable()).toBeNull();
  });
});
