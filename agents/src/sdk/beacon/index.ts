/** Beacon SDK: round time, known networks and the devnet signer, drand HTTP relays, signature input checks. */
export * from "./time.js";
export * from "./networks.js";
export * from "./input.js";
export * from "./drand-http.js";
