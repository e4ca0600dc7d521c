/**
 * Configuration of the memory-node role (environment; the common variables are in
 * agents/src/core/config.ts). Checked at start-up, before anything connects:
 *
 *   MEMORY_STAKE (100 DAIOS)                 stake registered under the MEMORY role; each stream locks part of it
 *   MEMORY_PORT (7901), MEMORY_HOST (127.0.0.1)  where the HTTP API listens
 *   MEMORY_PUBLIC_URL (http://HOST:PORT)     the URL clients reach this node at (registered on chain)
 *   MEMORY_CAPACITY_MIB (1024)               storage offered, in MiB (registered on chain)
 *   MEMORY_DATA_DIR (.daios/memory-node)     the lmdb store lives in <dir>/<chainId>/<MemoryRegistry address>;
 *                                            snapshot files in <dir>/<chainId>/<address>-snapshots
 *   MEMORY_CHECKPOINT_INTERVAL_SEC (10)      how often the root of every stream whose seq advanced is posted
 *   MEMORY_SNAPSHOT_INTERVAL_SEC (60)        how often a snapshot of every stream whose checkpointed seq
 *                                            advanced is stored as a storage deal and recorded; 0 turns it off
 *   MEMORY_SNAPSHOT_REPLICAS (1), MEMORY_SNAPSHOT_PERIODS (20)  the storage deal of each snapshot file
 *   MEMORY_MAX_BODY_BYTES (4 MiB)            largest write request body (413 beyond)
 *   WITHDRAW_THRESHOLD (0.01 DAIOS)          withdraw earned memory credits once they reach this
 */
import path from "node:path";
import { field, PROJECT_ROOT, type Infer } from "../../core/config.js";

const AMOUNT = /^\d+(\.\d{1,18})?$/;

export const memoryNodeSchema = {
  stake: field.string("MEMORY_STAKE", { pattern: AMOUNT, expect: "an amount of DAIOS such as 100 or 0.5" }).default("100"),
  port: field.int("MEMORY_PORT", { min: 0, max: 65535, what: "the node's HTTP port" }).default(7901),
  host: field.string("MEMORY_HOST", { pattern: /^[A-Za-z0-9.:\-[\]]+$/, expect: "a host name or IP address to bind" }).default("127.0.0.1"),
  publicUrl: field.url("MEMORY_PUBLIC_URL", { protocols: ["http", "https"], what: "the URL clients reach this node at (registered on chain)" }).optional(),
  capacityMiB: field.int("MEMORY_CAPACITY_MIB", { min: 1, what: "storage offered, in MiB" }).default(1024),
  dataDir: field.path("MEMORY_DATA_DIR", { what: "where the memory store and snapshot files live" }).default(path.join(PROJECT_ROOT, ".daios", "memory-node")),
  checkpointIntervalSec: field.int("MEMORY_CHECKPOINT_INTERVAL_SEC", { min: 1, max: 86_400, what: "seconds between checkpoint rounds" }).default(10),
  snapshotIntervalSec: field.int("MEMORY_SNAPSHOT_INTERVAL_SEC", { min: 0, max: 30 * 86_400, what: "seconds between snapshot rounds, 0 turns snapshots off" }).default(60),
  snapshotReplicas: field.int("MEMORY_SNAPSHOT_REPLICAS", { min: 1, max: 16, what: "replicas of each snapshot's storage deal" }).default(1),
  snapshotPeriods: field.int("MEMORY_SNAPSHOT_PERIODS", { min: 1, max: 100_000, what: "periods each snapshot file is stored for" }).default(20),
  maxBodyBytes: field.int("MEMORY_MAX_BODY_BYTES", { min: 1024, max: 256 * 1024 * 1024, what: "largest write request body, bytes" }).default(4 * 1024 * 1024),
  withdrawThreshold: field.string("WITHDRAW_THRESHOLD", { pattern: AMOUNT, expect: "an amount of DAIOS" }).default("0.01"),
};

export type MemoryNodeSettings = Infer<typeof memoryNodeSchema>;
