/** BLS signatures on BN254 (the TypeScript mirror of contracts/libraries/BN254.sol and BLS.sol) and drand helpers. */
export * from "./bn254.js";
export * from "./drand.js";
