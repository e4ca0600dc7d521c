/**
 * The beacon role on a real Hardhat node and a real Redis, as its own process:
 * - devnet mode signs the round due at chain time with the published dev key, never one ahead of the
 *   block it lands in, and relays each new round once;
 * - drand mode fetches evmnet rounds over HTTP with drand-client (from a local server that serves the
 *   real round 1000, since this machine has no internet), relays them, and skips rounds the contract
 *   has already; a relay that serves a tampered round is refused.
 * Plus the SDK pieces it is built from: round time, the devnet signer, the drand relays client.
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet, type JsonRpcProvider } from "ethers";
import { PROJECT_ROOT } from "../../../../agents/src/core/config.js";
import { freePort } from "../../../../agents/src/core/ports.js";
import { hardhatAccount, startHardhatNode, type HardhatNode } from "../../../../agents/src/devnet/hardhat-node.js";
import { writeDeployment } from "../../../../agents/src/sdk/deployment.js";
import { RandomnessBeacon__factory, type RandomnessBeacon } from "../../../../types/ethers-contracts/index.js";
import {
  DEVNET_PERIOD,
  DEVNET_PUBLIC_KEY,
  DrandRelays,
  DrandUnavailableError,
  EVMNET,
  devnetNetwork,
  parsePublicKey,
  publicKeyForContract,
  roundAt,
  signRound,
  timeOf,
} from "../../../../agents/src/sdk/beacon/index.js";
import { g1FromBytes, verifyDrandRound } from "../../../../agents/src/sdk/bls/index.js";
import { until } from "../../../helpers/wait.js";

/** drand evmnet round 1000 (public). */
const ROUND_1000 = {
  round: 1000,
  signature: "06fd5996329504d3a56b482d9222bf7205857d0a9559ddd216ca31a286f6a8cc0a120f021aac2f13553fb164f62bc3a5ca32c76dea88a777b39bcf3cac5fdbd6",
  randomness: "0e6745667465a6f9dce5d5f994656955080be14c469ff17fc4fc588c925a8504",
};

/** evmnet's chain information as drand's relays serve it at /<chain hash>/info. */
const EVMNET_INFO = {
  public_key: EVMNET.publicKey.replace(/^0x/, ""),
  period: EVMNET.period,
  genesis_time: EVMNET.genesis,
  hash: EVMNET.chainHash,
  groupHash: "0".repeat(64), // not checked by the client; not needed here
  schemeID: "bls-bn254-unchained-on-g1",
  metadata: { beaconID: "evmnet" },
};

/** A local stand-in for a drand HTTP relay serving one chain and the given rounds. */
async function drandRelay(rounds: (typeof ROUND_1000)[], info = EVMNET_INFO): Promise<{ url: string; server: Server; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = req.url ?? "";
    requests.push(url);
    const prefix = `/${EVMNET.chainHash}`;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url === `${prefix}/info`) return send(200, info);
    if (url === `${prefix}/public/latest`) return send(200, rounds[rounds.length - 1]);
    const match = url.match(new RegExp(`^${prefix}/public/(\\d+)$`));
    const round = match && rounds.find((r) => r.round === Number(match[1]));
    if (round) return send(200, round);
    send(404, { error: "not found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, server, requests };
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe("beacon SDK", () => {
  it("computes round time like drand: round 1 at genesis, one every period", () => {
    expect(roundAt(EVMNET.genesis - 1, EVMNET)).to.equal(0);
    expect(roundAt(EVMNET.genesis, EVMNET)).to.equal(1);
    expect(roundAt(EVMNET.genesis + 2, EVMNET)).to.equal(1);
    expect(roundAt(EVMNET.genesis + 3, EVMNET)).to.equal(2);
    expect(timeOf(1, EVMNET)).to.equal(EVMNET.genesis);
    expect(timeOf(1000, EVMNET)).to.equal(EVMNET.genesis + 999 * 3);
    expect(roundAt(timeOf(1000, EVMNET), EVMNET)).to.equal(1000);
    expect(() => timeOf(0, EVMNET)).to.throw(/from 1/);
  });

  it("the devnet signer signs drand's scheme under the published key", () => {
    const round = signRound(42);
    expect(verifyDrandRound(42, g1FromBytes(round.signature), parsePublicKey(DEVNET_PUBLIC_KEY))).to.equal(true);
    expect(verifyDrandRound(43, g1FromBytes(round.signature), parsePublicKey(DEVNET_PUBLIC_KEY))).to.equal(false);
    expect(signRound(42)).to.deep.equal(round, "deterministic");
    expect(devnetNetwork(1234)).to.include({ name: "devnet", genesis: 1234, period: DEVNET_PERIOD, publicKey: DEVNET_PUBLIC_KEY });
  });

  describe("drand relays (drand-client over HTTP)", () => {
    it("returns evmnet round 1000, verified against evmnet's key", async () => {
      const relay = await drandRelay([ROUND_1000]);
      try {
        const round = await new DrandRelays(EVMNET, [relay.url]).latest();
        expect(round).to.deep.equal({ round: 1000, signature: `0x${ROUND_1000.signature}`, randomness: `0x${ROUND_1000.randomness}`, relay: relay.url });
        expect(relay.requests).to.include(`/${EVMNET.chainHash}/info`);
      } finally {
        await close(relay.server);
      }
    });

    it("refuses a tampered round and a relay for another key, and falls over to the next relay", async () => {
      const tampered = { ...ROUND_1000, signature: ROUND_1000.signature.slice(0, -2) + "d7" };
      const bad = await drandRelay([tampered]);
      const otherKey = await drandRelay([ROUND_1000], { ...EVMNET_INFO, public_key: DEVNET_PUBLIC_KEY.replace(/^0x/, "") });
      const good = await drandRelay([ROUND_1000]);
      try {
        const error = await new DrandRelays(EVMNET, [bad.url, otherKey.url], { timeoutMs: 2000 }).latest().catch((e: unknown) => e);
        expect(error).to.be.instanceOf(DrandUnavailableError);
        expect((error as DrandUnavailableError).failures.map((f) => f.relay)).to.deep.equal([bad.url, otherKey.url]);
        expect((error as Error).message).to.match(/BEACON_DRAND_URLS/);
        const round = await new DrandRelays(EVMNET, ["http://127.0.0.1:9", bad.url, good.url], { timeoutMs: 2000 }).latest();
        expect(round.relay).to.equal(good.url);
        expect(round.round).to.equal(1000);
      } finally {
        await Promise.all([bad, otherKey, good].map((r) => close(r.server)));
      }
    });
  });
});

describe("beacon role (real node, Redis, its own process)", function () {
  this.timeout(300_000);
  let node: HardhatNode;
  let provider: JsonRpcProvider;
  let dir: string;
  const deployer = hardhatAccount(0);
  const relayerKey = hardhatAccount(6).privateKey;
  const children: ChildProcess[] = [];

  before(async () => {
    node = await startHardhatNode();
    provider = node.provider();
    dir = mkdtempSync(path.join(os.tmpdir(), "daios-beacon-"));
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    provider?.destroy();
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Deploys a beacon and writes a deployment file naming it (the role touches no other contract). */
  async function deployBeacon(publicKey: string, genesis: number, period: number): Promise<{ beacon: RandomnessBeacon; file: string }> {
    const wallet = new Wallet(deployer.privateKey, provider);
    const beacon = await new RandomnessBeacon__factory(wallet).deploy(publicKeyForContract(publicKey), genesis, period);
    await beacon.waitForDeployment();
    const block = await provider.getBlockNumber();
    const hash = (await provider.getBlock(block))?.hash as string;
    const address = await beacon.getAddress();
    const entry = { address, block };
    const file = path.join(dir, `deployment-${address}.json`);
    writeDeployment(
      {
        id: hash.slice(2, 14),
        chainId: 31337,
        network: "test",
        deployedAt: new Date().toISOString(),
        startBlock: block,
        // Only the beacon is real here; the other entries are placeholders the role never calls.
        contracts: { DaiosToken: entry, ProviderRegistry: entry, RandomnessBeacon: entry, PoRAVerifier: entry, StorageMarket: entry },
      },
      file,
    );
    return { beacon, file };
  }

  /** Starts the role; resolves with its metrics URL once it serves metrics. */
  async function startRole(env: Record<string, string>): Promise<{ child: ChildProcess; metricsUrl: string; output: () => string }> {
    const port = await freePort();
    const child = spawn(process.execPath, ["--import", "tsx", path.join(PROJECT_ROOT, "agents/src/index.ts"), "--role", "beacon"], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, RPC_URL: node.url, PRIVATE_KEY: relayerKey, METRICS_PORT: String(port), POLL_INTERVAL_MS: "200", LOG_LEVEL: "info", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let text = "";
    child.stdout?.on("data", (d: Buffer) => (text += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (text += d.toString()));
    const metricsUrl = `http://127.0.0.1:${port}/metrics`;
    await until("the role to serve metrics", 90_000, async () => {
      if (child.exitCode !== null) throw new Error(`the beacon role exited with ${child.exitCode}:\n${text}`);
      return (await fetch(metricsUrl).catch(() => undefined))?.ok ? true : undefined;
    });
    return { child, metricsUrl, output: () => text };
  }

  async function stopRole(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }

  const metric = async (url: string, name: string): Promise<number> => {
    const text = await (await fetch(url)).text();
    const line = text.split("\n").find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
    return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : NaN;
  };

  it("devnet mode: relays the round due at chain time, never ahead of it, each once", async () => {
    const latest = await provider.getBlock("latest");
    const genesis = (latest?.timestamp as number) - 30;
    const { beacon, file } = await deployBeacon(DEVNET_PUBLIC_KEY, genesis, 3);
    await node.rpc("evm_setAutomine", [false]);
    await node.rpc("evm_setIntervalMining", [1000]);
    const role = await startRole({ DEPLOYMENT_FILE: file, BEACON_INTERVAL_MS: "300" });
    try {
      await until("four rounds relayed", 60_000, async () => ((await metric(role.metricsUrl, "daios_beacon_rounds_relayed_total")) >= 4 ? true : undefined));
      const events = await beacon.queryFilter(beacon.filters.RoundRelayed());
      expect(events.length).to.be.at.least(4);
      const rounds = events.map((e) => Number(e.args.round));
      expect(new Set(rounds).size, "each round relayed once").to.equal(rounds.length);
      for (const e of events) {
        const block = await provider.getBlock(e.blockNumber);
        const round = Number(e.args.round);
        // Signed for a block that existed: never ahead of the chain time of the block it lands in.
        expect(round).to.be.at.most(roundAt(block?.timestamp as number, { genesis, period: 3 }));
        expect(e.args.randomness).to.equal(signRound(round).randomness);
        expect(e.args.relayer).to.equal(new Wallet(relayerKey).address);
      }
      // Fresh rounds anchor buckets, so block randomness becomes available.
      expect((await beacon.queryFilter(beacon.filters.BucketAnchored())).length).to.be.at.least(1);
      expect(await metric(role.metricsUrl, "daios_beacon_lag_rounds")).to.be.at.most(2);
      expect(await metric(role.metricsUrl, "daios_beacon_relay_gas_total")).to.be.greaterThan(100_000);
      expect(role.output()).to.match(/"msg":"round relayed"/).and.to.match(/insecure/);
    } finally {
      await stopRole(role.child);
      await node.rpc("evm_setIntervalMining", [0]);
      await node.rpc("evm_setAutomine", [true]);
    }
  });

  it("drand mode: relays evmnet round 1000 fetched over HTTP once, and skips it after", async () => {
    const relay = await drandRelay([ROUND_1000]);
    const { beacon, file } = await deployBeacon(EVMNET.publicKey, EVMNET.genesis, EVMNET.period);
    const role = await startRole({ DEPLOYMENT_FILE: file, BEACON_DRAND_URLS: relay.url, BEACON_INTERVAL_MS: "200" });
    try {
      await until("round 1000 stored", 60_000, async () => ((await beacon.latestRound()) === 1000n ? true : undefined));
      expect(await beacon.randomnessOf(1000)).to.equal(`0x${ROUND_1000.randomness}`);
      const fetchesBefore = relay.requests.length;
      await until("more polls of the relay", 30_000, async () => (relay.requests.length > fetchesBefore + 4 ? true : undefined));
      expect(await metric(role.metricsUrl, "daios_beacon_rounds_relayed_total")).to.equal(1);
      expect((await beacon.queryFilter(beacon.filters.RoundRelayed())).length).to.equal(1);
      // Round 1000 is years old: the lag says how far behind evmnet's schedule the contract is.
      expect(await metric(role.metricsUrl, "daios_beacon_lag_rounds")).to.be.greaterThan(1_000_000);
      expect(role.output()).to.match(/"mode":"drand"/);
    } finally {
      await stopRole(role.child);
      await close(relay.server);
    }
  });

  it("refuses to start in devnet mode with a key that is not the contract's", async () => {
    const { file } = await deployBeacon(EVMNET.publicKey, EVMNET.genesis, EVMNET.period);
    const port = await freePort();
    const child = spawn(process.execPath, ["--import", "tsx", path.join(PROJECT_ROOT, "agents/src/index.ts"), "--role", "beacon"], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, RPC_URL: node.url, PRIVATE_KEY: relayerKey, METRICS_PORT: String(port), DEPLOYMENT_FILE: file, BEACON_MODE: "devnet" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let text = "";
    child.stdout?.on("data", (d: Buffer) => (text += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (text += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).to.equal(1);
    expect(text).to.match(/is not the beacon contract's/).and.to.match(/BEACON_SECRET_KEY/);
  });
});
