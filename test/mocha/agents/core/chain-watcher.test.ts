import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import {
  Contract,
  ContractFactory,
  Interface,
  JsonRpcProvider,
  Wallet,
  type JsonRpcPayload,
  type JsonRpcResult,
  type JsonRpcError,
  type TransactionReceipt,
} from "ethers";
import {
  ChainWatcher,
  isRangeTooLargeError,
  type ChainEvent,
  type ChainWatcherOptions,
  type LoggerLike,
  type ReorgInfo,
  type WatcherMetric,
} from "../../../../agents/src/core/chain-watcher.js";
import { CursorStore } from "../../../../agents/src/core/cursor-store.js";
import { hardhatAccount, startHardhatNode, type HardhatNode } from "../../../../agents/src/devnet/hardhat-node.js";
import { compileSolidity, type CompiledContract } from "../../../helpers/solc.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

const EMITTER_SOURCE = `
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
contract Emitter {
    event Ping(uint256 indexed n, address indexed from, string note);
    event Pong(uint256 n);
    event Noise(uint256 n);
    function ping(uint256 n, string calldata note) external { emit Ping(n, msg.sender, note); emit Noise(n); }
    function pingMany(uint256 start, uint256 count) external {
        for (uint256 i = 0; i < count; i++) emit Ping(start + i, msg.sender, "");
    }
    function pong(uint256 n) external { emit Pong(n); }
}
`;

/** A logger that records every line, for assertions on what the watcher reported. */
function captureLogger(): { log: LoggerLike; lines: { level: string; obj: Record<string, unknown>; msg?: string }[] } {
  const lines: { level: string; obj: Record<string, unknown>; msg?: string }[] = [];
  const make = (bindings: Record<string, unknown>): LoggerLike => ({
    info: (obj, msg) => lines.push({ level: "info", obj: { ...bindings, ...obj }, msg }),
    warn: (obj, msg) => lines.push({ level: "warn", obj: { ...bindings, ...obj }, msg }),
    error: (obj, msg) => lines.push({ level: "error", obj: { ...bindings, ...obj }, msg }),
    debug: (obj, msg) => lines.push({ level: "debug", obj: { ...bindings, ...obj }, msg }),
    child: (more) => make({ ...bindings, ...more }),
  });
  return { log: make({}), lines };
}

/** A provider whose node refuses eth_getLogs over more than `maxBlocks` blocks, like public RPCs do. */
class RangeLimitedProvider extends JsonRpcProvider {
  readonly getLogsRanges: [number, number][] = [];
  refused = 0;
  constructor(
    url: string,
    chainId: bigint,
    private readonly maxBlocks: number,
  ) {
    super(url, Number(chainId), { staticNetwork: true, cacheTimeout: -1, batchMaxCount: 1 });
  }
  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const list = Array.isArray(payload) ? payload : [payload];
    const single = list[0];
    if (list.length === 1 && single.method === "eth_getLogs") {
      const filter = (single.params as { fromBlock: string; toBlock: string }[])[0];
      const from = Number(BigInt(filter.fromBlock));
      const to = Number(BigInt(filter.toBlock));
      this.getLogsRanges.push([from, to]);
      if (to - from + 1 > this.maxBlocks) {
        this.refused++;
        const refusal: JsonRpcError = {
          id: single.id,
          error: { code: -32005, message: `query exceeds max block range ${this.maxBlocks}` },
        };
        // JsonRpcProvider declares results only, but error objects travel the same way.
        return [refusal as unknown as JsonRpcResult];
      }
    }
    return super._send(payload);
  }
}

describe("agents/core ChainWatcher (real Hardhat node + Redis)", function () {
  this.timeout(120_000);

  let node: HardhatNode;
  let provider: JsonRpcProvider;
  let wallet: Wallet;
  let redis: Redis;
  let store: CursorStore;
  let emitterArtifact: CompiledContract;
  const iface = () => new Interface(emitterArtifact.abi as never);
  const runId = randomBytes(4).toString("hex");
  let nameCounter = 0;
  const names: string[] = [];
  const watchers: ChainWatcher[] = [];
  const providers: JsonRpcProvider[] = [];

  before(async function () {
    [node, emitterArtifact] = await Promise.all([startHardhatNode(), compileSolidity(EMITTER_SOURCE, "Emitter")]);
    provider = node.provider();
    wallet = new Wallet(hardhatAccount(0).privateKey, provider);
    redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
    await redis.connect();
    store = new CursorStore(redis);
  });

  afterEach(async function () {
    await Promise.all(watchers.splice(0).map((w) => w.stop().catch(() => undefined)));
  });

  after(async function () {
    // Remove every cursor this run wrote.
    for (const name of names) {
      const keys = await redis.keys(`daios:cursor:*:*:${name}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    for (const p of [provider, ...providers]) p?.destroy();
    await redis?.quit();
    await node?.stop();
  });

  function freshName(): string {
    const name = `test-watcher-${runId}-${nameCounter++}`;
    names.push(name);
    return name;
  }

  async function deployEmitter(): Promise<{ contract: Contract; address: string; block: number }> {
    const factory = new ContractFactory(emitterArtifact.abi as never, emitterArtifact.bytecode, wallet);
    const contract = (await factory.deploy()) as Contract;
    const receipt = (await contract.deploymentTransaction()?.wait()) as TransactionReceipt;
    return { contract, address: await contract.getAddress(), block: receipt.blockNumber };
  }

  async function send(contract: Contract, method: string, ...args: unknown[]): Promise<TransactionReceipt> {
    const tx = await contract.getFunction(method)(...args);
    return (await tx.wait()) as TransactionReceipt;
  }

  /** The ids of the watched events in the receipts, in chain order. */
  function expectedIds(receipts: TransactionReceipt[], watched: Record<string, string[] | undefined>): string[] {
    const i = iface();
    const logs = receipts
      .flatMap((r) => r.logs)
      .filter((l) => {
        const key = l.address.toLowerCase();
        if (!(key in watched)) return false;
        const events = watched[key];
        const parsed = i.parseLog({ topics: [...l.topics], data: l.data });
        return parsed !== null && (events === undefined || events.includes(parsed.name));
      })
      .sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
    return logs.map((l) => `${node.chainId}-${l.transactionHash.toLowerCase()}-${l.index}`);
  }

  function makeWatcher(
    options: Partial<ChainWatcherOptions> & Pick<ChainWatcherOptions, "name" | "contracts" | "startBlock">,
  ): { watcher: ChainWatcher; events: ChainEvent[]; metrics: WatcherMetric[]; reorgs: ReorgInfo[] } {
    const events: ChainEvent[] = [];
    const metrics: WatcherMetric[] = [];
    const reorgs: ReorgInfo[] = [];
    const watcherProvider = options.provider ?? node.provider();
    if (watcherProvider instanceof JsonRpcProvider) providers.push(watcherProvider);
    const watcher = new ChainWatcher({
      provider: watcherProvider,
      cursors: store,
      confirmations: 0,
      pollIntervalMs: 100,
      retryBaseMs: 50,
      retryMaxMs: 200,
      handler: async (e) => {
        events.push(e);
      },
      onMetric: (m) => metrics.push(m),
      ...options,
    });
    watcher.on("reorg", (info) => reorgs.push(info));
    watchers.push(watcher);
    return { watcher, events, metrics, reorgs };
  }

  it("delivers the events of N transactions exactly once, in chain order, over several bounded ranges", async function () {
    const a = await deployEmitter();
    const b = await deployEmitter();
    const receipts: TransactionReceipt[] = [];
    for (let i = 0; i < 8; i++) {
      receipts.push(await send(a.contract, "ping", i, `note-${i}`));
      receipts.push(await send(b.contract, "pong", 100 + i));
      if (i % 3 === 0) receipts.push(await send(a.contract, "pingMany", 1000 + i * 10, 3));
    }
    // Three transactions of both contracts in one block: order must follow logIndex across txs.
    await node.setAutomine(false);
    const nonce = await provider.getTransactionCount(wallet.address, "pending");
    const pending = [
      await a.contract.getFunction("pingMany")(5000, 2, { nonce }),
      await b.contract.getFunction("pong")(5001, { nonce: nonce + 1 }),
      await a.contract.getFunction("ping")(5002, "same-block", { nonce: nonce + 2 }),
    ];
    await node.mine();
    await node.setAutomine(true);
    for (const tx of pending) receipts.push((await tx.wait()) as TransactionReceipt);
    expect(new Set(receipts.slice(-3).map((r) => r.blockNumber)).size).to.equal(1);

    const watched = { [a.address.toLowerCase()]: ["Ping"], [b.address.toLowerCase()]: undefined };
    const expected = expectedIds(receipts, watched);
    expect(expected.length).to.equal(8 + 8 + 3 * 3 + 2 + 1 + 1);

    const { watcher, events, metrics } = makeWatcher({
      name: freshName(),
      contracts: [
        { address: a.address, abi: iface(), events: ["Ping"] },
        { address: b.address, abi: emitterArtifact.abi as never },
      ],
      startBlock: a.block,
      maxBlockRange: 3,
    });
    await watcher.start();
    const cursor = await watcher.onceCaughtUp({ timeoutMs: 30_000 });
    const head = await provider.getBlockNumber();
    expect(cursor).to.equal(head);

    expect(events.map((e) => e.id)).to.deep.equal(expected);
    expect(events.every((e) => e.name === "Ping" || e.address === b.address)).to.equal(true);
    expect(events.some((e) => e.name === "Noise")).to.equal(false);
    const first = events[0];
    expect(first.name).to.equal("Ping");
    expect(first.address).to.equal(a.address);
    expect(first.args.n).to.equal(0n);
    expect(first.args.note).to.equal("note-0");
    expect(first.args.from).to.equal(wallet.address);
    expect(first.signature).to.equal("Ping(uint256,address,string)");
    expect(first.id).to.equal(`${node.chainId}-${first.txHash}-${first.logIndex}`);
    expect(first.id).to.not.include(":");
    expect(first.blockHash).to.equal((await provider.getBlock(first.blockNumber))?.hash);

    // Bounded, contiguous ranges from the start block to the head.
    const ranges = metrics.filter((m): m is Extract<WatcherMetric, { type: "range" }> => m.type === "range");
    expect(ranges.length).to.be.at.least(Math.ceil((head - a.block + 1) / 3));
    expect(ranges[0].from).to.equal(a.block);
    for (const r of ranges) expect(r.to - r.from + 1).to.be.within(1, 3);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i].from).to.equal(ranges[i - 1].to + 1);
    expect(ranges[ranges.length - 1].to).to.equal(head);

    // Both cursors saved at the head with its hash.
    const headHash = (await provider.getBlock(head))?.hash;
    for (const address of [a.address, b.address]) {
      expect(await store.get({ chainId: node.chainId, contract: address, name: watcher.name })).to.deep.equal({
        block: head,
        hash: headHash,
      });
    }

    // Nothing new: another poll delivers nothing.
    await watcher.onceCaughtUp({ timeoutMs: 10_000 });
    expect(events.length).to.equal(expected.length);
  });

  it("resumes after a restart from the stored cursor, with no duplicates and no gaps", async function () {
    const a = await deployEmitter();
    const name = freshName();
    const receipts: TransactionReceipt[] = [];
    for (let i = 0; i < 4; i++) receipts.push(await send(a.contract, "ping", i, "before"));

    const first = makeWatcher({ name, contracts: [{ address: a.address, abi: iface(), events: ["Ping"] }], startBlock: a.block, maxBlockRange: 2 });
    await first.watcher.start();
    await first.watcher.onceCaughtUp({ timeoutMs: 30_000 });
    await first.watcher.stop();
    const delivered1 = first.events.map((e) => e.id);
    expect(delivered1).to.deep.equal(expectedIds(receipts, { [a.address.toLowerCase()]: ["Ping"] }));

    const later: TransactionReceipt[] = [];
    for (let i = 4; i < 9; i++) later.push(await send(a.contract, "ping", i, "while stopped"));
    await node.mine(2);
    expect(first.events.length).to.equal(4); // a stopped watcher delivers nothing

    const second = makeWatcher({ name, contracts: [{ address: a.address, abi: iface(), events: ["Ping"] }], startBlock: a.block, maxBlockRange: 2 });
    await second.watcher.start();
    await second.watcher.onceCaughtUp({ timeoutMs: 30_000 });
    const delivered2 = second.events.map((e) => e.id);
    expect(delivered2).to.deep.equal(expectedIds(later, { [a.address.toLowerCase()]: ["Ping"] }));
    expect([...delivered1, ...delivered2]).to.deep.equal(
      expectedIds([...receipts, ...later], { [a.address.toLowerCase()]: ["Ping"] }),
    );
    expect(second.events.map((e) => Number(e.args.n))).to.deep.equal([4, 5, 6, 7, 8]);
  });

  it("holds back the last `confirmations` blocks", async function () {
    const a = await deployEmitter();
    const receipts: TransactionReceipt[] = [];
    for (let i = 0; i < 5; i++) receipts.push(await send(a.contract, "pong", i));
    const { watcher, events } = makeWatcher({
      name: freshName(),
      contracts: [{ address: a.address, abi: iface() }],
      startBlock: a.block,
      confirmations: 3,
    });
    const head = await provider.getBlockNumber();
    const result = await watcher.pollOnce();
    expect(result.head).to.equal(head - 3);
    expect(result.cursor).to.equal(head - 3);
    expect(events.map((e) => Number(e.args.n))).to.deep.equal([0, 1]);
    expect(events.every((e) => e.blockNumber <= head - 3)).to.equal(true);
    expect((await store.get({ chainId: node.chainId, contract: a.address, name: watcher.name }))?.block).to.equal(head - 3);

    await node.mine(2);
    await watcher.pollOnce();
    expect(events.map((e) => Number(e.args.n))).to.deep.equal([0, 1, 2, 3]);
    await node.mine(1);
    await watcher.pollOnce();
    expect(events.map((e) => e.id)).to.deep.equal(expectedIds(receipts, { [a.address.toLowerCase()]: undefined }));
  });

  it("detects a reorg while running, rewinds and delivers the new canonical events", async function () {
    const a = await deployEmitter();
    const { watcher, events, reorgs } = makeWatcher({
      name: freshName(),
      contracts: [{ address: a.address, abi: iface(), events: ["Ping"] }],
      startBlock: a.block,
    });
    await send(a.contract, "ping", 1, "common");
    await send(a.contract, "ping", 2, "common");
    await watcher.start();
    const base = await watcher.onceCaughtUp({ timeoutMs: 30_000 });
    expect(base).to.equal(await provider.getBlockNumber());

    const snapshot = await node.snapshot();
    await send(a.contract, "ping", 10, "orphaned");
    await send(a.contract, "ping", 11, "orphaned");
    await watcher.onceCaughtUp({ timeoutMs: 30_000 });
    expect(events.map((e) => Number(e.args.n))).to.deep.equal([1, 2, 10, 11]);
    expect(reorgs).to.deep.equal([]);

    await node.revert(snapshot);
    const canonical: TransactionReceipt[] = [];
    for (const n of [20, 21, 22]) canonical.push(await send(a.contract, "ping", n, "canonical"));
    await watcher.onceCaughtUp({ timeoutMs: 30_000 });

    expect(reorgs.length).to.equal(1);
    expect(reorgs[0]).to.include({ fromBlock: base + 2, toBlock: base, depth: 2, beyondRing: false });
    expect(events.map((e) => Number(e.args.n))).to.deep.equal([1, 2, 10, 11, 20, 21, 22]);
    expect(events.slice(4).map((e) => e.id)).to.deep.equal(expectedIds(canonical, { [a.address.toLowerCase()]: ["Ping"] }));
    const head = await provider.getBlock("latest");
    const key = { chainId: node.chainId, contract: a.address, name: watcher.name };
    expect(await store.get(key)).to.deep.equal({ block: head?.number, hash: head?.hash });
    // The ring holds only canonical blocks.
    for (const ref of await store.recent(key)) {
      expect((await provider.getBlock(ref.block))?.hash, `ring block ${ref.block}`).to.equal(ref.hash);
    }
  });

  it("detects a same-height reorg across a restart from the stored ring", async function () {
    const a = await deployEmitter();
    const name = freshName();
    const contracts = [{ address: a.address, abi: iface(), events: ["Ping"] }];
    await send(a.contract, "ping", 1, "common");
    const first = makeWatcher({ name, contracts, startBlock: a.block });
    await first.watcher.pollOnce();
    const base = first.watcher.cursor().block;
    const snapshot = await node.snapshot();
    await send(a.contract, "ping", 10, "orphaned");
    await send(a.contract, "ping", 11, "orphaned");
    await first.watcher.pollOnce();
    const orphanHash = (await provider.getBlock(base + 2))?.hash;
    expect(first.watcher.cursor()).to.deep.equal({ block: base + 2, hash: orphanHash });
    await first.watcher.stop();

    await node.revert(snapshot);
    // Same height as the old cursor, different blocks.
    await send(a.contract, "ping", 20, "canonical");
    await send(a.contract, "ping", 21, "canonical");
    expect(await provider.getBlockNumber()).to.equal(base + 2);
    expect((await provider.getBlock(base + 2))?.hash).to.not.equal(orphanHash);

    const second = makeWatcher({ name, contracts, startBlock: a.block });
    const result = await second.watcher.pollOnce();
    expect(result.reorgs.length).to.equal(1);
    expect(second.reorgs[0]).to.include({ fromBlock: base + 2, toBlock: base, depth: 2 });
    expect(second.events.map((e) => Number(e.args.n))).to.deep.equal([20, 21]);
    expect(second.watcher.cursor()).to.deep.equal({ block: base + 2, hash: (await provider.getBlock(base + 2))?.hash });
  });

  it("does not advance the cursor past a range whose handler threw, and retries it", async function () {
    const a = await deployEmitter();
    const receipts: TransactionReceipt[] = [];
    for (let i = 1; i <= 6; i++) receipts.push(await send(a.contract, "pong", i));
    const attempts = new Map<number, number>();
    const delivered: number[] = [];
    let failNext = true;
    const { watcher } = makeWatcher({
      name: freshName(),
      contracts: [{ address: a.address, abi: iface() }],
      startBlock: receipts[0].blockNumber,
      maxBlockRange: 2,
      handler: async (e) => {
        const n = Number(e.args.n);
        attempts.set(n, (attempts.get(n) ?? 0) + 1);
        if (n === 4 && failNext) {
          failNext = false;
          throw new Error("downstream unavailable");
        }
        delivered.push(n);
      },
    });
    // Ranges: [b1,b2] [b3,b4] [b5,b6]; event 4 is the second of the second range.
    const error = await watcher.pollOnce().catch((e: unknown) => e);
    expect((error as Error).message).to.equal("downstream unavailable");
    const key = { chainId: node.chainId, contract: a.address, name: watcher.name };
    expect((await store.get(key))?.block).to.equal(receipts[1].blockNumber);
    expect(watcher.cursor().block).to.equal(receipts[1].blockNumber);
    expect(delivered).to.deep.equal([1, 2, 3]);

    await watcher.pollOnce();
    expect(delivered).to.deep.equal([1, 2, 3, 4, 5, 6]); // 3 is not handed over twice
    expect(attempts.get(4)).to.equal(2);
    expect(attempts.get(3)).to.equal(1);
    expect((await store.get(key))?.block).to.equal(receipts[5].blockNumber);
  });

  it("keeps retrying a failing handler in the background loop until it succeeds", async function () {
    const a = await deployEmitter();
    for (let i = 1; i <= 3; i++) await send(a.contract, "pong", i);
    let failures = 0;
    const delivered: number[] = [];
    const { watcher, metrics } = makeWatcher({
      name: freshName(),
      contracts: [{ address: a.address, abi: iface() }],
      startBlock: a.block,
      handler: async (e) => {
        if (Number(e.args.n) === 2 && failures < 3) {
          failures++;
          throw new Error("try again");
        }
        delivered.push(Number(e.args.n));
      },
    });
    await watcher.start();
    await watcher.onceCaughtUp({ timeoutMs: 30_000 });
    expect(failures).to.equal(3);
    expect(delivered).to.deep.equal([1, 2, 3]);
    expect(metrics.filter((m) => m.type === "error" && m.stage === "handler").length).to.equal(3);
  });

  it("halves the eth_getLogs range when the node refuses it, and still delivers everything", async function () {
    const a = await deployEmitter();
    const receipts: TransactionReceipt[] = [];
    for (let i = 0; i < 7; i++) receipts.push(await send(a.contract, "pong", i));
    const limited = new RangeLimitedProvider(node.url, node.chainId, 2);
    const { log, lines } = captureLogger();
    const { watcher, events } = makeWatcher({
      name: freshName(),
      contracts: [{ address: a.address, abi: iface() }],
      startBlock: a.block,
      maxBlockRange: 8,
      provider: limited,
      log,
    });
    providers.push(limited);
    await watcher.pollOnce();
    expect(events.map((e) => e.id)).to.deep.equal(expectedIds(receipts, { [a.address.toLowerCase()]: undefined }));
    expect(limited.refused).to.be.at.least(1);
    const accepted = limited.getLogsRanges.filter(([f, t]) => t - f + 1 <= 2);
    expect(accepted.length).to.be.at.least(4);
    expect(lines.some((l) => l.level === "warn" && /range too large/.test(l.msg ?? ""))).to.equal(true);
  });

  it("recognises the usual 'range too large' errors and nothing else", function () {
    expect(isRangeTooLargeError(new Error("query returned more than 10000 results"))).to.equal(true);
    expect(isRangeTooLargeError({ error: { code: -32005, message: "limit exceeded" } })).to.equal(true);
    expect(isRangeTooLargeError({ info: { error: { code: -32602, message: "eth_getLogs block range too large" } } })).to.equal(true);
    expect(isRangeTooLargeError(new Error("connection refused"))).to.equal(false);
    expect(isRangeTooLargeError(new Error("execution reverted"))).to.equal(false);
  });

  it("gives a contract added later its own cursor without re-delivering the others' events", async function () {
    const a = await deployEmitter();
    const name = freshName();
    await send(a.contract, "pong", 1);
    const first = makeWatcher({ name, contracts: [{ address: a.address, abi: iface() }], startBlock: a.block });
    await first.watcher.pollOnce();
    expect(first.events.map((e) => Number(e.args.n))).to.deep.equal([1]);

    const b = await deployEmitter();
    await send(b.contract, "pong", 100);
    await send(a.contract, "pong", 2);
    await send(b.contract, "pong", 101);
    const second = makeWatcher({
      name,
      contracts: [
        { address: a.address, abi: iface() },
        { address: b.address, abi: iface(), startBlock: b.block },
      ],
      startBlock: a.block,
      maxBlockRange: 100,
    });
    await second.watcher.pollOnce();
    expect(second.events.map((e) => Number(e.args.n))).to.deep.equal([100, 2, 101]);
    const head = await provider.getBlockNumber();
    for (const address of [a.address, b.address]) {
      expect((await store.get({ chainId: node.chainId, contract: address, name }))?.block).to.equal(head);
    }
  });

  it("stop() waits for the range in flight and leaves the cursor at its end", async function () {
    const a = await deployEmitter();
    for (let i = 1; i <= 4; i++) await send(a.contract, "pong", i);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    const delivered: number[] = [];
    const { watcher } = makeWatcher({
      name: freshName(),
      contracts: [{ address: a.address, abi: iface() }],
      startBlock: a.block,
      maxBlockRange: 3,
      handler: async (e) => {
        entered();
        await gate;
        delivered.push(Number(e.args.n));
      },
    });
    await watcher.start();
    await inHandler;
    let stopped = false;
    const stopping = watcher.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(stopped).to.equal(false);
    release();
    await stopping;
    // The first range [deploy, deploy+2] holds events 1 and 2; nothing after it was started.
    expect(delivered).to.deep.equal([1, 2]);
    expect((await store.get({ chainId: node.chainId, contract: a.address, name: watcher.name }))?.block).to.equal(a.block + 2);
  });
});
