import { buildPoseidon } from "circomlibjs";

/** The BN254 scalar field modulus: every circuit signal and Poseidon input lives below it. */
export const SNARK_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** Poseidon over BN254 with circomlib's parameters (the same function as circomlib's `Poseidon(n)`). */
export type PoseidonFn = (inputs: readonly bigint[]) => bigint;

let cached: Promise<PoseidonFn> | undefined;

/** circomlibjs's wasm Poseidon, wrapped to take and return bigints. Built once per process. */
export function circomlibPoseidon(): Promise<PoseidonFn> {
  cached ??= buildPoseidon().then((poseidon) => {
    const F = poseidon.F;
    return (inputs: readonly bigint[]) => F.toObject(poseidon(inputs as bigint[])) as bigint;
  });
  return cached;
}
