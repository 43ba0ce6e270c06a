/**
 * A small locked distribution for the node commands' tests: storage and trace built from source,
 * signed by the fixture publisher, assembled and signed by a throwaway assembler whose public key
 * sits beside it as a local build's development key would.
 */
import { join } from 'node:path';
import { generateKeyPair, writeKeyFile } from '@mcp0/abi';
import { addPlugin, createDistribution, lockDistribution, setPipeline } from '@mcp0/sdk';
import { publisher, signed } from '../../test/fixtures.js';
import { tempDir } from './helpers.js';

/** Builds the distribution once per test file; returns its directory. */
export async function nodeDist(): Promise<string> {
  const dir = join(tempDir('mcp0-node-dist-'), 'dist');
  const assembler = generateKeyPair();
  await createDistribution(dir, { name: 'test', assembler: assembler.publicKey });
  await addPlugin(dir, await signed('storage'), { grants: ['blocks', 'random'], publishers: [publisher.publicKey] });
  await addPlugin(dir, await signed('trace'), { grants: ['kv:trace/'] });
  await setPipeline(dir, { admit: [], observe: ['mcp0.trace'] });
  await lockDistribution(dir, assembler);
  await writeKeyFile(join(dir, 'dev-key.pub.jwk'), assembler.publicKey);
  return dir;
}
