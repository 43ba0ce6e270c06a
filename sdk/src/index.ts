/**
 * @mcp0/sdk: what an application embeds (Node, agents, providers, typed clients). It grows with the
 * SDK work; for now it re-exports the kernel so applications depend on one package from the start.
 */
export * from '@mcp0/kernel';
export * from './store/index.js';
