/**
 * The keeper's compute part: every ComputeMarket job that passes its deadline unsettled is expired, so
 * no escrow stays stuck. An Open job is refunded to its client; a Claimed one is refunded too and its
 * provider's collateral slashed (the keeper earns the reporter's share, withdrawn with its other
 * credits).
 *
 * Jobs are learnt from JobPosted (chain watcher, own cursor) and kept in a Redis sorted set by
 * deadline; every tick, the jobs whose deadline the chain's time has passed are read and, when still
 * Open or Claimed, queued for `expire` under a job id per compute job (queued once), and the
 * transaction sender checks the job again before sending (expired by someone else: nothing sent).
 * Settled jobs leave the set.
 */
import type { Job } from "bullmq";
import { parseUnits } from "ethers";
import { ChainWatcher, type ChainEvent } from "../../core/chain-watcher.js";
import { addOrRetry, createQueue, createWorker } from "../../core/queues.js";
import { TxRevertedError } from "../../core/tx-sender.js";
import { eventsIn } from "../../sdk/contracts.js";
import { JOB_STATUS, connectComputeContracts } from "../../sdk/compute/client.js";
import type { RoleRuntime } from "../runtime.js";
import type { keeperSchema } from "./index.js";

interface ExpireJob {
  jobId: string;
}

/** Most jobs read per tick (the rest wait for the next one). */
const MAX_DUE_PER_TICK = 200;

/** Starts expiring compute jobs when the deployment has a ComputeMarket; returns whether it did. */
export async function startComputeKeeper(rt: RoleRuntime<typeof keeperSchema>): Promise<boolean> {
  const entries = rt.deployment.contracts as Partial<Record<string, { address: string; block: number }>>;
  if (!entries.ComputeMarket || !entries.ModelRegistry) {
    rt.log.info("the deployment has no ComputeMarket: compute jobs are not watched");
    return false;
  }
  const { log, tx } = rt;
  const { computeMarket: market } = connectComputeContracts(rt.deployment, rt.provider);
  const marketAddress = market.target as string;
  const due = `${rt.namespace}:keeper:compute-deadlines`;
  const isOpen = (status: bigint) => {
    const name = JOB_STATUS[Number(status)];
    return name === "Open" || name === "Claimed";
  };

  const queue = createQueue<ExpireJob>("compute-keeper", rt.redis, { queue: { prefix: rt.queuePrefix } });
  createWorker<ExpireJob>(
    "compute-keeper",
    async (job: Job<ExpireJob>) => {
      const jobId = BigInt(job.data.jobId);
      let result;
      try {
        result = await tx.send({
          label: `expire:${jobId}`,
          iface: market.interface,
          isDone: async () => !isOpen((await market.job(jobId)).status),
          build: () => ({ to: marketAddress, data: market.interface.encodeFunctionData("expire", [jobId]) }),
        });
      } catch (error) {
        // Settled between the read and the send (a late result, or another keeper).
        if (error instanceof TxRevertedError && error.errorName === "ComputeJobSettled") result = { skipped: true as const, reason: "done" as const };
        else throw error;
      }
      await rt.redis.zrem(due, jobId.toString());
      if (result.skipped) return { skipped: result.reason };
      const [expired] = eventsIn(market, result.receipt, "JobExpired");
      log.info(
        {
          computeJob: jobId.toString(),
          status: JOB_STATUS[Number(expired?.args.status ?? 0)],
          refund: expired?.args.refund?.toString(),
          slashed: expired?.args.slashed?.toString(),
          reporterShare: expired?.args.reporterShare?.toString(),
          txHash: result.txHash,
        },
        "expired a compute job past its deadline",
      );
      const credit = await market.credits(tx.address);
      if (credit > 0n && credit >= parseUnits(rt.config.role.withdrawThreshold, 18)) {
        const withdrawn = await tx.send({
          label: "withdraw:keeper:compute",
          iface: market.interface,
          isDone: async () => (await market.credits(tx.address)) === 0n,
          build: () => ({ to: marketAddress, data: market.interface.encodeFunctionData("withdraw") }),
        });
        if (!withdrawn.skipped) log.info({ amount: credit.toString(), txHash: withdrawn.txHash }, "compute credits withdrawn");
      }
      return { txHash: result.txHash };
    },
    { connection: rt.redis, concurrency: 1, log, worker: { prefix: rt.queuePrefix } },
  );

  rt.every(rt.config.pollIntervalMs, "compute keeper tick", async () => {
    const latest = await rt.provider.getBlock("latest");
    if (!latest) return;
    // expire needs block.timestamp > deadline: taken once the latest block is past it, so that the
    // call succeeds whichever block the node estimates it on.
    for (const id of await rt.redis.zrangebyscore(due, "-inf", `(${latest.timestamp}`, "LIMIT", 0, MAX_DUE_PER_TICK)) {
      const j = await market.job(BigInt(id));
      if (!isOpen(j.status)) {
        await rt.redis.zrem(due, id);
        continue;
      }
      // A fixed id that failed (say the node was down) is retried, not left in the failed set.
      await addOrRetry(queue, "expire", { jobId: id }, `${rt.chainId}-expire-${id}`);
    }
  });

  const watcher = new ChainWatcher({
    name: "keeper-compute",
    provider: rt.provider,
    cursors: rt.cursors,
    contracts: [{ address: marketAddress, abi: market.interface, events: ["JobPosted"] }],
    startBlock: entries.ComputeMarket.block,
    handler: async (event: ChainEvent) => {
      await rt.redis.zadd(due, Number(event.args.deadline as bigint), (event.args.jobId as bigint).toString());
    },
    confirmations: rt.confirmations,
    maxBlockRange: rt.config.maxBlockRange,
    pollIntervalMs: rt.config.pollIntervalMs,
    log,
  });
  await watcher.start();
  rt.onShutdown(() => watcher.stop());
  return true;
}
