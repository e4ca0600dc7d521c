/**
 * memory-node role: serves agent memory streams of the MemoryRegistry (design: /work/design/issue5.md).
 *
 * It registers under the MEMORY role with a stake (each stream created on it locks part of it as
 * collateral) and its HTTP endpoint, then:
 *
 *   - serves the HTTP API (./http-api.ts): signed writes are checked (signature, writer set, nonce,
 *     expected versions), applied durably in the lmdb store (./store.ts) and answered with a receipt
 *     signed by the operator key; reads come with proofs against the current root, which the node
 *     signs (EIP-712 Root) once per seq;
 *   - knows every stream's node and writer set (./writers.ts): read from the registry on first sight,
 *     then kept current from StreamCreated / WriterGranted / WriterRevoked / StreamClosed /
 *     StreamSlashed through its own chain watcher, so a revocation takes effect without a restart;
 *   - every MEMORY_CHECKPOINT_INTERVAL_SEC posts checkpoint(stream, root, seq) for each stream whose seq
 *     advanced past its on-chain checkpoint (also on demand: POST …/checkpoint); the transaction sender
 *     reads latestCheckpoint first, so a retry never posts twice. A closed stream is still checkpointed
 *     during the one window the registry allows after the close, so that every write the node
 *     acknowledged before it learnt of the close is covered (an uncovered receipt would be slashable);
 *   - every MEMORY_SNAPSHOT_INTERVAL_SEC (0: never) writes a snapshot file (./snapshot.ts) of each stream
 *     whose checkpointed seq advanced past its last snapshot, at that seq, checks it gives the
 *     checkpointed root, stores it as a storage deal and records it (recordSnapshot);
 *   - settles its earnings now and then and withdraws its credits once they reach WITHDRAW_THRESHOLD;
 *   - releases the collateral of its closed streams (releaseCollateral) once their slashing window is
 *     over, checked on the checkpoint schedule: the streams it holds entries of, and those closed while it
 *     runs or while it was down (the chain watcher replays their StreamClosed events).
 *
 * Configuration: see ./config.ts. The store lives in MEMORY_DATA_DIR/<chainId>/<MemoryRegistry address>.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { MaxUint256, Wallet, getAddress, parseUnits } from "ethers";
import { ChainWatcher, type ChainEvent } from "../../core/chain-watcher.js";
import { TxRevertedError } from "../../core/tx-sender.js";
import { DaiosError, errorMessage } from "../../core/errors.js";
import { listen } from "../../core/http.js";
import { MemoryRegistry__factory, type MemoryRegistry } from "../../../../types/ethers-contracts/index.js";
import { StorageClient } from "../../sdk/storage/client.js";
import { createTreeHasher } from "../../sdk/storage/native-hasher.js";
import { memoryDomain, signReceipt, signRoot } from "../../sdk/memory/signing.js";
import { startRuntime, type RoleRuntime } from "../runtime.js";
import { ResultStore } from "../compute-provider/result-store.js";
import { memoryNodeSchema } from "./config.js";
import { memoryNodeMetrics, type MemoryNodeMetrics } from "./metrics.js";
import { MemoryStore } from "./store.js";
import { createMemoryNodeApi, type CheckpointService, type NodeSigner } from "./http-api.js";
import { AUTHORITY_EVENTS, ChainAuthority } from "./writers.js";
import { encodeSnapshot, snapshotEntries, snapshotRoot } from "./snapshot.js";
import type { Logger } from "../../core/log.js";
import type { TxSender } from "../../core/tx-sender.js";

type Runtime = RoleRuntime<typeof memoryNodeSchema>;

/** How often earnings are settled (and credits withdrawn). */
const SETTLE_INTERVAL_MS = 10 * 60_000;

export async function runMemoryNode(): Promise<Runtime> {
  const rt = await startRuntime("memory-node", memoryNodeSchema);
  try {
    await startMemoryNode(rt);
  } catch (error) {
    await rt.shutdown(`start-up failed: ${errorMessage(error)}`);
    throw error;
  }
  return rt;
}

/** The MemoryRegistry of the deployment (address and deployment block), or a clear error. */
function memoryRegistryEntry(rt: Runtime): { address: string; block: number } {
  const entry = (rt.deployment.contracts as Partial<Record<string, { address: string; block: number }>>).MemoryRegistry;
  if (entry === undefined) {
    throw new DaiosError(`the deployment of chain ${rt.deployment.chainId} (id ${rt.deployment.id}) has no MemoryRegistry`, {
      hint: "redeploy with a version that includes the memory layer (npm start does), or point DEPLOYMENT_FILE at a deployment that has it",
    });
  }
  return entry;
}

/** Posts checkpoints (one at a time per stream) and reads them back. */
export class Checkpointer implements CheckpointService {
  private readonly running = new Map<bigint, Promise<unknown>>();

  constructor(
    private readonly options: { store: MemoryStore; registry: MemoryRegistry; tx: TxSender; log: Logger; metrics: MemoryNodeMetrics },
  ) {}

  async latest(stream: bigint): Promise<{ root: string; seq: bigint; timestamp: bigint; index: bigint }> {
    const [root, seq, timestamp, index] = await this.options.registry.latestCheckpoint(stream);
    return { root, seq, timestamp, index };
  }

  post(stream: bigint): Promise<{ seq: bigint; root: string; txHash: string | null; skipped: boolean }> {
    const previous = this.running.get(stream) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.postNow(stream));
    this.running.set(stream, run);
    void run.finally(() => {
      if (this.running.get(stream) === run) this.running.delete(stream);
    }).catch(() => undefined);
    return run;
  }

  private async postNow(stream: bigint): Promise<{ seq: bigint; root: string; txHash: string | null; skipped: boolean }> {
    const { store, registry, tx, log, metrics } = this.options;
    const head = store.head(stream);
    const onChain = await this.latest(stream);
    if (head.seq === 0n || onChain.seq >= head.seq) {
      metrics.checkpoints.inc({ outcome: "skipped" });
      return { seq: onChain.seq, root: onChain.root, txHash: null, skipped: true };
    }
    let result;
    try {
      result = await tx.send({
        label: `checkpoint:${stream}:${head.seq}`,
        iface: registry.interface,
        isDone: async () => (await this.latest(stream)).seq >= head.seq,
        build: () => ({ to: registry.target as string, data: registry.interface.encodeFunctionData("checkpoint", [stream, head.root, head.seq]) }),
      });
    } catch (error) {
      if (error instanceof TxRevertedError && error.errorName === "MemoryRegistrySeqNotIncreasing") {
        metrics.checkpoints.inc({ outcome: "skipped" });
        const now = await this.latest(stream);
        return { seq: now.seq, root: now.root, txHash: null, skipped: true };
      }
      metrics.checkpoints.inc({ outcome: "failed" });
      throw error;
    }
    if (result.skipped) {
      metrics.checkpoints.inc({ outcome: "skipped" });
      const now = await this.latest(stream);
      return { seq: now.seq, root: now.root, txHash: null, skipped: true };
    }
    metrics.checkpoints.inc({ outcome: "posted" });
    metrics.checkpointGas.observe(Number(result.gasUsed));
    await store.setCheckpoint(stream, { seq: Number(head.seq), root: head.root, txHash: result.txHash, time: Date.now() });
    log.info({ stream: stream.toString(), seq: head.seq.toString(), root: head.root, gasUsed: result.gasUsed.toString(), txHash: result.txHash }, "checkpoint posted");
    return { seq: head.seq, root: head.root, txHash: result.txHash, skipped: false };
  }
}

async function startMemoryNode(rt: Runtime): Promise<void> {
  const { log, tx, provider, chainId } = rt;
  const settings = rt.config.role;
  const me = tx.address;
  const { registry, token } = rt.contracts;
  const entry = memoryRegistryEntry(rt);
  const memory = MemoryRegistry__factory.connect(entry.address, provider);
  const memoryAddress = getAddress(entry.address);
  const metrics = memoryNodeMetrics(rt.metrics);
  const domain = memoryDomain(chainId, memoryAddress);
  const wallet = new Wallet(rt.config.privateKey);
  // A receipt not checkpointed within the registry's window makes the node slashable: refuse to run with
  // a schedule that could let that happen to an honest node (half the window leaves room for a retry).
  const window = Number((await memory.config()).checkpointWindow);
  if (settings.checkpointIntervalSec * 2 > window) {
    throw new DaiosError(`MEMORY_CHECKPOINT_INTERVAL_SEC=${settings.checkpointIntervalSec} is more than half of the registry's checkpoint window (${window} s): receipts could go uncheckpointed past the window and the node be slashed`, {
      hint: `set MEMORY_CHECKPOINT_INTERVAL_SEC to at most ${Math.floor(window / 2)}`,
    });
  }

  // --- the store: one directory per chain and MemoryRegistry, so deployments never mix.
  const dir = path.join(settings.dataDir, chainId.toString(), memoryAddress.toLowerCase());
  const opened = performance.now();
  const store = await MemoryStore.open(dir, { log });
  metrics.rebuildSeconds.set((performance.now() - opened) / 1000);
  metrics.streams.set(store.streams().length);
  rt.onShutdown(() => store.close());

  const role = await registry.MEMORY_ROLE();
  const authority = new ChainAuthority({
    registry: memory,
    endpointOf: async (node) => {
      const p = await registry.getProvider(node, role);
      return p.registered ? p.endpoint : undefined;
    },
  });
  const signer: NodeSigner = {
    address: me,
    signReceipt: (receipt) => signReceipt(wallet, domain, receipt),
    signRoot: (root) => signRoot(wallet, domain, root),
  };
  const checkpointer = new Checkpointer({ store, registry: memory, tx, log, metrics });

  let ready = false;
  const server = createMemoryNodeApi({ store, authority, signer, domain, log, checkpoints: checkpointer, metrics, maxBodyBytes: settings.maxBodyBytes, isReady: () => ready });
  const port = await listen(server, settings.port, settings.host);
  rt.onShutdown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const endpoint = settings.publicUrl ?? `http://${settings.host.includes(":") ? `[${settings.host}]` : settings.host}:${port}`;

  // --- registration under the MEMORY role
  if (!(await registry.roleEnabled(role))) {
    throw new DaiosError(`the MEMORY role is not enabled in the ProviderRegistry at ${registry.target as string}`, {
      hint: "the registry's owner enables it with setMinStake(MEMORY_ROLE, minimum); check the deployment",
    });
  }
  const capacity = BigInt(settings.capacityMiB) * 2n ** 20n;
  const current = await registry.getProvider(me, role);
  if (!current.registered) {
    const stake = parseUnits(settings.stake, 18);
    const minimum = await registry.minStake(role);
    if (stake < minimum) throw new DaiosError(`MEMORY_STAKE=${settings.stake} is below the MEMORY role's minimum stake of ${minimum} token units`, { hint: "raise MEMORY_STAKE" });
    const balance = await token.balanceOf(me);
    if (balance < stake) {
      throw new DaiosError(`node ${me} holds ${balance} token units but registering needs a stake of ${stake}`, {
        hint: "fund the node's address (on the devnet: daios faucet <address>) or lower MEMORY_STAKE",
      });
    }
    const spender = registry.target as string;
    if ((await token.allowance(me, spender)) < stake) {
      await tx.send({
        label: "approve:registry",
        isDone: async () => (await token.allowance(me, spender)) >= stake,
        build: () => ({ to: token.target as string, data: token.interface.encodeFunctionData("approve", [spender, MaxUint256]) }),
      });
    }
    await tx.send({
      label: "register:memory",
      isDone: async () => (await registry.getProvider(me, role)).registered,
      build: () => ({ to: spender, data: registry.interface.encodeFunctionData("register", [role, stake, endpoint, capacity]) }),
    });
    log.info({ endpoint, stake: stake.toString() }, "registered as a memory node");
  } else if (current.endpoint !== endpoint || current.capacity !== capacity) {
    await tx.send({
      label: "updateProvider:memory",
      build: () => ({ to: registry.target as string, data: registry.interface.encodeFunctionData("updateProvider", [role, endpoint, capacity]) }),
    });
    log.info({ endpoint }, "updated the registered endpoint");
  }

  /** Streams of this node whose StreamClosed the watcher delivered since this start (live or replayed from its cursor), with or without writes: their collateral is released later. */
  const closedHere = new Set<bigint>();

  // --- streams and writer sets, kept current from the registry's events
  const watcher = new ChainWatcher({
    name: `memory-node-${me.toLowerCase()}`,
    provider,
    cursors: rt.cursors,
    contracts: [{ address: memoryAddress, abi: memory.interface, events: AUTHORITY_EVENTS }],
    startBlock: entry.block,
    handler: async (event: ChainEvent) => {
      await authority.apply(event);
      const stream = String(event.args.stream);
      if (event.name === "StreamCreated" && getAddress(event.args.node as string) === me) log.info({ stream, owner: String(event.args.owner) }, "a stream was created on this node");
      else if (event.name === "WriterRevoked") log.info({ stream, writer: String(event.args.writer) }, "writer revoked");
      else if (event.name === "StreamSlashed") log.warn({ stream, reason: String(event.args.reason), receiptSeq: String(event.args.receiptSeq) }, "a stream was slashed");
      else if (event.name === "StreamClosed" && (await authority.stream(BigInt(stream)))?.node === me) {
        closedHere.add(BigInt(stream));
        log.info({ stream, by: String(event.args.by) }, "a stream of this node was closed: its collateral is released after the slashing window");
      }
    },
    confirmations: rt.confirmations,
    maxBlockRange: rt.config.maxBlockRange,
    pollIntervalMs: rt.config.pollIntervalMs,
    log,
  });
  await watcher.start();
  rt.onShutdown(() => watcher.stop());
  // Grants and revocations replayed from the cursor must be applied before any write is judged by them.
  await watcher.onceCaughtUp({ timeoutMs: 120_000 });
  ready = true;

  /** The streams this node holds and still serves actively. */
  const activeStreams = async () => {
    const out: bigint[] = [];
    for (const s of store.streams()) {
      if (s.seq === 0n) continue;
      const view = await authority.stream(s.stream);
      if (view && view.status === "Active" && view.node === me) out.push(s.stream);
    }
    metrics.streams.set(store.streams().length);
    return out;
  };

  const chainTime = async () => BigInt((await provider.getBlock("latest"))?.timestamp ?? 0);
  /** Closed streams of this node: until when they may be checkpointed, when their collateral is released (0: none locked). */
  const closedTimes = new Map<bigint, { checkpointUntil: bigint; releasableAt: bigint }>();
  const closedTimesOf = async (stream: bigint) => {
    let times = closedTimes.get(stream);
    if (!times) {
      const [releasableAt, info] = await Promise.all([memory.releasableAt(stream), memory.getStream(stream)]);
      // releasableAt = close + 2 windows; checkpoints are accepted until close + 1 window.
      times = { releasableAt, checkpointUntil: releasableAt === 0n ? 0n : releasableAt - info.checkpointWindow };
      closedTimes.set(stream, times);
    }
    return times;
  };

  /** Active streams, and closed ones still inside the window in which the registry accepts their checkpoints. */
  const checkpointableStreams = async () => {
    const out = await activeStreams();
    let now: bigint | undefined;
    for (const s of store.streams()) {
      if (s.seq === 0n) continue;
      const view = await authority.stream(s.stream);
      if (!view || view.node !== me || view.status !== "Closed") continue;
      const { checkpointUntil } = await closedTimesOf(s.stream);
      now ??= await chainTime();
      if (now < checkpointUntil) out.push(s.stream);
    }
    return out;
  };

  // --- checkpoints
  rt.every(settings.checkpointIntervalSec * 1000, "memory checkpoints", async () => {
    for (const stream of await checkpointableStreams()) {
      const record = store.record(stream);
      if (record?.checkpoint !== undefined && BigInt(record.checkpoint.seq) >= store.head(stream).seq) continue;
      try {
        await checkpointer.post(stream);
      } catch (error) {
        log.warn({ stream: stream.toString(), err: error }, "checkpoint failed; retried next round");
      }
    }
  });

  // --- collateral of closed streams, once their slashing window is over
  /** Ended streams with nothing (left) to release: not asked about again. */
  const settledUp = new Set<bigint>();
  rt.every(settings.checkpointIntervalSec * 1000, "memory collateral release", async () => {
    const candidates = new Set([...store.streams().map((s) => s.stream), ...closedHere]);
    let now: bigint | undefined;
    for (const stream of candidates) {
      if (settledUp.has(stream)) continue;
      try {
        const view = await authority.stream(stream);
        if (!view || view.node !== me || view.status === "Active") continue;
        const at = view.status === "Closed" ? (await closedTimesOf(stream)).releasableAt : 0n;
        if (at === 0n) {
          closedHere.delete(stream);
          settledUp.add(stream);
          continue;
        }
        now ??= await chainTime();
        if (now < at) continue;
        const result = await tx.send({
          label: `releaseCollateral:${stream}`,
          iface: memory.interface,
          isDone: async () => (await memory.releasableAt(stream)) === 0n,
          build: () => ({ to: memoryAddress, data: memory.interface.encodeFunctionData("releaseCollateral", [stream]) }),
        });
        closedHere.delete(stream);
        settledUp.add(stream);
        if (!result.skipped) log.info({ stream: stream.toString(), txHash: result.txHash }, "collateral of a closed stream released");
      } catch (error) {
        log.warn({ stream: stream.toString(), err: error }, "releasing a closed stream's collateral failed; retried next round");
      }
    }
  });

  // --- snapshots
  if (settings.snapshotIntervalSec > 0) {
    const { hasher, poseidon } = await createTreeHasher({ warn: (message) => log.warn(message) });
    rt.onShutdown(() => hasher.close());
    const storage = new StorageClient({ contracts: rt.contracts, hasher, poseidon });
    const deals = new ResultStore({ contracts: rt.contracts, storage, tx, log, replicas: settings.snapshotReplicas, periods: settings.snapshotPeriods });
    const snapshotDir = path.join(settings.dataDir, chainId.toString(), `${memoryAddress.toLowerCase()}-snapshots`);
    rt.every(settings.snapshotIntervalSec * 1000, "memory snapshots", async () => {
      for (const stream of await activeStreams()) {
        const [cpRoot, cpSeq] = await memory.latestCheckpoint(stream);
        const last = await memory.latestSnapshot(stream);
        if (cpSeq === 0n || last.seq >= cpSeq) continue;
        try {
          const entries = snapshotEntries(store, stream, cpSeq);
          const root = snapshotRoot(entries);
          if (root !== cpRoot.toLowerCase()) {
            metrics.snapshots.inc({ outcome: "failed" });
            log.error({ stream: stream.toString(), seq: cpSeq.toString(), checkpointed: cpRoot, local: root }, "the store's state at the checkpointed seq does not give the checkpointed root: no snapshot taken");
            continue;
          }
          await mkdir(snapshotDir, { recursive: true });
          const file = path.join(snapshotDir, `${stream}-${cpSeq}.snap`);
          await writeFile(file, encodeSnapshot({ chainId, registry: memoryAddress, stream, seq: cpSeq, root, entries }));
          const stored = await deals.store(file, entry.block);
          const result = await tx.send({
            label: `recordSnapshot:${stream}:${cpSeq}`,
            iface: memory.interface,
            isDone: async () => (await memory.latestSnapshot(stream)).seq >= cpSeq,
            build: () => ({ to: memoryAddress, data: memory.interface.encodeFunctionData("recordSnapshot", [stream, cpSeq, stored.dataRoot, stored.dealId]) }),
          });
          const txHash = result.skipped ? undefined : result.txHash;
          // The local copy of the previous snapshot is no longer needed (its deal holds it).
          const previous = store.record(stream)?.snapshot;
          if (previous !== undefined && BigInt(previous.seq) !== cpSeq) await rm(path.join(snapshotDir, `${stream}-${previous.seq}.snap`), { force: true });
          await store.setSnapshot(stream, { seq: Number(cpSeq), root, dealId: stored.dealId.toString(), storageRoot: `0x${stored.dataRoot.toString(16).padStart(64, "0")}`, txHash, time: Date.now() });
          metrics.snapshots.inc({ outcome: "recorded" });
          log.info({ stream: stream.toString(), seq: cpSeq.toString(), entries: entries.length, dealId: stored.dealId.toString(), txHash }, "snapshot stored and recorded");
        } catch (error) {
          metrics.snapshots.inc({ outcome: "failed" });
          log.warn({ stream: stream.toString(), err: error }, "snapshot failed; retried next round");
        }
      }
    });
  }

  // --- earnings: settle active streams, withdraw credits
  rt.every(SETTLE_INTERVAL_MS, "memory earnings", async () => {
    const threshold = parseUnits(settings.withdrawThreshold, 18);
    for (const stream of await activeStreams()) {
      const earned = await memory.earned(stream);
      if (earned === 0n || earned < threshold) continue;
      await tx.send({
        label: `settle:${stream}`,
        iface: memory.interface,
        isDone: async () => (await memory.earned(stream)) < threshold,
        build: () => ({ to: memoryAddress, data: memory.interface.encodeFunctionData("settle", [stream]) }),
      });
    }
    const credit = await memory.credits(me);
    if (credit === 0n || credit < threshold) return;
    const result = await tx.send({
      label: "withdraw:memory",
      iface: memory.interface,
      isDone: async () => (await memory.credits(me)) === 0n,
      build: () => ({ to: memoryAddress, data: memory.interface.encodeFunctionData("withdraw") }),
    });
    if (!result.skipped) log.info({ amount: credit.toString(), txHash: result.txHash }, "memory credits withdrawn");
  });

  log.info(
    { endpoint, port, dataDir: store.dir, registry: memoryAddress, streams: store.streams().length, checkpointIntervalSec: settings.checkpointIntervalSec, snapshotIntervalSec: settings.snapshotIntervalSec },
    "memory node ready",
  );
}
