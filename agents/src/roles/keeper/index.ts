/**
 * keeper role: reports missed proofs (earning the reporter's bounty) and closes expired deals so
 * that no money stays locked; expires compute jobs past their deadline (./compute.ts: refunds an open
 * job, slashes the provider of a claimed one). Anyone may run one; reports are idempotent on-chain.
 *
 * Configuration (environment; common variables in agents/src/core/config.ts):
 *   WITHDRAW_THRESHOLD (0.01 DAIOS): withdraw earned bounties once they reach this
 */
import type { Job } from "bullmq";
import { ZeroAddress } from "ethers";
import { field } from "../../core/config.js";
import type { ChainEvent } from "../../core/chain-watcher.js";
import { eventsIn } from "../../sdk/contracts.js";
import { addOrRetry, createQueue, createWorker, closeAll } from "../../core/queues.js";
import { startRuntime } from "../runtime.js";
import { periodWindow } from "../../sdk/storage/periods.js";
import { DEAL_STATUS } from "../../sdk/storage/client.js";
import { startComputeKeeper } from "./compute.js";



export const keeperSchema = {
  withdrawThreshold: field.string("WITHDRAW_THRESHOLD", { pattern: /^\d+(\.\d{1,18})?$/, expect: "an amount of DAIOS" }).default("0.01"),
};

interface KeeperJob {
  kind: "report" | "close";
  dealId: string;
  slot?: string;
  period?: string;
}

export async function runKeeper() {
  const rt = await startRuntime("keeper", keeperSchema);
  const { log, tx } = rt;
  const { market } = rt.contracts;
  const marketAddress = market.target as string;
  const openDeals = `${rt.namespace}:keeper:open-deals`;

  const queue = createQueue<KeeperJob>("storage-keeper", rt.redis, { queue: { prefix: rt.queuePrefix } });
  createWorker<KeeperJob>(
    "storage-keeper",
    async (job: Job<KeeperJob>) => {
      const dealId = BigInt(job.data.dealId);
      if (job.data.kind === "close") {
        const result = await tx.send({
          label: `closeDeal:${dealId}`,
          isDone: async () => DEAL_STATUS[Number((await market.deal(dealId)).status)] === "Closed",
          build: () => ({ to: marketAddress, data: market.interface.encodeFunctionData("closeDeal", [dealId]) }),
        });
        await rt.redis.srem(openDeals, dealId.toString());
        if (!result.skipped) log.info({ dealId: dealId.toString(), txHash: result.txHash }, "closed an expired deal");
        return result.skipped ? { skipped: result.reason } : { txHash: result.txHash };
      }
      const slot = BigInt(job.data.slot as string);
      const period = BigInt(job.data.period as string);
      const result = await tx.send({
        label: `reportMissed:${dealId}:${slot}:${period}`,
        isDone: async () => {
          const s = await market.slot(dealId, slot);
          return s.provider === ZeroAddress || s.nextPeriod > period;
        },
        build: () => ({ to: marketAddress, data: market.interface.encodeFunctionData("reportMissed", [dealId, slot]) }),
      });
      if (result.skipped) return { skipped: result.reason };
      const missed = [...eventsIn(market, result.receipt, "ProofMissed"), ...eventsIn(market, result.receipt, "SlotFreed")].map((e) => ({
        event: e.name,
        period: e.args.period?.toString(),
        provider: e.args.provider,
        penalty: e.args.penalty?.toString(),
      }));
      log.info({ dealId: dealId.toString(), slot: slot.toString(), txHash: result.txHash, missed }, "reported missed proofs");
      await rt.withdrawCredits("withdraw:keeper", rt.config.role.withdrawThreshold);
      return { txHash: result.txHash };
    },
    { connection: rt.redis, concurrency: 1, log, worker: { prefix: rt.queuePrefix } },
  );
  rt.onShutdown(() => closeAll());

  // Every poll: queue a report for each slot whose oldest unsettled period is past its deadline,
  // and a close for each deal whose last period is past its deadline.
  rt.every(rt.config.pollIntervalMs, "keeper tick", async () => {
      const head = await rt.provider.getBlockNumber();
      for (const id of await rt.redis.smembers(openDeals)) {
        const dealId = BigInt(id);
        const deal = await market.deal(dealId);
        const status = DEAL_STATUS[Number(deal.status)];
        if (status === "Closed") {
          await rt.redis.srem(openDeals, id);
          continue;
        }
        const start = Number(deal.startBlock);
        const end = Number(deal.endPeriod);
        if (head > periodWindow(start, end - 1).deadline) {
          await addOrRetry(queue, "close", { kind: "close", dealId: id }, `${rt.chainId}-close-${id}`);
          continue;
        }
        for (let i = 0n; i < deal.replicas; i++) {
          const s = await market.slot(dealId, i);
          if (s.provider === ZeroAddress || Number(s.nextPeriod) >= end) continue;
          if (periodWindow(start, Number(s.nextPeriod)).deadline < head) {
            await addOrRetry(queue, "report", { kind: "report", dealId: id, slot: i.toString(), period: s.nextPeriod.toString() }, `${rt.chainId}-report-${id}-${i}-${s.nextPeriod}`);
          }
        }
      }
  });
  await rt.watchMarket("keeper", ["DealCreated", "DealClosed"], async (event: ChainEvent) => {
    const id = (event.args.dealId as bigint).toString();
    if (event.name === "DealCreated") await rt.redis.sadd(openDeals, id);
    else await rt.redis.srem(openDeals, id);
  });
  const compute = await startComputeKeeper(rt);
  log.info({ address: tx.address, compute }, "keeper ready");
  return rt;
}
