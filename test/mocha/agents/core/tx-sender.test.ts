import { expect } from "chai";
import { Writable } from "node:stream";
import { UnrecoverableError } from "bullmq";
import { pino } from "pino";
import { Contract, ContractFactory, Interface, JsonRpcProvider, Wallet, parseUnits } from "ethers";
import {
  NonceManager,
  TxRevertedError,
  TxSender,
  TxTimeoutError,
  type TxMetric,
  type TxSenderOptions,
} from "../../../../agents/src/core/tx-sender.js";
import { hardhatAccount, startHardhatNode, type HardhatNode } from "../../../../agents/src/devnet/hardhat-node.js";
import { compileSolidity, type CompiledContract } from "../../../helpers/solc.js";

const REGISTRY_SOURCE = `
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
contract Registry {
    error RegistryProofAlreadyAccepted(uint256 period, address prover);
    event ProofAccepted(uint256 indexed period, address indexed prover);
    mapping(uint256 => bool) public accepted;
    uint256 public submissions;
    function submit(uint256 period) external {
        if (accepted[period]) revert RegistryProofAlreadyAccepted(period, msg.sender);
        accepted[period] = true;
        submissions++;
        emit ProofAccepted(period, msg.sender);
    }
}
`;

interface LogLine {
  level: number;
  msg: string;
  label?: string;
  nonce?: number;
  txHash?: string;
  attempt?: number;
  component?: string;
  [key: string]: unknown;
}

/** A real pino logger writing JSON lines into memory. */
function memoryPino(): { logger: ReturnType<typeof pino>; lines: () => LogLine[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString("utf8"));
      callback();
    },
  });
  const logger = pino({ level: "debug" }, stream) as ReturnType<typeof pino>;
  return {
    logger,
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as LogLine),
  };
}

describe("agents/core TxSender (real Hardhat node)", function () {
  this.timeout(120_000);

  let node: HardhatNode;
  let provider: JsonRpcProvider;
  let artifact: CompiledContract;
  let iface: Interface;
  let registry: Contract;
  let registryAddress: string;
  let period = 1;
  const providers: JsonRpcProvider[] = [];

  before(async function () {
    [node, artifact] = await Promise.all([startHardhatNode(), compileSolidity(REGISTRY_SOURCE, "Registry")]);
    provider = node.provider();
    iface = new Interface(artifact.abi as never);
    const deployer = new Wallet(hardhatAccount(0).privateKey, provider);
    registry = (await new ContractFactory(artifact.abi as never, artifact.bytecode, deployer).deploy()) as Contract;
    await registry.waitForDeployment();
    registryAddress = await registry.getAddress();
    NonceManager.clearRegistry();
  });

  after(async function () {
    for (const p of [provider, ...providers]) p?.destroy();
    await node?.stop();
  });

  function makeSender(account: number, options: Partial<TxSenderOptions> = {}): { sender: TxSender; metrics: TxMetric[] } {
    const metrics: TxMetric[] = [];
    const p = node.provider();
    providers.push(p);
    const sender = new TxSender({
      provider: p,
      privateKey: hardhatAccount(account).privateKey,
      interfaces: [iface],
      receiptPollMs: 50,
      retryBaseMs: 20,
      retryMaxMs: 100,
      onMetric: (m) => metrics.push(m),
      ...options,
    });
    return { sender, metrics };
  }

  const submitRequest = (p: number, extra: Record<string, unknown> = {}) => ({
    label: `submitProof:${p}`,
    build: () => ({ to: registryAddress, data: iface.encodeFunctionData("submit", [p]) }),
    ...extra,
  });

  it("sends, waits for the receipt, and logs one JSON line per attempt with label, nonce and hash", async function () {
    const { logger, lines } = memoryPino();
    const { sender } = makeSender(1, { log: logger });
    const before = await provider.getTransactionCount(sender.address, "latest");
    const p = period++;
    const result = await sender.send(submitRequest(p));
    if (result.skipped) throw new Error("unexpectedly skipped");
    expect(result.receipt.status).to.equal(1);
    expect(result.nonce).to.equal(before);
    expect(result.gasUsed).to.equal(result.receipt.gasUsed);
    expect(result.gasUsed > 21_000n).to.equal(true);
    expect(result.attempts).to.equal(1);
    expect(await registry.getFunction("accepted")(p)).to.equal(true);
    expect(await provider.getTransactionCount(sender.address, "latest")).to.equal(before + 1);

    const sent = lines().filter((l) => l.msg === "transaction sent");
    expect(sent.length).to.equal(1);
    expect(sent[0]).to.include({ label: `submitProof:${p}`, nonce: before, txHash: result.txHash, component: "tx-sender" });
    const mined = lines().filter((l) => l.msg === "transaction mined");
    expect(mined.length).to.equal(1);
    expect(mined[0].gasUsed).to.equal(String(result.gasUsed));
  });

  it("gives concurrent sends from one key (two sender instances) distinct consecutive nonces", async function () {
    const a = makeSender(2);
    const b = makeSender(2);
    expect(await a.sender.nonceManager()).to.equal(await b.sender.nonceManager());
    const start = await provider.getTransactionCount(a.sender.address, "pending");
    const sends = Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).sender.send(submitRequest(period++)));
    const results = await Promise.all(sends);
    const nonces = results.map((r) => (r.skipped ? -1 : r.nonce)).sort((x, y) => x - y);
    expect(nonces).to.deep.equal(Array.from({ length: 8 }, (_, i) => start + i));
    for (const r of results) expect(!r.skipped && r.receipt.status === 1).to.equal(true);
    expect(await provider.getTransactionCount(a.sender.address, "latest")).to.equal(start + 8);
    expect((await a.sender.nonceManager()).pending()).to.deep.equal([]);
    // First broadcasts go out in nonce order, so even Hardhat's automine (which cannot queue a
    // future nonce) accepted every one of them at once: no retries.
    expect([...a.metrics, ...b.metrics].filter((m) => m.type === "retry")).to.deep.equal([]);
    expect([...a.metrics, ...b.metrics].filter((m) => m.type === "attempt").length).to.equal(8);
  });

  it("skips without sending when isDone() reads that the effect is already on chain", async function () {
    const { sender, metrics } = makeSender(3);
    const p = period++;
    const isDone = async () => (await registry.getFunction("accepted")(p)) as boolean;
    const first = await sender.send(submitRequest(p, { isDone }));
    expect(first.skipped).to.equal(false);
    const count = await provider.getTransactionCount(sender.address, "pending");
    const submissions = await registry.getFunction("submissions")();

    // The job is retried (say, the worker died after sending): nothing is sent again.
    let built = false;
    const again = await sender.send({ ...submitRequest(p, { isDone }), build: () => ((built = true), submitRequest(p).build()) });
    expect(again).to.deep.equal({ skipped: true, reason: "done" });
    expect(built).to.equal(false);
    expect(await provider.getTransactionCount(sender.address, "pending")).to.equal(count);
    expect(await registry.getFunction("submissions")()).to.equal(submissions);
    expect(metrics.filter((m) => m.type === "attempt").length).to.equal(1);

    const vetoed = await sender.send(submitRequest(period++, { precheck: async () => false }));
    expect(vetoed).to.deep.equal({ skipped: true, reason: "precheck" });
    expect(await provider.getTransactionCount(sender.address, "pending")).to.equal(count);
  });

  it("throws TxRevertedError with the decoded custom error when estimation reverts, and uses no nonce", async function () {
    const { sender, metrics } = makeSender(4);
    const p = period++;
    await sender.send(submitRequest(p));
    const count = await provider.getTransactionCount(sender.address, "pending");
    const error = await sender.send(submitRequest(p)).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TxRevertedError);
    expect(error).to.be.instanceOf(UnrecoverableError); // BullMQ will not retry it
    const reverted = error as TxRevertedError;
    expect(reverted.errorName).to.equal("RegistryProofAlreadyAccepted");
    expect(reverted.stage).to.equal("estimate");
    expect(reverted.errorArgs[0]).to.equal(BigInt(p));
    expect(reverted.errorArgs[1]).to.equal(sender.address);
    expect(reverted.message).to.include(`RegistryProofAlreadyAccepted(${p}, ${sender.address})`);
    expect(await provider.getTransactionCount(sender.address, "pending")).to.equal(count);
    expect(metrics.filter((m) => m.type === "retry")).to.deep.equal([]); // permanent: no retry

    // The next send still gets the next nonce (no gap left behind).
    const next = await sender.send(submitRequest(period++));
    expect(!next.skipped && next.nonce).to.equal(count);
  });

  it("decodes the custom error of a transaction that reverted on chain", async function () {
    const { sender } = makeSender(5);
    const p = period++;
    await sender.send(submitRequest(p));
    const error = await sender
      .send({ ...submitRequest(p), build: () => ({ ...submitRequest(p).build(), gasLimit: 200_000n }) })
      .catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TxRevertedError);
    const reverted = error as TxRevertedError;
    expect(reverted.stage).to.equal("mined");
    expect(reverted.errorName).to.equal("RegistryProofAlreadyAccepted");
    expect(reverted.receipt?.status).to.equal(0);
  });

  it("resynchronises the nonce after another client used the key, and retries", async function () {
    const { sender, metrics } = makeSender(6);
    await sender.send(submitRequest(period++)); // the manager now tracks this key
    const outsider = new Wallet(hardhatAccount(6).privateKey, provider);
    await (await outsider.sendTransaction({ to: outsider.address, value: 1n })).wait();
    const expectedNonce = await provider.getTransactionCount(sender.address, "pending");
    const result = await sender.send(submitRequest(period++));
    expect(!result.skipped && result.nonce).to.equal(expectedNonce);
    expect(metrics.filter((m) => m.type === "retry" && m.kind === "nonce").length).to.equal(1);
  });

  it("replaces a stuck transaction with the same nonce and bumped fees; only one is mined", async function () {
    const { logger, lines } = memoryPino();
    const { sender, metrics } = makeSender(7, { log: logger, confirmTimeoutMs: 1_500, feeBumpPercent: 12.5 });
    const gwei = (n: string) => parseUnits(n, "gwei");
    await node.rpc("hardhat_setNextBlockBaseFeePerGas", [`0x${gwei("1").toString(16)}`]);
    await node.mine();
    const nonce = await provider.getTransactionCount(sender.address, "pending");
    await node.setAutomine(false);
    let mining = true;
    // Blocks keep coming, but their base fee (5 gwei) is above what the first attempt offers.
    const miner = (async () => {
      while (mining) {
        await node.rpc("hardhat_setNextBlockBaseFeePerGas", [`0x${gwei("5").toString(16)}`]);
        await node.mine();
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    try {
      const p = period++;
      const initial = { maxFeePerGas: gwei("2"), maxPriorityFeePerGas: gwei("1") };
      const result = await sender.send(submitRequest(p, { fees: initial }));
      if (result.skipped) throw new Error("unexpectedly skipped");

      const attempts = metrics.filter((m): m is Extract<TxMetric, { type: "attempt" }> => m.type === "attempt");
      expect(attempts.length).to.be.at.least(2);
      expect(new Set(attempts.map((a) => a.nonce))).to.deep.equal(new Set([nonce]));
      expect(new Set(attempts.map((a) => a.txHash)).size).to.equal(attempts.length);
      for (let i = 1; i < attempts.length; i++) {
        const prev = attempts[i - 1].fees;
        const cur = attempts[i].fees;
        expect(cur.maxFeePerGas * 1000n >= prev.maxFeePerGas * 1125n).to.equal(true);
        expect(cur.maxPriorityFeePerGas * 1000n >= prev.maxPriorityFeePerGas * 1125n).to.equal(true);
      }
      expect(result.txHash).to.equal(attempts[attempts.length - 1].txHash);
      expect(result.attempts).to.equal(attempts.length);
      expect(result.nonce).to.equal(nonce);
      // The first attempt never made it into a block; exactly one transaction used the nonce.
      expect(await provider.getTransactionReceipt(attempts[0].txHash)).to.equal(null);
      expect(await provider.getTransactionCount(sender.address, "latest")).to.equal(nonce + 1);
      expect(await registry.getFunction("accepted")(p)).to.equal(true);
      const mined = await provider.getTransaction(result.txHash);
      expect(mined?.nonce).to.equal(nonce);

      const logged = lines().filter((l) => l.label === `submitProof:${p}` && typeof l.txHash === "string" && l.attempt !== undefined);
      expect(logged.map((l) => l.txHash)).to.deep.equal(attempts.map((a) => a.txHash));
      expect(logged.every((l) => l.nonce === nonce)).to.equal(true);
      expect(logged[1].msg).to.equal("transaction replaced with higher fees");
    } finally {
      mining = false;
      await miner;
      await node.setAutomine(true);
    }
  });

  it("gives up with TxTimeoutError after maxReplacements, keeping the nonce reserved", async function () {
    const { sender, metrics } = makeSender(8, { confirmTimeoutMs: 300, maxReplacements: 1 });
    const nonce = await provider.getTransactionCount(sender.address, "pending");
    await node.setAutomine(false);
    try {
      const error = await sender.send(submitRequest(period++)).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(TxTimeoutError);
      const timeout = error as TxTimeoutError;
      expect(timeout.nonce).to.equal(nonce);
      expect(timeout.hashes.length).to.equal(2); // the first attempt and one replacement
      expect(metrics.filter((m) => m.type === "retry")).to.deep.equal([]); // not retried in-process
      // The nonce stays used: the replacement is still in the mempool.
      const manager = await sender.nonceManager();
      expect(await manager.acquire()).to.equal(nonce + 1);
      manager.release(nonce + 1, false);
      await node.mine();
      const receipt = await provider.getTransactionReceipt(timeout.hashes[1]);
      expect(receipt?.status).to.equal(1);
    } finally {
      await node.setAutomine(true);
    }
  });

  it("hands out a nonce returned unused before new ones, and resyncs from the pending count", async function () {
    let onChain = 10;
    const manager = NonceManager.for(999n, hardhatAccount(9).address, { getTransactionCount: async () => onChain });
    expect(NonceManager.for(999n, hardhatAccount(9).address.toLowerCase(), { getTransactionCount: async () => 0 })).to.equal(manager);
    const [a, b, c] = await Promise.all([manager.acquire(), manager.acquire(), manager.acquire()]);
    expect([a, b, c]).to.deep.equal([10, 11, 12]);
    manager.release(b, false); // never broadcast
    expect(await manager.acquire()).to.equal(11);
    manager.release(c, false); // the highest: simply handed out again next
    expect(await manager.acquire()).to.equal(12);
    manager.release(a, true);
    manager.release(11, true);
    manager.release(12, true);
    onChain = 20; // someone else sent 7 transactions
    await manager.resync();
    expect(await manager.acquire()).to.equal(20);
    manager.release(20, true);
  });

  it("rejects a fee bump below the 12.5 % replacement rule at construction", function () {
    expect(() => new TxSender({ provider, privateKey: hardhatAccount(0).privateKey, feeBumpPercent: 10 })).to.throw(/12\.5/);
  });
});
