/**
 * Configuration of the compute-provider role (environment; the common variables are in
 * agents/src/core/config.ts). Checked at start-up, before anything connects:
 *
 *   COMPUTE_STAKE (100 DAIOS)           stake registered under the COMPUTE role; a claim locks part of it
 *   COMPUTE_MODELS (all)                the model ids to serve: "all" or a comma-separated list such as 1,3
 *   COMPUTE_TEE_KEY (unset, secret)     the software enclave's signing key (devnet TEE mode); without it
 *                                       only zk jobs are served. Never the account's PRIVATE_KEY.
 *   COMPUTE_DATA_DIR (.daios/compute-provider)  cached weights files, fetched inputs, result files
 *   COMPUTE_MIN_TIME_LEFT_SEC (8)       claim a job only when at least this long remains before its
 *                                       deadline (time to prove, submit and be mined)
 *   COMPUTE_RESULT_REPLICAS (1), COMPUTE_RESULT_PERIODS (20)  the storage deal holding each result file
 *   COMPUTE_CONCURRENCY (2)             jobs handled at once (proofs still queue for PROVER_THREADS)
 *   PROVER_THREADS (1)                  parallel Groth16 provers
 *   WITHDRAW_THRESHOLD (0.01 DAIOS)     withdraw earned credits once they reach this
 */
import path from "node:path";
import { Field, field, PROJECT_ROOT, type Config, type Infer } from "../../core/config.js";
import { ConfigError } from "../../core/errors.js";

const AMOUNT = /^\d+(\.\d{1,18})?$/;

/** Which models a provider serves: every model, or the listed ids. */
export type ModelSelection = { kind: "all" } | { kind: "ids"; ids: readonly bigint[] };

/** COMPUTE_MODELS: "all", or model ids (positive integers) separated by commas. */
export const modelsField = new Field<ModelSelection>({
  env: "COMPUTE_MODELS",
  expect: `"all" or a comma-separated list of model ids such as 1,3`,
  what: "the models this provider serves",
  secret: false,
  missing: { kind: "default", value: { kind: "all" } },
  parse(raw: string) {
    if (raw.toLowerCase() === "all") return { ok: true, value: { kind: "all" } };
    const parts = raw.split(",").map((p) => p.trim());
    const bad = parts.find((p) => !/^[1-9]\d{0,30}$/.test(p));
    if (bad !== undefined) return { ok: false, expected: `has ${JSON.stringify(bad)}, which is not a model id (ids are whole numbers from 1)` };
    return { ok: true, value: { kind: "ids", ids: [...new Set(parts.map((p) => BigInt(p)))] } };
  },
});

export const computeProviderSchema = {
  stake: field.string("COMPUTE_STAKE", { pattern: AMOUNT, expect: "an amount of DAIOS such as 100 or 0.5" }).default("100"),
  models: modelsField,
  teeKey: field.privateKey("COMPUTE_TEE_KEY", "the software enclave's signing key, not the account key").optional(),
  dataDir: field.path("COMPUTE_DATA_DIR", { what: "where weights, inputs and result files are kept" }).default(path.join(PROJECT_ROOT, ".daios", "compute-provider")),
  minTimeLeftSec: field.int("COMPUTE_MIN_TIME_LEFT_SEC", { min: 1, max: 86_400, what: "the least time before a job's deadline to still claim it, in seconds" }).default(8),
  resultReplicas: field.int("COMPUTE_RESULT_REPLICAS", { min: 1, max: 16, what: "replicas of each result file's storage deal" }).default(1),
  resultPeriods: field.int("COMPUTE_RESULT_PERIODS", { min: 1, max: 100_000, what: "periods each result file is stored for" }).default(20),
  concurrency: field.int("COMPUTE_CONCURRENCY", { min: 1, max: 64, what: "jobs handled at once" }).default(2),
  proverThreads: field.int("PROVER_THREADS", { min: 1, max: 16, what: "parallel Groth16 provers" }).default(1),
  withdrawThreshold: field.string("WITHDRAW_THRESHOLD", { pattern: AMOUNT, expect: "an amount of DAIOS" }).default("0.01"),
};

export type ComputeProviderSettings = Infer<typeof computeProviderSchema>;

/** Whether `selection` includes model `modelId`. */
export function servesModel(selection: ModelSelection, modelId: bigint): boolean {
  return selection.kind === "all" || selection.ids.includes(modelId);
}

/** Checks that involve more than one variable; throws one ConfigError naming each problem. */
export function checkComputeProviderConfig(config: Config<ComputeProviderSettings>): void {
  const problems: string[] = [];
  if (config.role.teeKey !== undefined && BigInt(config.role.teeKey) === BigInt(config.privateKey)) {
    problems.push("COMPUTE_TEE_KEY is the account's PRIVATE_KEY: the enclave signs with a key of its own; set COMPUTE_TEE_KEY to another key, or unset it to serve zk jobs only");
  }
  if (problems.length > 0) throw new ConfigError(problems);
}
