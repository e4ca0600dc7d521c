// Transaction sender: one private key, one provider, idempotent sends.
//
//   const sender = new TxSender({ provider, privateKey, log, interfaces: [registryInterface] });
//   const result = await sender.send({
//     label: `submitProof:${dealId}:${period}`,
//     isDone: () => registry.isProofAccepted(dealId, period),   // read on-chain state first
//     build: () => ({ to: registryAddress, data: registryInterface.encodeFunctionData(...) }),
//   });
//   if (!result.skipped) console.log(result.receipt.gasUsed);
//
// What send() does:
//   1. isDone() true → { skipped: true } without sending (a retried job never double-submits);
//      precheck() false → { skipped: true } too.
//   2. build(), estimateGas (+ margin) — a revert here is decoded with the given Interfaces and
//      thrown as TxRevertedError (permanent: a BullMQ UnrecoverableError).
//   3. Takes the next nonce from the key's NonceManager (shared process-wide by chain + address),
//      signs with EIP-1559 fees, broadcasts, and polls for the receipt.
//   4. Not mined within confirmTimeoutMs → re-signs the SAME nonce with both fees bumped by
//      feeBumpPercent (≥ 12.5 %, the replacement rule) and waits again, up to maxReplacements
//      times; any of the hashes sent for that nonce may be the one mined.
//   5. Transient failures before anything was broadcast (network, nonce too low, underpriced)
//      are retried with exponential backoff + jitter, re-running isDone/precheck/build each time;
//      a nonce error resynchronises the nonce manager from getTransactionCount(address, "pending").
// One JSON log line per broadcast attempt carries the label, nonce and tx hash.

import { UnrecoverableError } from "bullmq";
import {
  type Interface,
  type Provider,
  type Result,
  type TransactionReceipt,
  Transaction,
  Wallet,
  getAddress,
  isError,
} from "ethers";
import { type LoggerLike, noopLogger } from "./chain-watcher.js";
import { DaiosError } from "./errors.js";

// ---------------------------------------------------------------------------------------------
// Errors.

/** The transaction reverted (in estimation or on chain). Permanent: retrying cannot help. */
export class TxRevertedError extends UnrecoverableError {
  constructor(
    readonly label: string,
    /** Decoded error name ("RegistryProofAlreadyAccepted", "Error", "Panic") or "unknown". */
    readonly errorName: string,
    /** Decoded error arguments (by index and, for custom errors, by name). */
    readonly errorArgs: Result | readonly unknown[],
    /** Raw revert data, if the node returned it. */
    readonly data: string | null,
    readonly stage: "estimate" | "broadcast" | "mined",
    readonly receipt: TransactionReceipt | null = null,
  ) {
    super(
      `${label}: the transaction reverted with ${errorName}(${[...errorArgs].map(formatArg).join(", ")}) ` +
        (stage === "mined" ? `on chain in tx ${receipt?.hash}` : `when ${stage === "estimate" ? "estimating gas" : "broadcasting"}; nothing was mined`) +
        (errorName === "unknown" ? "; pass the contract's Interface to TxSender to decode custom errors" : ""),
    );
    this.name = "TxRevertedError";
  }
}

/** A failure that retrying will not fix (insufficient funds, invalid request, fee cap). */
export class TxPermanentError extends UnrecoverableError {
  constructor(
    readonly label: string,
    message: string,
    readonly cause?: unknown,
  ) {
    super(`${label}: ${message}`);
    this.name = "TxPermanentError";
  }
}

/** Transient failures persisted through every retry; the job may be retried later. */
export class TxTransientError extends DaiosError {
  constructor(
    readonly label: string,
    problem: string,
    cause?: unknown,
    hint = "retry later (a queue retries it with backoff); check the RPC node if it keeps failing",
  ) {
    super(`${label}: ${problem}`, { cause, hint });
  }
}

/** Broadcast but not mined after every replacement; the last one may still be mined. */
export class TxTimeoutError extends TxTransientError {
  constructor(
    label: string,
    readonly nonce: number,
    readonly hashes: string[],
    waitedMs: number,
  ) {
    super(
      label,
      `nonce ${nonce} was not mined within ${waitedMs} ms after ${hashes.length} attempt(s) (${hashes.join(", ")})`,
      undefined,
      "raise maxFeePerGasCap or confirmTimeoutMs, or check the node's mempool; the last attempt may still be mined",
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Nonce manager: one per (chainId, address) in the process.

type NonceSource = Pick<Provider, "getTransactionCount">;

export class NonceManager {
  private static readonly registry = new Map<string, NonceManager>();

  /** The process-wide manager of `address` on `chainId` (created on first use). */
  static for(chainId: bigint, address: string, provider: NonceSource): NonceManager {
    const key = `${chainId}:${address.toLowerCase()}`;
    let manager = NonceManager.registry.get(key);
    if (manager === undefined) {
      manager = new NonceManager(chainId, getAddress(address), provider);
      NonceManager.registry.set(key, manager);
    }
    return manager;
  }

  /** Forgets every manager (tests, or after a node reset). */
  static clearRegistry(): void {
    NonceManager.registry.clear();
  }

  private next: number | null = null;
  private readonly inFlight = new Set<number>();
  private readonly returned = new Set<number>();
  private lock: Promise<unknown> = Promise.resolve();
  private order: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly chainId: bigint,
    readonly address: string,
    private readonly provider: NonceSource,
  ) {}

  /** Reserves the next nonce (a returned, never-broadcast nonce first, to leave no gap). */
  acquire(): Promise<number> {
    return this.locked(async () => {
      if (this.next === null) this.next = await this.provider.getTransactionCount(this.address, "pending");
      let nonce: number;
      if (this.returned.size > 0) {
        nonce = Math.min(...this.returned);
        this.returned.delete(nonce);
      } else {
        nonce = this.next++;
      }
      this.inFlight.add(nonce);
      return nonce;
    });
  }

  /** Gives a nonce back: `broadcast` = a transaction with it reached the node (it is used). */
  release(nonce: number, broadcast: boolean): void {
    this.inFlight.delete(nonce);
    if (broadcast || this.next === null || nonce >= this.next) return;
    if (nonce === this.next - 1) {
      this.next--;
      while (this.returned.has(this.next - 1)) {
        this.returned.delete(this.next - 1);
        this.next--;
      }
    } else {
      this.returned.add(nonce);
    }
  }

  /** Re-reads the pending transaction count after a nonce error. */
  resync(): Promise<void> {
    return this.locked(async () => {
      const onChain = await this.provider.getTransactionCount(this.address, "pending");
      const highestInFlight = this.inFlight.size > 0 ? Math.max(...this.inFlight) : -1;
      this.next = Math.max(onChain, highestInFlight + 1);
      for (const n of [...this.returned]) if (n < onChain || n >= this.next) this.returned.delete(n);
    });
  }

  /** Runs `fn` after every earlier `inOrder` call of this key finished (used for first broadcasts). */
  inOrder<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.order.then(fn, fn);
    this.order = run.catch(() => undefined);
    return run;
  }

  /** Nonces reserved and not yet released. */
  pending(): number[] {
    return [...this.inFlight].sort((a, b) => a - b);
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }
}

// ---------------------------------------------------------------------------------------------
// Sender.

/** What build() returns: the call to make. */
export interface BuiltTx {
  to: string;
  data: string;
  value?: bigint;
  /** Skip estimation and use this limit. */
  gasLimit?: bigint;
}

export interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export interface TxRequest {
  /** What this transaction is, for logs and errors; include the job's identity ("submitProof:12:5"). */
  label: string;
  /** Reads on-chain state: true when the effect is already there, so nothing must be sent. */
  isDone?: () => Promise<boolean>;
  /** Reads on-chain state: false when the transaction must not be sent now (skipped). */
  precheck?: () => Promise<boolean>;
  /** Builds the call (re-run on every retry, so it may read fresh state). */
  build: () => BuiltTx | Promise<BuiltTx>;
  /** Decodes this call's custom errors (in addition to the sender's `interfaces`). */
  iface?: Interface;
  /** Starting fees instead of the node's suggestion (replacements still bump from here). */
  fees?: Fees;
}

export type TxSendResult =
  | { skipped: true; reason: "done" | "precheck" }
  | {
      skipped: false;
      receipt: TransactionReceipt;
      txHash: string;
      nonce: number;
      gasUsed: bigint;
      /** Broadcasts for this nonce (1 = no replacement). */
      attempts: number;
    };

export type TxMetric =
  | { type: "attempt"; label: string; nonce: number; txHash: string; attempt: number; fees: Fees }
  | { type: "mined"; label: string; nonce: number; txHash: string; gasUsed: bigint; waitedMs: number }
  | { type: "skipped"; label: string; reason: "done" | "precheck" }
  | { type: "retry"; label: string; kind: string; message: string }
  | { type: "reverted"; label: string; errorName: string; stage: "estimate" | "broadcast" | "mined" };

export interface TxSenderOptions {
  provider: Provider;
  privateKey: string;
  log?: LoggerLike;
  /** Interfaces whose custom errors are decoded in TxRevertedError. */
  interfaces?: Interface[];
  /** Added to the gas estimate, in percent. Default 20. */
  gasMarginPercent?: number;
  /** Fee increase per replacement, in percent; at least 12.5. Default 15. */
  feeBumpPercent?: number;
  /** How long to wait for a receipt before replacing. Default 60 s. */
  confirmTimeoutMs?: number;
  /** Replacements per nonce before giving up with TxTimeoutError. Default 4. */
  maxReplacements?: number;
  /** Receipt polling interval. Default 1 s. */
  receiptPollMs?: number;
  /** Retries of transient failures (before anything was broadcast). Default 4. */
  maxRetries?: number;
  /** Backoff base and cap for those retries. Default 500 ms and 15 s. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Never offer more than this maxFeePerGas (wei). */
  maxFeePerGasCap?: bigint;
  onMetric?: (metric: TxMetric) => void;
}

type ErrorKind = "revert" | "nonce" | "underpriced" | "known" | "funds" | "permanent" | "transient";

/** How a broadcast went: accepted, a recognised refusal, a revert, or another error. */
type BroadcastOutcome = "ok" | "nonce-too-low" | "underpriced" | { reverted: unknown } | Error;

/** Thrown inside send when the nonce was taken by another transaction; handled by a retry. */
class NonceConsumedError extends Error {
  constructor(nonce: number) {
    super(`nonce ${nonce} was used by another transaction from this key`);
    this.name = "NonceConsumedError";
  }
}

export class TxSender {
  readonly address: string;
  private readonly provider: Provider;
  private readonly wallet: Wallet;
  private readonly baseLog: LoggerLike;
  private log: LoggerLike;
  private readonly interfaces: Interface[];
  private readonly gasMarginPercent: bigint;
  private readonly feeBumpBps: bigint;
  private readonly confirmTimeoutMs: number;
  private readonly maxReplacements: number;
  private readonly receiptPollMs: number;
  private readonly maxRetries: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly maxFeePerGasCap: bigint | undefined;
  private readonly onMetric: (metric: TxMetric) => void;
  private ready: Promise<{ chainId: bigint; nonces: NonceManager }> | null = null;

  constructor(options: TxSenderOptions) {
    const problems: string[] = [];
    const bump = options.feeBumpPercent ?? 15;
    if (!(bump >= 12.5 && bump <= 1000)) problems.push(`feeBumpPercent ${bump} must be between 12.5 and 1000 (nodes reject smaller replacements)`);
    const margin = options.gasMarginPercent ?? 20;
    if (!Number.isInteger(margin) || margin < 0 || margin > 500) problems.push(`gasMarginPercent ${margin} must be an integer between 0 and 500`);
    const maxReplacements = options.maxReplacements ?? 4;
    if (!Number.isInteger(maxReplacements) || maxReplacements < 0) problems.push(`maxReplacements ${maxReplacements} must be an integer ≥ 0`);
    const maxRetries = options.maxRetries ?? 4;
    if (!Number.isInteger(maxRetries) || maxRetries < 0) problems.push(`maxRetries ${maxRetries} must be an integer ≥ 0`);
    let wallet: Wallet | null = null;
    try {
      wallet = new Wallet(options.privateKey);
    } catch {
      problems.push("privateKey is not a valid 32-byte hex private key");
    }
    if (problems.length > 0 || wallet === null) throw new Error(`invalid TxSender options: ${problems.join("; ")}`);

    this.provider = options.provider;
    this.wallet = wallet;
    this.address = wallet.address;
    this.baseLog = options.log ?? noopLogger;
    this.log = this.baseLog.child({ component: "tx-sender", from: this.address });
    this.interfaces = options.interfaces ?? [];
    this.gasMarginPercent = BigInt(margin);
    this.feeBumpBps = BigInt(Math.ceil(bump * 100));
    this.confirmTimeoutMs = options.confirmTimeoutMs ?? 60_000;
    this.maxReplacements = maxReplacements;
    this.receiptPollMs = options.receiptPollMs ?? 1_000;
    this.maxRetries = maxRetries;
    this.retryBaseMs = options.retryBaseMs ?? 500;
    this.retryMaxMs = options.retryMaxMs ?? 15_000;
    this.maxFeePerGasCap = options.maxFeePerGasCap;
    this.onMetric = options.onMetric ?? (() => undefined);
  }

  /** The nonce manager this sender uses (shared with every sender of the same key and chain). */
  async nonceManager(): Promise<NonceManager> {
    return (await this.init()).nonces;
  }

  /** Sends one transaction idempotently; see the module comment for the steps. */
  async send(request: TxRequest): Promise<TxSendResult> {
    const { chainId, nonces } = await this.init();
    const log = this.log.child({ label: request.label });
    for (let retry = 0; ; retry++) {
      try {
        return await this.sendOnce(request, chainId, nonces, log);
      } catch (error) {
        if (error instanceof UnrecoverableError) throw error;
        // Broadcast but not mined: retrying here would send a second transaction with a new nonce
        // while the first may still be mined. Let the caller (the queue) decide, with isDone().
        if (error instanceof TxTimeoutError) throw error;
        const kind = error instanceof NonceConsumedError ? "nonce" : classify(error);
        if (kind === "nonce" || kind === "underpriced") await nonces.resync().catch(() => undefined);
        if (retry >= this.maxRetries) {
          if (error instanceof TxTransientError) throw error;
          throw new TxTransientError(request.label, `gave up after ${retry + 1} tries: ${messageOf(error)}`, error);
        }
        const delay = backoff(this.retryBaseMs, this.retryMaxMs, retry + 1);
        this.onMetric({ type: "retry", label: request.label, kind, message: messageOf(error) });
        log.warn({ kind, retry: retry + 1, retryInMs: delay, err: messageOf(error) }, "transient failure; retrying");
        await sleep(delay);
      }
    }
  }

  // -------------------------------------------------------------------------------------------

  private init(): Promise<{ chainId: bigint; nonces: NonceManager }> {
    this.ready ??= (async () => {
      const { chainId } = await this.provider.getNetwork();
      this.log = this.baseLog.child({ component: "tx-sender", from: this.address, chainId: String(chainId) });
      return { chainId, nonces: NonceManager.for(chainId, this.address, this.provider) };
    })();
    this.ready.catch(() => {
      this.ready = null;
    });
    return this.ready;
  }

  private async sendOnce(request: TxRequest, chainId: bigint, nonces: NonceManager, log: LoggerLike): Promise<TxSendResult> {
    if (request.isDone && (await request.isDone())) {
      this.onMetric({ type: "skipped", label: request.label, reason: "done" });
      log.info({ reason: "done" }, "already done on chain; nothing sent");
      return { skipped: true, reason: "done" };
    }
    if (request.precheck && !(await request.precheck())) {
      this.onMetric({ type: "skipped", label: request.label, reason: "precheck" });
      log.info({ reason: "precheck" }, "precheck failed; nothing sent");
      return { skipped: true, reason: "precheck" };
    }
    const built = await request.build();
    const to = getAddress(built.to);
    const value = built.value ?? 0n;
    const decoders = request.iface ? [request.iface, ...this.interfaces] : this.interfaces;

    let gasLimit = built.gasLimit;
    if (gasLimit === undefined) {
      try {
        const estimate = await this.provider.estimateGas({ from: this.address, to, data: built.data, value });
        gasLimit = (estimate * (100n + this.gasMarginPercent) + 99n) / 100n;
      } catch (error) {
        const permanent = this.toPermanent(error, request.label, decoders, "estimate");
        if (permanent instanceof TxRevertedError) {
          this.onMetric({ type: "reverted", label: request.label, errorName: permanent.errorName, stage: "estimate" });
          log.warn({ errorName: permanent.errorName, err: permanent.message }, "transaction would revert; nothing sent");
        }
        throw permanent ?? error;
      }
    }

    let fees = request.fees ?? (await this.suggestFees(request.label));
    this.checkCap(fees, request.label);

    const sign = (nonce: number, f: Fees) =>
      this.wallet.signTransaction({
        type: 2,
        chainId,
        nonce,
        to,
        data: built.data,
        value,
        gasLimit,
        maxFeePerGas: f.maxFeePerGas,
        maxPriorityFeePerGas: f.maxPriorityFeePerGas,
      });
    const hashes: string[] = [];
    const recordAttempt = (nonce: number, txHash: string, f: Fees) => {
      hashes.push(txHash);
      const attempt = hashes.length;
      this.onMetric({ type: "attempt", label: request.label, nonce, txHash, attempt, fees: f });
      log.info(
        {
          nonce,
          txHash,
          attempt,
          replacement: attempt > 1,
          to,
          gasLimit: String(gasLimit),
          maxFeePerGas: String(f.maxFeePerGas),
          maxPriorityFeePerGas: String(f.maxPriorityFeePerGas),
        },
        attempt === 1 ? "transaction sent" : "transaction replaced with higher fees",
      );
    };

    // Nonce reservation and first broadcast happen in nonce order for this key, so that a node
    // that cannot queue future nonces (Hardhat with automine) never sees n + 1 before n.
    let nonce = -1;
    const first = await nonces.inOrder(async () => {
      nonce = await nonces.acquire();
      try {
        const signed = await sign(nonce, fees);
        const txHash = Transaction.from(signed).hash as string;
        const outcome = await this.broadcast(signed, request.label);
        if (outcome === "ok") return { txHash, reverted: null };
        if (isReverted(outcome)) {
          const receipt = await this.provider.getTransactionReceipt(txHash).catch(() => null);
          if (receipt) return { txHash, reverted: receipt }; // mined, and failed
          const permanent = this.toPermanent(outcome.reverted, request.label, decoders, "broadcast");
          throw permanent ?? outcome.reverted;
        }
        throw outcome === "nonce-too-low"
          ? new NonceConsumedError(nonce)
          : outcome === "underpriced"
            ? new Error(`nonce ${nonce} is held in the mempool by another transaction with higher fees`)
            : outcome;
      } catch (error) {
        nonces.release(nonce, false);
        throw error;
      }
    });
    const started = Date.now();
    recordAttempt(nonce, first.txHash, fees);
    const done = (receipt: TransactionReceipt) =>
      this.finish(receipt, request, nonce, hashes.length, started, decoders, built, log);

    try {
      if (first.reverted) return await done(first.reverted);
      let rounds = 0; // waits of confirmTimeoutMs
      for (;;) {
        const receipt = await this.waitForReceipt(hashes, this.confirmTimeoutMs);
        if (receipt) return await done(receipt);
        rounds++;

        const latestCount = await this.provider.getTransactionCount(this.address, "latest").catch(() => -1);
        if (latestCount > nonce) {
          const late = await this.findReceipt(hashes);
          if (late) return await done(late);
          throw new NonceConsumedError(nonce);
        }
        if (rounds > this.maxReplacements) throw new TxTimeoutError(request.label, nonce, hashes, Date.now() - started);

        // Replace: same nonce, both fees bumped (again, if the node calls it underpriced).
        for (let refusals = 0; ; refusals++) {
          const next = this.bump(fees, await this.suggestFees(request.label).catch(() => fees));
          if (this.maxFeePerGasCap !== undefined && next.maxFeePerGas > this.maxFeePerGasCap) {
            log.warn({ nonce, cap: String(this.maxFeePerGasCap) }, "fee cap reached; waiting without replacing");
            break;
          }
          fees = next;
          const signed = await sign(nonce, fees);
          const txHash = Transaction.from(signed).hash as string;
          const outcome = await this.broadcast(signed, request.label);
          if (outcome === "ok") {
            recordAttempt(nonce, txHash, fees);
            break;
          }
          if (outcome === "nonce-too-low") {
            // One of our attempts was mined in the meantime, or someone else used the nonce.
            const mined = await this.findReceipt(hashes);
            if (mined) return await done(mined);
            throw new NonceConsumedError(nonce);
          }
          if (isReverted(outcome)) {
            const mined = await this.findReceipt([...hashes, txHash]);
            if (mined) {
              if (mined.hash === txHash) recordAttempt(nonce, txHash, fees);
              return await done(mined);
            }
          }
          if (outcome === "underpriced" && refusals < 5) {
            log.warn({ nonce, refusals: refusals + 1 }, "replacement refused as underpriced; bumping again");
            continue;
          }
          log.warn(
            { nonce, err: messageOf(isReverted(outcome) ? outcome.reverted : outcome) },
            "replacement broadcast failed; still waiting for the earlier attempts",
          );
          break;
        }
      }
    } finally {
      nonces.release(nonce, true);
    }
  }

  /** Broadcasts; returns "ok", a recognised refusal, or the error for anything else. */
  private async broadcast(signed: string, label: string): Promise<BroadcastOutcome> {
    try {
      await this.provider.broadcastTransaction(signed);
      return "ok";
    } catch (error) {
      const kind = classify(error);
      if (kind === "known") return "ok";
      if (kind === "nonce") return "nonce-too-low";
      if (kind === "underpriced") return "underpriced";
      // Hardhat (automine) mines a failing transaction and answers with the revert as an error.
      if (kind === "revert") return { reverted: error };
      if (kind === "funds") {
        throw new TxPermanentError(label, `account ${this.address} cannot pay for the transaction; fund it`, error);
      }
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  private async finish(
    receipt: TransactionReceipt,
    request: TxRequest,
    nonce: number,
    attempts: number,
    started: number,
    decoders: Interface[],
    built: BuiltTx,
    log: LoggerLike,
  ): Promise<TxSendResult> {
    const waitedMs = Date.now() - started;
    if (receipt.status !== 1) {
      // Replay the call on the state the block left behind to recover the revert data.
      let decoded: TxRevertedError | null = null;
      try {
        await this.provider.call({ from: this.address, to: built.to, data: built.data, value: built.value ?? 0n, blockTag: receipt.blockNumber });
      } catch (error) {
        decoded = this.toPermanent(error, request.label, decoders, "mined", receipt) as TxRevertedError | null;
      }
      const reverted =
        decoded instanceof TxRevertedError ? decoded : new TxRevertedError(request.label, "unknown", [], null, "mined", receipt);
      this.onMetric({ type: "reverted", label: request.label, errorName: reverted.errorName, stage: "mined" });
      log.error({ nonce, txHash: receipt.hash, errorName: reverted.errorName, gasUsed: String(receipt.gasUsed) }, "transaction reverted on chain");
      throw reverted;
    }
    this.onMetric({ type: "mined", label: request.label, nonce, txHash: receipt.hash, gasUsed: receipt.gasUsed, waitedMs });
    log.info(
      { nonce, txHash: receipt.hash, block: receipt.blockNumber, gasUsed: String(receipt.gasUsed), attempts, waitedMs },
      "transaction mined",
    );
    return { skipped: false, receipt, txHash: receipt.hash, nonce, gasUsed: receipt.gasUsed, attempts };
  }

  /** Maps permanent errors to TxRevertedError / TxPermanentError; null for transient ones. */
  private toPermanent(
    error: unknown,
    label: string,
    decoders: Interface[],
    stage: "estimate" | "broadcast" | "mined",
    receipt: TransactionReceipt | null = null,
  ): UnrecoverableError | null {
    const kind = classify(error);
    if (kind === "revert") {
      const data = revertData(error);
      if (data !== null && data !== "0x") {
        for (const iface of decoders) {
          try {
            const parsed = iface.parseError(data);
            if (parsed) {
              return new TxRevertedError(label, parsed.name, parsed.args, data, stage, receipt);
            }
          } catch {
            // not this interface
          }
        }
      }
      const builtin = isError(error, "CALL_EXCEPTION") ? error.revert : null;
      const name = builtin?.name ?? "unknown";
      return new TxRevertedError(label, name, builtin?.args ?? [], data, stage, receipt);
    }
    if (kind === "funds") return new TxPermanentError(label, `account ${this.address} cannot pay for the transaction; fund it`, error);
    if (kind === "permanent") return new TxPermanentError(label, messageOf(error), error);
    return null;
  }

  private async suggestFees(label: string): Promise<Fees> {
    const data = await this.provider.getFeeData();
    if (data.maxFeePerGas === null || data.maxPriorityFeePerGas === null) {
      throw new TxPermanentError(label, "the node reports no EIP-1559 fee data; this chain is not supported by TxSender");
    }
    return { maxFeePerGas: data.maxFeePerGas, maxPriorityFeePerGas: data.maxPriorityFeePerGas };
  }

  /** Both fees up by at least feeBumpPercent, and never below what the node suggests now. */
  private bump(previous: Fees, suggested: Fees): Fees {
    const up = (v: bigint) => (v * (10_000n + this.feeBumpBps) + 9_999n) / 10_000n + 1n;
    const maxPriorityFeePerGas = max(up(previous.maxPriorityFeePerGas), suggested.maxPriorityFeePerGas);
    const maxFeePerGas = max(up(previous.maxFeePerGas), suggested.maxFeePerGas, maxPriorityFeePerGas);
    return { maxFeePerGas, maxPriorityFeePerGas };
  }

  private checkCap(fees: Fees, label: string): void {
    if (this.maxFeePerGasCap !== undefined && fees.maxFeePerGas > this.maxFeePerGasCap) {
      throw new TxPermanentError(
        label,
        `maxFeePerGas ${fees.maxFeePerGas} is above the cap ${this.maxFeePerGasCap}; raise maxFeePerGasCap or wait for lower fees`,
      );
    }
  }

  private async findReceipt(hashes: string[]): Promise<TransactionReceipt | null> {
    for (const hash of [...hashes].reverse()) {
      const receipt = await this.provider.getTransactionReceipt(hash).catch(() => null);
      if (receipt) return receipt;
    }
    return null;
  }

  private async waitForReceipt(hashes: string[], timeoutMs: number): Promise<TransactionReceipt | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const receipt = await this.findReceipt(hashes);
      if (receipt) return receipt;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await sleep(Math.min(this.receiptPollMs, left));
    }
  }
}

// ---------------------------------------------------------------------------------------------

function isReverted(outcome: BroadcastOutcome): outcome is { reverted: unknown } {
  return typeof outcome === "object" && !(outcome instanceof Error) && "reverted" in outcome;
}

function classify(error: unknown): ErrorKind {
  const text = texts(error).join(" | ");
  if (isError(error, "CALL_EXCEPTION")) return "revert";
  if (isError(error, "INSUFFICIENT_FUNDS") || /insufficient funds/i.test(text)) return "funds";
  if (isError(error, "NONCE_EXPIRED") || /nonce (too low|has already been used)|nonce is too low/i.test(text)) return "nonce";
  if (isError(error, "REPLACEMENT_UNDERPRICED") || /underpriced|replacement fee too low|fee too low/i.test(text)) return "underpriced";
  if (/already known|known transaction|already imported/i.test(text)) return "known";
  if (/execution reverted|reverted with/i.test(text) && !/timeout|network/i.test(text)) return "revert";
  if (
    isError(error, "INVALID_ARGUMENT") ||
    isError(error, "MISSING_ARGUMENT") ||
    isError(error, "UNEXPECTED_ARGUMENT") ||
    isError(error, "NUMERIC_FAULT") ||
    isError(error, "UNSUPPORTED_OPERATION") ||
    isError(error, "NOT_IMPLEMENTED") ||
    /intrinsic gas too low|exceeds block gas limit|gas limit reached|invalid sender|invalid chain id/i.test(text)
  ) {
    return "permanent";
  }
  return "transient";
}

function texts(error: unknown, depth = 0): string[] {
  if (error === null || typeof error !== "object" || depth > 4) return typeof error === "string" ? [error] : [];
  const e = error as Record<string, unknown>;
  const out: string[] = [];
  for (const field of ["message", "shortMessage"]) if (typeof e[field] === "string") out.push(e[field] as string);
  for (const nested of ["error", "info", "cause", "data"]) if (typeof e[nested] === "object") out.push(...texts(e[nested], depth + 1));
  return out;
}

function revertData(error: unknown): string | null {
  if (isError(error, "CALL_EXCEPTION") && typeof error.data === "string") return error.data;
  // Some nodes put the data deeper: error.info.error.data or error.error.data.
  const seen = new Set<unknown>();
  const walk = (value: unknown, depth: number): string | null => {
    if (value === null || typeof value !== "object" || depth > 4 || seen.has(value)) return null;
    seen.add(value);
    const v = value as Record<string, unknown>;
    if (typeof v.data === "string" && /^0x[0-9a-fA-F]*$/.test(v.data)) return v.data;
    for (const key of ["error", "info", "data", "cause"]) {
      const found = walk(v[key], depth + 1);
      if (found !== null) return found;
    }
    return null;
  };
  return walk(error, 0);
}

function messageOf(error: unknown): string {
  const short = (error as { shortMessage?: unknown } | null)?.shortMessage;
  if (typeof short === "string") return short;
  return error instanceof Error ? error.message : String(error);
}

function formatArg(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  } catch {
    return String(value);
  }
}

function max(...values: bigint[]): bigint {
  return values.reduce((a, b) => (b > a ? b : a));
}

function backoff(baseMs: number, maxMs: number, failures: number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 20));
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
