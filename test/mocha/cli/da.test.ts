/**
 * `daios da …` as a user runs it (the real binary in a child process) against a real Hardhat node and
 * four da-node processes: a file submitted, read back byte-exact, sampled, shown; the nodes listed;
 * a challenge answered by the node; and bad input refused with exit code 2 and a message saying what
 * was wrong, changing nothing.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { PROJECT_ROOT } from "../../../agents/src/core/config.js";
import { DA } from "../../../agents/src/generated/constants.js";
import { startDaStack, type DaStack } from "../../helpers/da-stack.js";
import { deterministicBytes } from "../../helpers/data.js";

const run = promisify(execFile);

describe("daios da (CLI against a real node and four da-node processes)", function () {
  this.timeout(600_000);
  let dir: string;
  let stack: DaStack;
  let file: string;
  let data: Uint8Array;
  let blobId: string;

  const cli = (...args: string[]) =>
    run(process.execPath, [path.join(PROJECT_ROOT, "agents/bin/daios.js"), "--rpc", stack.rpcUrl, "--key", stack.accounts.client.privateKey, "--deployment", stack.deploymentFile, ...args], {
      maxBuffer: 64 * 1024 * 1024,
      encoding: "buffer",
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr.toString() }),
      (e: { code: number; stdout: Buffer; stderr: Buffer }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr.toString() }),
    );
  const json = <T>(r: { stdout: Buffer }) => JSON.parse(r.stdout.toString()) as T;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "daios-da-cli-"));
    stack = await startDaStack({ dir, nodes: 4 });
    await stack.readyEpoch();
    data = deterministicBytes(70_001, 9);
    file = path.join(dir, "blob.bin");
    writeFileSync(file, data);
  });

  after(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("submits a file: prints the blob id, root and certificate transaction", async () => {
    const r = await cli("--json", "da", "submit", file);
    expect(r.code, r.stderr).to.equal(0);
    const out = json<{ blobId: string; root: string; certifyTx: string; signers: unknown[] }>(r);
    expect(out.root).to.match(/^0x[0-9a-f]{64}$/);
    expect(out.certifyTx).to.match(/^0x[0-9a-f]{64}$/);
    expect(out.signers).to.have.length(4);
    blobId = out.blobId;
    const human = await cli("da", "submit", file);
    expect(human.code, human.stderr).to.equal(0);
    expect(human.stdout.toString()).to.match(/blob \d+ certified\nroot 0x[0-9a-f]{64}\n[\s\S]*certificate tx 0x[0-9a-f]{64}/);
    expect(human.stderr).to.match(/encoded: root 0x[0-9a-f]{64}, 4 shards[\s\S]*certified in 0x/);
  });

  it("gets the blob back byte-exact, to a file and to standard output", async () => {
    const out = path.join(dir, "back.bin");
    const r = await cli("da", "get", blobId, "-o", out);
    expect(r.code, r.stderr).to.equal(0);
    expect(Buffer.from(readFileSync(out)).equals(Buffer.from(data))).to.equal(true);
    const piped = await cli("da", "get", blobId);
    expect(piped.code, piped.stderr).to.equal(0);
    expect(piped.stdout.equals(Buffer.from(data))).to.equal(true);
  });

  it("verifies random samples, shows the status and lists the nodes", async () => {
    const v = await cli("da", "verify", blobId, "--samples", "16");
    expect(v.code, v.stderr).to.equal(0);
    expect(v.stdout.toString()).to.match(/16\/16 random chunks verified[\s\S]*1 - 2\^-16 = 0\.99998/);
    const s = await cli("da", "status", blobId);
    expect(s.code, s.stderr).to.equal(0);
    expect(s.stdout.toString()).to.match(new RegExp(`blob ${blobId}: Certified`));
    expect(s.stdout.toString().match(/ signed;/g)).to.have.length(4);
    const n = await cli("--json", "da", "nodes");
    expect(n.code, n.stderr).to.equal(0);
    const nodes = json<{ account: string; nodeId: string; active: boolean }[]>(n);
    expect(nodes.map((x) => x.account).sort()).to.deep.equal(stack.nodes.map((x) => x.address).sort());
    expect(nodes.every((x) => x.active && x.nodeId !== "0")).to.equal(true);
  });

  it("opens a challenge that the node answers, and refuses to resolve it", async () => {
    const c = await cli("--json", "da", "challenge", blobId, "--position", "2", "--chunk", "0");
    expect(c.code).to.equal(2);
    expect(c.stderr).to.match(/chunk 0 is not in the shard of position 2/);
    const status = json<{ layout: { chunksPerShard: number } }>(await cli("--json", "da", "status", blobId));
    const opened = await cli("--json", "--key", stack.accounts.challenger.privateKey, "da", "challenge", blobId, "--position", "2", "--chunk", String(2 * status.layout.chunksPerShard));
    expect(opened.code, opened.stderr).to.equal(0);
    const { challengeId } = json<{ challengeId: string }>(opened);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const info = await stack.contracts.blobs.challengeInfo(BigInt(challengeId));
      if (Number(info.status) === 2) break;
      if (Date.now() > deadline) throw new Error("the node did not answer the challenge");
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const r = await cli("da", "resolve", challengeId);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(new RegExp(`challenge ${challengeId} was answered in time`));
  });

  it("refuses bad input with exit code 2 and says what was wrong, changing nothing", async () => {
    const before = await stack.contracts.blobs.blobCount();
    const empty = path.join(dir, "empty.bin");
    writeFileSync(empty, "");
    const big = path.join(dir, "big.bin");
    writeFileSync(big, "");
    truncateSync(big, DA.MAX_BLOB_SIZE + 1);
    const cases: [string[], RegExp][] = [
      [["da", "submit", empty], /empty\.bin is empty: there is nothing to submit/],
      [["da", "submit", big], /has 16777217 bytes, more than the largest blob \(DA.MAX_BLOB_SIZE = 16777216 bytes\)/],
      [["da", "submit", path.join(dir, "missing.bin")], /cannot read .*missing\.bin: no such file/],
      [["da", "get", "999"], /blob 999 does not exist \(blob ids run from 1 to \d+\)/],
      [["da", "status", "0"], /the blob id must be a positive whole number, got '0'/],
      [["da", "verify", blobId, "--samples", "0"], /--samples must be a whole number of at least 1/],
      [["da", "challenge", blobId, "--position", "9", "--chunk", "0"], /quorum has 4 members: there is no position 9/],
      [["da", "resolve", "77"], /challenge 77 does not exist/],
      [["da", "get"], /missing required argument 'blobId'/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(...args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).to.equal(2);
      expect(r.stderr).to.match(message);
    }
    expect(await stack.contracts.blobs.blobCount()).to.equal(before);
  });
});
