// Chain watcher: delivers the events of one or more contracts, in chain order, to one async
// handler, and remembers in Redis how far it got.
//
// Each poll:
//   1. head = latest block − confirmations.
//   2. Reorg check: the stored hash of every cursor block must still be the chain's hash at that
//      height (and, for each range, the parent hash of its first block must equal the cursor's
//      hash). On a mismatch the watcher walks back through the cursor's ring of recently processed
//      blocks to the newest one that is still canonical, rewinds there, logs and emits `reorg`.
//   3. From cursor + 1 to head in bounded ranges (`maxBlockRange`, halved when the node says the
//      range or result is too large): eth_getLogs, decode, sort by (block, logIndex), await the
//      handler for each event, then save the cursor (block `to` and its hash) — so the saved
//      cursor is always the last FULLY processed block. A handler that throws leaves the cursor
//      where it was; the range is retried after a backoff, and the events that had already been
//      handled in this process are skipped (de-duplication on (txHash, logIndex)).
//
// Delivery is at-least-once across restarts (the handler may see the tail of a range again if the
// process dies mid-range) and after reorgs (events of rewound blocks are delivered again with
// their new block). Handlers must therefore be idempotent, keyed on `event.id`.
//
// Every contract has its own cursor key (`daios:cursor:<chainId>:<contract>:<name>`); contracts
// whose cursors differ (say, one was added later) are scanned separately until they line up, and
// all cursors of a range are written in one atomic step.

import { EventEmitter } from "node:events";
import {
  Interface,
  type EventFragment,
  type InterfaceAbi,
  type Log,
  type Provider,
  type Result,
  getAddress,
} from "ethers";
import { type BlockRef, type Cursor, type CursorKey, CursorConflictError, type CursorStore } from "./cursor-store.js";
import { DaiosError } from "./errors.js";

// ---------------------------------------------------------------------------------------------
// Logging and metrics interfaces shared by the core modules.

/** One log method in pino's style: a structured object first, then an optional message. */
export type LogFn = (obj: Record<string, unknown>, msg?: string) => void;

/** The subset of pino's Logger that the core uses; a pino logger (core/log.ts) fits as is. */
export interface LoggerLike {
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  debug: LogFn;
  child(bindings: Record<string, unknown>): LoggerLike;
}

/** A logger that drops everything (for tests and for callers that do not care). */
export const noopLogger: LoggerLike = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
  child: () => noopLogger,
};

// ---------------------------------------------------------------------------------------------
// Public types.

/** The provider calls the watcher needs; an ethers JsonRpcProvider fits. */
export type WatcherProvider = Pick<Provider, "getBlockNumber" | "getBlock" | "getLogs" | "getNetwork">;

export interface WatchedContract {
  /** Contract address (any case). */
  address: string;
  /** ABI of the events (an ethers Interface or anything `new Interface()` accepts). */
  abi: Interface | InterfaceAbi;
  /** Event names or full signatures to deliver; default: every event of the ABI. */
  events?: string[];
  /** First block to scan for this contract (its deployment block); default: the watcher's `startBlock`. */
  startBlock?: number;
}

/** A decoded event as the handler receives it. */
export interface ChainEvent {
  /** Stable id `${chainId}-${txHash}-${logIndex}` (usable as a BullMQ job id). */
  id: string;
  chainId: bigint;
  /** Event name, e.g. "DealCreated". */
  name: string;
  /** Full event signature, e.g. "DealCreated(uint256,address)". */
  signature: string;
  /** Decoded arguments (by index and by name). */
  args: Result;
  /** Emitting contract, checksummed. */
  address: string;
  blockNumber: number;
  blockHash: string;
  txHash: string;
  logIndex: number;
}

export type EventHandler = (event: ChainEvent) => Promise<void>;

export interface ReorgInfo {
  /** Contracts whose cursor was rewound (lower-case). */
  contracts: string[];
  /** The cursor block before the rewind. */
  fromBlock: number;
  /** The block the cursor was rewound to (the newest stored block still on the chain). */
  toBlock: number;
  /** fromBlock − toBlock. */
  depth: number;
  /** True when no stored block matched and the watcher fell back below its ring. */
  beyondRing: boolean;
}

export type WatcherMetric =
  | { type: "range"; from: number; to: number; events: number; durationMs: number }
  | { type: "range-shrunk"; from: number; size: number }
  | { type: "reorg"; depth: number; fromBlock: number; toBlock: number }
  | { type: "lag"; head: number; cursor: number; blocks: number }
  | { type: "error"; stage: "poll" | "handler"; message: string };

export interface PollResult {
  /** Safe head seen by this poll (latest − confirmations). */
  head: number;
  /** Lowest cursor after the poll. */
  cursor: number;
  ranges: number;
  events: number;
  reorgs: ReorgInfo[];
  caughtUp: boolean;
}

export interface ChainWatcherOptions {
  /** Consumer name, part of the cursor key ([A-Za-z0-9_.-]); one name per independent consumer. */
  name: string;
  provider: WatcherProvider;
  cursors: CursorStore;
  contracts: WatchedContract[];
  /** Deployment block (from deploy/deployments/<chainId>.json); scanning starts here. */
  startBlock: number;
  handler: EventHandler;
  /** Blocks to stay behind the latest block (0 on a dev chain). */
  confirmations: number;
  /** Largest eth_getLogs block range. Default 2,000. */
  maxBlockRange?: number;
  /** Pause between polls once caught up. Default 2,000 ms. */
  pollIntervalMs?: number;
  /** Backoff after a failed poll: base and cap, with jitter. Default 500 ms and 30 s. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** How many delivered (txHash, logIndex) pairs to remember for de-duplication. Default 100,000. */
  dedupCapacity?: number;
  log?: LoggerLike;
  onMetric?: (metric: WatcherMetric) => void;
}

/** Raised (and retried by the loop) when the chain changed under a scan. */
export class ChainChangedError extends DaiosError {
  constructor(problem: string) {
    super(problem, { hint: "nothing to do: the watcher retries and rewinds if a reorg happened" });
  }
}

// ---------------------------------------------------------------------------------------------

interface ContractState {
  address: string; // lower-case
  checksum: string;
  iface: Interface;
  topics: Set<string>; // topic0 of the delivered events
  startBlock: number;
  key: CursorKey;
  cursor: Cursor;
  /** Whether `cursor` is stored in Redis (false for the initial startBlock − 1). */
  stored: boolean;
}

interface CaughtUpWaiter {
  afterPoll: number;
  resolve: (block: number) => void;
  reject: (error: Error) => void;
  timer?: NodeJS.Timeout;
}

export interface ChainWatcher {
  on(event: "reorg", listener: (info: ReorgInfo) => void): this;
  on(event: "caughtUp", listener: (block: number) => void): this;
  on(event: "range", listener: (range: { from: number; to: number; events: number }) => void): this;
  once(event: "reorg", listener: (info: ReorgInfo) => void): this;
  once(event: "caughtUp", listener: (block: number) => void): this;
  once(event: "range", listener: (range: { from: number; to: number; events: number }) => void): this;
}

export class ChainWatcher extends EventEmitter {
  readonly name: string;
  private readonly provider: WatcherProvider;
  private readonly cursors: CursorStore;
  private readonly handler: EventHandler;
  private readonly confirmations: number;
  private readonly maxBlockRange: number;
  private readonly pollIntervalMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly dedupCapacity: number;
  private readonly onMetric: (metric: WatcherMetric) => void;
  private readonly baseLog: LoggerLike;
  private log: LoggerLike;
  private readonly specs: WatchedContract[];
  private readonly startBlock: number;

  private chainId: bigint | null = null;
  private contracts: ContractState[] = [];
  private initPromise: Promise<void> | null = null;
  private rangeSize: number;
  private rangeSuccesses = 0;
  private readonly delivered = new Map<string, number>(); // `${txHash}:${logIndex}` → block
  private exclusive: Promise<unknown> = Promise.resolve();
  private pollsStarted = 0;
  private waiters: CaughtUpWaiter[] = [];
  private running = false;
  private loopPromise: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private wasCaughtUp = false;

  constructor(options: ChainWatcherOptions) {
    super();
    const problems: string[] = [];
    if (!/^[A-Za-z0-9_.-]{1,100}$/.test(options.name)) problems.push(`name ${JSON.stringify(options.name)} must match [A-Za-z0-9_.-]{1,100}`);
    if (!Number.isSafeInteger(options.startBlock) || options.startBlock < 0) problems.push(`startBlock ${options.startBlock} must be an integer ≥ 0`);
    if (!Number.isSafeInteger(options.confirmations) || options.confirmations < 0) problems.push(`confirmations ${options.confirmations} must be an integer ≥ 0`);
    const maxBlockRange = options.maxBlockRange ?? 2_000;
    if (!Number.isSafeInteger(maxBlockRange) || maxBlockRange < 1) problems.push(`maxBlockRange ${maxBlockRange} must be an integer ≥ 1`);
    const pollIntervalMs = options.pollIntervalMs ?? 2_000;
    if (!(pollIntervalMs >= 0)) problems.push(`pollIntervalMs ${pollIntervalMs} must be ≥ 0`);
    if (options.contracts.length === 0) problems.push("contracts must list at least one contract");
    const seen = new Set<string>();
    for (const c of options.contracts) {
      if (!/^0x[0-9a-fA-F]{40}$/.test(c.address)) problems.push(`contract address ${JSON.stringify(c.address)} is not a 20-byte hex address`);
      else if (seen.has(c.address.toLowerCase())) problems.push(`contract ${c.address} is listed twice; merge its events into one entry`);
      seen.add(c.address.toLowerCase());
      if (c.startBlock !== undefined && (!Number.isSafeInteger(c.startBlock) || c.startBlock < 0)) problems.push(`startBlock ${c.startBlock} of ${c.address} must be an integer ≥ 0`);
    }
    if (problems.length > 0) throw new Error(`invalid ChainWatcher options: ${problems.join("; ")}`);

    this.name = options.name;
    this.provider = options.provider;
    this.cursors = options.cursors;
    this.handler = options.handler;
    this.confirmations = options.confirmations;
    this.maxBlockRange = maxBlockRange;
    this.rangeSize = maxBlockRange;
    this.pollIntervalMs = pollIntervalMs;
    this.retryBaseMs = options.retryBaseMs ?? 500;
    this.retryMaxMs = options.retryMaxMs ?? 30_000;
    this.dedupCapacity = options.dedupCapacity ?? 100_000;
    this.onMetric = options.onMetric ?? (() => undefined);
    this.baseLog = options.log ?? noopLogger;
    this.log = this.baseLog.child({ component: "chain-watcher", watcher: this.name });
    this.specs = options.contracts;
    this.startBlock = options.startBlock;
  }

  /** Starts polling in the background. Resolves once the chain id and the cursors are loaded. */
  async start(): Promise<void> {
    if (this.running) return;
    await this.init();
    this.running = true;
    this.log.info(
      {
        chainId: String(this.chainId),
        contracts: this.contracts.map((c) => ({ address: c.address, cursor: c.cursor.block })),
        confirmations: this.confirmations,
        maxBlockRange: this.maxBlockRange,
      },
      "chain watcher started",
    );
    this.loopPromise = this.loop();
  }

  /** Stops polling; resolves after the range in flight has been handled (or abandoned on error). */
  async stop(): Promise<void> {
    if (!this.running) {
      await this.exclusive.catch(() => undefined);
      return;
    }
    this.running = false;
    this.wake?.();
    await this.loopPromise;
    this.loopPromise = null;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.reject(new Error(`chain watcher ${this.name} stopped before it caught up`));
    }
    this.log.info({ cursor: this.lowestCursor().block }, "chain watcher stopped");
  }

  /**
   * Resolves with the cursor block at the end of the first poll that starts after this call and
   * ends caught up (every block ≤ latest − confirmations, as seen by that poll, is processed).
   */
  onceCaughtUp(options: { timeoutMs?: number } = {}): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const waiter: CaughtUpWaiter = { afterPoll: this.pollsStarted, resolve, reject };
      if (options.timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new Error(`chain watcher ${this.name} did not catch up within ${options.timeoutMs} ms (cursor ${this.lowestCursor().block})`));
        }, options.timeoutMs);
      }
      this.waiters.push(waiter);
      this.wake?.();
    });
  }

  /** Runs one poll now (serialised with the background loop). Throws what the poll threw. */
  async pollOnce(): Promise<PollResult> {
    await this.init();
    return this.runExclusive(() => this.poll(false));
  }

  /** The lowest in-memory cursor over all contracts (the watcher's overall progress). */
  cursor(): Cursor {
    return { ...this.lowestCursor() };
  }

  // -------------------------------------------------------------------------------------------

  private init(): Promise<void> {
    this.initPromise ??= (async () => {
      const network = await this.provider.getNetwork();
      this.chainId = network.chainId;
      this.log = this.baseLog.child({ component: "chain-watcher", watcher: this.name, chainId: String(this.chainId) });
      const states: ContractState[] = [];
      for (const spec of this.specs) {
        const iface = spec.abi instanceof Interface ? spec.abi : new Interface(spec.abi);
        const fragments: EventFragment[] = [];
        if (spec.events === undefined) iface.forEachEvent((f) => fragments.push(f));
        else {
          for (const e of spec.events) {
            const f = iface.getEvent(e);
            if (f === null) throw new Error(`event ${JSON.stringify(e)} is not in the ABI given for ${spec.address}`);
            fragments.push(f);
          }
        }
        if (fragments.length === 0) throw new Error(`the ABI given for ${spec.address} has no events to watch`);
        const address = spec.address.toLowerCase();
        const startBlock = spec.startBlock ?? this.startBlock;
        const key: CursorKey = { chainId: this.chainId, contract: address, name: this.name };
        const stored = await this.cursors.get(key);
        states.push({
          address,
          checksum: getAddress(address),
          iface,
          topics: new Set(fragments.map((f) => f.topicHash)),
          startBlock,
          key,
          cursor: stored ?? { block: startBlock - 1, hash: null },
          stored: stored !== null,
        });
      }
      this.contracts = states;
    })();
    this.initPromise.catch(() => {
      this.initPromise = null; // allow a retry after a failed start
    });
    return this.initPromise;
  }

  private runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.exclusive.then(fn, fn);
    this.exclusive = run.catch(() => undefined);
    return run;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      let delay = this.pollIntervalMs;
      try {
        const result = await this.runExclusive(() => this.poll(true));
        failures = 0;
        if (!result.caughtUp) delay = 0; // stopped between ranges or more to do
      } catch (error) {
        failures++;
        const message = errorMessage(error);
        this.onMetric({ type: "error", stage: "poll", message });
        delay = backoff(this.retryBaseMs, this.retryMaxMs, failures);
        const level = error instanceof ChainChangedError ? "warn" : "error";
        this.log[level]({ err: message, failures, retryInMs: delay }, "chain watcher poll failed; will retry");
        if (error instanceof CursorConflictError) await this.reloadCursors().catch(() => undefined);
      }
      if (this.running && delay > 0) await this.sleep(delay);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  private async reloadCursors(): Promise<void> {
    for (const c of this.contracts) {
      const stored = await this.cursors.get(c.key);
      c.cursor = stored ?? { block: c.startBlock - 1, hash: null };
      c.stored = stored !== null;
    }
  }

  private lowestCursor(): Cursor {
    let lowest: Cursor | null = null;
    for (const c of this.contracts) if (lowest === null || c.cursor.block < lowest.block) lowest = c.cursor;
    return lowest ?? { block: this.startBlock - 1, hash: null };
  }

  /** One poll. From the loop it ends early, between ranges, when stop() was called. */
  private async poll(fromLoop: boolean): Promise<PollResult> {
    const pollNumber = ++this.pollsStarted;
    const latest = await this.provider.getBlockNumber();
    const head = latest - this.confirmations;
    const result: PollResult = { head, cursor: 0, ranges: 0, events: 0, reorgs: [], caughtUp: false };

    await this.checkCursorHashes(result);

    for (;;) {
      if (fromLoop && !this.running) break; // stop() was called: the range in flight is done
      const behind = this.contracts.filter((c) => c.cursor.block < head);
      if (behind.length === 0) break;
      const low = Math.min(...behind.map((c) => c.cursor.block));
      const group = behind.filter((c) => c.cursor.block === low);
      const higher = this.contracts.map((c) => c.cursor.block).filter((b) => b > low);
      const limit = Math.min(head, ...higher);
      const range = await this.processRange(group, low + 1, Math.min(low + this.rangeSize, limit), result);
      if (range === "reorg") continue;
      result.ranges++;
      result.events += range;
    }

    const lowest = this.lowestCursor().block;
    result.cursor = lowest;
    result.caughtUp = lowest >= head;
    this.onMetric({ type: "lag", head, cursor: lowest, blocks: Math.max(0, head - lowest) });
    if (result.caughtUp) {
      if (!this.wasCaughtUp) this.log.info({ head, cursor: lowest }, "chain watcher caught up");
      this.wasCaughtUp = true;
      this.emit("caughtUp", lowest);
      const ready = this.waiters.filter((w) => w.afterPoll < pollNumber);
      this.waiters = this.waiters.filter((w) => w.afterPoll >= pollNumber);
      for (const w of ready) {
        clearTimeout(w.timer);
        w.resolve(lowest);
      }
    } else {
      this.wasCaughtUp = false;
    }
    return result;
  }

  /** Compares every stored cursor hash with the chain; rewinds the cursors that were reorged out. */
  private async checkCursorHashes(result: PollResult): Promise<void> {
    const checked = new Map<string, boolean>();
    for (const c of this.contracts) {
      if (c.cursor.hash === null) continue;
      const id = `${c.cursor.block}:${c.cursor.hash}`;
      if (!checked.has(id)) {
        const block = await this.provider.getBlock(c.cursor.block);
        checked.set(id, block !== null && block.hash !== null && block.hash.toLowerCase() === c.cursor.hash.toLowerCase());
      }
    }
    for (const [id, ok] of checked) {
      if (ok) continue;
      const group = this.contracts.filter((c) => `${c.cursor.block}:${c.cursor.hash}` === id);
      if (group.length > 0) result.reorgs.push(await this.rewind(group, "cursor block hash changed"));
    }
  }

  /**
   * Scans [from, to] for the contracts of `group` (all at cursor from − 1), hands every event to
   * the handler and saves the cursor. Returns the number of events, or "reorg" if it rewound.
   */
  private async processRange(group: ContractState[], from: number, to: number, result: PollResult): Promise<number | "reorg"> {
    const started = Date.now();
    const cursor = group[0].cursor;
    const addresses = group.map((c) => c.address);
    const topics = [...new Set(group.flatMap((c) => [...c.topics]))];

    let logs: Log[] | null = null;
    let toHash = "";
    while (logs === null) {
      const toBlock = await this.provider.getBlock(to);
      if (toBlock === null || toBlock.hash === null) {
        throw new ChainChangedError(`block ${to} disappeared while scanning [${from}, ${to}]; the chain is reorganising`);
      }
      toHash = toBlock.hash.toLowerCase();
      const fromBlock = from === to ? toBlock : await this.provider.getBlock(from);
      if (fromBlock === null || fromBlock.hash === null) {
        throw new ChainChangedError(`block ${from} disappeared while scanning [${from}, ${to}]; the chain is reorganising`);
      }
      if (cursor.hash !== null && fromBlock.parentHash.toLowerCase() !== cursor.hash.toLowerCase()) {
        result.reorgs.push(await this.rewind(group, `parent hash of block ${from} does not match the cursor`));
        return "reorg";
      }
      try {
        logs = await this.provider.getLogs({ address: addresses, topics: [topics], fromBlock: from, toBlock: to });
        this.rangeSuccesses++;
        if (this.rangeSuccesses >= 8 && this.rangeSize < this.maxBlockRange) {
          this.rangeSize = Math.min(this.maxBlockRange, this.rangeSize * 2);
          this.rangeSuccesses = 0;
        }
      } catch (error) {
        if (!isRangeTooLargeError(error) || to === from) throw error;
        this.rangeSuccesses = 0;
        this.rangeSize = Math.max(1, Math.floor((to - from + 1) / 2));
        to = from + this.rangeSize - 1;
        this.onMetric({ type: "range-shrunk", from, size: this.rangeSize });
        this.log.warn({ from, size: this.rangeSize, err: errorMessage(error) }, "eth_getLogs range too large; halving it");
      }
    }

    // The logs must belong to the blocks whose hashes we are about to store.
    for (const l of logs) {
      if (l.blockNumber === to && l.blockHash.toLowerCase() !== toHash) {
        throw new ChainChangedError(`block ${to} changed while scanning [${from}, ${to}]; the chain is reorganising`);
      }
    }

    const byAddress = new Map(group.map((c) => [c.address, c]));
    const ordered = logs
      .filter((l) => !l.removed && l.blockNumber >= from && l.blockNumber <= to)
      .sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
    const processed = new Map<number, string>();
    let delivered = 0;
    for (const l of ordered) {
      processed.set(l.blockNumber, l.blockHash.toLowerCase());
      const contract = byAddress.get(l.address.toLowerCase());
      if (contract === undefined || !contract.topics.has(l.topics[0] ?? "")) continue;
      const dedupKey = `${l.transactionHash.toLowerCase()}:${l.index}`;
      if (this.delivered.has(dedupKey)) continue;
      const parsed = contract.iface.parseLog({ topics: [...l.topics], data: l.data });
      if (parsed === null) {
        this.log.warn({ address: l.address, txHash: l.transactionHash, logIndex: l.index }, "could not decode a log; skipped");
        continue;
      }
      const event: ChainEvent = {
        id: `${this.chainId}-${l.transactionHash.toLowerCase()}-${l.index}`,
        chainId: this.chainId as bigint,
        name: parsed.name,
        signature: parsed.signature,
        args: parsed.args,
        address: contract.checksum,
        blockNumber: l.blockNumber,
        blockHash: l.blockHash.toLowerCase(),
        txHash: l.transactionHash.toLowerCase(),
        logIndex: l.index,
      };
      try {
        await this.handler(event);
      } catch (error) {
        const message = errorMessage(error);
        this.onMetric({ type: "error", stage: "handler", message });
        this.log.error({ eventId: event.id, event: event.name, block: event.blockNumber, err: message }, "event handler failed; the range will be retried");
        throw error;
      }
      this.remember(dedupKey, l.blockNumber);
      delivered++;
    }

    const next: Cursor = { block: to, hash: toHash };
    const refs: BlockRef[] = [...processed.entries()].map(([block, hash]) => ({ block, hash }));
    await this.cursors.commit(group.map((c) => ({ key: c.key, cursor: next, processed: refs, expect: c.stored ? c.cursor : null })));
    for (const c of group) {
      c.cursor = next;
      c.stored = true;
    }

    const durationMs = Date.now() - started;
    this.onMetric({ type: "range", from, to, events: delivered, durationMs });
    this.log.debug({ from, to, events: delivered, durationMs }, "range processed");
    this.emit("range", { from, to, events: delivered });
    return delivered;
  }

  /** Walks back through the ring to the newest stored block still on the chain and rewinds there. */
  private async rewind(group: ContractState[], reason: string): Promise<ReorgInfo> {
    const old = group[0].cursor;
    const ring = await this.cursors.recent(group[0].key);
    let ancestor: Cursor | null = null;
    for (const ref of ring) {
      if (ref.block > old.block) continue;
      const block = await this.provider.getBlock(ref.block);
      if (block !== null && block.hash !== null && block.hash.toLowerCase() === ref.hash.toLowerCase()) {
        ancestor = ref;
        break;
      }
    }
    if (ancestor !== null && ancestor.block === old.block) {
      // The cursor block itself is still canonical: the node answered inconsistently. Back off.
      throw new ChainChangedError(`${reason}, but block ${old.block} is still canonical; the node is mid-reorg, retrying`);
    }
    const beyondRing = ancestor === null;
    if (ancestor === null) {
      const oldest = ring.length > 0 ? ring[ring.length - 1].block : old.block;
      ancestor = { block: oldest - 1, hash: null };
    }
    const updates = group.map((c) => {
      const target: Cursor = ancestor.block < c.startBlock - 1 ? { block: c.startBlock - 1, hash: null } : ancestor;
      return { contract: c, target };
    });
    await this.cursors.commit(
      updates.map((u) => ({ key: u.contract.key, cursor: u.target, mode: "rewind" as const, expect: u.contract.stored ? u.contract.cursor : null })),
    );
    for (const u of updates) {
      u.contract.cursor = u.target;
      u.contract.stored = true;
    }
    const toBlock = Math.min(...updates.map((u) => u.target.block));
    for (const [key, block] of this.delivered) if (block > toBlock) this.delivered.delete(key);

    const info: ReorgInfo = {
      contracts: group.map((c) => c.address),
      fromBlock: old.block,
      toBlock,
      depth: old.block - toBlock,
      beyondRing,
    };
    if (beyondRing) {
      this.log.error({ ...info, reason }, "reorg deeper than the stored ring; rescanning from below the ring");
    } else {
      this.log.warn({ ...info, reason }, "reorg detected; cursor rewound");
    }
    this.onMetric({ type: "reorg", depth: info.depth, fromBlock: info.fromBlock, toBlock: info.toBlock });
    this.emit("reorg", info);
    return info;
  }

  private remember(key: string, block: number): void {
    this.delivered.set(key, block);
    if (this.delivered.size > this.dedupCapacity) {
      const oldest = this.delivered.keys().next().value;
      if (oldest !== undefined) this.delivered.delete(oldest);
    }
  }
}

// ---------------------------------------------------------------------------------------------

function backoff(baseMs: number, maxMs: number, failures: number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 20));
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

/** Messages of an error and of the JSON-RPC error nested in it (ethers wraps them). */
function errorTexts(error: unknown, depth = 0): string[] {
  if (error === null || typeof error !== "object" || depth > 4) return typeof error === "string" ? [error] : [];
  const e = error as Record<string, unknown>;
  const texts: string[] = [];
  for (const field of ["message", "shortMessage", "body"]) if (typeof e[field] === "string") texts.push(e[field] as string);
  if (typeof e.code === "number") texts.push(`code ${e.code}`);
  for (const nested of ["error", "info", "cause"]) if (e[nested] !== undefined) texts.push(...errorTexts(e[nested], depth + 1));
  return texts;
}

const RANGE_TOO_LARGE =
  /block range|range (is )?too (large|wide|big)|too (large|wide) (a )?range|too many (results|logs|blocks)|more than \d+ (results|logs)|returned more than|response (size|is too)|result(s)? (set )?(is )?too large|limit exceeded|exceeds? (the )?(max|limit)|query timeout|code -32005/i;

/** True when a node refused eth_getLogs because the range or its result was too large. */
export function isRangeTooLargeError(error: unknown): boolean {
  return errorTexts(error).some((t) => RANGE_TOO_LARGE.test(t));
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
