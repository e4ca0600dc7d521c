/**
 * Agent-memory benchmarks (`npm run bench -- memory`), against a real memory-node process serving a
 * stream on a Hardhat node at 1 block/s (the devnet set-up), with 10,000 entries loaded first:
 *   memory.put.p50_ms, memory.put.p99_ms   one put (one op, signed, acknowledged after the durable
 *                                          commit, receipt checked), one at a time
 *   memory.get_verified.p50_ms             one read with its proof checked against the on-chain checkpoint
 *                                          (the node's root is the checkpointed one), one at a time
 *   memory.ops_per_s                       mixed puts and gets for a fixed time: one writer sending atomic
 *                                          batches of BATCH puts under one signature, and READERS readers
 *                                          (in a worker thread, like separate agents) each reading one key
 *                                          at a time (unverified)
 *   memory.vs_redis.ratio                  memory.ops_per_s over raw Redis on the same machine, same run and
 *                                          the same shape: one writer sending pipelines of BATCH SETs,
 *                                          READERS readers (in a worker thread) each sending one GET at a time
 *   memory.checkpoint.gas                  whole-transaction gas of the node's checkpoints (not the first)
 *   memory.proof.bytes                     median size of a read's proof at 10,000 entries, binary encoding
 * Runs alternate between daios and Redis so that machine noise hits both alike.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { DEVNET_ACCOUNTS, memoryNodeAgent, startDevnet } from "../agents/src/devnet/devnet.js";
import { createDevnetStream } from "../agents/src/devnet/memory.js";
import { connectMemory, decodeProof, proofByteLength } from "../agents/src/sdk/memory/index.js";
import { startThread } from "../agents/src/core/prover-pool.js";
import { round, stats, type BenchResult } from "./harness.js";
import type { ReaderData } from "./memory-readers.js";

const say = (line: string) => console.log(`[bench memory] ${line}`);
const ENTRIES = 10_000;
const BATCH = 200;
const READERS = 8;
const LATENCY_RUNS = 300;
const MIX_RUNS = 5;
const MIX_SECONDS = 6;

const key = (i: number) => `bench/${String(i).padStart(6, "0")}`;
const value = (i: number) => `value of entry ${i} `.padEnd(100, "·");

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Runs `writer` in a loop here and READERS readers in a worker thread (bench/memory-readers.ts) for
 * `seconds`; returns operations per second.
 */
async function mixed(seconds: number, writer: () => Promise<number>, readers: Omit<ReaderData, "readers" | "entries">): Promise<{ opsPerS: number; puts: number; gets: number }> {
  const worker = startThread(new URL("./memory-readers.ts", import.meta.url), "bench-memory-readers", { ...readers, readers: READERS, entries: ENTRIES });
  try {
    await new Promise<void>((resolve, reject) => {
      worker.once("message", () => resolve());
      worker.once("error", reject);
    });
    const until = Date.now() + seconds * 1000;
    const started = performance.now();
    const gets = new Promise<number>((resolve, reject) => {
      worker.once("message", (m: { gets: number }) => resolve(m.gets));
      worker.once("error", reject);
    });
    worker.postMessage({ until });
    let puts = 0;
    while (Date.now() < until) puts += await writer();
    const got = await gets;
    const elapsed = (performance.now() - started) / 1000;
    return { opsPerS: (puts + got) / elapsed, puts, gets: got };
  } finally {
    await worker.terminate();
  }
}

export async function benchMemory(): Promise<BenchResult[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "daios-bench-memory-"));
  const devnet = await startDevnet({ dir, rpcPort: 0, say });
  const redis = new Redis(devnet.redis.url, { maxRetriesPerRequest: 1 });
  try {
    await devnet.startAgent(memoryNodeAgent({ MEMORY_CHECKPOINT_INTERVAL_SEC: "2", MEMORY_SNAPSHOT_INTERVAL_SEC: "0" }));
    const stream = await createDevnetStream(devnet);
    const memory = await connectMemory({ rpcUrl: devnet.rpcUrl, privateKey: DEVNET_ACCOUNTS.memoryWriter.privateKey, deploymentFile: devnet.deploymentFile, stream });
    const { client, contracts } = memory;

    say(`loading ${ENTRIES} entries in batches of ${BATCH}`);
    for (let from = 0; from < ENTRIES; from += BATCH) {
      await client.batch(Array.from({ length: BATCH }, (_, j) => ({ kind: "put" as const, key: key(from + j), value: value(from + j) })));
    }

    // --- single puts
    for (let i = 0; i < 20; i++) await client.put(key(i), value(i));
    const putMs: number[] = [];
    for (let i = 0; i < LATENCY_RUNS; i++) {
      const t = performance.now();
      await client.put(key(i), value(i + 1));
      putMs.push(performance.now() - t);
    }

    // --- verified gets, once the checkpoint caught up with every write
    const { seq } = await client.put("bench/last", "x");
    const deadline = Date.now() + 60_000;
    while ((await contracts.memoryRegistry.latestCheckpoint(stream)).seq < seq) {
      if (Date.now() > deadline) throw new Error("the node did not checkpoint within 60 s");
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const getMs: number[] = [];
    const proofBytes: number[] = [];
    for (let i = 0; i < LATENCY_RUNS + 20; i++) {
      const k = key((i * 7919) % ENTRIES);
      const t = performance.now();
      const r = await client.get(k, { verify: true });
      const ms = performance.now() - t;
      if (r.verified?.against !== "checkpoint") throw new Error(`read of ${k} was verified against ${r.verified?.against ?? "nothing"}, not the checkpoint`);
      if (i >= 20) getMs.push(ms);
    }
    for (let i = 0; i < 200; i++) {
      const res = await fetch(`${client.nodeUrl}/v1/streams/${stream}/keys/0x${Buffer.from(key((i * 104729) % ENTRIES)).toString("hex")}?proof=1`);
      const body = (await res.json()) as { proof: string };
      proofBytes.push(proofByteLength(decodeProof(body.proof)));
    }

    // --- mixed load, daios and raw Redis alternately
    await redis.flushdb();
    await redis.mset(Object.fromEntries(Array.from({ length: ENTRIES }, (_, i) => [key(i), value(i)])));
    let n = 0;
    const ours: { opsPerS: number; puts: number; gets: number }[] = [];
    const theirs: { opsPerS: number; puts: number; gets: number }[] = [];
    for (let run = 0; run < MIX_RUNS; run++) {
      ours.push(
        await mixed(
          MIX_SECONDS,
          async () => {
            const base = n++ * BATCH;
            await client.batch(Array.from({ length: BATCH }, (_, j) => ({ kind: "put" as const, key: key((base + j) % ENTRIES), value: value(base + j) })));
            return BATCH;
          },
          { kind: "daios", nodeUrl: client.nodeUrl, stream: stream.toString(), redisUrl: devnet.redis.url, chainId: memory.chainId.toString(), registry: await contracts.memoryRegistry.getAddress() },
        ),
      );
      theirs.push(
        await mixed(
          MIX_SECONDS,
          async () => {
            const base = n++ * BATCH;
            const pipeline = redis.pipeline();
            for (let j = 0; j < BATCH; j++) pipeline.set(key((base + j) % ENTRIES), value(base + j));
            await pipeline.exec();
            return BATCH;
          },
          { kind: "redis", nodeUrl: client.nodeUrl, stream: stream.toString(), redisUrl: devnet.redis.url, chainId: memory.chainId.toString(), registry: await contracts.memoryRegistry.getAddress() },
        ),
      );
      say(`mixed run ${run + 1}: daios ${Math.round(ours[run].opsPerS)} ops/s, raw Redis ${Math.round(theirs[run].opsPerS)} ops/s`);
    }
    await redis.flushdb();

    // --- checkpoint gas from the node's own transactions
    const logs = await contracts.memoryRegistry.queryFilter(contracts.memoryRegistry.filters.Checkpointed(stream));
    const gas: number[] = [];
    for (const log of logs.slice(1)) gas.push(Number((await log.getTransactionReceipt()).gasUsed));
    const firstGas = logs.length > 0 ? Number((await logs[0].getTransactionReceipt()).gasUsed) : undefined;
    memory.close();

    const put = stats(putMs);
    const get = stats(getMs);
    const oursStats = stats(ours.map((r) => r.opsPerS));
    const redisStats = stats(theirs.map((r) => r.opsPerS));
    const ratios = stats(ours.map((r, i) => r.opsPerS / theirs[i].opsPerS));
    const gasStats = stats(gas);
    const bytes = stats(proofBytes);
    const mixDetail = (rs: typeof ours) => ({ runs: rs.length, seconds: MIX_SECONDS, puts: rs.reduce((a, r) => a + r.puts, 0), gets: rs.reduce((a, r) => a + r.gets, 0) });
    return [
      { name: "memory.put.p50_ms", value: round(put.median, 2), unit: "ms", better: "lower", detail: { runs: put.runs, min: round(put.min, 2), max: round(put.max, 2), what: "one signed put, acknowledged after lmdb's durable commit, receipt checked; 10,000 entries in the stream" } },
      { name: "memory.put.p99_ms", value: round(percentile(putMs, 99), 2), unit: "ms", better: "lower", detail: { runs: put.runs } },
      { name: "memory.get_verified.p50_ms", value: round(get.median, 2), unit: "ms", better: "lower", target: 5, detail: { runs: get.runs, min: round(get.min, 2), max: round(get.max, 2), p99: round(percentile(getMs, 99), 2), what: "HTTP read + on-chain checkpoint read + proof check" } },
      { name: "memory.ops_per_s", value: Math.round(oursStats.median), unit: "ops/s", better: "higher", target: 5000, detail: { min: Math.round(oursStats.min), max: Math.round(oursStats.max), writer: `1, batches of ${BATCH} puts under one signature`, readers: READERS, ...mixDetail(ours) } },
      { name: "memory.vs_redis.ratio", value: round(ratios.median, 3), unit: "x", better: "higher", detail: { redis_ops_per_s: Math.round(redisStats.median), redis_min: Math.round(redisStats.min), redis_max: Math.round(redisStats.max), shape: `1 writer pipelining ${BATCH} SETs, ${READERS} readers one GET at a time`, ...mixDetail(theirs) } },
      { name: "memory.checkpoint.gas", value: gasStats.median, unit: "gas", better: "lower", target: 80_000, detail: { checkpoints: gas.length, min: gasStats.min, max: gasStats.max, first: firstGas } },
      { name: "memory.proof.bytes", value: bytes.median, unit: "bytes", better: "lower", detail: { entries: ENTRIES, reads: bytes.runs, min: bytes.min, max: bytes.max } },
    ];
  } finally {
    redis.disconnect();
    await devnet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
