/**
 * The generated PoRAVerifier and the StorageMarket with real Groth16 proofs: the committed vector
 * proof verifies on-chain, through verifyProof and through a prepared data root, and fails for any
 * other public input; a proof made for a period is accepted by the market for that period only,
 * from that provider only.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { network } from "hardhat";
import { artifactPaths } from "../../../circuits/circuits.js";
import { ProverPool } from "../../../agents/src/core/prover-pool.js";
import { silentLogger } from "../../../agents/src/core/log.js";
import { DataTree, ReferenceHasher } from "../../../agents/src/sdk/storage/format.js";
import { SNARK_FIELD, circomlibPoseidon } from "../../../agents/src/sdk/storage/poseidon.js";
import { memoryChunkReader, poraInput } from "../../../agents/src/sdk/storage/challenge.js";
import { challengeSeed, periodWindow } from "../../../agents/src/sdk/storage/periods.js";
import { VECTORS_FILE } from "../../vectors/storage-vectors.js";
import { deterministicBytes } from "../../helpers/data.js";
import { deployStorageStack } from "../../helpers/storage-stack.js";

const { ethers, networkHelpers } = await network.create();
/** The BN254 base field modulus (coordinates of curve points are below it). */
const BASE_FIELD = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

type Pair = [string, string];
interface VectorProof {
  pA: Pair;
  pB: [Pair, Pair];
  pC: Pair;
  pubSignals: [string, string];
}

describe("PoRA with real proofs on-chain", function () {
  this.timeout(300_000);
  const pool = new ProverPool({ size: 1, log: silentLogger() });
  after(() => pool.close());

  it("the generated verifier accepts the vector proof and rejects it for other public inputs", async () => {
    const verifier = await ethers.deployContract("PoRAVerifier");
    const { proof } = JSON.parse(readFileSync(VECTORS_FILE, "utf8")) as { proof: VectorProof };
    const args = (signals: [string, string]) => [proof.pA, proof.pB, proof.pC, signals] as const;
    expect(await verifier.verifyProof(...args(proof.pubSignals))).to.equal(true);
    for (let i = 0; i < 2; i++) {
      const changed: [string, string] = [...proof.pubSignals];
      changed[i] = (BigInt(changed[i]) + 1n).toString();
      expect(await verifier.verifyProof(...args(changed)), `public input ${i} changed`).to.equal(false);
    }
  });

  it("the prepared path agrees with verifyProof and rejects other inputs and malformed ones", async () => {
    const verifier = await ethers.deployContract("PoRAVerifier");
    const { proof } = JSON.parse(readFileSync(VECTORS_FILE, "utf8")) as { proof: VectorProof };
    const [root, seed] = proof.pubSignals.map(BigInt);
    const prepared = await verifier.prepareFirstInput(root);
    const check = (p: readonly [bigint, bigint], s: bigint, pA: readonly [string | bigint, string | bigint] = proof.pA) =>
      verifier.verifyPrepared(pA as [bigint, bigint], proof.pB, proof.pC, [p[0], p[1]], s);
    expect(await check(prepared, seed)).to.equal(true);
    expect(await check(prepared, seed + 1n), "another seed").to.equal(false);
    expect(await check(await verifier.prepareFirstInput(root + 1n), seed), "another data root").to.equal(false);
    // Inputs outside the scalar field and a non-canonical A (y + q) are refused, not reduced.
    expect(await check(prepared, seed + SNARK_FIELD), "seed + r").to.equal(false);
    expect(await check(prepared, seed, [proof.pA[0], BigInt(proof.pA[1]) + BASE_FIELD]), "A.y + q").to.equal(false);
    await expect(verifier.prepareFirstInput(SNARK_FIELD)).to.be.revertedWithCustomError(verifier, "PoRAVerifierInputOutOfField").withArgs(SNARK_FIELD);
    expect(await verifier.verifyProof(proof.pA, proof.pB, proof.pC, [root + SNARK_FIELD, seed]), "data root + r").to.equal(false);
    // A point that is not on the curve makes the precompile fail: rejected, no revert.
    expect(await check([prepared[0], prepared[1] + 1n], seed), "prepared point off the curve").to.equal(false);
  });

  it("the market accepts a real proof for its period and provider only", async () => {
    const [owner, client, provider, other] = await ethers.getSigners();
    const { market } = await deployStorageStack(ethers, { owner, funded: [client], providers: [provider, other] });

    const poseidon = await circomlibPoseidon();
    const data = deterministicBytes(50_000, 11);
    const tree = await DataTree.build(data, new ReferenceHasher(poseidon), poseidon);
    await market.connect(client).createDeal(tree.dataRoot, data.length, 2, 10, 10n ** 15n);
    await market.connect(provider).joinDeal(1, 0);
    await market.connect(other).joinDeal(1, 1);
    const period = Number((await market.slot(1, 0)).nextPeriod);
    const w = periodWindow(Number((await market.deal(1)).startBlock), period);
    await networkHelpers.mine(w.challengeBlock + 1 - (await ethers.provider.getBlockNumber()));

    const seed = await market.challengeSeed(1, 0, period, provider.address);
    // The TypeScript derivation of the seed agrees with the market's.
    const hash = (await ethers.provider.getBlock(w.challengeBlock))?.hash as string;
    const chainId = (await ethers.provider.getNetwork()).chainId;
    expect(challengeSeed(hash, chainId, await market.getAddress(), 1n, 0n, BigInt(period), provider.address)).to.equal(seed);
    const { input } = await poraInput(tree, memoryChunkReader(data), seed);
    const pora = artifactPaths("pora");
    const { calldata } = await pool.prove({ wasmPath: pora.wasm, zkeyPath: pora.zkey, input });
    const proof = [calldata.pA, calldata.pB, calldata.pC] as const;

    // Another provider cannot use it for its own slot, and the slot's provider not for another slot.
    await expect(market.connect(other).submitProof(1, 1, period, ...proof)).to.be.revertedWithCustomError(market, "StorageMarketInvalidProof").withArgs(1, 1, period);
    await expect(market.connect(provider).submitProof(1, 1, period, ...proof)).to.be.revertedWithCustomError(market, "StorageMarketNotSlotProvider");
    // Not before its challenge block's successor, not for the next period.
    await expect(market.connect(provider).submitProof(1, 0, period + 1, ...proof)).to.be.revertedWithCustomError(market, "StorageMarketChallengeNotReady");

    const tx = market.connect(provider).submitProof(1, 0, period, ...proof);
    await expect(tx).to.emit(market, "ProofAccepted");
    const receipt = await (await tx).wait();
    console.log(`      gas: submitProof ${receipt?.gasUsed} with the real verifier (whole transaction)`);
    // The same proof again: the period is settled.
    await expect(market.connect(provider).submitProof(1, 0, period, ...proof)).to.be.revertedWithCustomError(market, "StorageMarketPeriodSettled");
    // For a later period the seed differs, so the same proof fails.
    const next = periodWindow(Number((await market.deal(1)).startBlock), period + 1);
    await networkHelpers.mine(next.challengeBlock + 1 - (await ethers.provider.getBlockNumber()));
    await expect(market.connect(provider).submitProof(1, 0, period + 1, ...proof)).to.be.revertedWithCustomError(market, "StorageMarketInvalidProof");
  });
});
