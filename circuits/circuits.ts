/**
 * The manifest of the project's circuits: where each one's source and committed proving artifacts
 * live, and the public inputs its verifier takes, in order. Shared by the setup command, the
 * consistency test and the provers.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface CircuitSpec {
  name: string;
  /** Main component file, relative to the repository root. */
  source: string;
  /** Every file whose content defines the circuit (the hash of all of them is recorded at setup). */
  sources: string[];
  /** Public inputs in verifier order. */
  publicInputs: string[];
  /** The Solidity verifier contract name and file the setup generates. */
  verifierContract: string;
  /**
   * Which verifier: snarkjs's template, or "prepared" (circuits/prepared-verifier.ts), whose first
   * public input's share is computed once per statement (PoRA: once per deal for its data root).
   */
  verifier: "snarkjs" | "prepared";
  /** log2 of the powers of tau the circuit needs (2^power > constraints). */
  ptauPower: number;
}

export const CIRCUITS: Record<string, CircuitSpec> = {
  pora: {
    name: "pora",
    source: "circuits/pora.circom",
    sources: [
      "circuits/pora.circom",
      "circuits/lib/merkle.circom",
      "circuits/lib/challenge.circom",
      "circuits/generated/constants.circom",
      "node_modules/circomlib/circuits/poseidon.circom",
      "node_modules/circomlib/circuits/poseidon_constants.circom",
      "node_modules/circomlib/circuits/bitify.circom",
      "node_modules/circomlib/circuits/comparators.circom",
      "node_modules/circomlib/circuits/aliascheck.circom",
      "node_modules/circomlib/circuits/compconstant.circom",
      "node_modules/circomlib/circuits/binsum.circom",
    ],
    publicInputs: ["dataRoot", "seed"],
    verifierContract: "PoRAVerifier",
    verifier: "prepared",
    ptauPower: 15,
  },
  digits: {
    name: "digits",
    source: "circuits/digits.circom",
    sources: [
      "circuits/digits.circom",
      "circuits/lib/mlp.circom",
      "node_modules/circomlib/circuits/poseidon.circom",
      "node_modules/circomlib/circuits/poseidon_constants.circom",
      "node_modules/circomlib/circuits/bitify.circom",
      "node_modules/circomlib/circuits/comparators.circom",
      "node_modules/circomlib/circuits/aliascheck.circom",
      "node_modules/circomlib/circuits/compconstant.circom",
      "node_modules/circomlib/circuits/binsum.circom",
    ],
    publicInputs: ["weightsCommitment", "inputCommitment", "outputClass", "jobId", "prover"],
    verifierContract: "DigitsVerifier",
    verifier: "snarkjs",
    ptauPower: 15,
  },
};

/** Committed artifacts of a circuit (what `npm start` and the provers use; no ceremony at run time). */
export function artifactPaths(name: string) {
  const dir = path.join(ROOT, "circuits", "artifacts", name);
  return {
    dir,
    wasm: path.join(dir, `${name}.wasm`),
    zkey: path.join(dir, `${name}.zkey`),
    vkey: path.join(dir, "verification_key.json"),
    manifest: path.join(dir, "manifest.json"),
    verifier: path.join(ROOT, "contracts", "verifiers", `${CIRCUITS[name].verifierContract}.sol`),
  };
}
