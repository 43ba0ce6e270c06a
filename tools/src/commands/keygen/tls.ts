/**
 * `mcp0 keygen --tls <dir>`: the certificates a node's gRPC transport needs, made without openssl:
 * a local CA (made once, reused), a node certificate for the names and addresses clients dial, and
 * client certificates for mutual TLS. ECDSA P-256 through WebCrypto, X.509 by @peculiar/x509.
 * Private keys are PKCS #8 PEM, mode 0600; certificates PEM, 0644.
 */
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { UsageError } from '@mcp0/abi';

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** The CA lives five years; what it signs, one (renew by running keygen --tls again). */
const CA_DAYS = 5 * 365;
const LEAF_DAYS = 365;

/**
 * What was written.
 * @example
 * const { ca, cert, key } = await makeTlsFiles('tls', { hosts: ['127.0.0.1'] })
 */
export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
  /** True when the CA was made now, false when one already in `dir` signed. */
  newCa: boolean;
}

const serial = () =>
  Buffer.from(crypto.getRandomValues(new Uint8Array(16)))
    .toString('hex')
    .replace(/^[89a-f]/, '7');
const newKeys = () => crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;

async function writePrivate(path: string, key: CryptoKey): Promise<void> {
  await writeFile(path, x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY'), { mode: 0o600 });
  await chmod(path, 0o600);
}

async function writePublic(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o644 });
  await chmod(path, 0o644);
}

/** The CA of `dir`: read when there, else made now. */
async function authority(dir: string): Promise<{ cert: x509.X509Certificate; key: CryptoKey; made: boolean }> {
  const certPath = join(dir, 'ca.crt');
  const keyPath = join(dir, 'ca.key');
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = new x509.X509Certificate(await readFile(certPath, 'utf8'));
    const der = x509.PemConverter.decodeFirst(await readFile(keyPath, 'utf8'));
    const key = await crypto.subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign']);
    return { cert, key, made: false };
  }
  if (existsSync(certPath) !== existsSync(keyPath))
    throw new UsageError('EUSAGE', `${dir} has only one of ca.crt and ca.key: remove it, or give a folder without a CA`);
  const keys = await newKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=mcp0 local CA',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + CA_DAYS * DAY_MS),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  await writePrivate(keyPath, keys.privateKey);
  await writePublic(certPath, cert.toString('pem'));
  return { cert, key: keys.privateKey, made: true };
}

/**
 * Makes (or reuses) the CA in `dir` and signs with it a node certificate for `hosts` (DNS names and
 * IP addresses; node.crt, node.key) or, with `client`, a client certificate (client-<name>.crt/.key).
 * Refuses to overwrite a certificate unless `force`.
 * @example
 * await makeTlsFiles('tls', { hosts: ['node.example', '10.0.0.5'] })
 */
export async function makeTlsFiles(dir: string, options: { hosts?: readonly string[]; client?: string; force?: boolean }): Promise<TlsFiles> {
  if (options.client !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(options.client))
    throw new UsageError('EUSAGE', `--client: expected 1 to 64 of A-Z a-z 0-9 _ . -, got ${JSON.stringify(options.client)}`);
  const hosts = options.hosts && options.hosts.length > 0 ? options.hosts : ['localhost', '127.0.0.1', '::1'];
  const base = options.client === undefined ? 'node' : `client-${options.client}`;
  const certPath = join(dir, `${base}.crt`);
  const keyPath = join(dir, `${base}.key`);
  if (options.force !== true) {
    const there = [certPath, keyPath].find((p) => existsSync(p));
    if (there !== undefined) throw new UsageError('EUSAGE', `${there} already exists (EEXIST); pass --force to replace it`);
  }
  await mkdir(dir, { recursive: true });
  const ca = await authority(dir);
  const keys = await newKeys();
  const now = Date.now();
  const names = hosts.map((h) =>
    isIP(h.replace(/^\[|\]$/g, '')) ? { type: 'ip' as const, value: h.replace(/^\[|\]$/g, '') } : { type: 'dns' as const, value: h },
  );
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${options.client ?? hosts[0]}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + LEAF_DAYS * DAY_MS),
    signingKey: ca.key,
    publicKey: keys.publicKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([options.client === undefined ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
      ...(options.client === undefined ? [new x509.SubjectAlternativeNameExtension(names)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  await writePrivate(keyPath, keys.privateKey);
  await writePublic(certPath, cert.toString('pem'));
  return { ca: join(dir, 'ca.crt'), cert: certPath, key: keyPath, newCa: ca.made };
}
