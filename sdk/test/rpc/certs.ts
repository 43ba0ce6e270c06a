/**
 * Throwaway TLS material for the transport tests, made with the system's openssl: a CA, a node
 * certificate for 127.0.0.1 signed by it, a client certificate signed by it, and a second CA that
 * signed nothing the node trusts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Paths of the PEM files made. */
export interface TestCerts {
  dir: string;
  ca: string;
  nodeCert: string;
  nodeKey: string;
  clientCert: string;
  clientKey: string;
  otherCa: string;
  otherCert: string;
  otherKey: string;
  /** A node certificate for 127.0.0.1 that the other CA signed: what a node rotates to. */
  otherNodeCert: string;
  otherNodeKey: string;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA (`name`.crt/.key) and a certificate it signs for `cn` with the given extensions. */
function issue(dir: string, ca: string, name: string, cn: string, ext: string): void {
  openssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  );
}

function authority(dir: string, name: string): void {
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
  );
}

/**
 * Makes the files in a new temp dir.
 * @example
 * const certs = makeCerts(); await serveNode(node, { listen: '127.0.0.1:0', tls: { cert: certs.nodeCert, key: certs.nodeKey } })
 */
export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'mcp0-tls-'));
  authority(dir, 'ca');
  authority(dir, 'other-ca');
  issue(dir, 'ca', 'node', '127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  issue(dir, 'ca', 'client', 'client', 'extendedKeyUsage=clientAuth\n');
  issue(dir, 'other-ca', 'other', 'client', 'extendedKeyUsage=clientAuth\n');
  issue(dir, 'other-ca', 'other-node', '127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  const at = (f: string) => join(dir, f);
  return {
    dir,
    ca: at('ca.crt'),
    nodeCert: at('node.crt'),
    nodeKey: at('node.key'),
    clientCert: at('client.crt'),
    clientKey: at('client.key'),
    otherCa: at('other-ca.crt'),
    otherCert: at('other.crt'),
    otherKey: at('other.key'),
    otherNodeCert: at('other-node.crt'),
    otherNodeKey: at('other-node.key'),
  };
}
