/**
 * `daios compute …` and `daios lineage`: verifiable inference from the command line.
 *
 *   daios compute models                          the registered models: modes, price, shapes, roots
 *   daios compute run --model <id> --input <file> [--mode zk|tee] [--max-fee <DAIOS>] [--timeout <s>]
 *                     [--data-root <root>…] [--input-root <root>] [--no-wait]
 *                                                 checks the input, escrows the fee, posts the job and
 *                                                 waits: prints the output class, the logits (from the
 *                                                 local model file when its weights commitment is the
 *                                                 model's) and the transaction that proved the result
 *   daios compute status <jobId>                  a job: status, parties, fee, input, lineage roots, output
 *   daios compute cancel <jobId>                  cancel an Open job you posted (the fee is credited back)
 *   daios compute expire <jobId>                  settle a job past its deadline: refund, slash a claimer
 *   daios compute withdraw                        withdraw compute credits (refunds, earnings, slash shares)
 *   daios lineage <root>                          what produced a storage root, back to its sources,
 *                                                 every edge read from contract state
 *
 * Exit codes: 0 done (run: the result was accepted), 1 failed (the network, or a job that was refunded,
 * slashed or not proven in time), 2 bad input (what was wrong is printed; nothing was sent).
 */
import { createReadStream } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { formatUnits, parseUnits } from "ethers";
import {
  ComputeInputError,
  DEFAULT_TIMEOUT_SEC,
  MAX_DATA_ROOTS,
  connectCompute,
  connectComputeContracts,
  onChainShape,
  type ComputeClient,
  type ComputeEvent,
  type ComputeMode,
  type ModelInfo,
} from "../sdk/compute/client.js";
import { hex32, lineage, renderLineage } from "../sdk/compute/lineage.js";
import { connect } from "../sdk/connect.js";
import { parseInputFile } from "../sdk/compute/model.js";
import { DataFormatError } from "../sdk/storage/format.js";
import { ingest } from "../sdk/storage/ingest.js";
import { createTreeHasher } from "../sdk/storage/native-hasher.js";
import { CliExit } from "./beacon.js";

interface GlobalOptions {
  rpc: string;
  key?: string;
  deployment?: string;
  json?: boolean;
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
const fmt = (units: bigint) => `${formatUnits(units, 18)} DAIOS`;
const when = (unix: bigint) => `${new Date(Number(unix) * 1000).toISOString()} (unix ${unix})`;

function toJson(data: unknown): string {
  return JSON.stringify(data, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}

function id(value: string, what: string): bigint {
  if (!/^\d{1,30}$/.test(value) || BigInt(value) < 1n) throw new CliExit(2, `${what} must be a positive whole number, got '${value}'`);
  return BigInt(value);
}

function root(value: string, what: string): bigint {
  if (!/^0x[0-9a-fA-F]{1,64}$/.test(value) || BigInt(value) === 0n) throw new CliExit(2, `${what} must be a nonzero storage root, 0x and up to 64 hex digits, got '${value}'`);
  return BigInt(value);
}

function amount(value: string, what: string): bigint {
  try {
    const units = parseUnits(value, 18);
    if (units < 0n) throw new Error("negative");
    return units;
  } catch {
    throw new CliExit(2, `${what} must be an amount of DAIOS such as 0.01, got '${value}'`);
  }
}

function seconds(value: string, what: string): number {
  const n = Number(value);
  if (!/^\d{1,9}$/.test(value) || n < 1) throw new CliExit(2, `${what} must be a positive whole number of seconds, got '${value}'`);
  return n;
}

function modes(m: ModelInfo): string {
  return m.modes.length ? m.modes.join(" + ") : "no mode";
}

/** Progress lines on stderr (stdout stays for the result). */
function progress(json: boolean) {
  return (e: ComputeEvent) => {
    if (json) return;
    const say = (line: string) => process.stderr.write(`${line}\n`);
    switch (e.type) {
      case "approved":
        say(`approved ${fmt(e.amount)} for the compute market in ${e.txHash}`);
        break;
      case "posted":
        say(`job ${e.jobId} posted in ${e.txHash}: model ${e.modelId}, ${e.mode} mode, price ${fmt(e.price)} in escrow (your cap ${fmt(e.maxFee)}), deadline ${when(e.deadline)}`);
        say(`input commitment ${hex32(e.inputCommitment)}; waiting for a provider…`);
        break;
      case "claimed":
        say(`claimed by ${e.provider} (collateral ${fmt(e.collateral)}); waiting for its result…`);
        break;
      case "deadline-passed":
        say(`the deadline passed without a result (the job is ${e.status}); waiting briefly for a keeper to settle it`);
        break;
      case "settled":
        say(`job ${e.jobId} ${e.status} in ${e.txHash}`);
        break;
    }
  };
}

/** The storage data root of a file, hashed like `daios storage upload` does. */
async function fileRoot(file: string, size: number): Promise<bigint> {
  const { hasher, poseidon } = await createTreeHasher({ warn: () => undefined });
  try {
    const tree = await ingest(createReadStream(file, { highWaterMark: 1 << 20 }), { size, hasher, poseidon });
    return tree.dataRoot;
  } finally {
    await hasher.close();
  }
}

export function registerComputeCommands(program: Command): void {
  const globals = () => program.opts<GlobalOptions>();
  // Usage errors (a missing argument, an unknown option) exit 2 like other bad input.
  const usageExit = (error: { exitCode: number }) => {
    throw new CliExit(error.exitCode === 0 ? 0 : 2);
  };
  const compute = program
    .command("compute")
    .description("verifiable compute: post inference jobs that are paid only with a zk proof or an acknowledged enclave's signature")
    .exitOverride(usageExit);

  /** Runs `body` with a client; the SDK's bad-input errors exit 2. */
  async function withClient<T>(body: (client: ComputeClient, close: () => void) => Promise<T>): Promise<T> {
    const options = globals();
    const { client, close } = await connectCompute({ rpcUrl: options.rpc, privateKey: options.key, deploymentFile: options.deployment });
    try {
      return await body(client, close);
    } catch (error) {
      if (error instanceof ComputeInputError || error instanceof DataFormatError) throw new CliExit(2, error.message);
      throw error;
    } finally {
      close();
    }
  }

  function output(human: string, data: unknown): void {
    console.log(globals().json ? toJson(data) : human);
  }

  compute
    .command("models")
    .description("list the registered models: modes, price, input and output shapes, weights and training-data roots")
    .action(async () => {
      await withClient(async (client) => {
        const models = await client.models();
        const lines = models.flatMap((m) => [
          `model ${m.modelId} "${m.name}": ${m.active ? "active" : "INACTIVE"}, ${modes(m)}, ${fmt(m.pricePerJob)} per job`,
          `  input ${m.inputSize} whole numbers from 0 to ${m.inputMax} → one of ${m.outputSize} classes`,
          `  weights commitment ${hex32(m.weightsCommitment)}`,
          `  weights file ${hex32(m.weightsRoot)} (${m.weightsSize} bytes)${m.trainingDataRoot ? `, training data ${hex32(m.trainingDataRoot)}` : ""}`,
          `  owner ${m.owner}${m.verifier !== ZERO_ADDRESS ? `, verifier ${m.verifier}` : ""}${m.modes.includes("tee") ? `, TEE measurement ${m.teeMeasurement}` : ""}`,
        ]);
        output(lines.join("\n") || "no model is registered", models);
      });
    });

  compute
    .command("run")
    .description("post an inference job and wait until it is proven; prints the output class, the logits and the proving transaction")
    .requiredOption("--model <id>", "model id (see daios compute models)")
    .requiredOption("--input <file>", "the input: a JSON array of the values (or 8 arrays of 8), one comma-separated line, or 8 lines of 8")
    .option("--mode <mode>", "how the result is verified: zk (a Groth16 proof) or tee (an acknowledged enclave's signature)", "zk")
    .option("--max-fee <DAIOS>", "most you will pay (default: the model's price); the job is refused when the price is higher, and costs exactly the price")
    .option("--timeout <s>", "seconds the provider has to deliver (the job's deadline)", String(DEFAULT_TIMEOUT_SEC))
    .option("--data-root <root...>", `storage roots the input was derived from, recorded as its lineage (at most ${MAX_DATA_ROOTS})`)
    .option("--input-root <root>", "the input file's storage root: providers fetch the input from storage instead of the job (checked against the file)")
    .option("--no-wait", "post the job and print its id without waiting for the result")
    .action(async (opts: { model: string; input: string; mode: string; maxFee?: string; timeout: string; dataRoot?: string[]; inputRoot?: string; wait: boolean }) => {
      const modelId = id(opts.model, "--model");
      if (opts.mode !== "zk" && opts.mode !== "tee") throw new CliExit(2, `--mode must be zk or tee, got '${opts.mode}'`);
      const mode = opts.mode as ComputeMode;
      const maxFee = opts.maxFee === undefined ? undefined : amount(opts.maxFee, "--max-fee");
      const timeoutSec = seconds(opts.timeout, "--timeout");
      const dataRoots = (opts.dataRoot ?? []).map((r) => root(r, "--data-root"));
      const inputRoot = opts.inputRoot === undefined ? undefined : root(opts.inputRoot, "--input-root");
      const info = await stat(opts.input).catch(() => undefined);
      if (!info) throw new CliExit(2, `cannot read ${opts.input}: no such file`);
      if (!info.isFile()) throw new CliExit(2, `${opts.input} is not a regular file`);
      if (info.size > 1 << 20) throw new CliExit(2, `${opts.input} has ${info.size} bytes: an input file is a few hundred bytes of numbers`);
      const bytes = await readFile(opts.input);
      const json = Boolean(globals().json);
      await withClient(async (client) => {
        const model = await client.model(modelId);
        const shape = (await client.localModel(model)) ?? onChainShape(model);
        let input: number[];
        try {
          input = parseInputFile(bytes, shape);
        } catch (error) {
          if (error instanceof ComputeInputError) throw new CliExit(2, `${opts.input}: ${error.message}`);
          throw error;
        }
        if (inputRoot !== undefined) {
          const actual = await fileRoot(opts.input, info.size);
          if (actual !== inputRoot) {
            throw new CliExit(2, `--input-root ${hex32(inputRoot)} is not the storage root of ${opts.input} (${hex32(actual)}): providers would fetch another file. Store the file with \`daios storage upload\` and pass the root it prints`);
          }
        }
        let posted: Extract<ComputeEvent, { type: "posted" }> | undefined;
        const report = progress(json);
        const onProgress = (e: ComputeEvent) => {
          if (e.type === "posted") posted = e;
          report(e);
        };
        const jobId = await client.postJob({ modelId, input, mode, maxFee, timeoutSec, dataRoots, inputRoot, onProgress });
        if (!opts.wait) {
          output(`job ${jobId} posted${posted ? ` in ${posted.txHash}` : ""}\nfollow it with: daios compute status ${jobId}`, { jobId, ...posted });
          return;
        }
        const result = await client.waitForResult(jobId, { onProgress });
        const job = await client.status(jobId);
        if (result.status !== "Accepted") {
          output(
            [
              `job ${jobId}: ${result.status} in ${result.txHash}: ${result.status === "Slashed" ? `provider ${result.provider} missed the deadline and was slashed` : "no provider delivered a result in time"}`,
              `the price ${fmt(job.price)} was credited back to you${result.status === "Slashed" ? ", with part of the provider's collateral" : ""}: daios compute withdraw`,
            ].join("\n"),
            { ...result, postTx: posted?.txHash },
          );
          throw new CliExit(1);
        }
        const local = await client.localInference(model, input);
        const output_ = result.output ?? 0n;
        const lines = [
          `job ${jobId}: Accepted — ${result.mode === "zk" ? `Groth16 proof verified on-chain by ${model.verifier}` : "signature of an enclave key the registry owner acknowledged for this model's measurement"}`,
          `output class ${output_}`,
          local
            ? `logits [${local.logits.join(", ")}] (from the local model file, whose weights commitment is model ${model.modelId}'s)`
            : `logits: not available (no local copy of model ${model.modelId}'s weights; the chain records the class only)`,
          `proving transaction ${result.txHash}`,
          `provider ${result.provider}`,
          `paid ${fmt(job.price)}`,
          `lineage once the provider records the output file: daios compute status ${jobId}`,
        ];
        if (local && BigInt(local.output) !== output_) {
          process.stderr.write(`warning: the local model file gives class ${local.output}, not the accepted ${output_}\n`);
        }
        output(lines.join("\n"), {
          ...result,
          output: output_,
          logits: local?.logits,
          postTx: posted?.txHash,
          modelId,
          price: job.price,
          maxFee: job.maxFee,
          deadline: job.deadline,
        });
      });
    });

  compute
    .command("status")
    .description("show a job: status, model, parties, fee, input, lineage roots and output")
    .argument("<jobId>", "job id")
    .action(async (jobText: string) => {
      const jobId = id(jobText, "the job id");
      await withClient(async (client) => {
        const j = await client.status(jobId);
        const model = await client.model(j.modelId);
        const lines = [
          `job ${jobId}: ${j.status}`,
          `model ${j.modelId} "${model.name}", ${j.mode} mode`,
          `client ${j.client}`,
          `provider ${j.provider === ZERO_ADDRESS ? "none yet" : j.provider}${j.collateral ? ` (collateral ${fmt(j.collateral)})` : ""}`,
          `fee: at most ${fmt(j.maxFee)}, price ${fmt(j.price)}`,
          `input ${j.inputRoot ? `storage root ${hex32(j.inputRoot)}` : "inline (in the JobPosted event)"}, commitment ${hex32(j.inputCommitment)}`,
          `data roots ${j.dataRoots.length ? j.dataRoots.map(hex32).join(", ") : "none"}`,
          ...(j.status === "Accepted" ? [`output class ${j.output}`] : []),
          ...(j.outputRoot ? [`output file ${hex32(j.outputRoot)}; its lineage: daios lineage ${hex32(j.outputRoot)}`] : j.status === "Accepted" ? ["output file: not recorded yet"] : []),
          `deadline ${when(j.deadline)}; posted in block ${j.postedAt}${j.settledAt ? `, settled in block ${j.settledAt}` : ""}`,
          ...(j.expirable ? [`the deadline passed without a result: daios compute expire ${jobId} refunds the client${j.status === "Claimed" ? " and slashes the provider" : ""}`] : []),
        ];
        output(lines.join("\n"), { ...j, modelName: model.name });
      });
    });

  compute
    .command("cancel")
    .description("cancel an Open job you posted; its price is credited back")
    .argument("<jobId>", "job id")
    .action(async (jobText: string) => {
      const jobId = id(jobText, "the job id");
      await withClient(async (client) => {
        const r = await client.cancel(jobId);
        output(`job ${jobId} cancelled in ${r.txHash}; its price ${fmt(r.refund)} was credited back: daios compute withdraw`, r);
      });
    });

  compute
    .command("expire")
    .description("settle a job whose deadline passed without a result: the client is refunded, a claiming provider slashed")
    .argument("<jobId>", "job id")
    .action(async (jobText: string) => {
      const jobId = id(jobText, "the job id");
      await withClient(async (client) => {
        const r = await client.expire(jobId);
        output(`job ${jobId} ${r.status} in ${r.txHash}${r.status === "Slashed" ? "; you were credited the reporter's share of the collateral" : ""}: daios compute withdraw`, r);
      });
    });

  compute
    .command("withdraw")
    .description("withdraw your compute-market credits (refunds, earnings, slash shares)")
    .action(async () => {
      await withClient(async (client) => {
        const r = await client.withdraw();
        output(`withdrew ${fmt(r.amount)} in ${r.txHash}`, r);
      });
    });

  program
    .command("lineage")
    .description("show what produced a storage root, back to its sources: jobs, models, inputs, data, read from contract state; each output file is fetched from the storage providers and checked against its job")
    .argument("<root>", "a storage data root (0x…)")
    .option("--block <n>", "read the state at this block (default: the latest)")
    .exitOverride(usageExit)
    .action(async (rootText: string, opts: { block?: string }) => {
      const r = root(rootText, "the root");
      const block = opts.block === undefined ? undefined : Number(id(opts.block, "--block"));
      const options = globals();
      // Read-only: the storage client downloads output files (verified against their roots) to check them.
      const conn = await connect({ rpcUrl: options.rpc, deploymentFile: options.deployment });
      const dir = await mkdtemp(path.join(os.tmpdir(), "daios-lineage-"));
      try {
        const { computeMarket, modelRegistry } = connectComputeContracts(conn.deployment, conn.provider);
        const head = await conn.provider.getBlockNumber();
        if (block !== undefined && block > head) throw new CliExit(2, `--block ${block} is ahead of the chain (head ${head})`);
        const fetchRoot = async (fileRoot: bigint) => {
          const out = path.join(dir, hex32(fileRoot));
          await conn.storage.download(fileRoot, out);
          return readFile(out);
        };
        const graph = await lineage({ provider: conn.provider, computeMarket, modelRegistry }, r, { blockTag: block, fetchRoot });
        output(renderLineage(graph), graph);
      } finally {
        await rm(dir, { recursive: true, force: true });
        await conn.close();
      }
    });
}
