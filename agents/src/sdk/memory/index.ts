/** Memory SDK: the authenticated map of a stream (sparse Merkle tree, proofs) and what its parties sign. */
export * from "./smt.js";
export * from "./signing.js";
export * from "./client.js";
export * from "./slash.js";
