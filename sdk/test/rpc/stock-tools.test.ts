// Stock gRPC tools against a served node: grpcurl finds the service by reflection, describes it and
// runs a signed intent with nothing but the proto's JSON mapping (and is refused without a
// deadline); grpc-health-probe reads grpc.health.v1, SERVING until a drain begins. The tools come
// from scripts/grpc-tools/build.sh: env MCP0_GRPCURL and MCP0_GRPC_HEALTH_PROBE (as .ci/run exports
// them), else the cache path build.sh writes to. Without them the tests fail in CI (env CI set) and
// are skipped with a warning elsewhere, as the MongoDB tests are (test/mongo-server.ts).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor, signEnvelope } from '@mcp0/abi';
import type { Node } from '@mcp0/sdk';
import type { NodeServer } from '@mcp0/sdk/rpc';
import { buildPackages } from '../../../test/built.js';
import { consumer, servedNode } from './node.js';

// The versions scripts/grpc-tools/build.sh pins: they name its folder in the cache.
const GRPCURL_VERSION = '1.9.4';
const HEALTH_PROBE_VERSION = '0.4.63';

/** The folder build.sh installs the tools into. */
function cachedToolsDir(): string {
  const cache = process.env.MCP0_CACHE || join(homedir(), '.cache', 'mcp0');
  return join(cache, `grpc-tools-grpcurl${GRPCURL_VERSION}-probe${HEALTH_PROBE_VERSION}`, 'bin');
}

/** A tool's binary: its env var's path (which must exist), else the cached one, else null. */
function findTool(env: string, name: string): string | null {
  const fromEnv = process.env[env];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`${env}=${fromEnv} does not exist; run: bash scripts/grpc-tools/build.sh`);
    return fromEnv;
  }
  const cached = join(cachedToolsDir(), name);
  return existsSync(cached) ? cached : null;
}

const grpcurl = findTool('MCP0_GRPCURL', 'grpcurl');
const probe = findTool('MCP0_GRPC_HEALTH_PROBE', 'grpc-health-probe');
const missing = grpcurl === null || probe === null;
if (missing) {
  const why =
    `no stock gRPC tools: build grpcurl ${GRPCURL_VERSION} and grpc-health-probe ${HEALTH_PROBE_VERSION} with ` +
    `"bash scripts/grpc-tools/build.sh" (or set MCP0_GRPCURL and MCP0_GRPC_HEALTH_PROBE to them); looked in ${cachedToolsDir()}`;
  if (process.env.CI) throw new Error(why);
  console.warn(`[grpc-tools] skipping: ${why}`);
}

let node: Node;
let server: NodeServer;
let address: string;

beforeAll(async () => {
  if (missing) return;
  buildPackages();
  // A drain notice of seconds, not servedNode's 50 ms: the probe must see NOT_SERVING before the
  // server stops taking connections, on a machine that may be slow to start a process.
  ({ node, server } = await servedNode({ drainNoticeMs: 10_000 }));
  address = `127.0.0.1:${server.port}`;
}, 120_000);
afterAll(async () => {
  await server?.close();
  await node?.stop();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bin` to its end (killed after `limitMs`: a hung tool fails the test, it does not hang it). */
function run(bin: string, args: string[], limitMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const shown = (r: Run) => `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;

/** grpcurl's -d for an Execute of `method` on the counter, signed by the consumer, and the envelope. */
function executeRequest(method: string): { data: string; envelope: Uint8Array } {
  const payload = encodeCbor({});
  const envelope = signEnvelope({ key: consumer, target: 'counter', method, payload, deadline: Date.now() + 30_000 });
  const data = JSON.stringify({ envelope: Buffer.from(envelope).toString('base64'), payload: Buffer.from(payload).toString('base64') });
  return { data, envelope };
}

// The probe's own timeouts are 1 s by default: too tight for a shared 2-core machine.
const probeArgs = () => [`-addr=${address}`, '-connect-timeout=20s', '-rpc-timeout=20s'];

describe.skipIf(missing)('stock gRPC tools against a node', () => {
  it('grpcurl lists the node and health services by reflection', async () => {
    const r = await run(grpcurl!, ['-plaintext', address, 'list']);
    expect(r.code, shown(r)).toBe(0);
    expect(r.stdout.split('\n').map((l) => l.trim())).toEqual(expect.arrayContaining(['mcp0.v1.Node', 'grpc.health.v1.Health']));
  });

  it('grpcurl describes mcp0.v1.Node, Execute included', async () => {
    const r = await run(grpcurl!, ['-plaintext', address, 'describe', 'mcp0.v1.Node']);
    expect(r.code, shown(r)).toBe(0);
    expect(r.stdout).toMatch(/mcp0\.v1\.Node is a service/);
    expect(r.stdout).toMatch(/rpc Execute\s*\(\s*\.mcp0\.v1\.Call\s*\)\s*returns\s*\(\s*\.mcp0\.v1\.Result\s*\)/);
  });

  it('grpcurl runs a signed intent, the deadline set by -max-time', async () => {
    const before = (await node.agents.get('counter').execute('get')) as { value: number };
    const { data, envelope } = executeRequest('increment');
    const r = await run(grpcurl!, ['-plaintext', '-max-time', '30', '-d', data, address, 'mcp0.v1.Node/Execute']);
    expect(r.code, shown(r)).toBe(0);
    const answer = JSON.parse(r.stdout) as { payload: string; envelope_hash?: string; envelopeHash?: string; trace?: { head: string } };
    expect(decodeCbor(Buffer.from(answer.payload, 'base64'))).toEqual({ value: before.value + 1 });
    // The answer names the call that asked for it: the SHA-256 of the envelope grpcurl sent. The
    // descriptors reflection serves come from proto-loader with keepCase, and grpcurl prints the
    // field as envelope_hash, not protobuf JSON's envelopeHash: either is taken here.
    expect(answer.envelope_hash ?? answer.envelopeHash).toBe(createHash('sha256').update(envelope).digest('base64'));
    expect(answer.trace?.head).toMatch(/^\d+$/);
  });

  it('grpcurl without -max-time is refused for the missing deadline, and nothing runs', async () => {
    const before = (await node.agents.get('counter').execute('get')) as { value: number };
    const { data } = executeRequest('increment');
    const r = await run(grpcurl!, ['-plaintext', '-d', data, address, 'mcp0.v1.Node/Execute']);
    expect(r.code, shown(r)).not.toBe(0);
    expect(r.stderr, shown(r)).toMatch(/Code: InvalidArgument/);
    expect(r.stderr, shown(r)).toMatch(/Message: .*no deadline/);
    expect(await node.agents.get('counter').execute('get')).toEqual(before);
  });

  it('grpc-health-probe says SERVING, for the server and for mcp0.v1.Node', async () => {
    const all = await run(probe!, probeArgs());
    expect(all.code, shown(all)).toBe(0);
    expect(all.stdout + all.stderr).toMatch(/status: SERVING/);
    const service = await run(probe!, [...probeArgs(), '-service=mcp0.v1.Node']);
    expect(service.code, shown(service)).toBe(0);
    expect(service.stdout + service.stderr).toMatch(/status: SERVING/);
  });

  // Last: it stops the server.
  it('grpc-health-probe says NOT_SERVING once a drain begins', async () => {
    const drained = server.drain();
    try {
      // The status turns as the drain begins and stays so for the notice: poll both names until
      // neither says SERVING (the first round should already see it).
      let last: Run[] = [];
      for (const until = Date.now() + 60_000; Date.now() < until; ) {
        last = await Promise.all([run(probe!, probeArgs()), run(probe!, [...probeArgs(), '-service=mcp0.v1.Node'])]);
        if (last.every((r) => r.code !== 0)) break;
      }
      for (const r of last) {
        expect(r.code, shown(r)).not.toBe(0);
        expect(r.stdout + r.stderr, shown(r)).toMatch(/NOT_SERVING/);
      }
    } finally {
      await drained;
    }
  });
});
