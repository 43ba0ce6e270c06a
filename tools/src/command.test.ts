// Key ids are base64url: one in 64 starts with "-". The parser must read such a key id as the value
// or positional it is, wherever it stands, and keep every other argument where it was.
import { describe, expect, it } from 'vitest';
import { bindDashValues } from './command.js';

const options = { keyring: { type: 'string' }, out: { type: 'string', short: 'o' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } };
const kid = `-${'a'.repeat(21)}_${'B'.repeat(20)}`;

describe('bindDashValues', () => {
  it('binds an option value that starts with "-"', () => {
    expect(bindDashValues(['--keyring', kid, 'x'], options)).toEqual([`--keyring=${kid}`, 'x']);
  });

  it('moves the positionals after "--" when one is a key id starting with "-", in their order', () => {
    expect(bindDashValues(['remove', kid, '--keyring', 'dir', 'last'], options)).toEqual(['--keyring=dir', '--', 'remove', kid, 'last']);
    expect(bindDashValues([kid, '--json'], options)).toEqual(['--json', '--', kid]);
  });

  it('keeps a short option with its value, and leaves everything else as it was', () => {
    expect(bindDashValues(['first', '-o', 'file', 'second'], options)).toEqual(['-o', 'file', 'first', 'second']);
    expect(bindDashValues(['-o', kid, kid], options)).toEqual(['-o', kid, '--', kid]);
    expect(bindDashValues(['a', '--json', 'b'], options)).toEqual(['--json', 'a', 'b']);
    expect(bindDashValues(['a', '-', 'b'], options)).toEqual(['a', '-', 'b']);
  });

  it('leaves unknown options and "--" to the parser', () => {
    expect(bindDashValues(['--nope', 'a'], options)).toEqual(['--nope', 'a']);
    expect(bindDashValues(['-x'], options)).toEqual(['-x']);
    expect(bindDashValues(['a', '--', '--json', kid], options)).toEqual(['--', 'a', '--json', kid]);
    expect(bindDashValues(['--keyring', '--json'], options)).toEqual(['--keyring', '--json']);
  });
});
