// Trace checkpoints as statements: signing, verification against trusted keys, and hostile shapes,
// each refused with a typed error naming the member, what was expected and what came.
import { describe, expect, it } from 'vitest';
import { generateKeyPair, signStatement, StatementError } from '@mcp0/abi';
import { BN254_FIELD } from '../zk/index.js';
import { CHECKPOINT_TYPE, CheckpointError, checkpointKey, parseCheckpoint, signCheckpoint, verifyCheckpoint } from './checkpoint.js';

const operator = generateKeyPair();
const body = { seq: 41, head: '1234567890', time: 1_765_000_000_000 };

describe('trace checkpoints', () => {
  it('sign → verify round trip; the signer is the operator key; keys sort by seq', () => {
    const cp = signCheckpoint(body, operator);
    expect(cp).toMatchObject({ type: CHECKPOINT_TYPE, ...body, signer: operator.kid });
    const { checkpoint, key } = verifyCheckpoint(JSON.parse(JSON.stringify(cp)), [generateKeyPair().publicKey, operator.publicKey]);
    expect(checkpoint).toEqual(cp);
    expect(key.kid).toBe(operator.kid);
    expect(checkpointKey(41)).toBe('checkpoint/00000000000000000041');
    expect(checkpointKey(9) < checkpointKey(10)).toBe(true);
  });

  it('refuses another statement type, an untrusted signer (named), and any member changed after signing', () => {
    const other = signStatement('mcp0.archive-seal/1', body, operator);
    expect(() => verifyCheckpoint(other, [operator.publicKey])).toThrow(/expected a statement of type mcp0\.trace-checkpoint\/1, got "mcp0\.archive-seal\/1"/);
    const stranger = generateKeyPair();
    expect(() => verifyCheckpoint(signCheckpoint(body, stranger), [operator.publicKey])).toThrow(
      new RegExp(`signed by ${stranger.kid}, which is not a trusted key \\(trusted: ${operator.kid}\\)`),
    );
    const cp = signCheckpoint(body, operator);
    for (const edit of [{ seq: 42 }, { head: '1234567891' }, { time: 1 }, { signer: stranger.kid }]) {
      expect(() => verifyCheckpoint({ ...cp, ...edit }, [operator.publicKey, stranger.publicKey])).toThrow(StatementError);
    }
  });

  it.each([
    ['a negative seq', { seq: -1 }, /seq: expected an integer from 0 to 2\^53 − 1, got -1/],
    ['a float seq', { seq: 1.5 }, /seq: expected an integer/],
    ['a text seq', { seq: '41' }, /seq: expected an integer from 0 to 2\^53 − 1, got "41"/],
    ['a head with leading zeros', { head: '0123' }, /head: expected a BN254 field element as a canonical decimal string, got "0123"/],
    ['a head of p', { head: BN254_FIELD.toString() }, /head: expected a BN254 field element/],
    ['a hex head', { head: '0x12' }, /head: expected a BN254 field element/],
    ['a negative time', { time: -5 }, /time: expected ms since the epoch \(an integer ≥ 0\), got -5/],
  ])('signCheckpoint and parseCheckpoint refuse %s (EINPUT naming the member)', (_what, edit, message) => {
    expect(() => signCheckpoint({ ...body, ...edit } as typeof body, operator)).toThrow(message);
    const cp = { ...signCheckpoint(body, operator), ...edit };
    expect(() => parseCheckpoint(cp)).toThrow(message);
    try {
      parseCheckpoint(cp);
    } catch (e) {
      expect(e).toBeInstanceOf(CheckpointError);
      expect((e as CheckpointError).code).toBe('EINPUT');
    }
  });

  it('parseCheckpoint refuses a value that is not a checkpoint, an extra member, and a missing signature', () => {
    expect(() => parseCheckpoint([1])).toThrow(/expected a mcp0\.trace-checkpoint\/1 statement \(a JSON object\), got an array/);
    expect(() => parseCheckpoint({ ...body, type: 'x' })).toThrow(/type: expected "mcp0\.trace-checkpoint\/1", got "x"/);
    const cp = signCheckpoint(body, operator);
    expect(() => parseCheckpoint({ ...cp, note: 'hi' })).toThrow(/unexpected member "note": expected exactly type, seq, head, time, signer, sig/);
    const { sig: _sig, ...unsigned } = cp;
    expect(() => parseCheckpoint(unsigned)).toThrow(/expected string members signer and sig/);
    expect(() => verifyCheckpoint(unsigned, [operator.publicKey])).toThrow(/unsigned/);
  });
});
