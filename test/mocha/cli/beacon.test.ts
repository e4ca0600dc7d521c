/**
 * `daios beacon verify` and `daios beacon latest`, run as the real command (agents/bin/daios.js):
 * drand evmnet round 1000 verifies, round 1001 and a tampered signature do not, bad input exits 2
 * saying what is wrong; on a node the deployment's beacon is used when it holds the key (including a
 * round it stores already), else a beacon is deployed for the check.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Wallet, type JsonRpcProvider } from "ethers";
import { PROJECT_ROOT } from "../../../agents/src/core/config.js";
import { hardhatAccount, startHardhatNode, type HardhatNode } from "../../../agents/src/devnet/hardhat-node.js";
import { writeDeployment } from "../../../agents/src/sdk/deployment.js";
import { DEVNET_PUBLIC_KEY, EVMNET, publicKeyForContract, signRound, signatureForContract } from "../../../agents/src/sdk/beacon/index.js";
import { RandomnessBeacon__factory, type RandomnessBeacon } from "../../../types/ethers-contracts/index.js";

const run = promisify(execFile);

/** drand evmnet round 1000 (public). */
const SIG_1000 = "0x06fd5996329504d3a56b482d9222bf7205857d0a9559ddd216ca31a286f6a8cc0a120f021aac2f13553fb164f62bc3a5ca32c76dea88a777b39bcf3cac5fdbd6";
const RANDOMNESS_1000 = "0x0e6745667465a6f9dce5d5f994656955080be14c469ff17fc4fc588c925a8504";
/** The same signature with its last byte changed. */
const TAMPERED = `${SIG_1000.slice(0, -2)}d7`;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `env` replaces RPC_URL/PRIVATE_KEY/DEPLOYMENT_FILE of this process's environment. */
function daios(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const base = { ...process.env };
  delete base.RPC_URL;
  delete base.PRIVATE_KEY;
  delete base.DEPLOYMENT_FILE;
  return run(process.execPath, [path.join(PROJECT_ROOT, "agents/bin/daios.js"), ...args], { cwd: PROJECT_ROOT, env: { ...base, ...env } }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

describe("daios beacon", function () {
  this.timeout(300_000);

  describe("verify on an in-process network (no RPC_URL)", () => {
    it("evmnet round 1000 is valid (exit 0) and prints its randomness", async () => {
      const r = await daios(["beacon", "verify", "1000", SIG_1000]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/round 1000: valid under the evmnet key/).and.to.contain(RANDOMNESS_1000).and.to.match(/in-process/);
    });

    it("a shifted round, a tampered signature and another key are invalid (exit 1)", async () => {
      const shifted = await daios(["beacon", "verify", "1001", SIG_1000]);
      expect(shifted.code).to.equal(1);
      expect(shifted.stdout).to.match(/round 1001: INVALID/).and.to.match(/RandomnessBeaconInvalidSignature\(1001\)/);
      const tampered = await daios(["--json", "beacon", "verify", "1000", TAMPERED]);
      expect(tampered.code).to.equal(1);
      const parsed = JSON.parse(tampered.stdout) as { valid: boolean; reason: string };
      expect(parsed.valid).to.equal(false);
      expect(parsed.reason).to.match(/^RandomnessBeacon(SignatureNotOnCurve|InvalidSignature)\(1000/);
      const devnet = await daios(["beacon", "verify", "1000", SIG_1000, "--key", "devnet"]);
      expect(devnet.code).to.equal(1);
      expect(devnet.stdout).to.match(/INVALID under the devnet key/);
    });

    it("bad input exits 2 and says what is wrong, without checking anything", async () => {
      const cases: [string[], RegExp][] = [
        [["0", SIG_1000], /round 0 does not exist/],
        [["12x", SIG_1000], /round "12x" is not a whole number/],
        [["1000", "0xnothex"], /signature "0xnothex" is not hex/],
        [["1000", SIG_1000.slice(0, 100)], /signature has 98 hex digits \(49 bytes\); it must have 128 \(64 bytes\)/],
        [["1000", SIG_1000, "--key", "0x1234"], /public key has 4 hex digits/],
        [["1000", SIG_1000, "--key", "mainnet"], /--key "mainnet" is not evmnet, devnet or a hex public key/],
      ];
      for (const [args, message] of cases) {
        const r = await daios(["beacon", "verify", ...args]);
        expect(r.code, `${args.join(" ")}: ${r.stderr}`).to.equal(2);
        expect(r.stderr).to.match(message);
        expect(r.stdout).to.equal("");
      }
    });
  });

  describe("on a node (RPC_URL)", () => {
    let node: HardhatNode;
    let provider: JsonRpcProvider;
    let dir: string;
    let beacon: RandomnessBeacon;
    let deploymentFile: string;

    before(async () => {
      node = await startHardhatNode();
      provider = node.provider();
      dir = mkdtempSync(path.join(os.tmpdir(), "daios-cli-beacon-"));
      // A devnet-like deployment whose beacon holds the devnet key, with three relayed rounds.
      const wallet = new Wallet(hardhatAccount(0).privateKey, provider);
      const genesis = (await provider.getBlock("latest"))!.timestamp - 60;
      beacon = await new RandomnessBeacon__factory(wallet).deploy(publicKeyForContract(DEVNET_PUBLIC_KEY), genesis, 3);
      await beacon.waitForDeployment();
      for (const round of [10, 11, 12]) await (await beacon.relay(round, signatureForContract(signRound(round).signature))).wait();
      const block = await provider.getBlockNumber();
      const entry = { address: await beacon.getAddress(), block };
      deploymentFile = path.join(dir, "31337.json");
      writeDeployment(
        {
          id: (await provider.getBlock(block))!.hash!.slice(2, 14),
          chainId: 31337,
          network: "test",
          deployedAt: new Date().toISOString(),
          startBlock: block,
          // Only the beacon is real; the CLI's beacon commands call nothing else.
          contracts: { DaiosToken: entry, ProviderRegistry: entry, RandomnessBeacon: entry, PoRAVerifier: entry, StorageMarket: entry },
          beacon: { network: "devnet", publicKey: DEVNET_PUBLIC_KEY, genesis, period: 3 },
        },
        deploymentFile,
      );
    });

    after(async () => {
      provider?.destroy();
      await node?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it("latest prints the newest relayed round, its randomness, time and relay block", async () => {
      const r = await daios(["beacon", "latest"], { RPC_URL: node.url, DEPLOYMENT_FILE: deploymentFile });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/round 12 of the beacon/).and.to.contain(signRound(12).randomness).and.to.match(/devnet key/).and.to.match(/s ago/).and.to.match(/relayed in block \d+/);
      const json = await daios(["--json", "beacon", "latest"], { RPC_URL: node.url, DEPLOYMENT_FILE: deploymentFile });
      expect(JSON.parse(json.stdout)).to.include({ round: "12", randomness: signRound(12).randomness });
    });

    it("verifies on the deployment's beacon when it holds the key, including a round it stores", async () => {
      const stored = await daios(["beacon", "verify", "11", signRound(11).signature, "--key", "devnet"], { RPC_URL: node.url, DEPLOYMENT_FILE: deploymentFile });
      expect(stored.code, stored.stderr).to.equal(0);
      expect(stored.stdout).to.match(/the deployment's RandomnessBeacon/);
      const wrong = await daios(["beacon", "verify", "11", signRound(12).signature, "--key", "devnet"], { RPC_URL: node.url, DEPLOYMENT_FILE: deploymentFile });
      expect(wrong.code).to.equal(1);
      expect(wrong.stdout).to.match(/stores round 11 with another signature/);
      const fresh = await daios(["beacon", "verify", "500", signRound(500).signature, "--key", "devnet"], { RPC_URL: node.url, DEPLOYMENT_FILE: deploymentFile });
      expect(fresh.code, fresh.stderr).to.equal(0);
      expect(await beacon.latestRound(), "a check relays nothing").to.equal(12n);
    });

    it("deploys a beacon with the key when the deployment's holds another (devnet-funded account)", async () => {
      const r = await daios(["beacon", "verify", "1000", SIG_1000], { RPC_URL: node.url, DEPLOYMENT_FILE: deploymentFile });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/deployed for this check at 0x[0-9a-fA-F]{40} on chain 31337/).and.to.contain(RANDOMNESS_1000);
      const bad = await daios(["beacon", "verify", "1000", TAMPERED, "--key", EVMNET.publicKey], { RPC_URL: node.url, DEPLOYMENT_FILE: deploymentFile });
      expect(bad.code).to.equal(1);
    });
  });
});
