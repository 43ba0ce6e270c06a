/**
 * Where `mcp0 mcp --http` listens and its defaults, apart from the transport so the command can
 * check an address (and print its help) without loading the MCP SDK.
 */
import { UsageError } from '@mcp0/abi';

/** The path the MCP endpoint answers on. */
export const MCP_PATH = '/mcp';

/** Default cap on open sessions. */
export const DEFAULT_MAX_SESSIONS = 64;

/** Default idle time after which a session is closed, ms: 30 minutes. */
export const DEFAULT_IDLE_MS = 30 * 60_000;

/**
 * Splits `host:port`, with IPv6 in brackets; EUSAGE otherwise.
 * @example
 * splitHostPort('[::1]:7050') // { host: '::1', port: 7050 }
 */
export function splitHostPort(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) throw new UsageError('EUSAGE', `--http ${listen}: expected <host>:<port> (an IPv6 address in brackets: [::1]:7050)`);
  return { host: (m[1] ?? m[2])!, port };
}

/**
 * True for a loopback address or the name localhost.
 * @example
 * isLoopback('127.0.0.1') // true
 */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}
