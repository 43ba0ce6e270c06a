/**
 * Cost units: what one call or operation costs, the figure the agreements role prices and meters
 * and the trace role chains and proves. It belongs to those roles' contract, not to the kernel,
 * which only measures and reports it.
 */

/**
 * Cost units of one call: 1 per call, 1 per started millisecond of wall time, 1 per started KiB
 * moved. Integer and simple, so agreements can price and trace can prove them.
 * @example
 * costUnits(1500, 10, 2000) // 1 + 2 + 2 = 5
 */
export function costUnits(wallUs: number, bytesIn: number, bytesOut: number): number {
  return 1 + Math.ceil(wallUs / 1000) + Math.ceil((bytesIn + bytesOut) / 1024);
}
