/**
 * The DA layer on a real Hardhat JSON-RPC node with real `da-node` processes, for tests:
 *
 *   const stack = await startDaStack({ dir, nodes: 6 });
 *   const epoch = await stack.readyEpoch();          // every node is a candidate of the current epoch
 *   const client = stack.client();                   // a DaClient paying from a funded account
 *   ...
 *   await stack.stop();
 *
 * Contracts are deployed with plain ethers from the TypeChain factories: the token, the provider
 * registry (DA role enabled, DABlobs authorised to slash), the storage market (the deployment file
 * needs it; its verifier is the mock and its randomness a RandomnessBeacon nobody relays to), and the
 * DARegistry fed by BlockhashRandomness, so quorums are sampled without the beacon role. Each node runs
 * as its own process (`agents/src/index.ts --role da-node`) with its own key, BLS key, port and data
 * directory, and registers itself. Its public endpoint is a small proxy in the test process that passes
 * requests through, or — for one test — replaces the node's signatures with wrong ones.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { JsonRpcProvider, Wallet, parseUnits, type ContractTransactionResponse } from "ethers";
import {
  BlockhashRandomness__factory,
  DABlobs__factory,
  DARegistry__factory,
  DaiosToken__factory,
  MockPoRAVerifier__factory,
  ProviderRegistry__factory,
  RandomnessBeacon__factory,
  StorageMarket__factory,
} from "../../types/ethers-contracts/index.js";
import { PROJECT_ROOT } from "../../agents/src/core/config.js";
import { ensureRedis, type RedisHandle } from "../../agents/src/core/redis.js";
import { DA } from "../../agents/src/generated/constants.js";
import { freePort, portTaken } from "../../agents/src/core/ports.js";
import { startHardhatNode, hardhatAccount, type HardhatNode } from "../../agents/src/devnet/hardhat-node.js";
import { g2ToSolidity, keypairFromSecret, publicKeyG2, secretKeyFromSeed } from "../../agents/src/sdk/bls/index.js";
import { signatureFromHex, signatureToHex } from "../../agents/src/sdk/da/certificate.js";
import { DaClient } from "../../agents/src/sdk/da/client.js";
import { writeDeployment, type Deployment } from "../../agents/src/sdk/deployment.js";

export interface DaStackOptions {
  /** Where logs, data directories and the deployment file go. */
  dir: string;
  /** DA node processes to start (each becomes a quorum candidate). */
  nodes: number;
  /** Members per quorum (default: all nodes). */
  quorumSize?: number;
  quorumCount?: number;
  /** LOG_LEVEL of the node processes (default info). */
  logLevel?: string;
}

export type ProxyMode = "pass" | "bad-signature";

export interface DaNodeHandle {
  index: number;
  address: string;
  privateKey: string;
  blsSecretKey: string;
  port: number;
  /** The node's own URL. */
  url: string;
  /** Its registered endpoint: the proxy in front of it. */
  endpoint: string;
  dataDir: string;
  logFile: string;
  /** What the proxy does with the node's answers. */
  proxyMode: ProxyMode;
  running: boolean;
  /** The directory holding the node's shard of `blobId`. */
  shardDir(blobId: bigint): string;
  start(): Promise<void>;
  /** One start on `port`, without retrying another port. */
  startOnce(): Promise<void>;
  /** Stops the node: SIGTERM (graceful, the default) or SIGKILL (a crash). */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
}

const live = new Set<ChildProcess>();
let hooked = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // gone already
  }
}

async function send(tx: Promise<ContractTransactionResponse>): Promise<void> {
  await (await tx).wait();
}

/** A proxy to `target` that can replace the signature of every shard receipt with a wrong one. */
async function startProxy(target: () => number, mode: () => ProxyMode): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const upstream = http.request(
      { host: "127.0.0.1", port: target(), method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        if (mode() === "bad-signature" && req.method === "PUT" && answer.statusCode === 200) {
          const parts: Buffer[] = [];
          answer.on("data", (part: Buffer) => parts.push(part));
          answer.on("end", () => {
            const receipt = JSON.parse(Buffer.concat(parts).toString("utf8")) as { signature: string };
            // A point on the curve, but not the node's signature: the signature plus the generator.
            receipt.signature = signatureToHex(signatureFromHex(receipt.signature).add(keypairFromSecret(1n).publicKeyG1));
            const body = JSON.stringify(receipt);
            res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
            res.end(body);
          });
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", (error) => {
      if (res.headersSent) res.destroy();
      else {
        res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: `node unreachable: ${error.message}` }));
      }
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return server;
}

class PortTakenError extends Error {}

async function waitHealthy(node: DaNodeHandle, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = readFileSync(node.logFile, "utf8").split("\n").slice(-15).join("\n");
      const message = `da-node ${node.index} exited during start-up; last lines of ${node.logFile}:\n${tail}`;
      throw portTaken(tail) ? new PortTakenError(message) : new Error(message);
    }
    try {
      if ((await fetch(`${node.url}/v1/health`, { signal: AbortSignal.timeout(1000) })).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`da-node ${node.index} was not healthy within ${timeoutMs / 1000} s; see ${node.logFile}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export async function startDaStack(options: DaStackOptions) {
  const dir = options.dir;
  mkdirSync(dir, { recursive: true });
  const redis: RedisHandle = await ensureRedis();
  const hardhat: HardhatNode = await startHardhatNode({ logFile: path.join(dir, "hardhat-node.log") });
  const provider = new JsonRpcProvider(hardhat.url, Number(hardhat.chainId), { staticNetwork: true, cacheTimeout: -1, pollingInterval: 100 });
  const owner = new Wallet(hardhatAccount(0).privateKey, provider);
  const client = hardhatAccount(18);
  const challenger = hardhatAccount(19);

  const deployed = async <T extends { waitForDeployment(): Promise<unknown>; getAddress(): Promise<string>; deploymentTransaction(): { wait(): Promise<unknown> } | null }>(contract: Promise<T>) => {
    const c = await contract;
    await c.waitForDeployment();
    const receipt = (await c.deploymentTransaction()?.wait()) as { blockNumber: number };
    return { contract: c, address: await c.getAddress(), block: receipt.blockNumber };
  };
  const token = await deployed(new DaiosToken__factory(owner).deploy(owner.address));
  const registry = await deployed(new ProviderRegistry__factory(owner).deploy(token.address, owner.address, 3600));
  const blockhash = await deployed(new BlockhashRandomness__factory(owner).deploy());
  const beacon = await deployed(
    new RandomnessBeacon__factory(owner).deploy(g2ToSolidity(publicKeyG2(12345n)), BigInt(Math.floor(Date.now() / 1000)), 3n),
  );
  const verifier = await deployed(new MockPoRAVerifier__factory(owner).deploy());
  const market = await deployed(new StorageMarket__factory(owner).deploy(token.address, registry.address, verifier.address, beacon.address, owner.address, 10n));
  const quorumSize = options.quorumSize ?? options.nodes;
  const daRegistry = await deployed(new DARegistry__factory(owner).deploy(registry.address, blockhash.address, options.quorumCount ?? 1, quorumSize));
  const blobsConfig = {
    pricePerByte: 10n ** 9n,
    baseFee: 10n ** 15n,
    treasuryBps: 1000n,
    challengeBond: parseUnits("1", 18),
    slashAmount: parseUnits("10", 18),
    challengerRewardBps: 5000n,
  };
  const blobs = await deployed(new DABlobs__factory(owner).deploy(registry.address, daRegistry.address, owner.address, blobsConfig));
  const daRole = await registry.contract.DA_ROLE();
  await send(registry.contract.setMinStake(daRole, parseUnits("1", 18)));
  await send(registry.contract.setMinStake(await registry.contract.STORAGE_ROLE(), parseUnits("1", 18)));
  await send(registry.contract.setLayer(blobs.address, daRole, true));

  const nodeAccounts = Array.from({ length: options.nodes }, (_, i) => hardhatAccount(1 + i));
  for (const who of [...nodeAccounts, client, challenger]) await send(token.contract.mint(who.address, parseUnits("1000000", 18)));

  const entry = (d: { address: string; block: number }) => ({ address: d.address, block: d.block });
  const deployment: Deployment = {
    id: randomBytes(6).toString("hex"),
    chainId: Number(hardhat.chainId),
    network: "hardhat",
    deployedAt: new Date().toISOString(),
    startBlock: token.block,
    contracts: {
      DaiosToken: entry(token),
      ProviderRegistry: entry(registry),
      RandomnessBeacon: entry(beacon),
      PoRAVerifier: entry(verifier),
      StorageMarket: entry(market),
      DARegistry: entry(daRegistry),
      DABlobs: entry(blobs),
    },
  };
  const deploymentFile = writeDeployment(deployment, path.join(dir, "deployment.json"));

  if (!hooked) {
    hooked = true;
    process.on("exit", () => {
      for (const child of live) killGroup(child, "SIGKILL");
    });
  }

  const proxies: http.Server[] = [];
  const nodes: DaNodeHandle[] = [];
  for (const [index, account] of nodeAccounts.entries()) {
    const port = await freePort();
    const dataDir = path.join(dir, "nodes", String(index));
    const blsSecretKey = `0x${secretKeyFromSeed(createHash("sha256").update(`daios-da-stack-node-${index}`).digest()).toString(16).padStart(64, "0")}`;
    let child: ChildProcess | undefined;
    let exited: Promise<void> = Promise.resolve();
    const node: DaNodeHandle = {
      index,
      address: account.address,
      privateKey: account.privateKey,
      blsSecretKey,
      port,
      url: `http://127.0.0.1:${port}`,
      endpoint: "",
      dataDir,
      logFile: path.join(dir, "logs", `da-node-${index}.log`),
      proxyMode: "pass",
      running: false,
      shardDir: (blobId) => path.join(dataDir, `${hardhat.chainId}-${blobs.address.toLowerCase()}`, "blobs", blobId.toString()),
      async start() {
        // A port can be taken between choosing it and the node binding it: then try another.
        for (let attempt = 1; ; attempt++) {
          try {
            return await node.startOnce();
          } catch (error) {
            if (attempt === 3 || !(error instanceof PortTakenError)) throw error;
            node.port = await freePort();
            node.url = `http://127.0.0.1:${node.port}`;
          }
        }
      },
      async startOnce() {
        if (node.running) return;
        mkdirSync(path.dirname(node.logFile), { recursive: true });
        const fd = openSync(node.logFile, "a");
        child = spawn(process.execPath, ["--import", "tsx", path.join(PROJECT_ROOT, "agents/src/index.ts"), "--role", "da-node"], {
          cwd: PROJECT_ROOT,
          detached: true,
          stdio: ["ignore", fd, fd],
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            RPC_URL: hardhat.url,
            REDIS_URL: redis.url,
            PRIVATE_KEY: account.privateKey,
            DEPLOYMENT_FILE: deploymentFile,
            DA_BLS_SECRET_KEY: blsSecretKey,
            DA_NODE_PORT: String(node.port),
            DA_NODE_PUBLIC_URL: node.endpoint,
            DA_NODE_DATA_DIR: dataDir,
            DA_NODE_STAKE: "100",
            POLL_INTERVAL_MS: "200",
            METRICS_PORT: "0",
            LOG_LEVEL: options.logLevel ?? "info",
          },
        });
        closeSync(fd);
        const started = child;
        live.add(started);
        exited = new Promise<void>((resolve) => started.once("exit", () => resolve()));
        node.running = true;
        try {
          await waitHealthy(node, started, 120_000);
        } catch (error) {
          await node.stop();
          throw error;
        }
      },
      async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM") {
        if (!child) return;
        const stopping = child;
        child = undefined;
        node.running = false;
        killGroup(stopping, signal);
        const timer = setTimeout(() => killGroup(stopping, "SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
        live.delete(stopping);
      },
    };
    const proxy = await startProxy(
      () => node.port,
      () => node.proxyMode,
    );
    proxies.push(proxy);
    node.endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    nodes.push(node);
  }
  const teardown = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    for (const proxy of proxies) {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
    provider.destroy();
    await hardhat.stop();
    await redis.stop();
  };
  const starts = await Promise.allSettled(nodes.map((n) => n.start()));
  const failed = starts.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) {
    await teardown();
    throw failed.reason;
  }

  const contracts = {
    token: token.contract,
    registry: registry.contract,
    daRegistry: daRegistry.contract,
    blobs: blobs.contract,
  };

  const stack = {
    dir,
    hardhat,
    provider,
    rpcUrl: hardhat.url,
    redisUrl: redis.url,
    chainId: hardhat.chainId,
    deployment,
    deploymentFile,
    contracts,
    blobsConfig,
    nodes,
    accounts: { owner: hardhatAccount(0), client, challenger },
    /** A DaClient signing with `account` (default: the funded client account). */
    client(account: { privateKey: string } = client, fetchTimeoutMs = 20_000): DaClient {
      return new DaClient({ provider, chainId: hardhat.chainId, deployment, signer: new Wallet(account.privateKey, provider), fetchTimeoutMs });
    },
    async mine(blocks: number): Promise<void> {
      if (blocks > 0) await hardhat.rpc("hardhat_mine", [`0x${blocks.toString(16)}`]);
    },
    async mineTo(block: number): Promise<void> {
      await stack.mine(block - (await provider.getBlockNumber()));
    },
    /**
     * Moves the chain into an epoch whose quorums were sampled after every node registered its keys
     * (so every node is a candidate), sampling it when the nodes have not yet; returns the epoch.
     */
    async readyEpoch(): Promise<bigint> {
      const { daRegistry: reg } = contracts;
      let latestKeys = 0;
      for (const n of nodes) {
        const id = await reg.nodeIdOf(n.address);
        latestKeys = Math.max(latestKeys, Number((await reg.node(id)).keysBlock));
      }
      const head = await provider.getBlockNumber();
      const epoch = Math.max(Math.floor(latestKeys / DA.EPOCH_BLOCKS) + 2, Math.floor(head / DA.EPOCH_BLOCKS));
      await stack.mineTo((epoch - 1) * DA.EPOCH_BLOCKS + 1);
      if (!(await reg.epochInfo(epoch)).sampled) {
        try {
          await send(reg.connect(owner).sampleEpoch(epoch));
        } catch (error) {
          if (!(await reg.epochInfo(epoch)).sampled) throw error;
        }
      }
      await stack.mineTo(epoch * DA.EPOCH_BLOCKS);
      const info = await reg.epochInfo(epoch);
      if (Number(info.candidates) !== nodes.length) throw new Error(`epoch ${epoch} was sampled with ${info.candidates} candidates, not ${nodes.length}`);
      return BigInt(epoch);
    },
    stop: teardown,
  };
  return stack;
}

export type DaStack = Awaited<ReturnType<typeof startDaStack>>;

/** Writes `data` to a file in `dir` and returns its path. */
export function writeTemp(dir: string, name: string, data: Uint8Array): string {
  const file = path.join(dir, name);
  writeFileSync(file, data);
  return file;
}
