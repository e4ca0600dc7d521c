/**
 * Stores a result file as a storage deal paid by the compute provider, idempotently: the deal is
 * looked up on chain first (DealCreated by this account with the file's data root, since the job was
 * accepted), so a retried job uploads to the deal it already made instead of paying for another.
 * Transactions go through the role's TxSender (one nonce sequence for the key); uploads go to the
 * registered storage providers until every replica slot is taken.
 */
import { MaxUint256, type Interface } from "ethers";
import { DaiosError, errorMessage } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import type { TxSender } from "../../core/tx-sender.js";
import { eventsIn, type DaiosContracts } from "../../sdk/contracts.js";
import { DEAL_STATUS, DEFAULT_PRICE_PER_PERIOD, type StorageClient } from "../../sdk/storage/client.js";

export interface StoredResult {
  dealId: bigint;
  dataRoot: bigint;
  /** The createDeal transaction, when this call made the deal. */
  createTx?: string;
}

export interface ResultStoreOptions {
  contracts: DaiosContracts;
  storage: StorageClient;
  tx: TxSender;
  log: Logger;
  replicas: number;
  periods: number;
  /** How long to wait for the providers to take every slot. */
  activationTimeoutMs?: number;
}

export class ResultStore {
  constructor(private readonly options: ResultStoreOptions) {}

  private get market() {
    return this.options.contracts.market;
  }

  /** The newest live deal of `client` for `dataRoot` created at or after `fromBlock`, if any. */
  async findDeal(client: string, dataRoot: bigint, fromBlock: number): Promise<bigint | undefined> {
    const events = await this.market.queryFilter(this.market.filters.DealCreated(undefined, client, dataRoot), fromBlock);
    for (const event of events.reverse()) {
      const status = DEAL_STATUS[Number((await this.market.deal(event.args.dealId)).status)];
      if (status === "Pending" || status === "Active") return event.args.dealId;
    }
    return undefined;
  }

  /** Makes (or finds) the deal for `file` and uploads it until the deal is Active. */
  async store(file: string, fromBlock: number): Promise<StoredResult> {
    const { tx, storage, log, replicas, periods } = this.options;
    const market = this.market;
    const marketAddress = market.target as string;
    const me = tx.address;
    const tree = await storage.prepare(file);
    let dealId = await this.findDeal(me, tree.dataRoot, fromBlock);
    let createTx: string | undefined;
    if (dealId === undefined) {
      const { escrow } = await storage.quote(tree.size, replicas, periods);
      await this.approve(marketAddress, escrow, market.interface);
      const result = await tx.send({
        label: `createDeal:result:${tree.dataRoot.toString(16).slice(0, 12)}`,
        isDone: async () => (await this.findDeal(me, tree.dataRoot, fromBlock)) !== undefined,
        build: () => ({ to: marketAddress, data: market.interface.encodeFunctionData("createDeal", [tree.dataRoot, tree.size, replicas, periods, DEFAULT_PRICE_PER_PERIOD]) }),
      });
      if (result.skipped) {
        dealId = await this.findDeal(me, tree.dataRoot, fromBlock);
      } else {
        dealId = eventsIn(market, result.receipt, "DealCreated")[0]?.args.dealId as bigint | undefined;
        createTx = result.txHash;
      }
      if (dealId === undefined) throw new DaiosError(`the result file's deal (root ${tree.dataRoot}) was not found after creating it`, { hint: "the job is retried" });
      log.info({ dealId: dealId.toString(), dataRoot: `0x${tree.dataRoot.toString(16)}`, size: tree.size, escrow: escrow.toString(), txHash: createTx }, "result deal created");
    }

    const deal = await market.deal(dealId);
    if (DEAL_STATUS[Number(deal.status)] === "Pending") {
      const failures: string[] = [];
      for (const provider of await storage.providers()) {
        if (DEAL_STATUS[Number((await market.deal(dealId)).status)] !== "Pending") break;
        try {
          await storage.uploadTo(provider.endpoint, dealId, file, tree.size);
        } catch (error) {
          failures.push(`${provider.endpoint}: ${errorMessage(error)}`);
        }
      }
      try {
        await storage.waitForActive(dealId, this.options.activationTimeoutMs ?? 30_000);
      } catch (error) {
        throw new DaiosError(`result deal ${dealId} did not become Active: ${errorMessage(error)}${failures.length ? `\n  ${failures.join("\n  ")}` : ""}`, {
          hint: "the upload is retried; check that storage providers are running",
          cause: error,
        });
      }
    }
    return { dealId, dataRoot: tree.dataRoot, createTx };
  }

  private async approve(spender: string, amount: bigint, iface: Interface): Promise<void> {
    const { token } = this.options.contracts;
    const me = this.options.tx.address;
    if ((await token.allowance(me, spender)) >= amount) return;
    await this.options.tx.send({
      label: `approve:${spender}`,
      iface,
      isDone: async () => (await token.allowance(me, spender)) >= amount,
      build: () => ({ to: token.target as string, data: token.interface.encodeFunctionData("approve", [spender, MaxUint256]) }),
    });
  }
}
