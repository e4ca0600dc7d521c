/**
 * `daios da …`: data-availability blobs from the command line.
 *
 *   daios da submit <file>                       encode, pay, disperse to the quorum, certify; prints
 *                                                the blob id, root and certificate transaction
 *   daios da get <blobId> [-o file]              rebuild the blob from any k members (stdout without -o)
 *   daios da verify <blobId> [--samples 16]      check random chunks against the root; exit 1 when one fails
 *   daios da status <blobId>                     the blob, its windows and quorum (who signed)
 *   daios da nodes                               registered DA nodes
 *   daios da challenge <blobId> --position P --chunk C   bond and challenge a signer to open a chunk
 *   daios da resolve <challengeId>               slash the node of an unanswered challenge
 *   daios da reclaim <blobId>                    take back the fee of a blob that was not certified
 *   daios da withdraw                            withdraw DA credits (challenge bonds and rewards)
 *   daios da keygen                              a new BLS key for a DA node (DA_BLS_SECRET_KEY)
 *
 * Exit codes: 0 done, 1 failed (the network or a node), 2 bad input (what was wrong is printed).
 */
import { randomBytes } from "node:crypto";
import { stat, readFile, writeFile, rename } from "node:fs/promises";
import type { Command } from "commander";
import { formatUnits } from "ethers";
import { DA } from "../generated/constants.js";
import { g1ToSolidity, g2ToBytes, keypairFromSecret, secretKeyFromSeed, toHex } from "../sdk/bls/index.js";
import { DaInputError, connectDa, type DaClient, type DaEvent } from "../sdk/da/client.js";
import { CliExit } from "./beacon.js";

interface GlobalOptions {
  rpc: string;
  key?: string;
  deployment?: string;
  json?: boolean;
}

const fmt = (units: bigint) => `${formatUnits(units, 18)} DAIOS`;

function toJson(data: unknown): string {
  return JSON.stringify(data, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}

function id(value: string, what: string): bigint {
  if (!/^\d{1,30}$/.test(value) || BigInt(value) < 1n) throw new CliExit(2, `${what} must be a positive whole number, got '${value}'`);
  return BigInt(value);
}

function count(value: string, what: string, min = 0): number {
  const n = Number(value);
  if (!/^\d{1,9}$/.test(value) || n < min) throw new CliExit(2, `${what} must be a whole number${min > 0 ? ` of at least ${min}` : ""}, got '${value}'`);
  return n;
}

/** Progress lines on stderr (stdout stays for the result and for blob bytes). */
function progress(json: boolean) {
  return (e: DaEvent) => {
    if (json) return;
    const say = (line: string) => process.stderr.write(`${line}\n`);
    switch (e.type) {
      case "encoded":
        say(`encoded: root ${e.root}, ${e.n} shards of ${e.shardSize} bytes (any ${e.k} rebuild the blob), ${e.ms} ms`);
        break;
      case "submitted":
        say(`blob ${e.blobId} submitted in ${e.txHash} for epoch ${e.epoch}, quorum ${e.quorum}; fee ${fmt(e.fee)}`);
        break;
      case "signed":
        say(`  position ${e.position} ${e.endpoint}: stored and signed`);
        break;
      case "shard-failed":
        say(`  position ${e.position} ${e.endpoint}: ${e.reason}`);
        break;
      case "certified":
        say(`certified in ${e.txHash}: ${e.signers} signers, ${e.nonSigners} non-signers`);
        break;
      case "fetch-failed":
        say(`  position ${e.position} ${e.endpoint}: ${e.reason}`);
        break;
      case "sampled":
        if (!e.ok) say(`  chunk ${e.chunkIndex} (position ${e.position}): ${e.reason}`);
        break;
    }
  };
}

export function registerDaCommands(program: Command): void {
  const globals = () => program.opts<GlobalOptions>();
  const da = program
    .command("da")
    .description("data availability: erasure-coded blobs certified by sampled quorums, sampling and challenges")
    // Usage errors (a missing argument, an unknown option) exit 2 like other bad input.
    .exitOverride((error) => {
      throw new CliExit(error.exitCode === 0 ? 0 : 2);
    });

  /** Runs `body` with a client; the SDK's bad-input errors exit 2. */
  async function withClient<T>(body: (client: DaClient) => Promise<T>): Promise<T> {
    const options = globals();
    const { client, close } = await connectDa({ rpcUrl: options.rpc, privateKey: options.key, deploymentFile: options.deployment });
    try {
      return await body(client);
    } catch (error) {
      if (error instanceof DaInputError) throw new CliExit(2, error.message);
      throw error;
    } finally {
      close();
    }
  }

  function output(human: string, data: unknown): void {
    console.log(globals().json ? toJson(data) : human);
  }

  da.command("submit")
    .description("encode a file as a blob, pay for it, send each quorum member its shard and certify it")
    .argument("<file>", `the blob: 1 byte to ${DA.MAX_BLOB_SIZE} bytes (16 MiB)`)
    .action(async (file: string) => {
      const info = await stat(file).catch(() => undefined);
      if (!info) throw new CliExit(2, `cannot read ${file}: no such file`);
      if (!info.isFile()) throw new CliExit(2, `${file} is not a regular file`);
      if (info.size === 0) throw new CliExit(2, `${file} is empty: there is nothing to submit`);
      if (info.size > DA.MAX_BLOB_SIZE) throw new CliExit(2, `${file} has ${info.size} bytes, more than the largest blob (DA.MAX_BLOB_SIZE = ${DA.MAX_BLOB_SIZE} bytes): split it`);
      const bytes = await readFile(file);
      await withClient(async (client) => {
        const r = await client.submit(bytes, { onProgress: progress(Boolean(globals().json)) });
        const lines = [
          `blob ${r.blobId} certified`,
          `root ${r.root}`,
          `size ${r.size} bytes, epoch ${r.epoch}, quorum ${r.quorum} of ${r.quorumSize} members`,
          `fee ${fmt(r.fee)}`,
          `submit tx ${r.submitTx}`,
          `certificate tx ${r.certifyTx}`,
          `signers ${r.signers.map((s) => s.position).join(", ")} (${r.signedWeight} of ${r.totalWeight} stake)`,
          ...r.nonSigners.map((n) => `non-signer ${n.position} (node ${n.nodeId}, ${n.endpoint}): ${n.reason}`),
          `read it back with: daios da get ${r.blobId} -o <file>`,
        ];
        output(lines.join("\n"), r);
      });
    });

  da.command("get")
    .description("rebuild a blob from whichever quorum members answer, verifying every shard against the root")
    .argument("<blobId>", "blob id")
    .option("-o, --out <file>", "where to write the blob (default: standard output)")
    .action(async (blobText: string, opts: { out?: string }) => {
      const blobId = id(blobText, "the blob id");
      await withClient(async (client) => {
        const started = Date.now();
        const r = await client.get(blobId, { onProgress: progress(Boolean(globals().json)) });
        const seconds = (Date.now() - started) / 1000;
        const summary = { blobId, size: r.data.length, used: r.used, failures: r.failures, out: opts.out };
        if (opts.out) {
          await writeFile(`${opts.out}.partial`, r.data);
          await rename(`${opts.out}.partial`, opts.out);
          output(`blob ${blobId}: ${r.data.length} bytes rebuilt from shards ${r.used.join(", ")} in ${seconds.toFixed(2)} s → ${opts.out}`, summary);
        } else {
          process.stdout.write(r.data);
          if (!globals().json) process.stderr.write(`blob ${blobId}: ${r.data.length} bytes rebuilt from shards ${r.used.join(", ")}\n`);
        }
      });
    });

  da.command("verify")
    .description("sample random chunks of a blob from its quorum and check each against the root")
    .argument("<blobId>", "blob id")
    .option("--samples <n>", "chunks to sample", "16")
    .action(async (blobText: string, opts: { samples: string }) => {
      const blobId = id(blobText, "the blob id");
      const samples = count(opts.samples, "--samples", 1);
      await withClient(async (client) => {
        const r = await client.verify(blobId, samples, { onProgress: progress(Boolean(globals().json)) });
        if (r.failures.length === 0) {
          output(`blob ${blobId} (${r.status}): ${r.passed}/${r.samples} random chunks verified against ${r.root}\nconfidence that the blob is recoverable: 1 - 2^-${r.passed} = ${r.confidence}`, r);
          return;
        }
        output(
          [
            `blob ${blobId} (${r.status}): ${r.failures.length} of ${r.samples} sampled chunks FAILED:`,
            ...r.failures.map((f) => `  chunk ${f.chunkIndex} from position ${f.position} (node ${f.nodeId}, ${f.endpoint}): ${f.reason}`),
            `the other ${r.passed} verified; no availability confidence can be given`,
          ].join("\n"),
          r,
        );
        throw new CliExit(1);
      });
    });

  da.command("status")
    .description("show a blob, its certificate and its quorum")
    .argument("<blobId>", "blob id")
    .action(async (blobText: string) => {
      const blobId = id(blobText, "the blob id");
      await withClient(async (client) => {
        const s = await client.status(blobId);
        const lines = [
          `blob ${blobId}: ${s.status}`,
          `client ${s.client}`,
          `root ${s.root}`,
          `size ${s.size} bytes: ${s.layout.n} shards of ${s.layout.shardSize} bytes (${s.layout.chunksPerShard} chunks each), any ${s.layout.k} rebuild it`,
          `epoch ${s.epoch}, quorum ${s.quorum}; fee ${fmt(s.fee)}${s.status === "Certified" ? `, ${fmt(s.feePerSigner)} per signer` : ""}`,
          `submitted at block ${s.submittedAt}; ${s.status === "Pending" ? `certifiable until block ${s.certifyDeadline}` : s.status === "Certified" ? `certified at block ${s.certifiedAt}, retained until block ${s.retentionEnd}` : "reclaimed"} (now ${s.currentBlock})`,
          ...s.members.map(
            (m) => `position ${m.position}: node ${m.nodeId} ${m.account} ${m.endpoint} weight ${formatUnits(m.weight ?? 0n, 18)}${m.signed === undefined ? "" : m.signed ? " signed" : " did not sign"}; chunks ${m.position * s.layout.chunksPerShard}..${(m.position + 1) * s.layout.chunksPerShard - 1}`,
          ),
        ];
        output(lines.join("\n"), s);
      });
    });

  da.command("nodes")
    .description("list the DA nodes registered in the provider registry")
    .action(async () => {
      await withClient(async (client) => {
        const nodes = await client.nodes();
        output(
          nodes.map((n) => `${n.nodeId === 0n ? "(no keys)" : `node ${n.nodeId}`} ${n.account} ${n.endpoint} stake ${fmt(n.stake)}${n.active ? "" : " INACTIVE"}`).join("\n") || "no DA nodes are registered",
          nodes,
        );
      });
    });

  da.command("challenge")
    .description("bond and challenge the signer at a quorum position to open one chunk of its shard on-chain")
    .argument("<blobId>", "a certified blob")
    .requiredOption("--position <p>", "the signer's position in the blob's quorum")
    .requiredOption("--chunk <c>", "the chunk's index in the whole blob (within that position's shard: see daios da status)")
    .action(async (blobText: string, opts: { position: string; chunk: string }) => {
      const blobId = id(blobText, "the blob id");
      const position = count(opts.position, "--position");
      const chunk = count(opts.chunk, "--chunk");
      await withClient(async (client) => {
        const c = await client.challenge(blobId, position, chunk);
        output(
          `challenge ${c.challengeId} opened in ${c.txHash}: node ${c.node} must open chunk ${chunk} by block ${c.deadline} (bond ${fmt(c.bond)})\nif it does not: daios da resolve ${c.challengeId}`,
          c,
        );
      });
    });

  da.command("resolve")
    .description("slash the node of a challenge left unanswered after its window; the challenger is credited")
    .argument("<challengeId>", "challenge id")
    .action(async (challengeText: string) => {
      const challengeId = id(challengeText, "the challenge id");
      await withClient(async (client) => {
        const r = await client.resolve(challengeId);
        output(
          `challenge ${challengeId} resolved in ${r.txHash}: node ${r.node} slashed ${fmt(r.slashed)}; challenger credited ${fmt(r.challengerCredit)}, treasury ${fmt(r.treasuryCredit)}\nwithdraw with: daios da withdraw`,
          r,
        );
      });
    });

  da.command("reclaim")
    .description("take back the fee of a blob you submitted that was not certified in its window")
    .argument("<blobId>", "blob id")
    .action(async (blobText: string) => {
      const blobId = id(blobText, "the blob id");
      await withClient(async (client) => {
        const r = await client.reclaim(blobId);
        output(`blob ${blobId}: fee ${fmt(r.fee)} reclaimed in ${r.txHash}`, r);
      });
    });

  da.command("withdraw")
    .description("withdraw your DA credits (challenge bonds and rewards)")
    .action(async () => {
      await withClient(async (client) => {
        const r = await client.withdraw();
        output(`withdrew ${fmt(r.amount)} in ${r.txHash}`, r);
      });
    });

  da.command("keygen")
    .description("make a new BLS key for a DA node (set it as DA_BLS_SECRET_KEY; keep it secret)")
    .action(() => {
      const secret = secretKeyFromSeed(randomBytes(48));
      const keys = keypairFromSecret(secret);
      const pkG1 = g1ToSolidity(keys.publicKeyG1);
      const result = {
        secretKey: `0x${secret.toString(16).padStart(64, "0")}`,
        publicKeyG1: { x: `0x${pkG1.x.toString(16)}`, y: `0x${pkG1.y.toString(16)}` },
        publicKeyG2: toHex(g2ToBytes(keys.publicKeyG2)),
      };
      output(`DA_BLS_SECRET_KEY=${result.secretKey}\npublic key G1 (${result.publicKeyG1.x}, ${result.publicKeyG1.y})\npublic key G2 ${result.publicKeyG2}`, result);
    });
}
