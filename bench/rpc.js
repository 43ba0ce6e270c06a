/**
 * RPC benchmark (`node --no-warnings --expose-gc bench/rpc.js [--quick]`, after `npm run build`):
 * an agent's operation (the counter's `increment`, on a node with storage, trace, agreements and
 * rpc) called three ways at 16 calls in flight: in process (`agent.execute`), over gRPC on loopback
 * through the rpc plugin (`Client`: a signed envelope per call, `verify`, the consumer looked up,
 * the trace head read for the reply), and, as the floor, a bare @grpc/grpc-js echo of a message of
 * the same size. Target (issue 15): what the transport and its checks add to the operation, the
 * gRPC call minus the in-process one, is at most 1.5× the bare echo's round trip (at p50). Then
 * the RSS serving adds to an idle node (the seed's budget for the RPC layer: 30 MB).
 */
import { Server, ServerCredentials, credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { encodeCbor, generateKeyPair, newAgreement, signAgreement, signEnvelope } from '@mcp0/abi';
import { Node } from '@mcp0/sdk';
import { Client, serveNode } from '@mcp0/sdk/rpc';
import { collect, measure } from './lib/measure.js';
import { figuresTable, ratiosTable } from './lib/report.js';
import { builtSigned } from './lib/fixtures.js';

const quick = process.argv.includes('--quick');
const log = (msg) => process.stderr.write(`${msg}\n`);
const CONCURRENCY = 16;
const key = generateKeyPair();
const operator = generateKeyPair();
const [storage, trace, agreements, rpc, counter] = await builtSigned(
  ['plugins/storage', 'plugins/trace', 'plugins/agreements', 'plugins/rpc', 'agents/counter'],
  key,
);

const node = await Node.start({
  distribution: {
    name: 'bench',
    version: '0',
    publishers: [key.publicKey],
    plugins: [
      { name: 'mcp0.storage', bytes: storage, grants: [{ name: 'blocks' }, { name: 'random' }], isolation: 'inline' },
      {
        name: 'mcp0.agreements',
        bytes: agreements,
        grants: [{ name: 'kv' }, { name: 'crypto' }, { name: 'clock' }],
        isolation: 'inline',
        config: { providers: [operator.kid] },
      },
      // Limits far above the benchmark's rate: the buckets are checked on every call, never empty.
      {
        name: 'mcp0.rpc',
        bytes: rpc,
        grants: [{ name: 'kv' }, { name: 'crypto' }, { name: 'clock' }],
        isolation: 'inline',
        config: { operators: [operator.kid], rate: { perSecond: 1_000_000, burst: 1_000_000 } },
      },
      { name: 'mcp0.trace', bytes: trace, grants: [{ name: 'kv' }], isolation: 'inline' },
    ],
    pipeline: { admit: ['mcp0.agreements'], observe: ['mcp0.agreements', 'mcp0.trace'] },
  },
  store: 'memory:',
});
const doc = newAgreement('enterprise', { id: 'bench-rpc', consumer: key.kid, provider: operator.kid, set: { 'permissions.intents': '["increment"]' } });
doc.quotas = { windowMs: 60_000 };
await node.roles.agreements.register({ document: signAgreement(signAgreement(doc, key, 'consumer'), operator, 'provider') });
const agent = await node.agents.spawn({ module: counter, name: 'counter', agreement: 'bench-rpc' });
await agent.execute('increment', {});

const server = await serveNode(node, { listen: '127.0.0.1:0', insecure: true });
const client = await Client.connect(`127.0.0.1:${server.port}`, { key, insecure: true });
await client.agents.get('counter').execute('increment', {});

// The floor: a bare unary echo, no proto, of a message the size of one Call.
const payload = encodeCbor({});
const sample = signEnvelope({ key, target: 'counter', method: 'increment', payload, deadline: Date.now() + 10_000 });
const message = Buffer.alloc(sample.length + payload.length + 8, 7);
const identity = (b) => b;
const echoService = {
  Echo: {
    path: '/bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};
const echoServer = new Server();
echoServer.addService(echoService, { Echo: (call, callback) => callback(null, call.request) });
const echoPort = await new Promise((resolve, reject) =>
  echoServer.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
);
const EchoClient = makeGenericClientConstructor(echoService, 'Echo');
const echo = new EchoClient(`127.0.0.1:${echoPort}`, credentials.createInsecure());
const echoOnce = () =>
  new Promise((resolve, reject) => echo.Echo(message, { deadline: new Date(Date.now() + 10_000) }, (e, r) => (e ? reject(e) : resolve(r))));

const batch = (one) => () => Promise.all(Array.from({ length: CONCURRENCY }, one));
const remote = client.agents.get('counter');
log(`rpc: ${CONCURRENCY} calls in flight …`);
const stats = await measure(
  [
    { id: 'in-process', fn: batch(() => agent.execute('increment', {})) },
    { id: 'grpc', fn: batch(() => remote.execute('increment', {})) },
    { id: 'echo', fn: batch(echoOnce) },
  ],
  { timeMs: quick ? 3_000 : 12_000, rounds: 2 },
);
echo.close();
client.close();
echoServer.forceShutdown();
await server.close();
await node.stop();

const rows = [
  { id: 'in-process', group: `${CONCURRENCY} in flight`, label: 'counter.increment in process (agent.execute)', stats: stats.get('in-process') },
  { id: 'grpc', group: `${CONCURRENCY} in flight`, label: 'counter.increment over gRPC (Client, rpc plugin verify)', stats: stats.get('grpc') },
  { id: 'echo', group: `${CONCURRENCY} in flight`, label: 'bare @grpc/grpc-js unary echo, same message size', stats: stats.get('echo') },
];
console.log(`\n${figuresTable(rows)}\n`);
// Per batch of 16: what the transport adds (gRPC − in process) against the bare round trip.
const added = (on) => (stats.get('grpc')[on] - stats.get('in-process')[on]) / stats.get('echo')[on];
const verdict = added('p50Us') <= 1.5 ? 'PASS' : 'FAIL';
console.log(
  ratiosTable([
    {
      name: 'gRPC call / in-process call',
      mean: stats.get('grpc').meanUs / stats.get('in-process').meanUs,
      p50: stats.get('grpc').p50Us / stats.get('in-process').p50Us,
    },
    { name: '(gRPC − in process) / bare echo', mean: added('meanUs'), p50: added('p50Us'), target: 1.5, on: 'p50', verdict },
  ]),
);
console.log(
  `\nrequests per second at ${CONCURRENCY} in flight: in process ${Math.round((CONCURRENCY * 1e6) / stats.get('in-process').meanUs)}, over gRPC ${Math.round((CONCURRENCY * 1e6) / stats.get('grpc').meanUs)}, bare echo ${Math.round((CONCURRENCY * 1e6) / stats.get('echo').meanUs)}`,
);

// The RSS serving adds to an idle node: the same node in fresh processes, served and not, each
// measured after a call has been answered and the heap collected; medians of 3 each.
const idle = (serve) =>
  new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ['--no-warnings', '--expose-gc', fileURLToPath(new URL('./rpc-idle.js', import.meta.url)), serve ? '--serve' : '--no-serve'],
      (e, out) => (e ? reject(e) : resolve(Number(out.trim().split('\n').at(-1)))),
    ),
  );
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const plain = [];
const served = [];
for (let i = 0; i < 3; i++) {
  plain.push(await idle(false));
  served.push(await idle(true));
}
const mb = (b) => (b / 2 ** 20).toFixed(1);
console.log(
  `RSS of an idle node: ${mb(median(plain))} MB; served over gRPC with one client call answered: ${mb(median(served))} MB; added ${mb(median(served) - median(plain))} MB (the seed's RPC budget: 30 MB)`,
);
