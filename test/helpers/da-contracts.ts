/**
 * DARegistry + DABlobs on a Hardhat network with real BLS keys (agents/src/sdk/bls): staked DA nodes
 * with registered keys, one sampled epoch, and real aggregated certificates. Shared by the contract
 * tests (test/mocha/contracts/da-contracts.test.ts) and the DA bench (bench/da.ts).
 */
import { getBytes, id } from "ethers";
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import { DA } from "../../agents/src/generated/constants.js";
import {
  aggregateG2,
  g1FromSolidity,
  g1ToSolidity,
  g2ToSolidity,
  hashToPoint,
  keypairFromSecret,
  sign,
  type Keypair,
} from "../../agents/src/sdk/bls/index.js";
import { nonSignerEntry, type QuorumMember } from "../../agents/src/sdk/da/quorum.js";

export const MIN_STAKE = 100n * 10n ** 18n;
const PRICE_PER_BYTE = 10n ** 12n;
const BASE_FEE = 10n ** 17n;
const TREASURY_BPS = 1_000n;
const BOND = 5n * 10n ** 18n;
const SLASH = 50n * 10n ** 18n;
const REWARD_BPS = 5_000n;
const EPOCH_BLOCKS = BigInt(DA.EPOCH_BLOCKS);
export const ROOT = id("blob root");
export const SIZE = 4096n;

/** Secret key of node i (full-size scalars). */
function secretOf(i: number): bigint {
  return BigInt(id(`daios.da.mocha.sk.${i}`)) % 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
}

/**
 * Deploys token, ProviderRegistry, BlockhashRandomness, DARegistry (`quorumCount` quorums of
 * `quorumSize`) and DABlobs; registers `quorumCount * quorumSize` staked nodes with real keys and
 * samples the first epoch they are eligible for, then mines to its start.
 */
export async function deployDaContracts(ethers: HardhatEthers, mine: (blocks: bigint) => Promise<void>, options: { quorumSize?: number; quorumCount?: number } = {}) {
  const QUORUM_SIZE = options.quorumSize ?? 16;
  const quorumCount = options.quorumCount ?? 1;
  const mineTo = async (block: bigint): Promise<void> => {
    const latest = BigInt(await ethers.provider.getBlockNumber());
    if (block > latest) await mine(block - latest);
  };
  const signers = await ethers.getSigners();
  const [owner, client, treasury, challenger] = signers;
  const nodeSigners = signers.slice(4, 4 + QUORUM_SIZE * quorumCount);
  const token = await ethers.deployContract("DaiosToken", [owner.address]);
  const registry = await ethers.deployContract("ProviderRegistry", [await token.getAddress(), owner.address, 3600]);
  const randomness = await ethers.deployContract("BlockhashRandomness");
  const da = await ethers.deployContract("DARegistry", [await registry.getAddress(), await randomness.getAddress(), quorumCount, QUORUM_SIZE]);
  const blobs = await ethers.deployContract("DABlobs", [
    await registry.getAddress(),
    await da.getAddress(),
    treasury.address,
    {
      pricePerByte: PRICE_PER_BYTE,
      baseFee: BASE_FEE,
      treasuryBps: TREASURY_BPS,
      challengeBond: BOND,
      slashAmount: SLASH,
      challengerRewardBps: REWARD_BPS,
    },
  ]);
  const role = await registry.DA_ROLE();
  await registry.setMinStake(role, MIN_STAKE);
  await registry.setLayer(await blobs.getAddress(), role, true);
  for (const who of [client, challenger, ...nodeSigners]) {
    await token.mint(who.address, 10n ** 27n);
    await token.connect(who).approve(await registry.getAddress(), ethers.MaxUint256);
    await token.connect(who).approve(await blobs.getAddress(), ethers.MaxUint256);
  }
  const keys: Keypair[] = [];
  const stakes: bigint[] = [];
  const popDst = await da.POP_DST();
  let registerKeysGas = 0n;
  for (const [i, node] of nodeSigners.entries()) {
    const stake = MIN_STAKE + BigInt(i) * 7n * 10n ** 18n;
    stakes.push(stake);
    await registry.connect(node).register(role, stake, `https://da-${i}.example`, 1n << 40n);
    const kp = keypairFromSecret(secretOf(i));
    keys.push(kp);
    const pk1 = g1ToSolidity(kp.publicKeyG1);
    const pk2 = g2ToSolidity(kp.publicKeyG2);
    const message = await da.popMessage(node.address, pk1, pk2);
    const pop = g1ToSolidity(sign(kp.secretKey, hashToPoint(popDst, getBytes(message))));
    const receipt = await (await da.connect(node).registerKeys(pk1, pk2, pop)).wait();
    registerKeysGas = receipt!.gasUsed;
  }
  const keysBlock = BigInt(await ethers.provider.getBlockNumber());
  // The first epoch whose seed block is at or after the keys: seedBlock(e) = (e - 1) * EPOCH_BLOCKS.
  const epoch = (keysBlock + EPOCH_BLOCKS - 1n) / EPOCH_BLOCKS + 1n;
  const seedBlock = (epoch - 1n) * EPOCH_BLOCKS;
  await mineTo(seedBlock + 1n);
  const sampleReceipt = await (await da.sampleEpoch(epoch)).wait();
  await mineTo(epoch * EPOCH_BLOCKS);
  const seedHash = (await ethers.provider.getBlock(Number(seedBlock)))!.hash!;
  return {
    owner, client, treasury, challenger, nodeSigners, token, registry, da, blobs, role, keys, stakes, epoch, seedHash,
    registerKeysGas, sampleEpochGas: sampleReceipt!.gasUsed,
  };
}

export type DaFixture = Awaited<ReturnType<typeof deployDaContracts>>;

/** A quorum of the epoch (default 0) as the members' leaves see it, and the index (into nodeSigners) of each member. */
export async function quorumMembers(f: DaFixture, quorumIndex = 0): Promise<{ members: QuorumMember[]; index: number[] }> {
  const ids = await f.da.quorumMembers(f.epoch, quorumIndex);
  const index = ids.map((id) => Number(id) - 1);
  const members = index.map((i, p) => ({ nodeId: ids[p], pkG1: g1ToSolidity(f.keys[i].publicKeyG1), weight: f.stakes[i] }));
  return { members, index };
}

/** A real certificate for `blobId` from every member except the positions in `missing`. */
export async function certificate(f: DaFixture, blobId: bigint, missing: number[]) {
  const { members, index } = await quorumMembers(f, Number((await f.blobs.blob(blobId)).quorum ?? 0n));
  const hm = g1FromSolidity(await f.blobs.messagePoint(blobId));
  const signerPositions = members.map((_, p) => p).filter((p) => !missing.includes(p));
  const sigma = signerPositions.map((p) => sign(f.keys[index[p]].secretKey, hm)).reduce((a, b) => a.add(b));
  const apkG2 = aggregateG2(signerPositions.map((p) => f.keys[index[p]].publicKeyG2));
  const nonSigners = [...missing].sort((a, b) => a - b).map((p) => nonSignerEntry(members, p));
  return { nonSigners, apkG2: g2ToSolidity(apkG2), sigma: g1ToSolidity(sigma) };
}

/** Submits a blob with the placeholder root and size; returns its id. */
export async function submit(f: DaFixture): Promise<bigint> {
  const tx = await f.blobs.connect(f.client).submitBlob(ROOT, SIZE, f.epoch);
  await tx.wait();
  return await f.blobs.blobCount();
}

