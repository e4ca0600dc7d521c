/**
 * storage-provider role: stores files for deals, takes replica slots, answers every period's
 * challenge with a Proof of Random Access as fast as it can, repairs freed slots and withdraws
 * its earnings.
 *
 * Configuration (environment; common variables in agents/src/core/config.ts):
 *   PROVIDER_PORT (7701), PROVIDER_HOST (127.0.0.1), PROVIDER_PUBLIC_URL (http://HOST:PORT),
 *   PROVIDER_DATA_DIR (.daios/storage-provider), PROVIDER_CAPACITY_MIB (1024), PROVIDER_STAKE (100 DAIOS),
 *   PROVER_THREADS (1), PROVIDER_REPAIR (true), WITHDRAW_THRESHOLD (0.01 DAIOS)
 */
import { MaxUint256, ZeroAddress, parseUnits } from "ethers";
import { UnrecoverableError, type Job } from "bullmq";
import { field } from "../../core/config.js";
import type { ChainEvent } from "../../core/chain-watcher.js";
import { eventsIn } from "../../sdk/contracts.js";
import { createQueue, createWorker, closeAll } from "../../core/queues.js";
import { ProverPool } from "../../core/prover-pool.js";
import { TxRevertedError } from "../../core/tx-sender.js";
import { proofMetrics } from "../../core/metrics.js";
import { DaiosError } from "../../core/errors.js";
import { artifactPaths } from "../../../../circuits/circuits.js";
import { startRuntime, type RoleRuntime } from "../runtime.js";
import { FileStore, rootHex } from "./file-store.js";
import { listen } from "../../core/http.js";
import { createProviderApi } from "./http-api.js";
import { SlotBook } from "./slots.js";
import { createTreeHasher } from "../../sdk/storage/native-hasher.js";
import { poraInput } from "../../sdk/storage/challenge.js";
import { periodWindow, provablePeriods } from "../../sdk/storage/periods.js";
import { IRandomnessSource__factory } from "../../../../types/ethers-contracts/index.js";
import { downloadVerified } from "../../sdk/storage/download.js";
import { createReadStream } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";

const AMOUNT = /^\d+(\.\d{1,18})?$/;


export const storageProviderSchema = {
  port: field.int("PROVIDER_PORT", { min: 0, max: 65535, what: "the provider's HTTP port" }).default(7701),
  host: field.string("PROVIDER_HOST", { pattern: /^[A-Za-z0-9.:\-[\]]+$/, expect: "a host name or IP address to bind" }).default("127.0.0.1"),
  publicUrl: field.url("PROVIDER_PUBLIC_URL", { protocols: ["http", "https"], what: "the URL clients reach this provider at (registered on-chain)" }).optional(),
  dataDir: field.path("PROVIDER_DATA_DIR", { what: "where stored files live" }).default(".daios/storage-provider"),
  capacityMiB: field.int("PROVIDER_CAPACITY_MIB", { min: 1, what: "storage offered, in MiB" }).default(1024),
  stake: field.string("PROVIDER_STAKE", { pattern: AMOUNT, expect: "an amount of DAIOS such as 100 or 0.5" }).default("100"),
  proverThreads: field.int("PROVER_THREADS", { min: 1, max: 16, what: "parallel Groth16 provers" }).default(1),
  repair: field.bool("PROVIDER_REPAIR", "take over freed slots of deals this provider does not serve").default(true),
  withdrawThreshold: field.string("WITHDRAW_THRESHOLD", { pattern: AMOUNT, expect: "an amount of DAIOS" }).default("0.01"),
};

type Runtime = RoleRuntime<typeof storageProviderSchema>;

interface ProveJob {
  dealId: string;
  slot: string;
  period: number;
}

interface RepairJob {
  dealId: string;
  slot: string;
}

async function ensureRegistered(rt: Runtime, endpoint: string): Promise<void> {
  const { registry, token } = rt.contracts;
  const me = rt.tx.address;
  const role = await registry.STORAGE_ROLE();
  const current = await registry.getProvider(me, role);
  const capacity = BigInt(rt.config.role.capacityMiB) * 2n ** 20n;
  if (!current.registered) {
    const stake = parseUnits(rt.config.role.stake, 18);
    const balance = await token.balanceOf(me);
    if (balance < stake) {
      throw new DaiosError(`provider ${me} holds ${balance} token units but registering needs a stake of ${stake}`, {
        hint: "fund the provider's address (on the devnet: daios faucet <address>) or lower PROVIDER_STAKE",
      });
    }
    await approve(rt, await registry.getAddress(), stake);
    await rt.tx.send({
      label: "register:storage",
      isDone: async () => (await registry.getProvider(me, role)).registered,
      build: () => ({ to: registry.target as string, data: registry.interface.encodeFunctionData("register", [role, stake, endpoint, capacity]) }),
    });
    rt.log.info({ endpoint, stake: stake.toString() }, "registered as a storage provider");
  } else if (current.endpoint !== endpoint || current.capacity !== capacity) {
    await rt.tx.send({
      label: "updateProvider:storage",
      build: () => ({ to: registry.target as string, data: registry.interface.encodeFunctionData("updateProvider", [role, endpoint, capacity]) }),
    });
    rt.log.info({ endpoint }, "updated the registered endpoint");
  }
}

async function approve(rt: Runtime, spender: string, amount: bigint): Promise<void> {
  const { token } = rt.contracts;
  if ((await token.allowance(rt.tx.address, spender)) >= amount) return;
  await rt.tx.send({
    label: `approve:${spender}`,
    isDone: async () => (await token.allowance(rt.tx.address, spender)) >= amount,
    build: () => ({ to: token.target as string, data: token.interface.encodeFunctionData("approve", [spender, MaxUint256]) }),
  });
}

export async function runStorageProvider(): Promise<Runtime> {
  const rt = await startRuntime("storage-provider", storageProviderSchema);
  const { contracts, log, tx } = rt;
  const { market } = contracts;
  const marketAddress = market.target as string;
  const me = tx.address;
  const settings = rt.config.role;

  const { hasher, poseidon, native } = await createTreeHasher({ warn: (message) => log.warn(message) });
  rt.onShutdown(() => hasher.close());
  const store = new FileStore(settings.dataDir, hasher, poseidon);
  await store.open();
  const book = new SlotBook(rt.redis, rt.namespace, me);
  await book.load();

  // Collateral is pulled by the market at every join: approve it once, without limit.
  await approve(rt, marketAddress, 1n);
  const proofs = proofMetrics(rt.metrics);
  const pool = new ProverPool({ size: settings.proverThreads, log, metrics: proofs });
  rt.onShutdown(() => pool.close());
  const pora = artifactPaths("pora");

  /** Records a slot this provider holds, from the chain's view of the deal. */
  async function track(dealId: bigint, slot: bigint): Promise<void> {
    const deal = await market.deal(dealId);
    await book.add({ dealId, slot, dataRoot: deal.dataRoot, startBlock: Number(deal.startBlock), endPeriod: Number(deal.endPeriod) });
  }

  /** Joins a free slot of a deal whose file is stored here (or `wanted`, for a repair). */
  async function joinSlot(dealId: bigint, wanted?: bigint): Promise<{ slot: string; txHash?: string }> {
    const deal = await market.deal(dealId);
    for (let i = 0n; i < deal.replicas; i++) {
      const s = await market.slot(dealId, i);
      if (s.provider === me) {
        await track(dealId, i);
        return { slot: i.toString() };
      }
    }
    const candidates = wanted !== undefined ? [wanted] : Array.from({ length: Number(deal.replicas) }, (_, i) => BigInt(i));
    for (const i of candidates) {
      const s = await market.slot(dealId, i);
      if (s.provider !== ZeroAddress) continue;
      let result;
      try {
        result = await tx.send({
          label: `joinDeal:${dealId}:${i}`,
          isDone: async () => (await market.slot(dealId, i)).provider === me,
          build: () => ({ to: marketAddress, data: market.interface.encodeFunctionData("joinDeal", [dealId, i]) }),
        });
      } catch (error) {
        // Another provider took the slot between the read and the join: try the next one.
        if (error instanceof TxRevertedError && error.errorName === "StorageMarketSlotTaken") continue;
        throw error;
      }
      await track(dealId, i);
      const txHash = result.skipped ? undefined : result.txHash;
      log.info({ dealId: dealId.toString(), slot: i.toString(), txHash }, "joined a replica slot");
      return { slot: i.toString(), txHash };
    }
    throw new DaiosError(`deal ${dealId} has no free replica slot`, { hint: "the file was stored but every slot is taken" });
  }

  // Proofs: one job per (deal, slot, period); the job id makes a period's proof run once. Each
  // provider has its own queues: a job is this key's work only.
  const proofQueueName = `storage-proofs-${me.toLowerCase()}`;
  const repairQueueName = `storage-repairs-${me.toLowerCase()}`;
  const proveQueue = createQueue<ProveJob>(proofQueueName, rt.redis, { queue: { prefix: rt.queuePrefix } });
  const proveWorker = createWorker<ProveJob>(
    proofQueueName,
    async (job: Job<ProveJob>) => {
      const dealId = BigInt(job.data.dealId);
      const slotIndex = BigInt(job.data.slot);
      const period = BigInt(job.data.period);
      const held = book.list().find((s) => s.dealId === dealId && s.slot === slotIndex);
      if (!held) return { skipped: "slot no longer held" };
      const stored = store.get(held.dataRoot);
      if (!stored) throw new UnrecoverableError(`data root ${rootHex(held.dataRoot)} of deal ${dealId} is not stored here`);
      const isDone = async () => {
        const s = await market.slot(dealId, slotIndex);
        return s.provider !== me || s.nextPeriod > period;
      };
      if (await isDone()) return { skipped: "already settled" };
      // Evaluated on the pending block, where this proof will be mined at the earliest (the challenge
      // clock queued it once the seed was public there).
      const seed = await market.challengeSeed(dealId, slotIndex, period, me, { blockTag: "pending" });
      const { input } = await poraInput(stored.tree, (i) => store.readChunk(held.dataRoot, i), seed);
      const started = Date.now();
      const { calldata } = await pool.prove({ wasmPath: pora.wasm, zkeyPath: pora.zkey, input });
      const proveMs = Date.now() - started;
      const result = await tx.send({
        label: `submitProof:${dealId}:${slotIndex}:${period}`,
        isDone,
        build: () => ({
          to: marketAddress,
          data: market.interface.encodeFunctionData("submitProof", [dealId, slotIndex, period, calldata.pA, calldata.pB, calldata.pC]),
        }),
      });
      if (result.skipped) return { skipped: result.reason };
      const [accepted] = eventsIn(market, result.receipt, "ProofAccepted");
      log.info(
        { dealId: dealId.toString(), slot: slotIndex.toString(), period: period.toString(), proveMs, txHash: result.txHash, gasUsed: result.gasUsed.toString(), pay: accepted?.args.pay?.toString(), latencyBlocks: accepted?.args.latencyBlocks?.toString() },
        "proof accepted",
      );
      await rt.withdrawCredits("withdraw:storage", settings.withdrawThreshold);
      return { txHash: result.txHash, proveMs };
    },
    { connection: rt.redis, concurrency: settings.proverThreads, log, worker: { prefix: rt.queuePrefix } },
  );

  // Repairs: fetch a freed slot's file from the providers that still hold it, then join the slot.
  const repairQueue = createQueue<RepairJob>(repairQueueName, rt.redis, { queue: { prefix: rt.queuePrefix } });
  const repairWorker = createWorker<RepairJob>(
    repairQueueName,
    async (job: Job<RepairJob>) => {
      const dealId = BigInt(job.data.dealId);
      const slotIndex = BigInt(job.data.slot);
      const deal = await market.deal(dealId);
      if ((await market.slot(dealId, slotIndex)).provider !== ZeroAddress) return { skipped: "slot taken" };
      if (book.holdsDeal(dealId)) return { skipped: "already serving this deal" };
      if (!store.has(deal.dataRoot)) {
        const role = await contracts.registry.STORAGE_ROLE();
        const endpoints: string[] = [];
        for (let i = 0n; i < deal.replicas; i++) {
          const s = await market.slot(dealId, i);
          if (s.provider !== ZeroAddress && s.provider !== me) endpoints.push((await contracts.registry.getProvider(s.provider, role)).endpoint);
        }
        const tmp = path.join(settings.dataDir, `repair-${dealId}-${slotIndex}.bin`);
        try {
          await downloadVerified({ dataRoot: deal.dataRoot, endpoints, out: tmp, hasher, poseidon });
          await store.put(createReadStream(tmp), Number(deal.size), deal.dataRoot);
        } finally {
          await rm(tmp, { force: true });
        }
        log.info({ dealId: dealId.toString(), root: rootHex(deal.dataRoot), from: endpoints }, "fetched a freed slot's file for repair");
      }
      return joinSlot(dealId, slotIndex);
    },
    { connection: rt.redis, concurrency: 1, log, worker: { prefix: rt.queuePrefix } },
  );
  rt.onShutdown(() => closeAll());

  // Chain events that change which slots this provider holds.
  const handler = async (event: ChainEvent): Promise<void> => {
    const dealId = event.args.dealId as bigint;
    switch (event.name) {
      case "SlotJoined":
        if (event.args.provider === me) await track(dealId, event.args.slot as bigint);
        break;
      case "SlotFreed":
        if (event.args.provider === me) {
          await book.remove(dealId, event.args.slot as bigint);
          log.warn({ dealId: dealId.toString(), slot: String(event.args.slot) }, "this provider was evicted from a slot");
        } else if (settings.repair && !book.holdsDeal(dealId)) {
          await repairQueue.add("repair", { dealId: dealId.toString(), slot: String(event.args.slot) }, { jobId: event.id });
        }
        break;
      case "DealCancelled":
      case "DealToppedUp":
        await book.setEnd(dealId, Number(event.args.endPeriod));
        break;
      case "DealClosed":
        for (const s of book.list()) if (s.dealId === dealId) await book.remove(s.dealId, s.slot);
        break;
    }
  };
  // Seeds come from the market's randomness source (the beacon): a period's seed is public only once
  // a beacon round was relayed a few blocks after its challenge block. Challenge blocks whose seed is
  // known are remembered, the rest asked again at the next tick.
  const source = IRandomnessSource__factory.connect(await market.randomness(), rt.provider);
  const seedsKnown = new Set<number>();
  const seedReady = async (challengeBlock: number): Promise<boolean> => {
    if (seedsKnown.has(challengeBlock)) return true;
    try {
      // The pending block is where a proof sent now lands at the earliest.
      await source.seedAt(challengeBlock, { blockTag: "pending" });
    } catch {
      return false;
    }
    seedsKnown.add(challengeBlock);
    return true;
  };
  // The challenge clock: every poll, queue a proof for each held slot's open period whose seed is public.
  rt.every(Math.min(rt.config.pollIntervalMs, 500), "challenge clock", async () => {
    const head = await rt.provider.getBlockNumber();
    for (const held of book.list()) {
      for (const period of provablePeriods(held.startBlock, 0, held.endPeriod, head)) {
        if (!(await seedReady(periodWindow(held.startBlock, period).challengeBlock))) continue;
        await proveQueue.add("prove", { dealId: held.dealId.toString(), slot: held.slot.toString(), period }, { jobId: `${rt.chainId}-${held.dealId}-${held.slot}-${period}` });
      }
    }
    for (const block of seedsKnown) if (block < head - 1000) seedsKnown.delete(block);
  });

  let ready = false;
  const server = createProviderApi({
    store,
    address: me,
    log,
    isReady: () => ready,
    lookupDeal: async (dealId) => {
      if (dealId < 1n || dealId > (await market.dealCount())) return undefined;
      const deal = await market.deal(dealId);
      return { dataRoot: deal.dataRoot, size: Number(deal.size) };
    },
    onStored: async (dealId) => joinSlot(dealId),
  });
  const port = await listen(server, settings.port, settings.host);
  rt.onShutdown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const endpoint = settings.publicUrl ?? `http://${settings.host}:${port}`;
  await ensureRegistered(rt, endpoint);
  ready = true;
  await rt.watchMarket(`storage-provider-${me.toLowerCase()}`, ["SlotJoined", "SlotFreed", "DealCancelled", "DealToppedUp", "DealClosed"], handler);
  log.info({ endpoint, port, dataDir: settings.dataDir, files: store.list().length, nativeHasher: native, slots: book.list().length, workers: [proveWorker.name, repairWorker.name] }, "storage provider ready");
  return rt;
}
