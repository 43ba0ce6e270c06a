/**
 * The `mcp0.v1` service definition, loaded from the proto the ABI package ships
 * (abi/proto/mcp0/v1/node.proto): the one source of every client, here read at run time by
 * @grpc/proto-loader rather than generated, so the server and the TypeScript client cannot drift.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { loadPackageDefinition, type Client, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';

const require = createRequire(import.meta.url);

/** The file of the node service, relative to PROTO_ROOT. */
export const NODE_PROTO = 'mcp0/v1/node.proto';

/** Where the proto files are: `@mcp0/abi`'s `proto/` folder (the package exports `./proto/*`). */
export const PROTO_ROOT = dirname(dirname(dirname(require.resolve(`@mcp0/abi/proto/${NODE_PROTO}`))));

/** The service's full name, as health checking and reflection know it. */
export const NODE_SERVICE = 'mcp0.v1.Node';

let loaded: PackageDefinition | undefined;

/**
 * The package definition of `mcp0.v1` (field names as in the proto, bytes as Buffers, 64-bit
 * integers as strings, defaults filled in, oneofs named), loaded once.
 * @example
 * const def = nodePackageDefinition(); def['mcp0.v1.Node'] // the service
 */
export function nodePackageDefinition(): PackageDefinition {
  // keepCase: fields keep the proto's names (envelope_hash), as every other language's stubs do.
  loaded ??= loadSync(NODE_PROTO, { includeDirs: [PROTO_ROOT], keepCase: true, longs: String, bytes: Buffer, defaults: true, oneofs: true });
  return loaded;
}

/** What grpc-js makes of `mcp0.v1.Node`: a client class whose `service` is the definition. */
type NodeClientClass = (new (...args: ConstructorParameters<typeof Client>) => Client) & { service: ServiceDefinition };

/**
 * The generated client class of `mcp0.v1.Node`; its `service` is what a server adds.
 * @example
 * server.addService(nodeClientClass().service, implementation)
 */
export function nodeClientClass(): NodeClientClass {
  return (loadPackageDefinition(nodePackageDefinition()) as unknown as { mcp0: { v1: { Node: NodeClientClass } } }).mcp0.v1.Node;
}
