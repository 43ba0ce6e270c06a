/**
 * The main job (`npm start`) until the SDK lands: build the hello plugin, sign it with a local dev
 * key, verify it, load it into a kernel in both isolation tiers, call every export, and print what
 * happened with the kernel's metering. Everything it writes goes under ./data.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeCbor, encodeCbor, generateKeyPair, readKeyFile, signModule, writeKeyFile, type PrivateKey } from '@mcp0/abi';
import { Kernel, MemoryKv, verifyArtifact, type Tier } from '@mcp0/kernel';
import { buildPlugin } from './build/index.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const DATA = resolve(process.env.MCP0_DATA ?? 'data');

/** The local development key: made on first run, never a production key. */
async function devKey(): Promise<PrivateKey> {
  const path = join(DATA, 'dev-key.jwk');
  if (!existsSync(path)) await writeKeyFile(path, generateKeyPair());
  const key = await readKeyFile(path);
  if (key.type !== 'private') throw new Error(`${path} holds a public key; delete it to make a new dev key`);
  return key;
}

async function main(): Promise<void> {
  await mkdir(DATA, { recursive: true });
  const started = performance.now();
  const key = await devKey();
  const built = await buildPlugin(join(ROOT, 'plugins', 'hello'));
  const artifact = signModule(built.wasm, key);
  const file = join(DATA, 'hello.wasm');
  await writeFile(file, artifact);
  const grants = [{ name: 'kv' as const }, { name: 'clock' as const }, { name: 'random' as const }];
  const verified = await verifyArtifact(artifact, { trust: [key.publicKey], grants });
  console.log(`built and signed ${verified.manifest.name}@${verified.manifest.version} → ${file}`);
  console.log(`  ${artifact.length} bytes, sha256 ${verified.sha256.slice(0, 16)}…, signer ${verified.signers[0]} (dev key in ${join(DATA, 'dev-key.jwk')})`);

  for (const tier of ['inline', 'worker'] as Tier[]) {
    const kernel = new Kernel({ trust: [key.publicKey], providers: { kv: new MemoryKv() } });
    await kernel.load(artifact, { isolation: tier, grants });
    const greet = await kernel.callValue('mcp0.hello', 'greet', { name: 'MCP-ZERO' });
    await kernel.callValue('mcp0.hello', 'count', { key: 'runs' });
    const count = await kernel.callValue('mcp0.hello', 'count', { key: 'runs', by: 2 });
    const stamp = decodeCbor(await kernel.call('mcp0.hello', 'stamp', encodeCbor({}))) as { time: number; nonce: Uint8Array };
    const echo = await kernel.call('mcp0.hello', 'echo', new Uint8Array(1024).fill(42));
    const denied = await kernel.callValue('mcp0.hello', 'greet', { nom: 'x' }).then(() => 'accepted?!', (e: { code: string }) => e.code);
    const m = kernel.metrics()['mcp0.hello']!;
    console.log(`${tier} tier:`);
    console.log(`  greet → ${JSON.stringify(greet)}; count → ${JSON.stringify(count)}; stamp → time ${stamp.time}, nonce ${Buffer.from(stamp.nonce).toString('hex')}`);
    console.log(`  echo 1 KiB → ${echo.length} bytes back; malformed greet → ${denied}`);
    console.log(`  metering: ${m.calls} calls, ${m.errors} error(s), p50 ${m.wallUs.p50.toFixed(0)} µs, p99 ${m.wallUs.p99.toFixed(0)} µs, ${m.bytesIn} B in, ${m.bytesOut} B out, ${m.costUnits} cost units, ${m.memoryPages ?? 'n/a'} memory pages`);
    await kernel.stop();
  }
  const rss = process.memoryUsage().rss / 2 ** 20;
  console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s; RSS ${rss.toFixed(0)} MiB (budget: peak 827 MB)`);
}

main().catch((e: unknown) => {
  console.error(`mcp0 start: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
