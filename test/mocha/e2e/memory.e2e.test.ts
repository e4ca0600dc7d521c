/**
 * Agent memory end to end on a real Hardhat node, a real Redis and real agent processes: an agent
 * writes 10,000 entries (batches under one signature each) to a stream served by a memory-node
 * process, the node checkpoints the root on chain, is killed with SIGKILL right after acknowledging
 * more writes and restarted: no acknowledged write is lost and every one of the 10,000 reads verifies
 * against the on-chain checkpoint. The node's snapshot of the stream is stored as a storage deal whose
 * replica answers storage challenges with accepted proofs. A second stream closed by its owner right after
 * a write: the node still checkpoints that write in the grace window after the close (so its receipt cannot
 * be slashed as late), keeps its collateral locked through the slashing window, then releases it itself.
 * Finally the node's key posts a checkpoint
 * that drops a receipted write, and the writer's receipt with a proof against that checkpoint slashes
 * the node's collateral.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import { DEVNET_ACCOUNTS, beaconAgent, memoryNodeAgent, startDevnet, type Devnet } from "../../../agents/src/devnet/devnet.js";
import { createDevnetStream } from "../../../agents/src/devnet/memory.js";
import { connectMemory, type MemoryClient, type MemoryContracts } from "../../../agents/src/sdk/memory/client.js";
import { SparseMerkleMap, contradictionArgs, keyHashOf, memoryBytes, uncheckpointedArgs, valueHashOf } from "../../../agents/src/sdk/memory/index.js";
import { freePort } from "../../../agents/src/core/ports.js";
import { eventsIn } from "../../../agents/src/sdk/contracts.js";
import { until } from "../../helpers/wait.js";

const ENTRIES = 10_000;
const BATCH = 250;
const key = (i: number) => `agent/e2e/${String(i).padStart(5, "0")}`;
const value = (i: number) => `entry ${i}: ${"x".repeat(i % 97)}`;

describe("agent memory end to end (real node, Redis, agents)", function () {
  this.timeout(900_000);
  let dir: string;
  let devnet: Devnet;
  let stream: bigint;
  let memory: Awaited<ReturnType<typeof connectMemory>>;
  let client: MemoryClient;
  let contracts: MemoryContracts;
  let nodePort: string;

  const startNode = () => devnet.startAgent(memoryNodeAgent({ MEMORY_PORT: nodePort, MEMORY_CHECKPOINT_INTERVAL_SEC: "3", MEMORY_SNAPSHOT_INTERVAL_SEC: "5" }));
  const checkpointSeq = async () => (await contracts.memoryRegistry.latestCheckpoint(stream)).seq;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "daios-memory-e2e-"));
    devnet = await startDevnet({ dir: path.join(dir, "devnet"), rpcPort: 0 });
    // The node keeps its port across the restart (it would re-register a new endpoint otherwise).
    nodePort = String(await freePort());
    await Promise.all([
      devnet.startAgent(beaconAgent()),
      devnet.startAgent({ name: "provider-a", role: "storage-provider", privateKey: DEVNET_ACCOUNTS.providerA.privateKey }),
      startNode(),
    ]);
    stream = await createDevnetStream(devnet);
    memory = await connectMemory({ rpcUrl: devnet.rpcUrl, privateKey: DEVNET_ACCOUNTS.memoryWriter.privateKey, deploymentFile: devnet.deploymentFile, stream });
    client = memory.client;
    contracts = memory.contracts;
  });

  after(async () => {
    memory?.close();
    await devnet?.stop();
    // DAIOS_KEEP_TEST_DIRS=1 keeps the agents' logs and data for a look after the run.
    if (dir && !process.env.DAIOS_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
  });

  it("takes 10,000 entries in signed batches and checkpoints their root on chain", async () => {
    const started = Date.now();
    let last = 0n;
    for (let from = 0; from < ENTRIES; from += BATCH) {
      const ops = Array.from({ length: Math.min(BATCH, ENTRIES - from) }, (_, j) => ({ kind: "put" as const, key: key(from + j), value: value(from + j) }));
      const result = await client.batch(ops);
      expect(result.seq).to.equal(last + 1n);
      expect(result.versions.every((v) => v === 1n)).to.equal(true);
      last = result.seq;
    }
    console.log(`      ${ENTRIES} entries in ${ENTRIES / BATCH} batches: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await until("the node to checkpoint every batch", 60_000, async () => ((await checkpointSeq()) >= last ? true : undefined), 500);
    const checkpoint = await contracts.memoryRegistry.latestCheckpoint(stream);
    const expected = new SparseMerkleMap();
    for (let i = 0; i < ENTRIES; i++) {
      // Entry i went in with batch floor(i / BATCH) + 1.
      expected.set(keyHashOf(memoryBytes(key(i))), { valueHash: valueHashOf(memoryBytes(value(i))), seq: BigInt(Math.floor(i / BATCH) + 1), version: 1n });
    }
    expect(checkpoint.root.toLowerCase(), "the on-chain root is the root of exactly these entries").to.equal(expected.root().toLowerCase());
  });

  it("loses no acknowledged write when the node is killed with SIGKILL, and every read verifies against the checkpoint", async () => {
    // Acknowledged right before the kill: these are in no checkpoint yet.
    const late = await client.put("agent/e2e/late", "written just before the kill");
    const deleted = await client.delete(key(7));
    devnet.agents.get("memory-node")?.process.kill();
    await startNode();

    const got = await client.get("agent/e2e/late", { verify: true });
    expect(Buffer.from(got.value ?? []).toString()).to.equal("written just before the kill");
    expect(got.seq).to.equal(late.seq);
    const gone = await client.get(key(7), { verify: true });
    expect(gone.deleted).to.equal(true);
    expect(gone.seq).to.equal(deleted.seq);

    await until("the restarted node to checkpoint the last writes", 60_000, async () => ((await checkpointSeq()) >= deleted.seq ? true : undefined), 500);
    const started = Date.now();
    let checked = 0;
    const worker = async (offset: number) => {
      for (let i = offset; i < ENTRIES; i += 8) {
        const r = await client.get(key(i), { verify: true });
        expect(r.verified?.against, key(i)).to.equal("checkpoint");
        if (i === 7) expect(r.deleted).to.equal(true);
        else expect(Buffer.from(r.value ?? []).toString(), key(i)).to.equal(value(i));
        checked++;
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    expect(checked).to.equal(ENTRIES);
    console.log(`      ${ENTRIES} reads verified against checkpoint seq ${await checkpointSeq()}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it("stores a snapshot of the stream as a storage deal that answers storage challenges", async () => {
    const snapshot = await until("a snapshot to be recorded", 180_000, async () => {
      const s = await contracts.memoryRegistry.latestSnapshot(stream);
      return s.dealId !== 0n ? s : undefined;
    }, 1000);
    expect(snapshot.seq > 0n).to.equal(true);
    const accepted = await until("a proof of the snapshot deal to be accepted", 240_000, async () => {
      const logs = await devnet.contracts.market.queryFilter(devnet.contracts.market.filters.ProofAccepted(snapshot.dealId));
      return logs.length > 0 ? logs[0] : undefined;
    }, 1000);
    expect(accepted.args.provider).to.equal(DEVNET_ACCOUNTS.providerA.address);
  });

  it("covers a write made just before the close (in the window after it), then releases the collateral by itself", async () => {
    const other = await createDevnetStream(devnet);
    const agent = await connectMemory({ rpcUrl: devnet.rpcUrl, privateKey: DEVNET_ACCOUNTS.memoryWriter.privateKey, deploymentFile: devnet.deploymentFile, stream: other });
    let last;
    try {
      last = await agent.client.put("agent/e2e/closing", "written just before the close");
    } finally {
      agent.close();
    }
    // The node stops at once (its 3 s checkpoint round has almost surely not covered the write yet) and the
    // owner closes the stream while it is down: the restarted node finds the stream Closed and must still
    // checkpoint the write in the window after the close, or its receipt becomes slashable as late.
    await devnet.agents.get("memory-node")?.process.stop();
    const owner = new Wallet(DEVNET_ACCOUNTS.client.privateKey, devnet.provider);
    const registry = contracts.memoryRegistry;
    const closed = await (await registry.connect(owner).closeStream(other)).wait();
    const coveredBeforeClose = (await registry.latestCheckpoint(other)).seq >= last.seq;
    const at = await registry.releasableAt(other);
    const window = (await registry.getStream(other)).checkpointWindow;
    expect(at).to.equal(BigInt((await closed!.getBlock()).timestamp) + 2n * window);
    await startNode();

    await until("the node to checkpoint the closed stream's last write", 60_000, async () => ((await registry.latestCheckpoint(other)).seq >= last.seq ? true : undefined), 500);
    console.log(`      the write at seq ${last.seq} was checkpointed ${coveredBeforeClose ? "before the close" : "in the window after the close"}`);
    if (!coveredBeforeClose) {
      const [cp] = await registry.queryFilter(registry.filters.Checkpointed(other), closed!.blockNumber + 1);
      expect(cp, "a checkpoint posted after the close").to.not.equal(undefined);
    }
    // Past the grace window, inside the slashing window: the receipt is late but covered, so it cannot be slashed.
    const now = BigInt((await devnet.provider.getBlock("latest"))!.timestamp);
    await devnet.provider.send("evm_increaseTime", [Number(at - window - now) + 1]);
    await devnet.provider.send("evm_mine", []);
    const reporter = new Wallet(DEVNET_ACCOUNTS.client.privateKey, devnet.provider);
    let refusal = "";
    await registry.connect(reporter).slashUncheckpointed.staticCall(...uncheckpointedArgs(last.receipt)).catch((error: Error) => (refusal = error.message));
    expect(refusal).to.match(/MemoryRegistryReceiptCheckpointed/);
    // The node has not released anything yet: the slashing window is still open.
    expect(await registry.releasableAt(other)).to.equal(at);

    // The chain's clock passes the end of the slashing window: the node releases the collateral.
    await devnet.provider.send("evm_increaseTime", [Number(window)]);
    const released = await until("the node to release the closed stream's collateral", 60_000, async () => {
      const logs = await registry.queryFilter(registry.filters.CollateralReleased(other));
      return logs.length > 0 ? logs[0] : undefined;
    }, 500);
    expect(released.args.node).to.equal(DEVNET_ACCOUNTS.memoryNode.address);
    expect((await released.getTransaction()).from).to.equal(DEVNET_ACCOUNTS.memoryNode.address);
    expect(BigInt((await released.getBlock()).timestamp) >= at).to.equal(true);
    expect(await registry.releasableAt(other)).to.equal(0n);
  });

  it("slashes the node through a receipt when a checkpoint drops a receipted write", async () => {
    // The receipt of the write being dropped.
    const dropped = await client.put("agent/e2e/dropped", "the node will pretend it never saw this");
    const receipt = dropped.receipt;
    await devnet.agents.get("memory-node")?.process.stop();
    // The node's key posts a checkpoint past the receipt whose tree lacks the key.
    const node = new Wallet(DEVNET_ACCOUNTS.memoryNode.privateKey, devnet.provider);
    const lie = new SparseMerkleMap();
    lie.set(keyHashOf(memoryBytes("agent/e2e/other")), { valueHash: `0x${"11".repeat(32)}`, seq: 1n, version: 1n });
    const posted = await (await contracts.memoryRegistry.connect(node).checkpoint(stream, lie.root(), receipt.seq + 1n)).wait();
    const [cp] = eventsIn(contracts.memoryRegistry, posted!, "Checkpointed");
    const checkpoint = { index: cp.args.index, root: cp.args.root, seq: cp.args.seq, timestamp: cp.args.timestamp };

    const reporter = new Wallet(DEVNET_ACCOUNTS.client.privateKey, devnet.provider);
    const before = await contracts.memoryRegistry.credits(reporter.address);
    const args = contradictionArgs(receipt, 0, checkpoint, lie.prove(receipt.entries[0].keyHash));
    const tx = await (await contracts.memoryRegistry.connect(reporter).slashContradiction(...args)).wait();
    const [slashed] = eventsIn(contracts.memoryRegistry, tx!, "StreamSlashed");
    expect(slashed.args.stream).to.equal(stream);
    expect(slashed.args.slashed > 0n).to.equal(true);
    expect((await contracts.memoryRegistry.getStream(stream)).status).to.equal(3n);
    expect(await contracts.memoryRegistry.credits(reporter.address)).to.be.greaterThan(before);
  });
});
