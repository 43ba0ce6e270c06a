/**
 * The ABI v1 tables: every import a guest may use and every export the host looks for. This file
 * and `abi-v1.lock.json` must agree; the lock test fails when either changes, because v1 is frozen
 * (additions make v1.1, breaking changes make v2).
 */

/** The ABI version this library implements. */
export const ABI_VERSION = '1.3.0';

/** The import module of our host functions. */
export const ABI_NAMESPACE = 'mcp0:abi/v1';

/** The import module of the Extism guest ABI (transport). */
export const EXTISM_NAMESPACE = 'extism:host/env';

/** The capabilities of ABI v1. `log` is always granted. */
export const CAPABILITIES = ['log', 'clock', 'random', 'kv', 'blocks', 'call', 'crypto', 'net', 'emit'] as const;

/** A capability name. */
export type CapabilityName = (typeof CAPABILITIES)[number];

/**
 * The host functions of `mcp0:abi/v1`, each `(request: i64) -> i64` over CBOR, with the capability
 * that guards it (`null`: always available).
 */
export const HOST_FUNCTIONS = {
  log: 'log',
  panic: null,
  clock_now: 'clock',
  random_bytes: 'random',
  kv_get: 'kv',
  kv_put: 'kv',
  kv_delete: 'kv',
  kv_scan: 'kv',
  blocks_put: 'blocks',
  blocks_get: 'blocks',
  blocks_has: 'blocks',
  ref_get: 'blocks',
  ref_cas: 'blocks',
  call: 'call',
  crypto_sha256: 'crypto',
  crypto_ed25519_verify: 'crypto',
  net_send: 'net',
  emit: 'emit',
} as const satisfies Record<string, CapabilityName | null>;

/** A host function name. */
export type HostFunctionName = keyof typeof HOST_FUNCTIONS;

/** The WebAssembly type of every host function in `mcp0:abi/v1`. */
export const HOST_FUNCTION_TYPE = { params: ['i64'], results: ['i64'] } as const;

/**
 * The subset of Extism's guest ABI a module may import, with types. `http_request` is left out on
 * purpose: network access goes through the `net` capability, where it is granted and metered.
 */
export const EXTISM_IMPORTS = {
  alloc: { params: ['i64'], results: ['i64'] },
  free: { params: ['i64'], results: [] },
  length: { params: ['i64'], results: ['i64'] },
  length_unsafe: { params: ['i64'], results: ['i64'] },
  load_u8: { params: ['i64'], results: ['i32'] },
  load_u64: { params: ['i64'], results: ['i64'] },
  store_u8: { params: ['i64', 'i32'], results: [] },
  store_u64: { params: ['i64', 'i64'], results: [] },
  input_offset: { params: [], results: ['i64'] },
  input_length: { params: [], results: ['i64'] },
  input_load_u8: { params: ['i64'], results: ['i32'] },
  input_load_u64: { params: ['i64'], results: ['i64'] },
  output_set: { params: ['i64', 'i64'], results: [] },
  error_set: { params: ['i64'], results: [] },
  config_get: { params: ['i64'], results: ['i64'] },
  var_get: { params: ['i64'], results: ['i64'] },
  var_set: { params: ['i64', 'i64'], results: [] },
  log_info: { params: ['i64'], results: [] },
  log_debug: { params: ['i64'], results: [] },
  log_warn: { params: ['i64'], results: [] },
  log_error: { params: ['i64'], results: [] },
} as const;

/** Exports the host looks for. Each is `() -> i32`, Extism style. */
export const GUEST_EXPORTS = {
  /** The version marker: present in every module; outputs CBOR text of the guest library's ABI version. */
  marker: 'mcp0_abi_v1',
  /** Called once after instantiation with the CBOR config map. Optional. */
  init: 'mcp0_init',
  /** Called once before the module is dropped. Optional. */
  stop: 'mcp0_stop',
  /** Pipeline hook: input `{op}`, output `{allow, reason?, retryAfterMs?}`. */
  admit: 'mcp0_admit',
  /** Pipeline hook: input `{op, outcome}`. */
  observe: 'mcp0_observe',
  /** Periodic hook: input `{time}`. */
  tick: 'mcp0_tick',
} as const;

/** The pipeline hooks a manifest may declare. */
export const HOOKS = ['admit', 'observe', 'tick'] as const;

/** A hook name. */
export type HookName = (typeof HOOKS)[number];

/** The prefix reserved for ABI exports; a service export may not use it. */
export const RESERVED_EXPORT_PREFIX = 'mcp0_';

/** The custom section that carries the manifest. */
export const MANIFEST_SECTION = 'mcp0.manifest';

/** Size limits of ABI v1 host functions; a request over a limit gets `ETOOBIG`. */
export const LIMITS = {
  /** kv keys, in UTF-8 bytes. */
  kvKeyBytes: 1024,
  /** One kv value. */
  kvValueBytes: 1 << 20,
  /** Entries one kv_scan may return. */
  kvScanEntries: 1000,
  /** Bytes one random_bytes call may return. */
  randomBytes: 65536,
  /** One block. */
  blockBytes: 1 << 20,
  /** Blocks in one blocks_put or blocks_has. */
  blocksPerCall: 1024,
  /** Depth of nested `call`s inside one operation. */
  callDepth: 8,
} as const;
