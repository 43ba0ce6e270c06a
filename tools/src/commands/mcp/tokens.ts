/**
 * The bearer tokens of `mcp0 mcp --http`: a file mapping each token to the consumer key id its
 * holder acts as, so the agreement of that consumer applies to every call. A token is a password:
 * the file must not be readable by group or others, a token is at least 32 characters, and tokens
 * are looked up by their SHA-256 so the comparison's timing says nothing about a stored token.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { UsageError, parseJson } from '@mcp0/abi';
import { isKeyId } from '../../keyring.js';

/** RFC 6750's b64token: what may follow `Bearer ` in an Authorization header. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** The shortest token accepted: 32 characters, 192 bits or more as base64url. */
export const MIN_TOKEN_LENGTH = 32;

/** Who a token stands for. */
export interface TokenHolder {
  consumer: string;
  /** A label for logs (never the token). */
  name: string;
}

/** Tokens by the hex SHA-256 of their text. */
export type Tokens = ReadonlyMap<string, TokenHolder>;

const digest = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/**
 * Parses the tokens file's text: `{"tokens": [{"token", "consumer", "name"?}]}`; every fault is
 * EUSAGE naming the entry.
 * @example
 * parseTokens('{"tokens":[{"token":"3q…(32+ chars)","consumer":"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k","name":"desktop"}]}', 'tokens.json')
 */
export function parseTokens(text: string, file: string): Tokens {
  let doc: unknown;
  try {
    doc = parseJson(text);
  } catch (e) {
    throw new UsageError('EUSAGE', `--tokens ${file}: ${(e as Error).message}`);
  }
  const list = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? (doc as { tokens?: unknown }).tokens : undefined;
  if (!Array.isArray(list) || Object.keys(doc as object).some((k) => k !== 'tokens'))
    throw new UsageError('EUSAGE', `--tokens ${file}: expected {"tokens": [{"token", "consumer", "name"?}]}`);
  const out = new Map<string, TokenHolder>();
  list.forEach((entry: unknown, i) => {
    const at = `--tokens ${file}: tokens/${i}`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new UsageError('EUSAGE', `${at}: expected an object`);
    const { token, consumer, name, ...rest } = entry as Record<string, unknown>;
    if (Object.keys(rest).length > 0) throw new UsageError('EUSAGE', `${at}: unknown member ${JSON.stringify(Object.keys(rest)[0])}`);
    if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH || token.length > 512 || !B64TOKEN.test(token))
      throw new UsageError('EUSAGE', `${at}: "token" must be ${MIN_TOKEN_LENGTH} to 512 characters of A-Z a-z 0-9 - . _ ~ + / (then = padding)`);
    if (typeof consumer !== 'string' || !isKeyId(consumer))
      throw new UsageError('EUSAGE', `${at}: "consumer" must be a key id (43 base64url characters), got ${JSON.stringify(consumer)}`);
    if (name !== undefined && (typeof name !== 'string' || name.length > 128))
      throw new UsageError('EUSAGE', `${at}: "name" must be text of at most 128 characters`);
    const key = digest(token);
    if (out.has(key)) throw new UsageError('EUSAGE', `${at}: the same token is listed twice`);
    out.set(key, { consumer, name: name ?? `tokens/${i}` });
  });
  return out;
}

/**
 * Reads a tokens file, refusing one that group or others can read (as for private keys).
 * @example
 * const tokens = await readTokens('tokens.json')
 */
export async function readTokens(file: string): Promise<Tokens> {
  let text: string;
  try {
    if (process.platform !== 'win32') {
      const mode = (await stat(file)).mode & 0o777;
      if ((mode & 0o077) !== 0)
        throw new UsageError(
          'EUSAGE',
          `--tokens ${file}: this file of secrets can be read by others (mode 0${mode.toString(8)}); refusing it. Fix it with: chmod 600 ${file}`,
        );
    }
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError('EUSAGE', `--tokens ${file}: ${(e as Error).message}`);
  }
  return parseTokens(text, file);
}

/**
 * Who an `Authorization` header's bearer token stands for, or undefined (no such token, another scheme).
 * @example
 * holderOf(tokens, 'Bearer 3q…') // { consumer: 'kPrK_…', name: 'desktop' }
 */
export function holderOf(tokens: Tokens, authorization: string): TokenHolder | undefined {
  const m = /^Bearer +(\S+) *$/i.exec(authorization);
  return m ? tokens.get(digest(m[1]!)) : undefined;
}
