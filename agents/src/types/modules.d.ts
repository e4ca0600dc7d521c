// Minimal type declarations for the untyped packages the project uses.

declare module "circomlibjs" {
  interface PoseidonField {
    toObject(value: Uint8Array): bigint;
    e(value: bigint | number | string): Uint8Array;
  }
  interface Poseidon {
    (inputs: (bigint | number)[]): Uint8Array;
    F: PoseidonField;
  }
  export function buildPoseidon(): Promise<Poseidon>;
}

declare module "snarkjs" {
  export interface Groth16Proof {
    pi_a: string[];
    pi_b: string[][];
    pi_c: string[];
    protocol: string;
    curve: string;
  }
  export type PublicSignals = string[];
  export const groth16: {
    fullProve(
      input: Record<string, unknown>,
      wasmFile: string | Uint8Array,
      zkeyFile: string | Uint8Array,
    ): Promise<{ proof: Groth16Proof; publicSignals: PublicSignals }>;
    verify(vkey: unknown, publicSignals: PublicSignals, proof: Groth16Proof): Promise<boolean>;
    exportSolidityCallData(proof: Groth16Proof, publicSignals: PublicSignals): Promise<string>;
  };
  export const zKey: {
    exportVerificationKey(zkeyFile: string | Uint8Array): Promise<unknown>;
    exportSolidityVerifier(zkeyFile: string | Uint8Array, templates: Record<string, string>): Promise<string>;
  };
  export const wtns: {
    calculate(input: Record<string, unknown>, wasmFile: string | Uint8Array, wtnsFile: { type: string }): Promise<void>;
  };
}
