/**
 * How a node listens and how a client connects: TLS by default (certificate files watched and
 * reloaded without a restart), mutual TLS when a client CA is given, plaintext only on a loopback
 * address and only when asked for.
 */
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { credentials, experimental, ServerCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import { UsageError } from '@mcp0/abi';

/**
 * A node's TLS files: its certificate chain and key (PEM), and for mutual TLS the CA whose
 * certificates clients must present.
 * @example
 * const tls: ServerTls = { cert: 'node.crt', key: 'node.key', clientCa: 'ca.crt' }
 */
export interface ServerTls {
  cert: string;
  key: string;
  clientCa?: string;
  /** How often the files are checked for a change, ms (default 60,000). */
  refreshMs?: number;
}

/**
 * True for an address only this machine can reach: 127.0.0.0/8, ::1, localhost.
 * @example
 * isLoopback('127.0.0.1:7040') // true
 */
export function isLoopback(address: string): boolean {
  const host = hostOf(address);
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** The host part of `host:port` or `[v6]:port`. */
function hostOf(address: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (v6) return v6[1]!;
  const i = address.lastIndexOf(':');
  return i < 0 ? address : address.slice(0, i);
}

/**
 * The server credentials for `address`: TLS from `tls` (reloaded as the files change), or
 * plaintext when `insecure`, which only a loopback address may be. EUSAGE otherwise.
 * @example
 * serverCredentials('0.0.0.0:7040', { tls: { cert, key } })
 */
export function serverCredentials(address: string, options: { tls?: ServerTls; insecure?: boolean }): ServerCredentials {
  if (options.insecure === true) {
    if (options.tls !== undefined) throw new UsageError('EUSAGE', 'listen: give TLS files or insecure, not both');
    if (!isLoopback(address))
      throw new UsageError('EUSAGE', `listen: plaintext is for a loopback address only (127.0.0.1, ::1, localhost), got ${address}: give TLS files`, {
        address,
      });
    return ServerCredentials.createInsecure();
  }
  if (options.tls === undefined)
    throw new UsageError('EUSAGE', `listen ${address}: TLS files are required (cert and key; mcp0 keygen --tls makes them), or insecure on a loopback address`);
  const { cert, key, clientCa, refreshMs = 60_000 } = options.tls;
  // Read once now, so a missing or unreadable file is an error at start, not a refused handshake later.
  for (const file of [cert, key, ...(clientCa ? [clientCa] : [])]) readFileSync(file);
  const identity = new experimental.FileWatcherCertificateProvider({ certificateFile: cert, privateKeyFile: key, refreshIntervalMs: refreshMs });
  const ca = clientCa === undefined ? null : new experimental.FileWatcherCertificateProvider({ caCertificateFile: clientCa, refreshIntervalMs: refreshMs });
  return experimental.createCertificateProviderServerCredentials(identity, ca, clientCa !== undefined);
}

/**
 * A client's credentials: TLS trusting `ca` (PEM; the system's roots when absent), with a client
 * certificate for mutual TLS, or plaintext to a loopback address when `insecure`.
 * @example
 * channelCredentials('node.example:7040', { ca: readFileSync('ca.crt') })
 */
export function channelCredentials(address: string, options: { ca?: Uint8Array; cert?: Uint8Array; key?: Uint8Array; insecure?: boolean }): ChannelCredentials {
  if (options.insecure === true) {
    if (!isLoopback(address)) throw new UsageError('EUSAGE', `connect: plaintext is for a loopback address only, got ${address}`, { address });
    return credentials.createInsecure();
  }
  const buf = (b: Uint8Array | undefined) => (b === undefined ? null : Buffer.from(b));
  return credentials.createSsl(buf(options.ca), buf(options.key), buf(options.cert));
}
