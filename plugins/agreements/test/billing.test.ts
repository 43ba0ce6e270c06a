/**
 * Billing through the real kernel: observe accrues billing lines per agreement and hour, and
 * invoice totals match fixtures computed by hand (operations refused by a paused agent cost exactly
 * 1 unit, so the quantities are known in advance). Amounts past 2^53 stay exact; past 2^64 − 1 they are refused.
 */
import { describe, expect, it } from 'vitest';
import { encodeCbor } from '@mcp0/abi';
import { bind, CONSUMER, doc, HOUR, makeKernel, NAME, op, register, rejection, signed, T0, whilePaused } from './helpers.js';

const MAX_SAFE = 2 ** 53 - 1;
type Kernel = Awaited<ReturnType<typeof makeKernel>>;
const invoice = (k: Kernel, from: number, to: number) => k.callValue(NAME, 'invoice', { consumer: CONSUMER, from, to });

/** `n` operations of agent hello under agreement `id`, each refused by the paused agent and costing exactly 1. */
async function failedCalls(k: Kernel, id: string, n: number, time: number): Promise<void> {
  await bind(k, id);
  for (let i = 0; i < n; i++) {
    const r = await whilePaused(k, () => op(k, time + i));
    expect(r).toMatchObject({ ok: false, code: 'ESTATE' }); // admitted, refused before it ran
  }
}

/** Quota windows that nest in hours bill through their window records; longer or odd ones through hour records. */
const WINDOWS = [60_000, 24 * HOUR, 7 * 60_000];

async function fixture(windowMs = 60_000): Promise<Kernel> {
  const k = await makeKernel();
  const quotas = { windowMs };
  await register(
    k,
    signed(
      doc({ id: 'a', quotas, pricing: { currency: 'EUR', baseFee: 1000, perCall: 7, perCostUnit: 3 }, validity: { notBefore: T0, notAfter: T0 + 48 * HOUR } }),
    ),
  );
  await register(
    k,
    signed(
      doc({
        id: 'b',
        quotas,
        pricing: { currency: 'USD', baseFee: 250, perCall: 2, perCostUnit: 0 },
        validity: { notBefore: T0 + 24 * HOUR, notAfter: T0 + 72 * HOUR },
      }),
    ),
  );
  await failedCalls(k, 'a', 5, T0 + HOUR);
  await failedCalls(k, 'b', 3, T0 + 25 * HOUR);
  return k;
}

const line = (agreement: string, item: string, quantity: number, unitPrice: number, amount: number, currency: string) => ({
  agreement,
  item,
  quantity,
  unitPrice,
  amount,
  currency,
});

describe('invoice', () => {
  it.each(WINDOWS)('first day: agreement a only (b starts at its end); windows of %i ms', async (windowMs) => {
    const k = await fixture(windowMs);
    expect(await invoice(k, T0, T0 + 24 * HOUR)).toEqual({
      consumer: CONSUMER,
      from: T0,
      to: T0 + 24 * HOUR,
      // base 1000 + 5 calls × 7 + 5 units × 3 = 1050
      lines: [line('a', 'base', 1, 1000, 1000, 'EUR'), line('a', 'calls', 5, 7, 35, 'EUR'), line('a', 'costUnits', 5, 3, 15, 'EUR')],
      totals: [{ currency: 'EUR', amount: 1050 }],
    });
    await k.stop();
  });

  it.each(WINDOWS)('two days: both agreements, totals per currency; windows of %i ms', async (windowMs) => {
    const k = await fixture(windowMs);
    const inv = (await invoice(k, T0, T0 + 48 * HOUR)) as { lines: unknown[]; totals: unknown[] };
    expect(inv.lines).toEqual([
      line('a', 'base', 1, 1000, 1000, 'EUR'),
      line('a', 'calls', 5, 7, 35, 'EUR'),
      line('a', 'costUnits', 5, 3, 15, 'EUR'),
      // base 250 + 3 calls × 2 + 3 units × 0 = 256
      line('b', 'base', 1, 250, 250, 'USD'),
      line('b', 'calls', 3, 2, 6, 'USD'),
      line('b', 'costUnits', 3, 0, 0, 'USD'),
    ]);
    expect(inv.totals).toEqual([
      { currency: 'EUR', amount: 1050 },
      { currency: 'USD', amount: 256 },
    ]);
    // The same question gives the same bytes.
    const q = encodeCbor({ consumer: CONSUMER, from: T0, to: T0 + 48 * HOUR });
    expect(await k.call(NAME, 'invoice', q)).toEqual(await k.call(NAME, 'invoice', q));
    await k.stop();
  });

  it.each(WINDOWS)('third day: a has expired and has no usage, b charges its base fee only; windows of %i ms', async (windowMs) => {
    const k = await fixture(windowMs);
    expect(await invoice(k, T0 + 48 * HOUR, T0 + 72 * HOUR)).toMatchObject({
      lines: [line('b', 'base', 1, 250, 250, 'USD'), line('b', 'calls', 0, 2, 0, 'USD'), line('b', 'costUnits', 0, 0, 0, 'USD')],
      totals: [{ currency: 'USD', amount: 250 }],
    });
    // Hours are billed whole: the hour of a's calls (T0 + 1 h) alone.
    expect(((await invoice(k, T0 + HOUR, T0 + 2 * HOUR)) as { totals: unknown }).totals).toEqual([{ currency: 'EUR', amount: 1050 }]);
    expect(((await invoice(k, T0 + 2 * HOUR, T0 + 3 * HOUR)) as { totals: unknown }).totals).toEqual([{ currency: 'EUR', amount: 1000 }]);
    await k.stop();
  });

  it('a revoked agreement is no longer in force: usage is billed, the base fee is not', async () => {
    const k = await fixture();
    // Revoked now (wall clock), long before T0, so it was never in force.
    await k.callValue(NAME, 'revoke', { id: 'a' });
    expect(((await invoice(k, T0, T0 + 24 * HOUR)) as { lines: unknown[] }).lines).toEqual([
      line('a', 'base', 0, 1000, 0, 'EUR'),
      line('a', 'calls', 5, 7, 35, 'EUR'),
      line('a', 'costUnits', 5, 3, 15, 'EUR'),
    ]);
    await k.stop();
  });

  it('stays exact past 2^53 and refuses amounts past 2^64 − 1', async () => {
    const k = await makeKernel();
    await register(k, signed(doc({ id: 'big', pricing: { currency: 'EUR', baseFee: MAX_SAFE, perCall: MAX_SAFE, perCostUnit: MAX_SAFE } })));
    await failedCalls(k, 'big', 3, T0);
    const inv = (await invoice(k, T0, T0 + HOUR)) as { totals: { amount: bigint | number }[] };
    // (1 + 3 + 3) × (2^53 − 1), computed here with BigInt.
    expect(BigInt(inv.totals[0]!.amount)).toBe(7n * BigInt(MAX_SAFE));
    // With c calls the total is (1 + 2c) × (2^53 − 1): c = 1023 gives 2047 × (2^53 − 1) < 2^64, the last that fits.
    await failedCalls(k, 'big', 1020, T0 + 10);
    expect(BigInt(((await invoice(k, T0, T0 + HOUR)) as { totals: { amount: bigint }[] }).totals[0]!.amount)).toBe(2047n * BigInt(MAX_SAFE));
    await failedCalls(k, 'big', 1, T0 + 3000);
    const e = await rejection(invoice(k, T0, T0 + HOUR));
    expect(e.code).toBe('ETOOBIG');
    await k.stop();
  });
});
