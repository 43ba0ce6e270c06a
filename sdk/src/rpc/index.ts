/** A node over the network: the gRPC transport (`serveNode`) and its TypeScript client (`Client`). */
export { serveNode, type ServeOptions, type NodeServer } from './server.js';
export { Client, PROVE_TIMEOUT_MS, type CallOptions, type ConnectOptions, type ProveOptions, type RemoteAgent } from './client.js';
export { DEADLINE_SLACK_MS } from './deadline.js';
export { isLoopback, type ServerTls } from './tls.js';
export { NODE_SERVICE, PROTO_ROOT, NODE_PROTO } from './proto.js';
