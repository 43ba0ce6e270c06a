/** A node over the network: the gRPC transport (`serveNode`) and its TypeScript client (`Client`). */
export { serveNode, type ServeOptions, type NodeServer } from './server.js';
export { Client, type CallOptions, type ConnectOptions, type RemoteAgent } from './client.js';
export { DEADLINE_SLACK_MS } from './deadline.js';
export { isLoopback, type ServerTls } from './tls.js';
export { NODE_SERVICE, PROTO_ROOT, NODE_PROTO } from './proto.js';
