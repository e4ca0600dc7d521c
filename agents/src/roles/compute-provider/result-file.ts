/**
 * The result file a compute provider stores for every accepted job (as a storage deal of its own,
 * recorded on the job with ComputeMarket.recordOutput, which makes its root the job's output root).
 *
 * One JSON object, written the same way every time from on-chain facts and the inference itself
 * (no clock, no transaction hash), so a retried job produces the same bytes and so the same storage
 * root: the provider finds the deal it already made instead of making another.
 *
 *   {
 *     "format": "daios-compute-result-v1",
 *     "chainId": "31337", "market": "0x…", "jobId": "7",
 *     "model": { "id": "1", "name": "digits-mlp", "weightsRoot": "0x…", "weightsCommitment": "0x…" },
 *     "mode": "zk", "provider": "0x…",
 *     "inputCommitment": "0x…", "inputRoot": "0x…" | null, "dataRoots": ["0x…"],
 *     "output": 3, "logits": ["-1234", "…"]
 *   }
 */
import { getAddress } from "ethers";
import { rootHex } from "./weights.js";

export const RESULT_FORMAT = "daios-compute-result-v1";

export interface ComputeResultFile {
  format: typeof RESULT_FORMAT;
  chainId: string;
  market: string;
  jobId: string;
  model: { id: string; name: string; weightsRoot: string; weightsCommitment: string };
  mode: "zk" | "tee";
  provider: string;
  inputCommitment: string;
  /** The input file's storage root; null for an input given inline. */
  inputRoot: string | null;
  dataRoots: string[];
  output: number;
  /** One integer score per class, as decimal strings. */
  logits: string[];
}

export interface ResultFacts {
  chainId: bigint;
  market: string;
  jobId: bigint;
  modelId: bigint;
  modelName: string;
  weightsRoot: bigint;
  weightsCommitment: bigint;
  mode: "zk" | "tee";
  provider: string;
  inputCommitment: bigint;
  inputRoot: bigint;
  dataRoots: readonly bigint[];
  output: number;
  logits: readonly bigint[];
}

export function resultFile(facts: ResultFacts): ComputeResultFile {
  return {
    format: RESULT_FORMAT,
    chainId: facts.chainId.toString(),
    market: getAddress(facts.market),
    jobId: facts.jobId.toString(),
    model: { id: facts.modelId.toString(), name: facts.modelName, weightsRoot: rootHex(facts.weightsRoot), weightsCommitment: rootHex(facts.weightsCommitment) },
    mode: facts.mode,
    provider: getAddress(facts.provider),
    inputCommitment: rootHex(facts.inputCommitment),
    inputRoot: facts.inputRoot === 0n ? null : rootHex(facts.inputRoot),
    dataRoots: facts.dataRoots.map(rootHex),
    output: facts.output,
    logits: facts.logits.map((l) => l.toString()),
  };
}

/** The file's bytes: pretty-printed JSON with a final newline. */
export function encodeResultFile(file: ComputeResultFile): Buffer {
  return Buffer.from(`${JSON.stringify(file, null, 2)}\n`, "utf8");
}
