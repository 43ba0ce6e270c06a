/**
 * verify's first two checks through the real kernel: the known-answer envelope of
 * abi/corpus/rpc/envelope-v1.json verifies, the bytes the plugin verifies the signature over are
 * the TypeScript signer's (seen through the stand-in host), and every forged or malformed envelope
 * is refused with ESIGNATURE or EINPUT naming the member.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkRoleResponse, decodeCbor, ENVELOPE_DOMAIN, encodeCbor, generateKeyPair, privateKeyFromSeed, signEnvelope } from '@mcp0/abi';
import { MemoryStore } from '@mcp0/sdk';
import { loadGuest } from '../../../test/guest/harness.js';
import { unsigned } from '../../../test/fixtures.js';
import { consumer, envelope, makeRpc, PAYLOAD, refusal, request, T0, verify } from './helpers.js';

const vector = JSON.parse(readFileSync(new URL('../../../abi/corpus/rpc/envelope-v1.json', import.meta.url), 'utf8'));
const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

/** The envelope with `edit` applied to its decoded map, re-encoded (the signature left as it was). */
function edited(edit: (m: Record<string, unknown>) => void, bytes: Uint8Array = envelope()): Uint8Array {
  const m = decodeCbor(bytes) as Record<string, unknown>;
  edit(m);
  return encodeCbor(m as never);
}

describe('verify: the known answer', () => {
  it('accepts the envelope of abi/corpus/rpc/envelope-v1.json for the consumer it names', async () => {
    const rpc = await makeRpc({ kv: new MemoryStore().kv });
    rpc.clock.now = vector.time + 1_000;
    const bytes = fromHex(vector.envelope);
    const answer = await verify(rpc, { envelope: bytes, payload: fromHex(vector.payload), consumer: vector.caller });
    expect(answer).toEqual({
      caller: vector.caller,
      target: 'notes',
      method: 'remember',
      deadline: vector.deadline,
      envelopeHash: sha256(bytes),
      tokens: 99, // the default burst of 100, less this call
    });
    await rpc.kernel.stop();
  });

  it('verifies the signature over the very bytes the TypeScript signer signed', async () => {
    const wasm = await unsigned('rpc');
    const payload = new TextEncoder().encode('ü水🌊');
    const cases: Uint8Array[] = [
      fromHex(vector.envelope),
      signEnvelope({ key: consumer, target: 'notes', method: 'remember', payload, time: T0, deadline: T0 + 300_000 }),
      signEnvelope({ key: consumer, target: 'ägent-水', method: 'm'.repeat(300), payload, time: T0, deadline: T0 + 1 }),
      signEnvelope({ key: consumer, target: '', method: 'mcp0.v1.Node/ListAgents', payload: new Uint8Array(0), time: 23, deadline: 24 }),
      signEnvelope({ key: consumer, target: 'x', method: '', payload, time: 2 ** 53 - 2, deadline: 2 ** 53 - 1 }),
    ];
    for (const bytes of cases) {
      const { sig, ...unsigned } = decodeCbor(bytes) as Record<string, unknown>;
      const expected = Buffer.concat([Buffer.from(ENVELOPE_DOMAIN), encodeCbor(unsigned as never)]);
      const g = await loadGuest(wasm, { kvPrefix: 'rpc/', now: unsigned.time as number, record: true });
      expect((await g.call('mcp0_init', encodeCbor({}))).kind).toBe('output');
      const p = bytes === cases[0] ? fromHex(vector.payload) : bytes === cases[3] ? new Uint8Array(0) : payload;
      const out = await g.call('verify', encodeCbor({ envelope: bytes, payload: p, consumer: unsigned.caller as string }));
      // Node methods need an operator: the node's call is refused after the signature, which is what is looked at here.
      expect(out.kind === 'output' || (out.kind === 'error' && out.code === 'EPERM'), JSON.stringify(out)).toBe(true);
      if (out.kind === 'output') expect(checkRoleResponse('rpc', 'verify', decodeCbor(out.bytes))).toMatchObject({ caller: unsigned.caller });
      const verified = g.host.calls.filter((c) => c.name === 'crypto_ed25519_verify');
      expect(verified).toHaveLength(1);
      expect(Buffer.from(verified[0]!.request.msg as Uint8Array).toString('hex')).toBe(expected.toString('hex'));
      expect(verified[0]!.request.sig).toEqual(sig);
      expect(g.host.nonCanonical).toEqual([]);
    }
  });
});

describe('verify: signatures (ESIGNATURE)', () => {
  it('refuses a bad signature, a key that is not the caller’s, another payload and another key’s envelope', async () => {
    const rpc = await makeRpc();
    const mallory = generateKeyPair();
    const cases: [string, Uint8Array, Uint8Array, RegExp][] = [
      ['a flipped signature bit', edited((m) => ((m.sig as Uint8Array)[0]! ^= 1)), PAYLOAD, /the signature of .* does not verify/],
      ['another target, signature kept', edited((m) => (m.target = 'wallet')), PAYLOAD, /the signature of .* does not verify/],
      ['a later deadline, signature kept', edited((m) => (m.deadline = T0 + 5_001)), PAYLOAD, /the signature of .* does not verify/],
      [
        'another key, same caller',
        edited((m) => (m.key = mallory.publicKey.bytes)),
        PAYLOAD,
        new RegExp(`"caller" "${consumer.kid}" is not the key id of "key" \\(${mallory.kid}\\)`),
      ],
      ['another caller, same key', edited((m) => (m.caller = mallory.kid)), PAYLOAD, /is not the key id of "key"/],
      [
        'mallory’s key and id, the consumer’s signature',
        edited((m) => {
          m.key = mallory.publicKey.bytes;
          m.caller = mallory.kid;
        }),
        PAYLOAD,
        new RegExp(`the signature of ${mallory.kid} does not verify`),
      ],
      [
        'another payload',
        envelope(),
        new TextEncoder().encode('{"text":"sell milk"}'),
        new RegExp(
          `"payloadHash" expected [0-9a-f]{64} \\(the SHA-256 of the 20-byte payload sent with it\\), got ${Buffer.from(sha256(PAYLOAD)).toString('hex')}`,
        ),
      ],
    ];
    for (const [what, bytes, payload, message] of cases) {
      const e = await refusal(rpc, request(bytes, consumer.kid, payload));
      expect(e.code, what).toBe('ESIGNATURE');
      expect(e.message, what).toMatch(message);
    }
    // None of them spent anything: the genuine envelope still verifies with a full bucket.
    expect((await verify(rpc, request(envelope()))).tokens).toBe(99);
    await rpc.kernel.stop();
  });
});

describe('verify: shape (EINPUT naming the member)', () => {
  it('refuses a malformed request', async () => {
    const rpc = await makeRpc();
    const good = envelope();
    const cases: [unknown, string][] = [
      [{ envelope: good, payload: PAYLOAD }, '"consumer" is missing'],
      [{ envelope: good, payload: PAYLOAD, consumer: consumer.kid, extra: 1 }, 'verify: expected only the members envelope, payload, consumer, got "extra"'],
      [{ envelope: 'text', payload: PAYLOAD, consumer: null }, '"envelope" expected bytes, got text'],
      [{ envelope: good, payload: [1], consumer: null }, '"payload" expected bytes, got array'],
      [
        { envelope: good, payload: PAYLOAD, consumer: 'acme.notes' },
        '"consumer" expected a key id (the RFC 7638 thumbprint of an Ed25519 key, 43 base64url characters) or null, got "acme.notes"',
      ],
      [
        { envelope: good, payload: PAYLOAD, consumer: 7 },
        '"consumer" expected a key id (the RFC 7638 thumbprint of an Ed25519 key, 43 base64url characters) or null, got uint',
      ],
      [[good], 'input: expected a CBOR map, got array'],
    ];
    for (const [input, message] of cases)
      expect(await refusal(rpc, input), message).toMatchObject({ code: 'EINPUT', message: expect.stringContaining(message) });
    await rpc.kernel.stop();
  });

  it('refuses a malformed envelope, as decodeEnvelope does', async () => {
    const rpc = await makeRpc();
    const cases: [Uint8Array, string][] = [
      [edited((m) => (m.v = 2)), '"v" expected 1, got 2'],
      [edited((m) => delete m.v), '"v" is missing, expected 1'],
      [edited((m) => (m.extra = 1)), 'unknown member "extra"'],
      [edited((m) => delete m.method), '"method" is missing, expected text'],
      [edited((m) => (m.target = 7)), '"target" expected text, got 7'],
      [edited((m) => (m.nonce = new Uint8Array(8))), '"nonce" expected 16 bytes, got 8 bytes'],
      [edited((m) => (m.key = 'k')), '"key" expected 32 bytes, got "k"'],
      [edited((m) => (m.payloadHash = new Uint8Array(31))), '"payloadHash" expected 32 bytes, got 31 bytes'],
      [edited((m) => (m.sig = new Uint8Array(65))), '"sig" expected 64 bytes, got 65 bytes'],
      [edited((m) => (m.time = -1)), '"time" expected an integer from 0 to 2^53 − 1, got -1'],
      [edited((m) => (m.time = 1.5)), '"time" expected an integer from 0 to 2^53 − 1, got float'],
      [edited((m) => (m.deadline = 2n ** 53n)), '"deadline" expected an integer from 0 to 2^53 − 1, got 9007199254740992'],
      [encodeCbor([1, 2]), 'expected a CBOR map, got array'],
      [Uint8Array.of(0xff), 'CBOR: '],
      // 1 as a half-precision float: a decoder that reads it as the number 1 re-encodes the same signed
      // bytes, so these other envelope bytes (another envelopeHash) would verify (abi's verifyEnvelope does).
      [new Uint8Array(Buffer.from(Buffer.from(envelope()).toString('hex').replace('617601', '6176f93c00'), 'hex')), '"v" expected 1, got float'],
      // Non-deterministic CBOR (keys out of order) could be signed one way and hashed another.
      [Uint8Array.of(0xa2, 0x61, 0x76, 0x01, 0x61, 0x61, 0x01), 'map keys are not in deterministic order'],
    ];
    for (const [bytes, message] of cases) {
      const e = await refusal(rpc, request(bytes));
      expect(e, message).toMatchObject({ code: 'EINPUT', message: expect.stringContaining(`rpc envelope: `) });
      expect(e.message, message).toContain(message);
    }
    await rpc.kernel.stop();
  });
});
