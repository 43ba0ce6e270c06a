/**
 * How `mcp0 remote` reaches a node: the address, the caller's key (`--key`, read as every command
 * reads a private key), TLS files (`--ca`, `--cert` with `--cert-key`) or `--insecure` for a
 * loopback node, and `--timeout`. Everything is checked before dialling, so a mistyped option is a
 * usage error (exit 2) at once, and a node that does not answer is EUNAVAILABLE (exit 1), as a
 * store that is not there is ENOTFOUND for the local commands.
 */
import { readFile } from 'node:fs/promises';
import { CallError, Mcp0Error, UsageError } from '@mcp0/abi';
import type { Client, ConnectOptions } from '@mcp0/sdk/rpc';
import { type Args, type Io, type OptionSpec, intOption, stringOption } from '../../command.js';
import { readPrivateKey } from '../../trust.js';

/** The default deadline of the connection and of each call, ms: the SDK client's own default. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** The longest deadline a node accepts by default (the server's and the rpc plugin's maxDeadlineMs). */
const MAX_TIMEOUT_MS = 300_000;

/** The options that say how to reach the node and who calls. */
export const CONNECT_OPTIONS: Record<string, OptionSpec> = {
  key: {
    type: 'string',
    arg: '<file>',
    description:
      "the caller's private key (JWK, mode 0600): it signs every call. The node's own methods answer its operator keys (the rpc plugin's config), an agent's intents the consumer of its agreement",
  },
  ca: {
    type: 'string',
    arg: '<file>',
    description: "the CA that signed the node's certificate (PEM; mcp0 keygen --tls writes ca.crt); default: the system's roots",
  },
  cert: { type: 'string', arg: '<file>', description: "mutual TLS: this client's certificate (PEM; mcp0 keygen --tls <dir> --client <name>)" },
  'cert-key': { type: 'string', arg: '<file>', description: "mutual TLS: the client certificate's private key (PEM)" },
  insecure: { type: 'boolean', description: 'plaintext, to a node started with --insecure: refused for any address but loopback (127.0.0.1, ::1, localhost)' },
  timeout: {
    type: 'string',
    arg: '<ms>',
    description: `how long to wait for the node to be reachable, and each call's deadline (default ${DEFAULT_TIMEOUT_MS}, at most ${MAX_TIMEOUT_MS})`,
  },
};

/**
 * `addr` checked as `host:port` or `[v6]:port` with a port from 1 to 65535; the usage error says
 * what came, since gRPC would otherwise wait out the timeout on a target it cannot parse.
 * @example
 * checkAddress('127.0.0.1:7040') // '127.0.0.1:7040'
 */
export function checkAddress(addr: string): string {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(addr);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535)
    throw new UsageError('EUSAGE', `<addr>: expected host:port (127.0.0.1:7040, node.example:7040, [::1]:7040), got ${JSON.stringify(addr)}`, {
      address: addr,
    });
  return addr;
}

/** A PEM file named by `option`, or a usage error naming the option and the file. */
async function pem(args: Args, option: string): Promise<Uint8Array | undefined> {
  const path = stringOption(args, option);
  if (path === undefined) return undefined;
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new UsageError('EUSAGE', `--${option} ${path}: cannot read it (${code})`, { path, reason: code }, { cause: e });
  }
}

/**
 * The SDK client's connect options from the command's: the key file, the TLS files, the timeout.
 * The caller's key id goes to stderr, as every command says which keys it uses.
 * @example
 * const options = await connectOptions(args, io) // --key me.jwk --insecure
 */
export async function connectOptions(args: Args, io: Io): Promise<ConnectOptions> {
  const keyFile = stringOption(args, 'key');
  if (keyFile === undefined)
    throw new UsageError('EUSAGE', "--key <file> is required: the caller's private key, which signs every call (mcp0 keygen --out me.jwk makes one)");
  const insecure = args.values.insecure === true;
  const tlsGiven = ['ca', 'cert', 'cert-key'].filter((o) => stringOption(args, o) !== undefined);
  if (insecure && tlsGiven.length > 0) throw new UsageError('EUSAGE', `--insecure is plaintext: give it or --${tlsGiven.join(', --')}, not both`);
  if ((stringOption(args, 'cert') === undefined) !== (stringOption(args, 'cert-key') === undefined))
    throw new UsageError('EUSAGE', '--cert and --cert-key go together (mutual TLS)');
  const timeoutMs = intOption(args, 'timeout', 1, MAX_TIMEOUT_MS) ?? DEFAULT_TIMEOUT_MS;
  const key = await readPrivateKey(keyFile, '--key');
  io.err(`caller: ${key.kid} from --key ${keyFile}\n`);
  const [ca, cert, certKey] = [await pem(args, 'ca'), await pem(args, 'cert'), await pem(args, 'cert-key')];
  return { key, timeoutMs, ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(certKey ? { certKey } : {}), ...(insecure ? { insecure } : {}) };
}

/**
 * Connects to the node at `address`. The SDK's client says EUNAVAILABLE when the channel is not
 * ready before the timeout (nothing listening, a TLS handshake refused); here the error also says
 * what to check on either side, and exits 1, as the exit rule gives a check that ran and failed. A plaintext address that is not loopback stays EUSAGE.
 * @example
 * const client = await connectNode('127.0.0.1:7040', await connectOptions(args, io))
 */
export async function connectNode(address: string, options: ConnectOptions): Promise<Client> {
  const { Client, isLoopback } = await import('@mcp0/sdk/rpc');
  if (options.insecure === true && !isLoopback(address))
    throw new UsageError('EUSAGE', `--insecure is plaintext, for a loopback address only (127.0.0.1, ::1, localhost), got ${address}: give --ca instead`, {
      address,
    });
  try {
    return await Client.connect(address, options);
  } catch (e) {
    if (!(e instanceof Mcp0Error) || e.code !== 'EUNAVAILABLE' || e.details.address !== address) throw e;
    // gRPC reports only that the channel never became ready: say what to check on either side.
    const signer = options.ca ? 'the CA of --ca' : 'a CA the system trusts';
    const how =
      options.insecure === true
        ? 'plaintext (--insecure): is it started with mcp0 start --listen <addr> --insecure?'
        : `TLS: is it started with --listen and a certificate for this address signed by ${signer}, and, if it has --tls-client-ca, do you give --cert and --cert-key?`;
    throw new CallError(
      'EUNAVAILABLE',
      `no node answered at ${address} within ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms over ${how} (${e.message})`,
      { address },
      { cause: e },
    );
  }
}
