/**
 * The agreements role's public kv layout: where an agreements plugin keeps the records others may
 * read (the CLI reads a batch's cost quota this way, with no node running). Their shapes are the
 * `kv.*` definitions of abi/schema/roles/agreements.schema.json; the rest of the plugin's kv is its own.
 */

/**
 * The kv namespace the agreements plugin writes in (its module name).
 * @example
 * await store.kv.get(AGREEMENTS_NAMESPACE, agreementKey('agr-1'))
 */
export const AGREEMENTS_NAMESPACE = 'mcp0.agreements';

/**
 * The key of agreement `id`'s record: CBOR `{document, revoked, revokedAt, registeredAt, consumerKey, providerKey}`.
 * @example
 * agreementKey('agr-1') // 'agreements/a/agr-1'
 */
export const agreementKey = (id: string): string => `agreements/a/${id}`;

/**
 * The key of `agent`'s binding: CBOR text, the id of the agreement it runs under.
 * @example
 * bindingKey('acme.notes') // 'agreements/b/acme.notes'
 */
export const bindingKey = (agent: string): string => `agreements/b/${agent}`;
