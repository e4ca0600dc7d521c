/**
 * The storage layer's SDK: what `daios storage …` and the devnet demo use, and what an integrator
 * imports. Every method checks its input before touching the chain and fails with a message that
 * says what was wrong and what to do.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import type { ContractTransactionReceipt, Signer } from "ethers";
import { STORAGE } from "../../generated/constants.js";
import { DaiosError } from "../../core/errors.js";
import { eventsIn, type DaiosContracts } from "../contracts.js";
import { DataFormatError, chunkCount, type DataTree, type TreeHasher } from "./format.js";
import { ingest } from "./ingest.js";
import { downloadVerified, type DownloadResult } from "./download.js";
import type { PoseidonFn } from "./poseidon.js";

export const STORAGE_ROLE_NAME = "daios.storage";
export const DEAL_STATUS = ["Pending", "Active", "Cancelled", "Closed"] as const;

export interface StorageClientOptions {
  contracts: DaiosContracts;
  /** Signs transactions; without it the client can only read and download. */
  signer?: Signer;
  hasher: TreeHasher;
  poseidon: PoseidonFn;
  /** Progress and stage messages (the CLI draws a progress bar from them). */
  onEvent?: (event: StorageEvent) => void;
}

export type StorageEvent =
  | { type: "hashing"; bytes: number; total: number }
  | { type: "deal-created"; dealId: bigint; txHash: string; escrow: bigint }
  | { type: "uploading"; endpoint: string; bytes: number; total: number }
  | { type: "uploaded"; endpoint: string; response: Record<string, unknown> }
  | { type: "upload-failed"; endpoint: string; error: string }
  | { type: "downloading"; bytes: number; total: number };

export interface UploadOptions {
  replicas: number;
  periods: number;
  /** Price per period per replica, in token base units; defaults to DEFAULT_PRICE_PER_PERIOD. */
  pricePerPeriod?: bigint;
  /** Provider endpoints to upload to; defaults to active providers from the registry. */
  endpoints?: string[];
  /** How long to wait for providers to join every slot. */
  activationTimeoutMs?: number;
}

export interface StoredDeal {
  dealId: bigint;
  dataRoot: bigint;
  size: number;
  escrow: bigint;
  createTx: string;
  providers: { endpoint: string; response: Record<string, unknown> }[];
}

export interface ProviderInfo {
  address: string;
  endpoint: string;
  capacity: bigint;
  stake: bigint;
}

/** 0.001 DAIOS per period per replica by default. */
export const DEFAULT_PRICE_PER_PERIOD = 10n ** 15n;

function rootHex(root: bigint): string {
  return `0x${root.toString(16).padStart(64, "0")}`;
}

export class StorageClient {
  constructor(private readonly options: StorageClientOptions) {}

  get contracts(): DaiosContracts {
    return this.options.contracts;
  }

  private get signer(): Signer {
    if (!this.options.signer) throw new DaiosError("this command sends transactions and needs a key", { hint: "set PRIVATE_KEY or pass --key" });
    return this.options.signer;
  }

  /** Data root and tree of a local file, hashed as a stream. */
  async prepare(file: string): Promise<DataTree> {
    const info = await stat(file).catch(() => {
      throw new DaiosError(`cannot read ${file}: no such file`, { hint: "check the path" });
    });
    if (!info.isFile()) throw new DaiosError(`${file} is not a regular file`, { hint: "upload a file, not a directory" });
    if (info.size === 0) throw new DataFormatError(`${file} is empty: there is nothing to store`);
    chunkCount(info.size);
    return ingest(createReadStream(file, { highWaterMark: 1 << 20 }), {
      size: info.size,
      hasher: this.options.hasher,
      poseidon: this.options.poseidon,
      onProgress: (bytes) => this.options.onEvent?.({ type: "hashing", bytes, total: info.size }),
    });
  }

  async quote(size: number, replicas: number, periods: number, pricePerPeriod = DEFAULT_PRICE_PER_PERIOD) {
    this.checkTerms(size, replicas, periods, pricePerPeriod);
    const escrow = await this.contracts.market.quote(size, replicas, periods, pricePerPeriod);
    const collateralPerReplica = pricePerPeriod * (await this.contracts.market.collateralPeriods());
    return { escrow, collateralPerReplica, pricePerPeriod, periodBlocks: STORAGE.PERIOD_BLOCKS };
  }

  /** Active storage providers with their endpoints, from the registry. */
  async providers(): Promise<ProviderInfo[]> {
    const role = await this.contracts.registry.STORAGE_ROLE();
    const count = Number(await this.contracts.registry.providerCount(role));
    const page = Number(await this.contracts.registry.MAX_PAGE_SIZE());
    const out: ProviderInfo[] = [];
    for (let offset = 0; offset < count; offset += page) {
      for (const address of await this.contracts.registry.providers(role, offset, page)) {
        if (!(await this.contracts.registry.isActive(address, role))) continue;
        const p = await this.contracts.registry.getProvider(address, role);
        out.push({ address, endpoint: p.endpoint, capacity: p.capacity, stake: p.stake });
      }
    }
    return out;
  }

  /** Creates a deal for a prepared file (approving the escrow first when needed). */
  async createDeal(tree: DataTree, replicas: number, periods: number, pricePerPeriod = DEFAULT_PRICE_PER_PERIOD) {
    const { escrow } = await this.quote(tree.size, replicas, periods, pricePerPeriod);
    const client = await this.signer.getAddress();
    const market = await this.contracts.market.getAddress();
    const balance = await this.contracts.token.balanceOf(client);
    if (balance < escrow) {
      throw new DaiosError(`the deal needs ${escrow} token units in escrow but ${client} holds ${balance}`, {
        hint: "get tokens (on the devnet: daios faucet), or ask for fewer replicas or periods",
      });
    }
    if ((await this.contracts.token.allowance(client, market)) < escrow) {
      await (await this.contracts.token.approve(market, escrow)).wait();
    }
    const tx = await this.contracts.market.createDeal(tree.dataRoot, tree.size, replicas, periods, pricePerPeriod);
    const receipt = (await tx.wait()) as ContractTransactionReceipt;
    const [created] = eventsIn(this.contracts.market, receipt, "DealCreated");
    if (!created) throw new Error(`createDeal ${receipt.hash} emitted no DealCreated event`);
    const dealId = created.args.dealId as bigint;
    this.options.onEvent?.({ type: "deal-created", dealId, txHash: receipt.hash, escrow });
    return { dealId, txHash: receipt.hash, escrow, receipt };
  }

  /** Uploads a file to one provider for a deal; the provider verifies the root and joins a slot. */
  async uploadTo(endpoint: string, dealId: bigint, file: string, size: number): Promise<Record<string, unknown>> {
    let sent = 0;
    const source = createReadStream(file, { highWaterMark: 1 << 20 });
    source.on("data", (piece) => {
      sent += piece.length;
      this.options.onEvent?.({ type: "uploading", endpoint, bytes: sent, total: size });
    });
    let response: Response;
    try {
      response = await fetch(`${endpoint}/v1/deals/${dealId}/data`, {
        method: "PUT",
        headers: { "content-type": "application/octet-stream", "content-length": String(size) },
        body: Readable.toWeb(source) as ReadableStream,
        duplex: "half",
      } as RequestInit);
    } catch (error) {
      source.destroy();
      throw new DaiosError(`provider ${endpoint} is unreachable (${(error as Error).message})`, {
        hint: "check that the provider is running, or pick another with --provider",
      });
    }
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      throw new DaiosError(`provider ${endpoint} refused the upload: HTTP ${response.status} ${String(body.error ?? "")}`, {
        hint: typeof body.hint === "string" ? body.hint : "see the provider's log",
      });
    }
    return body;
  }

  /**
   * Hashes the file, creates the deal and uploads it to as many providers as it has replicas
   * (trying further providers when one fails), then waits until every slot is filled.
   */
  async upload(file: string, options: UploadOptions): Promise<StoredDeal> {
    const tree = await this.prepare(file);
    const price = options.pricePerPeriod ?? DEFAULT_PRICE_PER_PERIOD;
    this.checkTerms(tree.size, options.replicas, options.periods, price);
    const endpoints = options.endpoints ?? (await this.providers()).map((p) => p.endpoint);
    if (endpoints.length < options.replicas) {
      throw new DaiosError(`${options.replicas} replicas were asked for but only ${endpoints.length} storage provider(s) are available`, {
        hint: "ask for fewer replicas or wait for more providers to register",
      });
    }
    const { dealId, txHash, escrow } = await this.createDeal(tree, options.replicas, options.periods, price);
    const stored: StoredDeal["providers"] = [];
    const failures: string[] = [];
    const queue = [...endpoints];
    const worker = async () => {
      while (stored.length < options.replicas && queue.length > 0) {
        const endpoint = queue.shift() as string;
        try {
          const response = await this.uploadTo(endpoint, dealId, file, tree.size);
          stored.push({ endpoint, response });
          this.options.onEvent?.({ type: "uploaded", endpoint, response });
        } catch (error) {
          failures.push(`${endpoint}: ${(error as Error).message}`);
          this.options.onEvent?.({ type: "upload-failed", endpoint, error: (error as Error).message });
        }
      }
    };
    await Promise.all(Array.from({ length: options.replicas }, worker));
    if (stored.length < options.replicas) {
      throw new DaiosError(
        `deal ${dealId} was created but only ${stored.length} of ${options.replicas} providers took the file:\n  ${failures.join("\n  ")}`,
        { hint: `retry with \`daios storage upload\` against other providers (--provider), or cancel deal ${dealId} for a pro-rata refund` },
      );
    }
    await this.waitForActive(dealId, options.activationTimeoutMs ?? 60_000);
    return { dealId, dataRoot: tree.dataRoot, size: tree.size, escrow, createTx: txHash, providers: stored };
  }

  async waitForActive(dealId: bigint, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const deal = await this.contracts.market.deal(dealId);
      if (DEAL_STATUS[Number(deal.status)] !== "Pending") return;
      if (Date.now() > until) {
        throw new DaiosError(`deal ${dealId} is still Pending after ${timeoutMs / 1000} s: not every replica slot was joined`, {
          hint: `check \`daios storage status ${dealId}\` and the providers' logs`,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** A deal with its slots and period windows, or a clear error for an unknown id. */
  async status(dealId: bigint) {
    const count = await this.contracts.market.dealCount();
    if (dealId < 1n || dealId > count) {
      throw new DaiosError(`deal ${dealId} does not exist (deal ids run from 1 to ${count})`, { hint: "check the id printed by `daios storage upload`" });
    }
    const deal = await this.contracts.market.deal(dealId);
    const slots = [];
    for (let i = 0n; i < deal.replicas; i++) slots.push(await this.contracts.market.slot(dealId, i));
    const currentPeriod = await this.contracts.market.currentPeriod(dealId);
    return { dealId, deal, status: DEAL_STATUS[Number(deal.status)], slots, currentPeriod };
  }

  /** Endpoints of the providers currently holding a data root (asked over HTTP). */
  async holders(dataRoot: bigint): Promise<string[]> {
    const endpoints = (await this.providers()).map((p) => p.endpoint);
    const answers = await Promise.all(
      endpoints.map(async (endpoint) => {
        try {
          const response = await fetch(`${endpoint}/v1/files/${rootHex(dataRoot)}/meta`, { signal: AbortSignal.timeout(5000) });
          return response.ok ? endpoint : undefined;
        } catch {
          return undefined;
        }
      }),
    );
    return answers.filter((e): e is string => e !== undefined);
  }

  /** Downloads a file by data root, verifying every chunk against the root. */
  async download(dataRoot: bigint, out: string, endpoints?: string[]): Promise<DownloadResult> {
    const sources = endpoints ?? (await this.holders(dataRoot));
    if (sources.length === 0) {
      throw new DaiosError(`no registered provider holds ${rootHex(dataRoot)}`, { hint: "check the root, or pass --provider URL" });
    }
    return downloadVerified({
      dataRoot,
      endpoints: sources,
      out,
      hasher: this.options.hasher,
      poseidon: this.options.poseidon,
      onProgress: (bytes, total) => this.options.onEvent?.({ type: "downloading", bytes, total }),
    });
  }

  /** Extends a deal by `extraPeriods`, escrowing their price for every replica (approving it first). */
  async topUp(dealId: bigint, extraPeriods: number) {
    const { deal } = await this.status(dealId);
    if (!Number.isInteger(extraPeriods) || extraPeriods < 1 || extraPeriods > STORAGE.MAX_PERIODS) {
      throw new DaiosError(`--periods ${extraPeriods} is out of range`, { hint: `add 1 to ${STORAGE.MAX_PERIODS} periods` });
    }
    const amount = deal.pricePerPeriod * deal.replicas * BigInt(extraPeriods);
    const market = await this.contracts.market.getAddress();
    const payer = await this.signer.getAddress();
    if ((await this.contracts.token.balanceOf(payer)) < amount) {
      throw new DaiosError(`topping up deal ${dealId} by ${extraPeriods} periods needs ${amount} token units, more than ${payer} holds`);
    }
    if ((await this.contracts.token.allowance(payer, market)) < amount) await (await this.contracts.token.approve(market, amount)).wait();
    const receipt = (await (await this.contracts.market.topUp(dealId, extraPeriods)).wait()) as ContractTransactionReceipt;
    return { amount, receipt, endPeriod: (await this.contracts.market.deal(dealId)).endPeriod };
  }

  async cancel(dealId: bigint) {
    await this.status(dealId);
    return (await (await this.contracts.market.cancelDeal(dealId)).wait()) as ContractTransactionReceipt;
  }

  /** Withdraws the caller's credits (refunds, slash compensation, earnings). */
  async withdraw() {
    const account = await this.signer.getAddress();
    const credit = await this.contracts.market.credits(account);
    if (credit === 0n) throw new DaiosError(`${account} has nothing to withdraw from the storage market`);
    const receipt = (await (await this.contracts.market.withdraw()).wait()) as ContractTransactionReceipt;
    return { amount: credit, receipt };
  }

  private checkTerms(size: number, replicas: number, periods: number, price: bigint): void {
    chunkCount(size);
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > STORAGE.MAX_REPLICAS) {
      throw new DaiosError(`--replicas ${replicas} is out of range`, { hint: `ask for 1 to ${STORAGE.MAX_REPLICAS} replicas` });
    }
    if (!Number.isInteger(periods) || periods < 1 || periods > STORAGE.MAX_PERIODS) {
      throw new DaiosError(`--periods ${periods} is out of range`, { hint: `ask for 1 to ${STORAGE.MAX_PERIODS} periods of ${STORAGE.PERIOD_BLOCKS} blocks` });
    }
    if (price <= 0n) throw new DaiosError(`--price ${price} must be positive`);
  }
}
