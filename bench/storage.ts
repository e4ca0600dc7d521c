/**
 * Storage layer benchmarks (`npm run bench -- storage`):
 *   storage.createDeal.gas, storage.submitProof.gas   receipts of real transactions on Hardhat's EDR
 *                                                     network, with the real PoRAVerifier and proofs
 *   storage.prove.ms_per_chunk                        median Groth16 proof time / challenged chunks
 *   storage.ingest.speedup_vs_circomlibjs             64 MiB chunking + root, ours vs circomlibjs
 *   storage.download.MBps                             verified download over HTTP vs the same bytes unverified
 *   storage.e2e.upload_to_first_proof.s               10 MiB file on a devnet with real agents
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { parseUnits } from "ethers";
import { deployStorageStack } from "../test/helpers/storage-stack.js";
import { STORAGE } from "../agents/src/generated/constants.js";
import { artifactPaths } from "../circuits/circuits.js";
import { ProverPool } from "../agents/src/core/prover-pool.js";
import { silentLogger } from "../agents/src/core/log.js";
import { DataTree } from "../agents/src/sdk/storage/format.js";
import { createTreeHasher } from "../agents/src/sdk/storage/native-hasher.js";
import { memoryChunkReader, poraInput } from "../agents/src/sdk/storage/challenge.js";
import { periodWindow } from "../agents/src/sdk/storage/periods.js";
import { downloadVerified } from "../agents/src/sdk/storage/download.js";
import { FileStore } from "../agents/src/roles/storage-provider/file-store.js";
import { listen } from "../agents/src/core/http.js";
import { createProviderApi } from "../agents/src/roles/storage-provider/http-api.js";
import { DEVNET_ACCOUNTS, standardAgents, startDevnet } from "../agents/src/devnet/devnet.js";
import { connect } from "../agents/src/sdk/connect.js";
import { benchIngest, benchFile, ingestBenchResults } from "./ingest.js";
import { round, stats, type BenchResult } from "./harness.js";

const say = (line: string) => console.log(`[bench storage] ${line}`);

/** Constraint count of the committed PoRA circuit, from its setup manifest. */
function poraConstraints(): number {
  return (JSON.parse(readFileSync(artifactPaths("pora").manifest, "utf8")) as { constraints: number }).constraints;
}

async function chainBenches(): Promise<BenchResult[]> {
  const { network } = await import("hardhat");
  const connection = await network.create();
  const { ethers, networkHelpers } = connection;
  const [owner, client, provider] = await ethers.getSigners();
  const { market } = await deployStorageStack(ethers, { owner, funded: [client], providers: [provider] });

  const { hasher, poseidon } = await createTreeHasher();
  const data = benchFile(1 << 20, 7);
  const tree = await DataTree.build(data, hasher, poseidon);
  const price = parseUnits("0.001", 18);

  const createGas: number[] = [];
  let dealId = 0n;
  for (let i = 0; i < 5; i++) {
    const receipt = await (await market.connect(client).createDeal(tree.dataRoot, data.length, 2, 50, price)).wait();
    createGas.push(Number(receipt?.gasUsed));
    dealId = await market.dealCount();
  }
  await (await market.connect(provider).joinDeal(dealId, 0)).wait();

  const pora = artifactPaths("pora");
  const pool = new ProverPool({ size: 1, log: silentLogger() });
  const proveMs: number[] = [];
  const submitGas: number[] = [];
  const startBlock = Number((await market.deal(dealId)).startBlock);
  const firstPeriod = Number((await market.slot(dealId, 0)).nextPeriod);
  try {
    for (let period = firstPeriod; period < firstPeriod + 6; period++) {
      const w = periodWindow(startBlock, period);
      const head = await ethers.provider.getBlockNumber();
      if (head < w.challengeBlock + 1) await networkHelpers.mine(w.challengeBlock + 1 - head);
      const seed = await market.challengeSeed(dealId, 0, period, provider.address);
      const { input } = await poraInput(tree, memoryChunkReader(data), seed);
      const { calldata, durationMs } = await pool.prove({ wasmPath: pora.wasm, zkeyPath: pora.zkey, input });
      proveMs.push(durationMs);
      const receipt = await (await market.connect(provider).submitProof(dealId, 0, period, calldata.pA, calldata.pB, calldata.pC)).wait();
      submitGas.push(Number(receipt?.gasUsed));
      say(`period ${period}: proof ${durationMs} ms, submitProof ${receipt?.gasUsed} gas`);
    }
  } finally {
    await pool.close();
    await hasher.close();
    await connection.close();
  }
  // The first proof of a provider creates its credit slot (a zero-to-nonzero SSTORE); the steady
  // state is every later period, which is what a provider pays period after period.
  const steady = stats(submitGas.slice(1));
  const create = stats(createGas);
  const prove = stats(proveMs.slice(1));
  return [
    { name: "storage.createDeal.gas", value: create.median, unit: "gas", better: "lower", target: 200_000, detail: { ...create, file_bytes: data.length, replicas: 2, periods: 50 } },
    {
      name: "storage.submitProof.gas",
      value: steady.median,
      unit: "gas",
      better: "lower",
      target: 250_000,
      detail: { ...steady, first_proof_gas: submitGas[0], public_inputs: 2, challenges: STORAGE.CHALLENGES_PER_PROOF, whole_transaction: true },
    },
    {
      name: "storage.prove.ms_per_chunk",
      value: round(prove.median / STORAGE.CHALLENGES_PER_PROOF, 1),
      unit: "ms",
      better: "lower",
      target: 1000,
      detail: { proof_ms_median: prove.median, min: prove.min, max: prove.max, runs: prove.runs, chunks_per_proof: STORAGE.CHALLENGES_PER_PROOF, constraints: poraConstraints() },
    },
  ];
}

async function downloadBench(): Promise<BenchResult[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "daios-bench-dl-"));
  const { hasher, poseidon } = await createTreeHasher();
  try {
    const size = 64 << 20;
    const data = benchFile(size, 9);
    const tree = await DataTree.build(data, hasher, poseidon);
    const store = new FileStore(path.join(dir, "provider"), hasher, poseidon);
    await store.open();
    await store.put(Readable.from([data]), size, tree.dataRoot);
    const server = createProviderApi({ store, address: "0x0", lookupDeal: async () => undefined, onStored: async () => ({}), log: silentLogger() });
    const port = await listen(server, 0);
    const endpoint = `http://127.0.0.1:${port}`;
    const verified: number[] = [];
    const raw: number[] = [];
    for (let run = 0; run < 6; run++) {
      let t = performance.now();
      await downloadVerified({ dataRoot: tree.dataRoot, endpoints: [endpoint], out: path.join(dir, "out.bin"), hasher, poseidon });
      verified.push(performance.now() - t);
      t = performance.now();
      const bytes = await (await fetch(`${endpoint}/v1/files/0x${tree.dataRoot.toString(16)}`)).arrayBuffer();
      writeFileSync(path.join(dir, "raw.bin"), Buffer.from(bytes));
      raw.push(performance.now() - t);
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const v = stats(verified.slice(1));
    const r = stats(raw.slice(1));
    const mbps = (ms: number) => round(size / 1e6 / (ms / 1000), 1);
    return [
      {
        name: "storage.download.MBps",
        value: mbps(v.median),
        unit: "MB/s",
        better: "higher",
        detail: { file_MiB: 64, runs: v.runs, min: mbps(v.max), max: mbps(v.min), unverified_baseline_MBps: mbps(r.median), verified_over_unverified: round(r.median / v.median, 3) },
      },
    ];
  } finally {
    await hasher.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function e2eBench(): Promise<BenchResult[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "daios-bench-e2e-"));
  const devnet = await startDevnet({ dir: path.join(dir, "devnet"), rpcPort: 0, say });
  const client = await connect({ rpcUrl: devnet.rpcUrl, privateKey: DEVNET_ACCOUNTS.client.privateKey, deploymentFile: devnet.deploymentFile });
  try {
    for (const spec of standardAgents({ daNodes: 0 }).filter((s) => s.name !== "provider-c")) await devnet.startAgent(spec);
    const market = client.contracts.market;
    const seconds: number[] = [];
    for (let run = 0; run < 5; run++) {
      const file = path.join(dir, `file-${run}.bin`);
      writeFileSync(file, benchFile(10 << 20, 100 + run));
      const started = performance.now();
      const deal = await client.storage.upload(file, { replicas: 2, periods: 20 });
      for (;;) {
        if ((await market.queryFilter(market.filters.ProofAccepted(deal.dealId))).length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      seconds.push((performance.now() - started) / 1000);
      say(`e2e run ${run}: upload → first accepted proof ${seconds.at(-1)?.toFixed(1)} s`);
      // Each provider proves with one thread, in order: a deal left running would put its proofs ahead
      // of the next sample's first one. Cancelling ends it after the current period.
      await client.storage.cancel(deal.dealId);
    }
    const s = stats(seconds);
    return [
      {
        name: "storage.e2e.upload_to_first_proof.s",
        value: round(s.median, 1),
        unit: "s",
        better: "lower",
        target: 30,
        detail: {
          file_MiB: 10,
          replicas: 2,
          runs: s.runs,
          min: round(s.min, 1),
          max: round(s.max, 1),
          block_time_s: 1,
          upload_window_blocks: STORAGE.UPLOAD_WINDOW_BLOCKS,
          period_blocks: STORAGE.PERIOD_BLOCKS,
          isolation: "each sample's deal is cancelled after its first accepted proof",
        },
      },
    ];
  } finally {
    await client.close();
    await devnet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchStorage(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  say("gas and proving on the Hardhat network");
  results.push(...(await chainBenches()));
  say("ingest: 64 MiB, native vs circomlibjs");
  results.push(...ingestBenchResults(await benchIngest({ fileMiB: 64, runs: 5, log: say })));
  say("verified download: 64 MiB over HTTP");
  results.push(...(await downloadBench()));
  say("end to end: 10 MiB upload to first accepted proof on a devnet");
  results.push(...(await e2eBench()));
  return results;
}
