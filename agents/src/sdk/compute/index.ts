/** Compute SDK: the quantised model and its files, the Poseidon commitments, zk proving of an inference. */
export * from "./model.js";
export * from "./commitment.js";
export * from "./prove.js";
export * from "./client.js";
export * from "./lineage.js";
export * from "./tee.js";
