/**
 * DARegistry and DABlobs on the in-process network with real BLS keys (agents/src/sdk/bls): on-chain
 * quorum sampling equals the TypeScript reference (agents/src/sdk/da/quorum.ts), a real aggregated
 * certificate is accepted (and a forged one rejected), and the whole-transaction gas of the hot paths.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { DA } from "../../../agents/src/generated/constants.js";
import { CommitmentTree, referenceCommitHasher } from "../../../agents/src/sdk/da/commitment.js";
import { g1FromSolidity, g1ToSolidity, sign } from "../../../agents/src/sdk/bls/index.js";
import { epochSeed, memberRoot, sampleQuorums } from "../../../agents/src/sdk/da/quorum.js";
import { ROOT, SIZE, certificate, deployDaContracts, quorumMembers, submit } from "../../helpers/da-contracts.js";

const { ethers, networkHelpers } = await network.create();
const { loadFixture, mine } = networkHelpers;

const QUORUM_SIZE = 16;
const daFixture = () => deployDaContracts(ethers, mine, { quorumSize: QUORUM_SIZE });

describe("DA contracts with real BLS keys", function () {
  this.timeout(600_000);

  it("samples on-chain exactly like the TypeScript reference", async () => {
    const f = await loadFixture(daFixture);
    const info = await f.da.epochInfo(f.epoch);
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const seed = epochSeed(f.seedHash, chainId, await f.da.getAddress(), f.epoch);
    expect(info.seed).to.equal(seed);
    const { picks, size } = sampleQuorums(seed, f.stakes, 1, QUORUM_SIZE);
    expect(info.quorumSize).to.equal(BigInt(size));
    const ids = await f.da.quorumMembers(f.epoch, 0);
    expect(ids.map(Number)).to.deep.equal(picks.map((i) => i + 1));
    const { members } = await quorumMembers(f);
    const q = await f.da.quorum(f.epoch, 0);
    expect(q.memberRoot).to.equal(memberRoot(members));
    expect(q.totalWeight).to.equal(f.stakes.reduce((a, b) => a + b, 0n));
  });

  it("accepts a real aggregated certificate and rejects a forged one", async () => {
    const f = await loadFixture(daFixture);
    const blobId = await submit(f);
    const cert = await certificate(f, blobId, [3, 11]);
    // Sigma from one signer fewer than apkG2 claims.
    const { members, index } = await quorumMembers(f);
    const hm = g1FromSolidity(await f.blobs.messagePoint(blobId));
    const forged = g1ToSolidity(g1FromSolidity(cert.sigma).subtract(sign(f.keys[index[0]].secretKey, hm)));
    await expect(f.blobs.certify(blobId, cert.nonSigners, cert.apkG2, forged))
      .to.be.revertedWithCustomError(f.blobs, "DABlobsInvalidSignature")
      .withArgs(blobId);
    const q = await f.da.quorum(f.epoch, 0);
    const signed = q.totalWeight - members[3].weight - members[11].weight;
    await expect(f.blobs.certify(blobId, cert.nonSigners, cert.apkG2, cert.sigma))
      .to.emit(f.blobs, "BlobCertified")
      .withArgs(blobId, signed, q.totalWeight, (1n << 3n) | (1n << 11n), (b: bigint) => b > 0n, (t: bigint) => t > 0n);
  });

  it("measures whole-transaction gas of the hot paths", async () => {
    const f = await loadFixture(daFixture);
    const rows: [string, bigint][] = [
      ["registerKeys", f.registerKeysGas],
      [`sampleEpoch (N=${QUORUM_SIZE}, K=1, Q=${QUORUM_SIZE})`, f.sampleEpochGas],
    ];
    // Warm up the treasury's credit word (the first certificate ever pays 20k more for it).
    const first = await submit(f);
    const firstCert = await certificate(f, first, []);
    const firstReceipt = await (await f.blobs.certify(first, firstCert.nonSigners, firstCert.apkG2, firstCert.sigma)).wait();
    rows.push(["certify, all 16 signing (first certificate ever)", firstReceipt!.gasUsed]);

    const submitted = await (await f.blobs.connect(f.client).submitBlob(ROOT, SIZE, f.epoch)).wait();
    rows.push(["submitBlob", submitted!.gasUsed]);
    const gasByMissing = new Map<number, bigint>();
    // The lightest members miss out, so that five of them stay below the threshold's third.
    const { members } = await quorumMembers(f);
    const lightest = members.map((m, p) => ({ p, w: m.weight })).sort((a, b) => (a.w < b.w ? -1 : 1)).map((m) => m.p);
    for (const missing of [0, 1, 2, 4, 5]) {
      const blobId = await submit(f);
      const cert = await certificate(f, blobId, lightest.slice(0, missing));
      const receipt = await (await f.blobs.certify(blobId, cert.nonSigners, cert.apkG2, cert.sigma)).wait();
      gasByMissing.set(missing, receipt!.gasUsed);
      rows.push([`certify, Q=16, ${missing} non-signers`, receipt!.gasUsed]);
    }
    const all = gasByMissing.get(0)!;
    const perNonSigner = (gasByMissing.get(5)! - all) / 5n;
    const firstNonSigner = gasByMissing.get(1)! - all;
    rows.push(["certify, per non-signer (5 vs 0)", perNonSigner]);
    rows.push(["certify, first non-signer (1 vs 0)", firstNonSigner]);

    // A blob committed for real (16 chunks: 4,096 bytes over 8 data shards of one chunk each).
    const data = Buffer.concat(Array.from({ length: 16 }, (_, i) => Buffer.alloc(DA.CHUNK_SIZE, i + 1)));
    const tree = CommitmentTree.build(data, { hasher: referenceCommitHasher });
    await (await f.blobs.connect(f.client).submitBlob(tree.root, SIZE, f.epoch)).wait();
    const blobId = await f.blobs.blobCount();
    const cert = await certificate(f, blobId, []);
    await (await f.blobs.certify(blobId, cert.nonSigners, cert.apkG2, cert.sigma)).wait();
    const signer = lightest[QUORUM_SIZE - 1];
    const challengeReceipt = await (await f.blobs.connect(f.challenger).challenge(blobId, signer, signer)).wait();
    rows.push(["challenge", challengeReceipt!.gasUsed]);
    const chunk = data.subarray(signer * DA.CHUNK_SIZE, (signer + 1) * DA.CHUNK_SIZE);
    const node = f.nodeSigners[Number(members[signer].nodeId) - 1];
    const answered = await (await f.blobs.connect(node).answer(await f.blobs.challengeCount(), chunk, tree.proof(signer))).wait();
    rows.push(["answer (depth-4 chunk proof)", answered!.gasUsed]);
    const other = lightest[QUORUM_SIZE - 2];
    await (await f.blobs.connect(f.challenger).challenge(blobId, other, other)).wait();
    await mine(DA.CHALLENGE_WINDOW_BLOCKS + 1);
    const resolved = await (await f.blobs.resolve(await f.blobs.challengeCount())).wait();
    rows.push(["resolve (slash through the registry)", resolved!.gasUsed]);
    const claim = await (await f.blobs.connect(node).claimFees([blobId])).wait();
    rows.push(["claimFees (1 blob)", claim!.gasUsed]);

    console.log("\n    DA gas (whole transactions):");
    for (const [name, gas] of rows) console.log(`      ${name.padEnd(52)} ${gas.toString().padStart(9)}`);

    expect(all).to.be.at.most(200_000n, "certify with a quorum of 16, all signing");
    expect(perNonSigner).to.be.at.most(6_000n, "gas per non-signer");
    expect(firstNonSigner).to.be.at.most(6_000n, "gas of the first non-signer");
  });
});
