/**
 * The storage layer end to end on a real Hardhat node, a real Redis and real agent processes:
 * two providers take a deal, prove several periods, one is killed, the keeper reports its misses and
 * it is slashed, a third provider repairs the slot, and the file still downloads byte-exact.
 * Bad input along the way is refused with a clear error and changes nothing.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Wallet } from "ethers";
import { DEVNET_ACCOUNTS, beaconAgent, startDevnet, type Devnet } from "../../../agents/src/devnet/devnet.js";
import { connect, type Connection } from "../../../agents/src/sdk/connect.js";
import { PROJECT_ROOT } from "../../../agents/src/core/config.js";
import { STORAGE } from "../../../agents/src/generated/constants.js";
import { deterministicBytes } from "../../helpers/data.js";
import { expectRejects } from "../../helpers/expect.js";
import { until } from "../../helpers/wait.js";

const run = promisify(execFile);
const ZERO = "0x0000000000000000000000000000000000000000";
const address = (key: string) => new Wallet(key).address;
/** How often the tests poll the chain while waiting for the agents. */
const POLL_MS = 1000;

describe("storage end to end (real node, Redis, agents)", function () {
  this.timeout(900_000);
  let dir: string;
  let devnet: Devnet;
  let client: Connection;
  let file: string;
  let data: Uint8Array;
  /** A deal of a few periods (made by the CLI test) that the keeper must close once it expires. */
  let shortDeal: bigint | undefined;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "daios-e2e-"));
    devnet = await startDevnet({ dir: path.join(dir, "devnet"), rpcPort: 0 });
    // Storage seeds come from the beacon: its role runs first, like in `npm start`.
    await devnet.startAgent(beaconAgent());
    await devnet.startAgent({ name: "provider-a", role: "storage-provider", privateKey: DEVNET_ACCOUNTS.providerA.privateKey });
    await devnet.startAgent({ name: "provider-b", role: "storage-provider", privateKey: DEVNET_ACCOUNTS.providerB.privateKey });
    await devnet.startAgent({ name: "keeper", role: "keeper", privateKey: DEVNET_ACCOUNTS.keeper.privateKey });
    client = await connect({ rpcUrl: devnet.rpcUrl, privateKey: DEVNET_ACCOUNTS.client.privateKey, deploymentFile: devnet.deploymentFile });
    data = deterministicBytes(1024 * 1024 + 12_345, 42);
    file = path.join(dir, "data.bin");
    writeFileSync(file, data);
  });

  after(async () => {
    await client?.close();
    await devnet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe("bad input is refused and changes nothing", () => {
    it("an empty file", async () => {
      const empty = path.join(dir, "empty.bin");
      writeFileSync(empty, "");
      const before = await client.contracts.market.dealCount();
      await expectRejects(client.storage.upload(empty, { replicas: 1, periods: 2 }), /is empty/);
      expect(await client.contracts.market.dealCount()).to.equal(before);
    });

    it("a file over the maximum size", async () => {
      await expectRejects(client.storage.quote(STORAGE.MAX_FILE_SIZE + 1, 1, 2), /over the maximum/);
    });

    it("an unknown deal id", async () => {
      await expectRejects(client.storage.status(999n), /deal 999 does not exist/);
    });

    it("an unreachable provider (the deal is created but no slot is taken; the error says how to recover)", async () => {
      await expectRejects(
        client.storage.upload(file, { replicas: 1, periods: 2, endpoints: ["http://127.0.0.1:9"] }),
        /unreachable[\s\S]*cancel deal/
      );
    });

    it("the wrong data at upload (root mismatch): refused, nothing stored", async () => {
      const tree = await client.storage.prepare(file);
      const { dealId } = await client.storage.createDeal(tree, 1, 2);
      const other = path.join(dir, "other.bin");
      writeFileSync(other, deterministicBytes(data.length, 43));
      const provider = devnet.agents.get("provider-a")?.endpoint as string;
      await expectRejects(client.storage.uploadTo(provider, dealId, other, data.length), /HTTP 422[\s\S]*not the deal's root/);
      const files = (await (await fetch(`${provider}/v1/files`)).json()) as unknown[];
      expect(files).to.deep.equal([]);
      expect((await client.contracts.market.slot(dealId, 0)).provider).to.equal(ZERO);
      await client.storage.cancel(dealId);
    });

    it("a malformed agent configuration: the role exits with a message naming the variable", async () => {
      const error = await run(
        process.execPath,
        ["--import", "tsx", path.join(PROJECT_ROOT, "agents/src/index.ts"), "--role", "storage-provider"],
        {
          env: { ...process.env, PRIVATE_KEY: "0x1234", PROVIDER_PORT: "seventy", RPC_URL: devnet.rpcUrl },
        }
      ).then(
        () => undefined,
        (e: { code: number; stderr: string; stdout: string }) => e
      );
      expect(error, "the role must not start").to.not.equal(undefined);
      expect(error?.code).to.equal(1);
      expect(`${error?.stdout}${error?.stderr}`)
        .to.match(/PROVIDER_PORT/)
        .and.to.match(/PRIVATE_KEY/);
    });
  });

  describe("the CLI", () => {
    const cli = (...args: string[]) =>
      run(process.execPath, [
        path.join(PROJECT_ROOT, "agents/bin/daios.js"),
        "--rpc",
        devnet.rpcUrl,
        "--key",
        DEVNET_ACCOUNTS.client.privateKey,
        "--deployment",
        devnet.deploymentFile,
        ...args,
      ]).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr })
      );

    it("uploads, shows the status and downloads a file verified", async () => {
      const small = path.join(dir, "cli.bin");
      writeFileSync(small, deterministicBytes(70_000, 7));
      const endpoint = devnet.agents.get("provider-b")?.endpoint as string;
      const upload = await cli("--json", "storage", "upload", small, "--replicas", "1", "--periods", "3", "--provider", endpoint);
      expect(upload.code, upload.stderr).to.equal(0);
      const deal = JSON.parse(upload.stdout.slice(upload.stdout.indexOf("{"))) as { dealId: string; dataRoot: string };
      shortDeal = BigInt(deal.dealId);
      const status = await cli("storage", "status", deal.dealId);
      expect(status.code, status.stderr).to.equal(0);
      expect(status.stdout)
        .to.match(/Active/)
        .and.to.contain(deal.dataRoot);
      const topup = await cli("storage", "topup", deal.dealId, "--periods", "2");
      expect(topup.code, topup.stderr).to.equal(0);
      expect(topup.stdout).to.match(/extended by 2 periods/);
      const out = path.join(dir, "cli.out");
      const download = await cli("storage", "download", deal.dataRoot, "-o", out);
      expect(download.code, download.stderr).to.equal(0);
      expect(Buffer.compare(readFileSync(out), readFileSync(small))).to.equal(0);
    });

    it("says what was wrong and exits 1 for bad input", async () => {
      const unknown = await cli("storage", "status", "999");
      expect(unknown.code).to.equal(1);
      expect(unknown.stderr).to.match(/deal 999 does not exist/);
      const empty = path.join(dir, "empty.bin");
      writeFileSync(empty, "");
      expect((await cli("storage", "upload", empty, "--replicas", "1", "--periods", "2")).stderr).to.match(/is empty/);
      const zero = await cli("storage", "upload", empty, "--replicas", "0", "--periods", "2");
      expect(zero.code).to.equal(1);
      expect(zero.stderr).to.match(/--replicas must be a positive whole number/);
      expect((await cli("storage", "download", "nothex", "-o", path.join(dir, "x"))).stderr).to.match(/a data root is 0x/);
    });
  });

  // Last: it kills provider A. (Mocha runs a describe's own tests before its nested describes.)
  describe("lifecycle", () => {
    it("stores, proves, slashes a dead provider, repairs the slot and downloads byte-exact", async () => {
      const market = client.contracts.market;
      const a = address(DEVNET_ACCOUNTS.providerA.privateKey);
      const b = address(DEVNET_ACCOUNTS.providerB.privateKey);
      const c = address(DEVNET_ACCOUNTS.providerC.privateKey);
      const keeper = address(DEVNET_ACCOUNTS.keeper.privateKey);
      const endpoints = ["provider-a", "provider-b"].map((n) => devnet.agents.get(n)?.endpoint as string);

      const deal = await client.storage.upload(file, { replicas: 2, periods: 40, endpoints });
      expect(deal.size).to.equal(data.length);
      const status = await client.storage.status(deal.dealId);
      expect(status.status).to.equal("Active");
      const holders = status.slots.map((s) => s.provider);
      expect(holders).to.have.members([a, b]);
      const slotOfA = BigInt(holders.indexOf(a));

      // Several periods of proofs from both providers.
      const proven = await until("two periods proven by both providers", 240_000, async () => {
        const events = await market.queryFilter(market.filters.ProofAccepted(deal.dealId));
        const periods = (p: string) => new Set(events.filter((e) => e.args.provider === p).map((e) => e.args.period));
        return periods(a).size >= 2 && periods(b).size >= 2 ? events : undefined;
      }, POLL_MS);
      expect(
        proven.some((e) => e.args.pay > 0n),
        "proofs are paid"
      ).to.equal(true);
      // Every seed came from a beacon round relayed after its challenge block, and pay latency was
      // counted from that relay.
      const beacon = client.contracts.beacon;
      expect(await beacon.latestRound()).to.be.greaterThan(0n);
      for (const e of proven) {
        const [, challengeBlock] = await market.periodWindow(deal.dealId, e.args.period);
        const [, knownAt] = await beacon.seedAt(challengeBlock);
        expect(knownAt, `period ${e.args.period}: seed public after the challenge block`).to.be.greaterThan(challengeBlock);
        expect(BigInt(e.blockNumber) - knownAt).to.equal(e.args.latencyBlocks);
      }

      // Kill provider A the hard way, bring in provider C.
      devnet.agents.get("provider-a")?.process.kill();
      await devnet.startAgent({ name: "provider-c", role: "storage-provider", privateKey: DEVNET_ACCOUNTS.providerC.privateKey });
      const collateralBefore = (await market.slot(deal.dealId, slotOfA)).collateral;

      const missed = await until("a reported miss of provider A", 240_000, async () => {
        const events = await market.queryFilter(market.filters.ProofMissed(deal.dealId, slotOfA));
        return events.find((e) => e.args.provider === a && e.args.reporter === keeper);
      }, POLL_MS);
      expect(missed.args.penalty > 0n).to.equal(true);
      const afterMiss = await market.slot(deal.dealId, slotOfA);
      expect(afterMiss.provider === ZERO || afterMiss.collateral < collateralBefore, "A was slashed").to.equal(true);

      await until("the slot to be freed", 300_000, async () => {
        const events = await market.queryFilter(market.filters.SlotFreed(deal.dealId, slotOfA));
        return events.find((e) => e.args.provider === a);
      }, POLL_MS);
      await until("provider C to repair the slot", 240_000, async () => {
        const s = await market.slot(deal.dealId, slotOfA);
        return s.provider === c ? s : undefined;
      }, POLL_MS);
      const repaired = await until("a proof by provider C with the repair reward", 240_000, async () => {
        const events = await market.queryFilter(market.filters.RepairRewarded(deal.dealId, slotOfA));
        return events.find((e) => e.args.provider === c);
      }, POLL_MS);
      expect(repaired.args.amount > 0n).to.equal(true);
      expect(
        (await market.credits(keeper)) + (await client.contracts.token.balanceOf(keeper)) > 10000n * 10n ** 18n,
        "the keeper earned its bounty"
      ).to.equal(true);

      const out = path.join(dir, "downloaded.bin");
      const result = await client.storage.download(deal.dataRoot, out);
      expect(result.size).to.equal(data.length);
      expect(Buffer.compare(readFileSync(out), Buffer.from(data))).to.equal(0);
      expect(
        Object.keys(result.served).every((e) => e !== endpoints[0]),
        "the dead provider served nothing"
      ).to.equal(true);

      // The short deal from the CLI test has expired by now: the keeper closes it.
      expect(typeof shortDeal, "the CLI test made a short deal").to.equal("bigint");
      await until("the keeper to close the expired short deal", 300_000, async () => {
        const closed = await market.queryFilter(market.filters.DealClosed(shortDeal));
        return closed.length > 0 ? closed : undefined;
      }, POLL_MS);
      expect((await client.storage.status(shortDeal as bigint)).status).to.equal("Closed");
    });
  });
});
