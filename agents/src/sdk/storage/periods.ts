/** Period arithmetic of the storage market (the same as StorageMarket.periodWindow). */
import { AbiCoder, keccak256 } from "ethers";
import { STORAGE } from "../../generated/constants.js";
import { SNARK_FIELD } from "./poseidon.js";

const { PERIOD_BLOCKS, CHALLENGE_DELAY_BLOCKS, FAST_WINDOW_BLOCKS, DEADLINE_BLOCKS } = STORAGE;

export interface PeriodWindow {
  start: number;
  /** The block whose randomness (the beacon round anchored a few blocks later) fixes the seed. */
  challengeBlock: number;
  /** Last block of full pay when the seed is public at the challenge block; see fastWindowEndFrom. */
  fastWindowEnd: number;
  /** Last block a proof is accepted in, whenever the seed became public. */
  deadline: number;
}

/** Last block of full pay for a seed public from block `knownAt` (IRandomnessSource.seedAt). */
export function fastWindowEndFrom(knownAt: number): number {
  return knownAt + FAST_WINDOW_BLOCKS;
}

export function periodWindow(startBlock: number, period: number): PeriodWindow {
  const start = startBlock + period * PERIOD_BLOCKS;
  const challengeBlock = start + CHALLENGE_DELAY_BLOCKS;
  return { start, challengeBlock, fastWindowEnd: challengeBlock + FAST_WINDOW_BLOCKS, deadline: challengeBlock + DEADLINE_BLOCKS };
}

/** The period a block falls in (the first period is 0; blocks before the deal count as period 0). */
export function periodAt(startBlock: number, block: number): number {
  return block < startBlock ? 0 : Math.floor((block - startBlock) / PERIOD_BLOCKS);
}

/**
 * Periods from `from` (inclusive) to `end` (exclusive) whose challenge block is mined by `head` and
 * whose deadline a transaction mined in block head + 1 still meets.
 */
export function provablePeriods(startBlock: number, from: number, end: number, head: number): number[] {
  const out: number[] = [];
  for (let p = Math.max(from, periodAt(startBlock, head) - 1); p < end; p++) {
    const w = periodWindow(startBlock, p);
    if (w.challengeBlock > head) break;
    if (w.deadline >= head + 1) out.push(p);
  }
  return out;
}

/**
 * The seed the market derives for a period of a slot held by `provider` (StorageMarket.challengeSeed)
 * from `randomness`, the value its randomness source returns for the period's challenge block
 * (seedAt(challengeBlock).value).
 */
export function challengeSeed(randomness: string, chainId: bigint, market: string, dealId: bigint, slot: bigint, period: bigint, provider: string): bigint {
  const encoded = AbiCoder.defaultAbiCoder().encode(
    ["bytes32", "uint256", "address", "uint256", "uint256", "uint256", "address"],
    [randomness, chainId, market, dealId, slot, period, provider],
  );
  return BigInt(keccak256(encoded)) % SNARK_FIELD;
}
