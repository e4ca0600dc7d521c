// Shared deployment of the storage layer for the contract tests: the real token, registry, randomness
// and market, with the test-only MockPoRAVerifier in place of the Groth16 verifier.
import { network } from "hardhat";
import { STORAGE } from "../../../agents/src/generated/constants.js";
import { deployStorageStack } from "../../helpers/storage-stack.js";

export const { ethers, networkHelpers } = await network.create();

export const PRICE = 10n ** 18n;
export const COLLATERAL_PERIODS = 10n;
export const COLLATERAL = PRICE * COLLATERAL_PERIODS;
export const MIN_STAKE = 100n * 10n ** 18n;
export const FUNDS = 10n ** 27n;
export const UNBONDING_DELAY = 7n * 24n * 3600n;
export const ROOT = 0x0badc0ffee0ddf00dn;
export const SIZE = 1n << 20n;
export const SNARK_SCALAR_FIELD =
  21888242871839275222246405745257275088548364400416034343698204186575808495617n;
export const BPS = 10_000n;
export const BOUNTY_BPS = 1_000n;
export const REPAIR_BPS = 2_000n;

// The protocol constants, from the same source as contracts/generated/ProtocolConstants.sol.
export const UPLOAD_WINDOW_BLOCKS = BigInt(STORAGE.UPLOAD_WINDOW_BLOCKS);
export const PERIOD_BLOCKS = BigInt(STORAGE.PERIOD_BLOCKS);
export const CHALLENGE_DELAY_BLOCKS = BigInt(STORAGE.CHALLENGE_DELAY_BLOCKS);
export const FAST_WINDOW_BLOCKS = BigInt(STORAGE.FAST_WINDOW_BLOCKS);
export const DEADLINE_BLOCKS = BigInt(STORAGE.DEADLINE_BLOCKS);
export const MAX_MISSES = BigInt(STORAGE.MAX_MISSES);
export const MAX_REPLICAS = BigInt(STORAGE.MAX_REPLICAS);
export const MAX_PERIODS = BigInt(STORAGE.MAX_PERIODS);
export const MAX_FILE_SIZE = BigInt(STORAGE.MAX_FILE_SIZE);

export const PENALTY = COLLATERAL / MAX_MISSES;

export const PROOF = {
  pA: [1n, 2n] as [bigint, bigint],
  pB: [
    [3n, 4n],
    [5n, 6n],
  ] as [[bigint, bigint], [bigint, bigint]],
  pC: [7n, 8n] as [bigint, bigint],
};

export async function deployStorageFixture() {
  const [owner, client, p1, p2, p3, reporter, stranger] = await ethers.getSigners();
  const { token, registry, verifier, randomness, market, role } = await deployStorageStack(ethers, {
    owner,
    funded: [client, reporter, stranger],
    providers: [p1, p2, p3],
    verifier: "MockPoRAVerifier",
    collateralPeriods: COLLATERAL_PERIODS,
    unbondingDelay: UNBONDING_DELAY,
    minStake: MIN_STAKE,
    stake: MIN_STAKE,
    funds: FUNDS,
    endpoint: () => "https://provider.example",
  });
  return { owner, client, p1, p2, p3, reporter, stranger, token, registry, verifier, randomness, market, role };
}

export type StorageFixture = Awaited<ReturnType<typeof deployStorageFixture>>;

/** Makes the next transaction execute in block `target` (automine mines one block per transaction). */
export async function nextTxAt(target: bigint): Promise<void> {
  const latest = BigInt(await ethers.provider.getBlockNumber());
  if (target <= latest) throw new Error(`block ${target} is not in the future (latest is ${latest})`);
  if (target - 1n > latest) await networkHelpers.mine(target - 1n - latest);
}

export async function periodWindow(f: StorageFixture, dealId: bigint, period: bigint) {
  const [start, challengeBlock, fastWindowEnd, deadline] = await f.market.periodWindow(dealId, period);
  return { start, challengeBlock, fastWindowEnd, deadline };
}

/**
 * The period a slot joined in `block` proves first, written independently of the contract: walks the
 * periods until one's challenge block is still ahead.
 */
export function firstProvablePeriod(startBlock: bigint, block: bigint): bigint {
  let period = 0n;
  while (startBlock + period * PERIOD_BLOCKS + CHALLENGE_DELAY_BLOCKS <= block) period++;
  return period;
}

/** The pay curve, written independently of the contract: full up to the fast window, then linear to 0. */
export function expectedPay(price: bigint, latency: bigint): bigint {
  if (latency <= FAST_WINDOW_BLOCKS) return price;
  return (price * (DEADLINE_BLOCKS - latency)) / (DEADLINE_BLOCKS - FAST_WINDOW_BLOCKS);
}

/** Splits a penalty like the market: reporter bounty, repair reserve, client share. */
export function split(amount: bigint, withReporter: boolean) {
  const bounty = withReporter ? (amount * BOUNTY_BPS) / BPS : 0n;
  const repair = (amount * REPAIR_BPS) / BPS;
  return { bounty, repair, toClient: amount - bounty - repair };
}

/** Gas used by a mined transaction. */
export async function gasOf(tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>): Promise<bigint> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error("transaction was not mined");
  return receipt.gasUsed;
}
