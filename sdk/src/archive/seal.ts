/**
 * The seal of an archive: a signed statement (abi `signStatement`, type `mcp0.archive-seal/1`) by
 * the exporting operator's key over every member of the archive that its content-addressed blocks
 * do not cover themselves: the format, the agent's name, the head commit id, whether the parent
 * chain is included, and the number of blocks. The head commit id covers every block: the reader
 * re-hashes each block and walks from the head, so the blocks are exactly those the head's hashes
 * reach. Sealing the name is the point: without it, an edited name would restore one agent's
 * state under another's.
 */
import { Mcp0Error, signStatement, StatementError, verifyStatement, type PrivateKey, type PublicKey, type SignedStatement } from '@mcp0/abi';

/**
 * The statement type of an archive's seal; inside the signed bytes, so no other signed statement
 * (a trace checkpoint, say) can stand in for a seal.
 * @example
 * verifyStatement(seal, SEAL_TYPE, trust)
 */
export const SEAL_TYPE = 'mcp0.archive-seal/1';

/**
 * What a seal vouches for: the archive's members, with the head commit id in lower-case hex.
 * @example
 * const body: SealBody = { format: 'mcp0.archive/2', agent: 'agent-1', head: 'ab12…', history: false, blocks: 42 }
 */
export interface SealBody {
  format: string;
  agent: string;
  /** The head commit id, lower-case hex (64 characters). */
  head: string;
  /** True when the archive holds the whole parent chain. */
  history: boolean;
  /** How many blocks the archive holds. */
  blocks: number;
}

/**
 * A seal that verified: what it vouches for, and the key id of the trusted key that signed it.
 * @example
 * const { body, signer }: VerifiedSeal = verifySeal(fields.seal, trust)
 */
export interface VerifiedSeal {
  body: SealBody;
  signer: string;
  statement: SignedStatement;
}

/** A key id: an RFC 7638 thumbprint, 43 base64url characters. */
const KEY_ID = /^[A-Za-z0-9_-]{43}$/;
const MEMBERS = ['agent', 'blocks', 'format', 'head', 'history', 'sig', 'signer', 'type'];

const bad = (message: string): Mcp0Error => new Mcp0Error('EINPUT', `archive: seal: ${message}`);
const refuse = (message: string, details: Record<string, unknown> = {}): Mcp0Error => new Mcp0Error('ESIGNATURE', `archive: ${message}`, details);

/**
 * Signs `body` with the exporting operator's `key`.
 * @example
 * const seal = sealArchive({ format: ARCHIVE_FORMAT, agent, head: hex(head), history, blocks: n }, operatorKey)
 */
export function sealArchive(body: SealBody, key: PrivateKey): SignedStatement {
  return signStatement(SEAL_TYPE, { ...body }, key);
}

/**
 * Checks that `value` is a seal signed by one of `trust`, and returns what it vouches for. Refuses
 * (`ESIGNATURE`) a seal signed by an untrusted key (naming it and the trusted ids), one whose
 * signature does not verify, or one of another statement type; `EINPUT` when a verified seal lacks
 * a member or has one of the wrong type.
 * @example
 * const { body, signer } = verifySeal(fields.seal, [operatorPublicKey])
 */
export function verifySeal(value: unknown, trust: readonly PublicKey[]): VerifiedSeal {
  // The signer ends up in messages a terminal shows: anything but a key id is refused unprinted.
  const signer = namedSigner(value);
  if (signer !== null && !KEY_ID.test(signer))
    throw refuse(`seal: signer: expected a key id (43 base64url characters), got ${JSON.stringify(signer.slice(0, 60))}`);
  let statement: SignedStatement;
  try {
    statement = verifyStatement(value, SEAL_TYPE, trust).statement;
  } catch (e) {
    if (!(e instanceof StatementError)) throw e;
    throw new Mcp0Error(e.code, `archive: seal: ${e.message}`, { ...e.details }, { cause: e });
  }
  const keys = Object.keys(statement).sort();
  if (keys.join(',') !== MEMBERS.join(',')) throw bad(`expected the members ${MEMBERS.join(', ')}, got ${keys.join(', ')}`);
  const { format, agent, head, history, blocks } = statement;
  if (typeof format !== 'string' || typeof agent !== 'string') throw bad('format and agent: expected text');
  if (typeof head !== 'string' || !/^[0-9a-f]{64}$/.test(head)) throw bad('head: expected 64 lower-case hex digits');
  if (typeof history !== 'boolean') throw bad('history: expected true or false');
  if (typeof blocks !== 'number' || !Number.isSafeInteger(blocks) || blocks < 1) throw bad('blocks: expected a count ≥ 1');
  return { body: { format, agent, head, history, blocks }, signer: statement.signer, statement };
}

/**
 * Refuses (`ESIGNATURE`, naming both values) an archive whose members differ from what its seal
 * vouches for: a seal grafted from another archive, or a member edited after sealing. Only the
 * members given are compared (the history flag is known only once the blocks are hashed).
 * @example
 * checkSealCovers(seal.body, { format, agent, head: hex(head), blocks: list.length })
 */
export function checkSealCovers(sealed: SealBody, archive: Partial<SealBody>): void {
  for (const member of ['format', 'agent', 'head', 'history', 'blocks'] as const) {
    if (member in archive && sealed[member] !== archive[member]) {
      const [s, a] = [JSON.stringify(sealed[member]), JSON.stringify(archive[member])];
      throw refuse(
        `the seal does not cover this archive: the seal says ${member} ${s}, the archive has ${a} (edited after sealing, or a seal taken from another archive)`,
        {
          member,
          sealed: sealed[member],
          archive: archive[member],
        },
      );
    }
  }
}

/**
 * The key id a seal names as its signer, unverified: only for looking a key up among those the
 * operator trusts (the keyring), never as a reason to trust it. Null when there is none.
 * @example
 * const kid = namedSigner(fields.seal) // then findInKeyring(kid)
 */
export function namedSigner(seal: unknown): string | null {
  if (seal === null || typeof seal !== 'object' || Array.isArray(seal) || seal instanceof Uint8Array) return null;
  const signer = (seal as Record<string, unknown>).signer;
  return typeof signer === 'string' ? signer : null;
}
