/**
 * Locking: pin each plugin's sha256 to its file as it is now, check everything a verifier will
 * check, and sign with the assembler's key. A distribution with a problem is never signed.
 */
import { LoadError, UsageError, type PrivateKey } from '@mcp0/abi';
import { readDistribution, writeDistribution } from './document.js';
import { readArtifact, sha256Hex } from './files.js';
import { signDistribution } from './sign.js';
import type { DistributionDocument } from './types.js';
import { checkContents, distributionError } from './verify.js';

/**
 * Lock and sign the distribution in `dir` with the assembler `key` (it must be the document's
 * `assembler`). Throws `EUSAGE` for another key, and the verifier's `LoadError` naming every
 * problem when the contents do not check out (nothing is written then).
 * @example
 * const doc = await lockDistribution('my-dist', await readKeyFile('assembler.jwk') as PrivateKey)
 */
export async function lockDistribution(dir: string, key: PrivateKey): Promise<DistributionDocument> {
  if (key?.type !== 'private') throw new UsageError('EUSAGE', "lock: expected the assembler's private key");
  const doc = await readDistribution(dir);
  if (key.kid !== doc.assembler.kid) {
    throw new UsageError('EUSAGE', `lock: expected the assembler key ${doc.assembler.kid} (as the document names it), got ${key.kid}`, {
      expected: doc.assembler.kid,
      got: key.kid,
    });
  }
  const plugins = [];
  for (const entry of doc.plugins) {
    let sha256 = entry.sha256;
    try {
      sha256 = sha256Hex(await readArtifact(dir, entry.name, entry.file));
    } catch (e) {
      // A missing file is reported with every other problem below.
      if (!(e instanceof LoadError)) throw e;
    }
    plugins.push({ ...entry, sha256 });
  }
  const pinned: DistributionDocument = { ...doc, plugins };
  const { problems } = await checkContents(dir, pinned);
  if (problems.length > 0) throw distributionError({ dir, ok: false, problems, plugins: [] });
  const signed = signDistribution(pinned, key);
  await writeDistribution(dir, signed);
  return signed;
}
