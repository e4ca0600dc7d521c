/**
 * A whole daios devnet on this machine: Redis (the user's, or a private one), a Hardhat JSON-RPC
 * node mining a block every second, the contracts deployed with Ignition, funded accounts, and
 * every agent role in its own process. `npm start` and the end-to-end tests both start it here.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { Wallet, parseUnits, type JsonRpcProvider } from "ethers";
import { freePort, portTaken } from "../core/ports.js";
import { ensureRedis, type RedisHandle } from "../core/redis.js";
import { DaiosError } from "../core/errors.js";
import { connectContracts, type DaiosContracts } from "../sdk/contracts.js";
import type { Deployment } from "../sdk/deployment.js";
import { secretKeyFromSeed } from "../sdk/bls/index.js";
import { hardhatAccount, startHardhatNode, type HardhatNode } from "./hardhat-node.js";
import { startProcess, type ManagedProcess } from "./processes.js";
import { PROJECT_ROOT } from "../core/config.js";

const require = createRequire(import.meta.url);

/** An agent ended at start-up because one of the ports chosen for it was taken. */
class PortTakenError extends DaiosError {}

function logSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Devnet accounts (Hardhat's public test keys: never use them for real funds). */
export const DEVNET_ACCOUNTS = {
  deployer: hardhatAccount(0),
  client: hardhatAccount(1),
  providerA: hardhatAccount(2),
  providerB: hardhatAccount(3),
  providerC: hardhatAccount(4),
  keeper: hardhatAccount(5),
  beacon: hardhatAccount(6),
  /** The devnet's compute provider (key 13: 7–12 are the DA nodes'). */
  computeProvider: hardhatAccount(13),
  /** The devnet's memory node (key 14). */
  memoryNode: hardhatAccount(14),
  /** An agent that writes to the demo's memory stream (key 15). */
  memoryWriter: hardhatAccount(15),
} as const;

/** DA nodes of the devnet: one quorum of this many members (k = 3 data shards of 6). */
export const DEVNET_DA_NODES = 6;

/** Account of devnet DA node `i` (Hardhat's public test keys 7 and up). */
export function devnetDaAccount(i: number): { address: string; privateKey: string } {
  return hardhatAccount(7 + i);
}

/**
 * BLS secret key of devnet DA node `i`: derived from a published string, so as public and insecure
 * as the account keys. Real nodes generate theirs (`npm run daios -- da keygen`).
 */
export function devnetDaBlsSecret(i: number): string {
  const seed = createHash("sha256").update(`daios-devnet-da-node-${i}`).digest();
  return `0x${secretKeyFromSeed(seed).toString(16).padStart(64, "0")}`;
}

/**
 * Key of the devnet's software enclave (TEE mode of the compute market): derived from a published
 * string, so as public and insecure as the account keys. The registry owner acknowledges its address
 * at start-up (agents/src/devnet/compute.ts); a real enclave generates its key inside the hardware.
 */
export function devnetEnclaveKey(): string {
  return `0x${createHash("sha256").update("daios-devnet-software-enclave").digest("hex")}`;
}

export const DEVNET_FUNDING = parseUnits("10000", 18);

export interface AgentSpec {
  name: string;
  role: "storage-provider" | "keeper" | "beacon" | "da-node" | "compute-provider" | "memory-node";
  privateKey: string;
  env?: Record<string, string>;
}

export interface RunningAgent {
  spec: AgentSpec;
  process: ManagedProcess;
  metricsUrl: string;
  /** The HTTP endpoint (storage providers and DA nodes). */
  endpoint?: string;
}

export interface DevnetOptions {
  /** Where logs and provider data go (emptied at start). */
  dir: string;
  /** Use this JSON-RPC node instead of starting one (it must mine blocks by itself). */
  rpcUrl?: string;
  /** Milliseconds between blocks on the started node. */
  blockIntervalMs?: number;
  /** Port for the started node (default 8545 when free, else a free one; 0 for any free port). */
  rpcPort?: number;
  /** Print progress lines. */
  say?: (line: string) => void;
}

export interface Devnet {
  rpcUrl: string;
  redis: RedisHandle;
  node?: HardhatNode;
  provider: JsonRpcProvider;
  deployment: Deployment;
  deploymentFile: string;
  contracts: DaiosContracts;
  agents: Map<string, RunningAgent>;
  logDir: string;
  startAgent(spec: AgentSpec): Promise<RunningAgent>;
  stop(): Promise<void>;
}

async function portFree(port: number): Promise<boolean> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** Compiles the contracts (and TypeChain types) so deployment and agents use current code. */
export function buildContracts(): void {
  const cli = path.join(path.dirname(require.resolve("hardhat/package.json")), "dist", "src", "cli.js");
  execFileSync(process.execPath, [cli, "build"], { cwd: PROJECT_ROOT, stdio: ["ignore", "ignore", "inherit"] });
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > until) throw new DaiosError(`timed out after ${timeoutMs / 1000} s waiting for ${what}`, { hint: "see the logs in the devnet's logs directory" });
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export async function startDevnet(options: DevnetOptions): Promise<Devnet> {
  const say = options.say ?? (() => undefined);
  rmSync(options.dir, { recursive: true, force: true });
  const logDir = path.join(options.dir, "logs");
  mkdirSync(logDir, { recursive: true });

  say("building contracts");
  buildContracts();

  const redis = await ensureRedis();
  say(redis.private ? `no Redis answered: started a private redis-server at ${redis.url}` : `using Redis at ${redis.url}`);

  let node: HardhatNode | undefined;
  let rpcUrl = options.rpcUrl;
  if (!rpcUrl) {
    // 8545 when it is free (what wallets and tools expect), else any free port.
    const port = options.rpcPort ?? ((await portFree(8545)) ? 8545 : 0);
    node = await startHardhatNode({ port: port || undefined, logFile: path.join(logDir, "hardhat-node.log") });
    rpcUrl = node.url;
    say(`Hardhat JSON-RPC node at ${rpcUrl}`);
  }
  const { network } = await import("hardhat");
  const { deployDaios } = await import("../../../deploy/deploy-daios.js");
  const connection = await network.create({ network: "localhost", override: { url: rpcUrl } });
  // The beacon gets the devnet signer's published key, round 1 at the chain's current time.
  // One DA quorum of all the devnet's DA nodes.
  const { deployment, file: deploymentFile } = await deployDaios(connection, "devnet", {
    ephemeral: true,
    devnetBeacon: true,
    parameters: { daQuorumCount: 1n, daQuorumSize: BigInt(DEVNET_DA_NODES) },
  });
  await connection.close();
  say(`contracts deployed (deployment ${deployment.id}), written to ${path.relative(PROJECT_ROOT, deploymentFile)}`);

  const provider = node ? node.provider() : new (await import("ethers")).JsonRpcProvider(rpcUrl);
  const deployer = new Wallet(DEVNET_ACCOUNTS.deployer.privateKey, provider);
  const contracts = connectContracts(deployment, deployer);
  let nonce = await provider.getTransactionCount(deployer.address, "pending");
  const mints = [];
  const funded = [
    ...Object.entries(DEVNET_ACCOUNTS).filter(([name]) => name !== "deployer").map(([, account]) => account.address),
    ...Array.from({ length: DEVNET_DA_NODES }, (_, i) => devnetDaAccount(i).address),
  ];
  for (const address of funded) mints.push(await contracts.token.mint(address, DEVNET_FUNDING, { nonce: nonce++ }));
  await Promise.all(mints.map((tx) => tx.wait()));
  say(`funded ${mints.length} devnet accounts with ${DEVNET_FUNDING / 10n ** 18n} DAIOS each`);

  if (node) {
    // From here on blocks come every second whether or not there is traffic, like a real chain,
    // so challenge periods advance on their own and latency is measured in real blocks.
    await node.rpc("evm_setAutomine", [false]);
    await node.rpc("evm_setIntervalMining", [options.blockIntervalMs ?? 1000]);
  }

  const agents = new Map<string, RunningAgent>();
  const startAgentOnce = async (spec: AgentSpec): Promise<RunningAgent> => {
    const metricsPort = await freePort();
    const env: Record<string, string> = {
      RPC_URL: rpcUrl,
      REDIS_URL: redis.url,
      PRIVATE_KEY: spec.privateKey,
      METRICS_PORT: String(metricsPort),
      DEPLOYMENT_FILE: deploymentFile,
      POLL_INTERVAL_MS: "500",
      ...spec.env,
    };
    let endpoint: string | undefined;
    if (spec.role === "storage-provider") {
      const port = Number(spec.env?.PROVIDER_PORT ?? (await freePort()));
      env.PROVIDER_PORT = String(port);
      env.PROVIDER_DATA_DIR ??= path.join(options.dir, "data", spec.name);
      endpoint = `http://127.0.0.1:${port}`;
    } else if (spec.role === "da-node") {
      const port = Number(spec.env?.DA_NODE_PORT ?? (await freePort()));
      endpoint = `http://127.0.0.1:${port}`;
      env.DA_NODE_PORT = String(port);
      env.DA_NODE_PUBLIC_URL ??= endpoint;
      env.DA_NODE_DATA_DIR ??= path.join(options.dir, "data", spec.name);
    } else if (spec.role === "compute-provider") {
      env.COMPUTE_DATA_DIR ??= path.join(options.dir, "data", spec.name);
    } else if (spec.role === "memory-node") {
      const port = Number(spec.env?.MEMORY_PORT ?? (await freePort()));
      endpoint = `http://127.0.0.1:${port}`;
      env.MEMORY_PORT = String(port);
      env.MEMORY_PUBLIC_URL ??= endpoint;
      env.MEMORY_DATA_DIR ??= path.join(options.dir, "data", spec.name);
    }
    const logStart = logSize(path.join(logDir, `${spec.name}.log`));
    const child = startProcess({
      name: spec.name,
      command: process.execPath,
      args: ["--import", "tsx", path.join(PROJECT_ROOT, "agents", "src", "index.ts"), "--role", spec.role],
      env,
      cwd: PROJECT_ROOT,
      logDir,
    });
    const agent: RunningAgent = { spec, process: child, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`, endpoint };
    agents.set(spec.name, agent);
    await waitFor(`${spec.name} to serve metrics`, 120_000, async () => {
      if (child.child.exitCode !== null) throw new DaiosError(`${spec.name} exited with code ${child.child.exitCode}`, { hint: `see ${child.logFile}` });
      return (await fetch(agent.metricsUrl)).ok;
    }).catch((error: unknown) => {
      if (child.child.exitCode !== null) {
        agents.delete(spec.name);
        const output = readFileSync(child.logFile, "utf8").slice(logStart);
        throw new (portTaken(output) ? PortTakenError : DaiosError)(`${spec.name} exited with code ${child.child.exitCode} during start-up`, { hint: `see ${child.logFile}` });
      }
      throw error;
    });
    if (endpoint) await waitFor(`${spec.name} to answer HTTP`, 60_000, async () => (await fetch(`${endpoint}/v1/health`)).ok);
    return agent;
  };
  // A port chosen here can be taken before the agent binds it: start again on other ports.
  const startAgent = async (spec: AgentSpec): Promise<RunningAgent> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await startAgentOnce(spec);
      } catch (error) {
        if (attempt === 3 || !(error instanceof PortTakenError)) throw error;
      }
    }
  };

  let stopped = false;
  return {
    rpcUrl,
    redis,
    node,
    provider,
    deployment,
    deploymentFile,
    contracts,
    agents,
    logDir,
    startAgent,
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all([...agents.values()].map((a) => a.process.stop()));
      provider.destroy();
      await node?.stop();
      await redis.stop();
    },
  };
}

/**
 * The devnet's standard agents: the beacon first (storage seeds and DA quorums need its rounds),
 * three storage providers (the third stands by for repairs), a keeper, the DA nodes, a compute
 * provider.
 */
export function standardAgents(options: { daNodes?: number } = {}): AgentSpec[] {
  return [
    beaconAgent(),
    { name: "provider-a", role: "storage-provider", privateKey: DEVNET_ACCOUNTS.providerA.privateKey },
    { name: "provider-b", role: "storage-provider", privateKey: DEVNET_ACCOUNTS.providerB.privateKey },
    { name: "provider-c", role: "storage-provider", privateKey: DEVNET_ACCOUNTS.providerC.privateKey },
    { name: "keeper", role: "keeper", privateKey: DEVNET_ACCOUNTS.keeper.privateKey },
    ...Array.from({ length: options.daNodes ?? DEVNET_DA_NODES }, (_, i) => daNodeAgent(i)),
    computeProviderAgent(),
    memoryNodeAgent(),
  ];
}

/** The devnet memory node: serves memory streams over HTTP, checkpoints them and stores snapshots as deals. */
export function memoryNodeAgent(env: Record<string, string> = {}): AgentSpec {
  // Checkpoints every 5 s and snapshots every 20 s, so that the demo shows both within a minute.
  return {
    name: "memory-node",
    role: "memory-node",
    privateKey: DEVNET_ACCOUNTS.memoryNode.privateKey,
    env: { MEMORY_CHECKPOINT_INTERVAL_SEC: "5", MEMORY_SNAPSHOT_INTERVAL_SEC: "20", ...env },
  };
}

/** The devnet compute provider: serves every model, zk and TEE (with the devnet enclave key). */
export function computeProviderAgent(env: Record<string, string> = {}): AgentSpec {
  return { name: "compute-provider", role: "compute-provider", privateKey: DEVNET_ACCOUNTS.computeProvider.privateKey, env: { COMPUTE_TEE_KEY: devnetEnclaveKey(), ...env } };
}

/** Devnet DA node `i`: its own account, BLS key, port and data directory. */
export function daNodeAgent(i: number): AgentSpec {
  return {
    name: `da-node-${i}`,
    role: "da-node",
    privateKey: devnetDaAccount(i).privateKey,
    env: { DA_BLS_SECRET_KEY: devnetDaBlsSecret(i) },
  };
}

/** The devnet beacon: signs rounds with the published devnet key as chain time passes, and relays them. */
export function beaconAgent(): AgentSpec {
  // Looks for a new round four times per (1 s) round, so each is relayed in the block after it is due.
  return { name: "beacon", role: "beacon", privateKey: DEVNET_ACCOUNTS.beacon.privateKey, env: { BEACON_INTERVAL_MS: "250" } };
}
