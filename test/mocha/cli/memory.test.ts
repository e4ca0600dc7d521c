/**
 * `daios memory …` as a user runs it (the real binary in a child process) against a real Hardhat node
 * with the memory contracts: a stream created on a registered memory node, a writer granted and
 * revoked; and bad input refused with exit code 2 and a message saying what was wrong — an empty
 * key, a value over the limit, an unknown stream — sending nothing. Writes and verified reads through
 * a live memory node are the end-to-end test's.
 *
 *   npx hardhat test mocha test/mocha/cli/memory.test.ts
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { JsonRpcProvider, Wallet, parseUnits } from "ethers";
import { DaiosToken__factory, MemoryRegistry__factory, ProviderRegistry__factory, type MemoryRegistry } from "../../../types/ethers-contracts/index.js";
import { PROJECT_ROOT } from "../../../agents/src/core/config.js";
import { hardhatAccount, startHardhatNode, type HardhatNode } from "../../../agents/src/devnet/hardhat-node.js";
import { writeDeployment, type Deployment } from "../../../agents/src/sdk/deployment.js";

const run = promisify(execFile);

describe("daios memory (CLI against a real node)", function () {
  this.timeout(600_000);
  let dir: string;
  let node: HardhatNode;
  let provider: JsonRpcProvider;
  let deploymentFile: string;
  let memory: MemoryRegistry;
  const owner = hardhatAccount(3);
  const memoryNode = hardhatAccount(2);
  const writer = hardhatAccount(5);
  const stranger = hardhatAccount(6);

  const cli = (...args: string[]) =>
    run(process.execPath, [path.join(PROJECT_ROOT, "agents/bin/daios.js"), "--rpc", node.url, "--key", owner.privateKey, "--deployment", deploymentFile, ...args], {
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, MEMORY_STREAM: "", MEMORY_NODE_URL: "", MEMORY_RECEIPTS: "" },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "daios-memory-cli-"));
    node = await startHardhatNode({ logFile: path.join(dir, "hardhat-node.log") });
    provider = new JsonRpcProvider(node.url, Number(node.chainId), { staticNetwork: true, cacheTimeout: -1, pollingInterval: 100 });
    const admin = new Wallet(hardhatAccount(0).privateKey, provider);
    const operator = new Wallet(memoryNode.privateKey, provider);
    const deployed = async <T extends { waitForDeployment(): Promise<unknown>; getAddress(): Promise<string>; deploymentTransaction(): { wait(): Promise<unknown> } | null }>(c: Promise<T>) => {
      const contract = await c;
      await contract.waitForDeployment();
      const receipt = (await contract.deploymentTransaction()?.wait()) as { blockNumber: number };
      return { contract, address: await contract.getAddress(), block: receipt.blockNumber };
    };
    const send = async (tx: Promise<{ wait(): Promise<unknown> }>) => (await tx).wait();
    const token = await deployed(new DaiosToken__factory(admin).deploy(admin.address));
    const registry = await deployed(new ProviderRegistry__factory(admin).deploy(token.address, admin.address, 3600));
    const registryMemory = await deployed(
      new MemoryRegistry__factory(admin).deploy(token.address, registry.address, admin.address, { streamCollateral: parseUnits("5", 18), checkpointWindow: 3600n, reporterBps: 2000n }),
    );
    memory = registryMemory.contract;
    const role = await registry.contract.MEMORY_ROLE();
    await send(registry.contract.setMinStake(role, parseUnits("10", 18)));
    await send(registry.contract.setLayer(registryMemory.address, role, true));
    for (const who of [owner, memoryNode]) await send(token.contract.mint(who.address, parseUnits("1000", 18)));
    await send(token.contract.connect(operator).approve(registry.address, parseUnits("1000", 18)));
    // Nothing listens there: commands that reach the node fail with a clear message.
    await send(registry.contract.connect(operator).register(role, parseUnits("100", 18), "http://127.0.0.1:1", 1n));

    const entry = (d: { address: string; block: number }) => ({ address: d.address, block: d.block });
    // The storage-layer entries are required by the deployment format; this test never calls them.
    const deployment: Deployment = {
      id: randomBytes(6).toString("hex"),
      chainId: Number(node.chainId),
      network: "hardhat",
      deployedAt: new Date().toISOString(),
      startBlock: token.block,
      contracts: {
        DaiosToken: entry(token),
        ProviderRegistry: entry(registry),
        RandomnessBeacon: entry(token),
        PoRAVerifier: entry(token),
        StorageMarket: entry(token),
        ...({ MemoryRegistry: entry(registryMemory) } as object),
      },
    };
    deploymentFile = writeDeployment(deployment, path.join(dir, "deployment.json"));
  });

  after(async () => {
    provider?.destroy();
    await node?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("creates a stream on a memory node, grants and revokes a writer", async () => {
    const r = await cli("memory", "create-stream", "--node", memoryNode.address, "--deposit", "2");
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^stream 1 created in 0x[0-9a-f]{64}\n/);
    expect(r.stdout).to.include(`node ${memoryNode.address}, collateral 5.0 DAIOS of its stake locked; checkpoints due within 3600 s of a write\n`);
    expect(r.stdout).to.include(`writers ${owner.address}\n`);
    expect(r.stdout).to.include("use it with: export MEMORY_STREAM=1");
    const s = await memory.getStream(1n);
    expect(s.owner).to.equal(owner.address);
    expect(s.node).to.equal(memoryNode.address);
    expect(s.balance).to.equal(parseUnits("2", 18));
    expect(await memory.isWriter(1n, owner.address)).to.equal(true);

    const g = await cli("memory", "grant", writer.address, "--stream", "1");
    expect(g.code, g.stderr).to.equal(0);
    expect(g.stdout).to.match(new RegExp(`^${writer.address} may now write to stream 1 \\(0x[0-9a-f]{64}\\)`));
    expect(await memory.isWriter(1n, writer.address)).to.equal(true);
    const v = await cli("--json", "memory", "revoke", writer.address, "--stream", "1");
    expect(v.code, v.stderr).to.equal(0);
    expect(JSON.parse(v.stdout)).to.deep.include({ stream: "1", writer: writer.address, granted: false });
    expect(await memory.isWriter(1n, writer.address)).to.equal(false);
  });

  it("finds the stream's node from its registered endpoint, and says when it does not answer", async () => {
    const r = await cli("memory", "get", "notes/a", "--stream", "1");
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.match(/the memory node at http:\/\/127\.0\.0\.1:1 did not answer GET \/keys\/0x6e6f7465732f61\?proof=1/);
  });

  it("refuses bad input with exit code 2 and says what was wrong, sending nothing", async () => {
    const big = path.join(dir, "big.bin");
    writeFileSync(big, Buffer.alloc(65_537, 1));
    const small = path.join(dir, "small.txt");
    writeFileSync(small, "hello");
    const cases: [string[], RegExp][] = [
      [["memory", "put", "", "value", "--stream", "1"], /the memory key is empty/],
      [["memory", "put", "k".repeat(257), "value", "--stream", "1"], /the memory key is 257 bytes, more than the limit of 256/],
      [["memory", "get", "", "--stream", "1"], /the memory key is empty/],
      [["memory", "history", "k".repeat(300), "--stream", "1"], /the memory key is 300 bytes, more than the limit of 256/],
      [["memory", "put", "k", "--file", big, "--stream", "1"], /big\.bin has 65537 bytes, more than the limit of 65536 for a memory value/],
      [["memory", "put", "k", "v".repeat(65_537), "--stream", "1"], /the memory value is 65537 bytes, more than the limit of 65536/],
      [["memory", "put", "k", "--stream", "1"], /give the value either as an argument or with --file <file>/],
      [["memory", "put", "k", "v", "--file", small, "--stream", "1"], /give the value either as an argument or with --file <file>/],
      [["memory", "put", "k", "--file", path.join(dir, "missing"), "--stream", "1"], /cannot read .*missing: no such file/],
      [["memory", "put", "k", "v", "--stream", "1", "--expect-version", "one"], /--expect-version must be a whole number/],
      [["memory", "put", "k", "v"], /no stream given: pass --stream <id> or set MEMORY_STREAM/],
      [["memory", "get", "k", "--stream", "0"], /--stream must be a positive whole number, got '0'/],
      [["memory", "get", "k", "--stream", "9"], /stream 9 does not exist \(stream ids run from 1 to 1\)/],
      [["memory", "checkpoint", "--stream", "9"], /stream 9 does not exist \(stream ids run from 1 to 1\)/],
      [["memory", "grant", writer.address, "--stream", "9"], /stream 9 does not exist \(stream ids run from 1 to 1\)/],
      [["memory", "scan", "--stream", "1", "--limit", "0"], /--limit must be a positive whole number, got '0'/],
      [["memory", "create-stream", "--node", "0x1234"], /--node must be an address \(0x and 40 hex digits\), got '0x1234'/],
      [["memory", "create-stream", "--node", stranger.address], new RegExp(`${stranger.address} is not an active memory node`)],
      [["memory", "create-stream", "--node", memoryNode.address, "--deposit", "lots"], /--deposit must be a positive amount of DAIOS such as 0\.5, got 'lots'/],
      [["memory", "create-stream", "--node", memoryNode.address, "--deposit", "5000"], /the deposit 5000\.0 DAIOS is more than your balance/],
      [["memory", "grant", "nobody", "--stream", "1"], /the writer must be an address/],
      [["memory", "revoke", writer.address, "--stream", "1"], new RegExp(`${writer.address} is not a writer of stream 1`)],
      [["memory", "grant", owner.address, "--stream", "1"], new RegExp(`${owner.address} may already write to stream 1`)],
      [["--key", stranger.privateKey, "memory", "grant", writer.address, "--stream", "1"], new RegExp(`stream 1 is owned by ${owner.address}, not by you`)],
      [["memory", "create-stream"], /required option '--node <address>' not specified/],
    ];
    const nonce = await provider.getTransactionCount(owner.address);
    const streams = await memory.streamCount();
    for (const [args, message] of cases) {
      const r = await cli(...args);
      expect(r.code, `${args.join(" ").slice(0, 200)}: ${r.stderr}`).to.equal(2);
      expect(r.stderr, args.join(" ").slice(0, 200)).to.match(message);
    }
    expect(await provider.getTransactionCount(owner.address)).to.equal(nonce);
    expect(await memory.streamCount()).to.equal(streams);
  });

  it("closes a stream, keeps the node's collateral through the slashing window, then releases it", async () => {
    const role = await memory.memoryRole();
    const registry = ProviderRegistry__factory.connect(await memory.providerRegistry(), provider);
    const locked = () => registry.lockedBy(memoryNode.address, role, memory.target as string);
    const created = await cli("memory", "create-stream", "--node", memoryNode.address, "--deposit", "1");
    expect(created.code, created.stderr).to.equal(0);
    const stream = (await memory.streamCount()).toString();
    const before = await locked();

    const early = await cli("memory", "release", "--stream", stream);
    expect(early.code).to.equal(2);
    expect(early.stderr).to.include(`stream ${stream} is Active: only a Closed stream's collateral is released (close it first: daios memory close)`);
    const byNode = await cli("--key", memoryNode.privateKey, "memory", "close", "--stream", stream);
    expect(byNode.code, byNode.stderr).to.equal(2);
    expect(byNode.stderr).to.match(new RegExp(`the node can close stream ${stream} once its deposit is spent: (1\\.0|0\\.99\\d*) DAIOS are still to be earned`));
    const byStranger = await cli("--key", stranger.privateKey, "memory", "close", "--stream", stream);
    expect(byStranger.code).to.equal(2);
    expect(byStranger.stderr).to.include("you (" + stranger.address + ") are neither, so you cannot close it");

    const closed = await cli("--json", "memory", "close", "--stream", stream);
    expect(closed.code, closed.stderr).to.equal(0);
    const answer = JSON.parse(closed.stdout) as { releasableAt: string; refund: string };
    const closedAt = BigInt((await provider.getBlock("latest"))!.timestamp);
    expect(BigInt(answer.releasableAt)).to.equal(closedAt + 7200n);
    expect(BigInt(answer.refund) > 0n).to.equal(true);
    expect(await locked()).to.equal(before, "the collateral stays locked after the close");

    const open = await cli("--key", stranger.privateKey, "memory", "release", "--stream", stream);
    expect(open.code).to.equal(2);
    expect(open.stderr).to.match(new RegExp(`stream ${stream}'s slashing window is open until .* \\(\\d+ s from the chain's time\\): try again then`));
    await provider.send("evm_increaseTime", [7200]);
    await provider.send("evm_mine", []);
    const released = await cli("--key", stranger.privateKey, "memory", "release", "--stream", stream);
    expect(released.code, released.stderr).to.equal(0);
    expect(released.stdout).to.match(new RegExp(`^released 5\\.0 DAIOS of collateral of stream ${stream} to node ${memoryNode.address} \\(0x[0-9a-f]{64}\\)`));
    expect(await locked()).to.equal(before - parseUnits("5", 18));
    const again = await cli("memory", "release", "--stream", stream);
    expect(again.code).to.equal(2);
    expect(again.stderr).to.include(`stream ${stream} holds no collateral: it was released already, or none was locked`);
  });
});
