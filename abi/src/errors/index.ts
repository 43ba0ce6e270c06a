/** Error codes, the typed error hierarchy and assert helpers. */
export * from './codes.js';
export * from './errors.js';
export * from './assert.js';
export * from './grpc.js';
