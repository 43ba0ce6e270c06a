// Minimal typings for the parts of snarkjs 0.7 that sdk/src/zk uses (snarkjs ships no types).
declare module 'snarkjs' {
  type Logger = { debug(m: string): void; info(m: string): void; warn(m: string): void; error(m: string): void };
  type ProofJson = Record<string, unknown>;
  export const groth16: {
    fullProve(
      input: Record<string, unknown>,
      wasm: string | Uint8Array | { type: 'mem'; data: Uint8Array },
      zkey: string | Uint8Array | { type: 'mem'; data: Uint8Array },
      logger?: Logger,
      wtnsCalcOptions?: Record<string, unknown>,
      proverOptions?: { singleThread?: boolean },
    ): Promise<{ proof: ProofJson; publicSignals: string[] }>;
    verify(vkey: Record<string, unknown>, publicSignals: readonly string[], proof: ProofJson, logger?: Logger): Promise<boolean>;
  };
  export const wtns: {
    calculate(input: Record<string, unknown>, wasm: string, wtns: string | { type: 'mem' }, options?: Record<string, unknown>): Promise<void>;
  };
  export const zKey: {
    exportSolidityVerifier(zkey: string, templates: Record<string, string>, logger?: Logger): Promise<string>;
    exportVerificationKey(zkey: string, logger?: Logger): Promise<Record<string, unknown>>;
  };
}
