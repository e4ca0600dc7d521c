/**
 * The DA layer end to end through the SDK client, on a real Hardhat node with six real da-node
 * processes (one quorum of six: k = 3 data shards of 6, certificates need 4 signers):
 * a blob submitted, certified and read back byte-exact; a wrong shard refused with nothing stored;
 * a node answering with a bad signature left out of a certificate that still passes; sampling
 * confidence; a challenge answered automatically by an honest node and one left unanswered by a node
 * that deleted its data, which resolve slashes; a blob submitted when the head is an epoch's last
 * block (its header lands in the next epoch); retrieval after half of the nodes were killed
 * (SIGKILL). The nodes keep their chain cursors and queues in the real Redis of `npm test`.
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DA } from "../../../agents/src/generated/constants.js";
import { encodeBlob } from "../../../agents/src/sdk/da/blob.js";
import { certificateMessage } from "../../../agents/src/sdk/da/certificate.js";
import { DaClient, DaInputError, type SubmitResult } from "../../../agents/src/sdk/da/client.js";
import { encodeProofHeader, PROOF_HEADER } from "../../../agents/src/sdk/da/wire.js";
import { startDaStack, type DaStack } from "../../helpers/da-stack.js";
import { deterministicBytes } from "../../helpers/data.js";
import { expectRejects } from "../../helpers/expect.js";
import { until } from "../../helpers/wait.js";

describe("DA client and nodes (real node, six da-node processes)", function () {
  this.timeout(600_000);
  let dir: string;
  let stack: DaStack;
  let client: DaClient;
  let data: Uint8Array;
  let first: SubmitResult;
  let second: SubmitResult;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "daios-da-"));
    stack = await startDaStack({ dir, nodes: 6 });
    client = stack.client();
    const epoch = await stack.readyEpoch();
    expect((await stack.contracts.daRegistry.epochInfo(epoch)).quorumSize).to.equal(6n);
    data = deterministicBytes(300_000 + 17, 1);
  });

  after(async () => {
    await stack?.stop();
    // DAIOS_KEEP_TEST_DIRS=1 keeps the node logs and data for a look after the run.
    if (dir && !process.env.DAIOS_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
  });

  /** The node process behind a quorum position of a blob. */
  const nodeAt = async (blobId: bigint, position: number) => {
    const blob = await client.blob(blobId);
    const [, account] = await stack.contracts.daRegistry.memberAt(blob.epoch, blob.quorum, position);
    const node = stack.nodes.find((n) => n.address === account);
    if (!node) throw new Error(`no node process for ${account}`);
    return node;
  };

  it("submits a blob: every member stores its shard and signs, the certificate passes, the bytes come back exact", async () => {
    const events: string[] = [];
    first = await client.submit(data, { onProgress: (e) => events.push(e.type) });
    expect(first.signers).to.have.length(6);
    expect(first.nonSigners).to.deep.equal([]);
    expect(first.signedWeight).to.equal(first.totalWeight);
    expect(events).to.include.members(["encoding", "encoded", "submitted", "shard-sent", "signed", "certified"]);
    const blob = await client.blob(first.blobId);
    expect(blob.status).to.equal("Certified");
    expect(blob.root).to.equal(first.root);
    expect(blob.nonSignerMask).to.equal(0n);
    expect(first.root).to.equal(encodeBlob(data, 6).rootHex);
    // The message the nodes signed is the one the contract checks.
    expect(await stack.contracts.blobs.certificateMessage(first.blobId)).to.equal(
      certificateMessage({ chainId: stack.chainId, blobs: stack.deployment.contracts.DABlobs?.address as string, blobId: first.blobId, root: first.root, epoch: first.epoch }),
    );
    for (const node of stack.nodes) expect(existsSync(path.join(node.shardDir(first.blobId), "shard.bin")), `node ${node.index}`).to.equal(true);
    const got = await client.get(first.blobId);
    expect(got.data.equals(Buffer.from(data))).to.equal(true);
    expect(got.used).to.have.length(3);
  });

  it("the nodes sample the next epoch as soon as they can and claim their fee shares", async () => {
    const { daRegistry, blobs } = stack.contracts;
    const next = (await daRegistry.currentEpoch()) + 1n;
    await until(`epoch ${next} sampled by a node`, 30_000, async () => ((await daRegistry.epochInfo(next)).sampled ? true : undefined));
    const [sampled] = await daRegistry.queryFilter(daRegistry.filters.EpochSampled(next));
    const sender = (await sampled.getTransaction()).from;
    expect(stack.nodes.map((n) => n.address)).to.include(sender);
    const all = (1n << 6n) - 1n;
    await until("every signer's fee claimed", 60_000, async () => ((await blobs.blob(first.blobId)).claimedMask === all ? true : undefined));
    const claims = await blobs.queryFilter(blobs.filters.FeeClaimed(first.blobId));
    expect(claims).to.have.length(6);
    const perSigner = await blobs.feePerSigner(first.blobId);
    expect(claims.every((c) => c.args.amount === perSigner)).to.equal(true);
  });

  it("refuses bad input before touching the chain", async () => {
    const count = await stack.contracts.blobs.blobCount();
    await expectRejects(client.submit(new Uint8Array(0)), /the blob is empty/);
    await expectRejects(client.submit(new Uint8Array(DA.MAX_BLOB_SIZE + 1)), /more than DA.MAX_BLOB_SIZE = 16777216/);
    const unknown = await expectRejects(client.get(count + 5n), new RegExp(`blob ${count + 5n} does not exist \\(blob ids run from 1 to ${count}\\)`));
    expect(unknown).to.be.instanceOf(DaInputError);
    expect(await stack.contracts.blobs.blobCount()).to.equal(count);
  });

  it("a node given a wrong shard refuses it with a 4xx and stores nothing; the right one it stores and signs", async () => {
    const bytes = deterministicBytes(50_000, 2);
    const epoch = await stack.contracts.daRegistry.currentEpoch();
    const encoded = encodeBlob(bytes, 6);
    const wallet = new Wallet(stack.accounts.client.privateKey, stack.provider);
    const blobs = stack.contracts.blobs.connect(wallet);
    await (await stack.contracts.token.connect(wallet).approve(await blobs.getAddress(), 10n ** 24n)).wait();
    const receipt = await (await blobs.submitBlob(encoded.rootHex, bytes.length, epoch)).wait();
    const blobId = (await stack.contracts.blobs.blobCount()) as bigint;
    expect(receipt?.status).to.equal(1);
    const node = await nodeAt(blobId, 1);
    const put = (shard: Uint8Array, proof: Buffer[]) =>
      fetch(`${node.url}/v1/blobs/${blobId}/shards/1`, { method: "PUT", headers: { [PROOF_HEADER]: encodeProofHeader(proof) }, body: Buffer.from(shard) });
    const wrong = await put(encoded.shards[2], encoded.shardProof(1));
    expect(wrong.status).to.equal(422);
    expect(((await wrong.json()) as { error: string }).error).to.match(new RegExp(`do not give blob ${blobId}'s root`));
    const tampered = Buffer.from(encoded.shards[1]);
    tampered[0] ^= 0xff;
    expect((await put(tampered, encoded.shardProof(1))).status).to.equal(422);
    expect(existsSync(node.shardDir(blobId)), "nothing stored").to.equal(false);
    expect((await fetch(`${node.url}/v1/blobs/${blobId}/shards/1`)).status).to.equal(404);
    const other = await nodeAt(blobId, 0);
    expect((await fetch(`${other.url}/v1/blobs/${blobId}/shards/1`, { method: "PUT", headers: { [PROOF_HEADER]: encodeProofHeader(encoded.shardProof(1)) }, body: Buffer.from(encoded.shards[1]) })).status).to.equal(403);
    const right = await put(encoded.shards[1], encoded.shardProof(1));
    expect(right.status).to.equal(200);
    expect(existsSync(path.join(node.shardDir(blobId), "shard.bin"))).to.equal(true);
  });

  it("a node that answers with a bad signature becomes a non-signer and the certificate passes with the rest", async () => {
    const bad = stack.nodes[2];
    bad.proxyMode = "bad-signature";
    try {
      const result = await client.submit(deterministicBytes(123_456, 3));
      second = result;
      expect(result.nonSigners).to.have.length(1);
      expect(result.nonSigners[0].reason).to.match(/does not verify against its registered BLS key/);
      const position = result.nonSigners[0].position;
      expect((await nodeAt(result.blobId, position)).index).to.equal(bad.index);
      expect(result.signers).to.have.length(5);
      const blob = await client.blob(result.blobId);
      expect(blob.status).to.equal("Certified");
      expect(blob.nonSignerMask).to.equal(1n << BigInt(position));
      // A non-signer cannot be challenged.
      await expectRejects(client.challenge(result.blobId, position, position * blob.layout.chunksPerShard), /did not sign blob/);
    } finally {
      bad.proxyMode = "pass";
    }
  });

  it("sampling checks random chunks against the root and reports the confidence", async () => {
    const report = await client.verify(first.blobId, 16);
    expect(report.failures).to.deep.equal([]);
    expect(report.passed).to.equal(16);
    expect(report.confidence).to.equal(1 - 2 ** -16);
  });

  it("a challenge against an honest node is answered automatically", async () => {
    const challenger = stack.client(stack.accounts.challenger);
    const blob = await client.blob(first.blobId);
    const position = 4;
    const opened = await challenger.challenge(first.blobId, position, position * blob.layout.chunksPerShard + 1);
    expect(opened.node).to.equal((await nodeAt(first.blobId, position)).address);
    const answered = await until("the node's answer", 60_000, async () => {
      const c = await challenger.challengeInfo(opened.challengeId);
      return c.status === "Open" ? undefined : c;
    });
    expect(answered.status).to.equal("Answered");
    // The bond was credited to the node, which withdraws its credits.
    const { blobs } = stack.contracts;
    await until("the node's withdrawal", 60_000, async () => ((await blobs.queryFilter(blobs.filters.Withdrawn(opened.node))).length > 0 ? true : undefined));
    expect(await blobs.credits(opened.node)).to.equal(0n);
    await stack.mine(DA.CHALLENGE_WINDOW_BLOCKS + 1);
    await expectRejects(challenger.resolve(opened.challengeId), /was answered in time/);
  });

  it("a challenge against a node that deleted its data goes unanswered and resolve slashes it", async () => {
    const challenger = stack.client(stack.accounts.challenger);
    const blob = await client.blob(second.blobId);
    const position = second.signers[0].position;
    const node = await nodeAt(second.blobId, position);
    rmSync(node.shardDir(second.blobId), { recursive: true, force: true });
    const role = await stack.contracts.registry.DA_ROLE();
    const stakeBefore = (await stack.contracts.registry.getProvider(node.address, role)).stake;
    const opened = await challenger.challenge(second.blobId, position, position * blob.layout.chunksPerShard);
    await expectRejects(challenger.resolve(opened.challengeId), /answer window is open until block/);
    // The node sees the challenge but has nothing to answer with.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await challenger.challengeInfo(opened.challengeId)).status).to.equal("Open");
    await stack.mineTo(opened.deadline + 1);
    const resolved = await challenger.resolve(opened.challengeId);
    expect(resolved.node).to.equal(node.address);
    expect(resolved.slashed).to.equal(stack.blobsConfig.slashAmount);
    expect(resolved.challengerCredit).to.equal(stack.blobsConfig.challengeBond + stack.blobsConfig.slashAmount / 2n);
    expect((await stack.contracts.registry.getProvider(node.address, role)).stake).to.equal(stakeBefore - stack.blobsConfig.slashAmount);
    expect((await challenger.challengeInfo(opened.challengeId)).status).to.equal("Slashed");
    const sampled = await client.verify(second.blobId, 200);
    expect(sampled.confidence).to.equal(0);
    expect(sampled.failures.length).to.be.greaterThan(0);
    expect(sampled.failures.every((f) => f.position === position)).to.equal(true);
  });

  it("submits a blob when the head is the last block of an epoch: encoded for the next epoch, where its header lands", async () => {
    const { daRegistry } = stack.contracts;
    // The next epoch's randomness is the first block of this one, readable from the block after it.
    if ((await stack.provider.getBlockNumber()) % DA.EPOCH_BLOCKS === 0) await stack.mine(1);
    const epoch = await daRegistry.currentEpoch();
    // The nodes sample the next epoch on their own: wait for it, so that no sampling moves the head below.
    await until(`epoch ${epoch + 1n} sampled by a node`, 30_000, async () => ((await daRegistry.epochInfo(epoch + 1n)).sampled ? true : undefined));
    const last = Number(epoch + 1n) * DA.EPOCH_BLOCKS - 1;
    await stack.mineTo(last);
    expect(await daRegistry.currentEpoch()).to.equal(epoch);
    const result = await client.submit(deterministicBytes(40_000, 4));
    expect(result.epoch).to.equal(epoch + 1n);
    const blob = await client.blob(result.blobId);
    expect(blob.status).to.equal("Certified");
    expect(blob.epoch).to.equal(epoch + 1n);
    expect(blob.submittedAt).to.be.greaterThan(last);
    // submitBlob's gas limit keeps a margin over its estimate (its cost depends on the blob id).
    const sent = await stack.provider.getTransaction(result.submitTx);
    expect(sent?.gasLimit).to.be.at.least((result.gasUsed.submit * 125n) / 100n);
  });

  it("rebuilds the blob byte-exact after half of the nodes were killed (SIGKILL)", async () => {
    const stopped = [0, 1, 2].map((p) => nodeAt(first.blobId, p));
    for (const node of await Promise.all(stopped)) await node.stop("SIGKILL");
    const got = await client.get(first.blobId);
    expect(got.data.equals(Buffer.from(data))).to.equal(true);
    expect([...got.used].sort()).to.deep.equal([3, 4, 5]);
    expect(got.failures.every((f) => [0, 1, 2].includes(f.position) && /HTTP 502|unreachable/.test(f.reason))).to.equal(true);
  });
});
