/**
 * The storage layer deployed with plain ethers on an in-process Hardhat network (tests and benches):
 * token, registry, a randomness source, a verifier and the market, with funded, approved accounts
 * and registered storage providers.
 *
 * The randomness source is the block hash by default (a seed is public one block after its challenge
 * block, so contract tests need no relayer); `MockRandomnessSource` lets a test set each seed and the
 * block it became public. Deployments and the devnet use the verified RandomnessBeacon
 * (deploy/ignition/modules/Daios.ts), fed by the beacon role.
 */
import type { network } from "hardhat";
import { DEVNET_PERIOD, DEVNET_PUBLIC_KEY, publicKeyForContract } from "../../agents/src/sdk/beacon/networks.js";

type Ethers = Awaited<ReturnType<typeof network.create>>["ethers"];
type Signer = Awaited<ReturnType<Ethers["getSigners"]>>[number];

export interface StorageStackOptions {
  owner: Signer;
  /** Accounts given `funds` tokens and approving the market and the registry. */
  funded: Signer[];
  /** Accounts also registered as storage providers with `stake`. */
  providers: Signer[];
  verifier?: "PoRAVerifier" | "MockPoRAVerifier";
  /**
   * The market's randomness source (default BlockhashRandomness). RandomnessBeacon gets the devnet
   * signer's key (agents/src/sdk/beacon), round 1 due at the latest block's time, a round every 3 s;
   * a test relays rounds itself (signRound).
   */
  randomness?: "BlockhashRandomness" | "MockRandomnessSource" | "RandomnessBeacon";
  collateralPeriods?: bigint | number;
  unbondingDelay?: bigint | number;
  minStake?: bigint;
  stake?: bigint;
  funds?: bigint;
  endpoint?: (index: number) => string;
}

export async function deployStorageStack(ethers: Ethers, options: StorageStackOptions) {
  const { owner } = options;
  const token = await ethers.deployContract("DaiosToken", [owner.address]);
  const registry = await ethers.deployContract("ProviderRegistry", [await token.getAddress(), owner.address, options.unbondingDelay ?? 3600]);
  const randomness =
    options.randomness === "RandomnessBeacon"
      ? await ethers.deployContract("RandomnessBeacon", [
          publicKeyForContract(DEVNET_PUBLIC_KEY),
          (await ethers.provider.getBlock("latest"))!.timestamp,
          DEVNET_PERIOD,
        ])
      : await ethers.deployContract(options.randomness ?? "BlockhashRandomness");
  const verifier = await ethers.deployContract(options.verifier ?? "PoRAVerifier");
  const market = await ethers.deployContract("StorageMarket", [
    await token.getAddress(),
    await registry.getAddress(),
    await verifier.getAddress(),
    await randomness.getAddress(),
    owner.address,
    options.collateralPeriods ?? 10n,
  ]);
  const role = await registry.STORAGE_ROLE();
  await registry.setMinStake(role, options.minStake ?? 1n);
  for (const who of new Set([...options.funded, ...options.providers])) {
    await token.mint(who.address, options.funds ?? 10n ** 27n);
    await token.connect(who).approve(await market.getAddress(), ethers.MaxUint256);
    await token.connect(who).approve(await registry.getAddress(), ethers.MaxUint256);
  }
  for (const [i, p] of options.providers.entries()) {
    await registry.connect(p).register(role, options.stake ?? 10n ** 20n, options.endpoint?.(i) ?? `http://127.0.0.1:${i + 1}`, 1n << 40n);
  }
  return { token, registry, randomness, verifier, market, role };
}
