/**
 * The compute layer on an in-process Hardhat network for the SDK tests (client, lineage, TEE): the
 * storage stack (token, provider registry, storage market with the mock PoRA verifier), the
 * ModelRegistry, a MockInferenceVerifier (zk mode without proofs; the real verifier is exercised by
 * the contract tests and the e2e test), the ComputeMarket authorised as the compute layer, registered
 * compute providers, and a software enclave acknowledged by the registry owner.
 *
 * No tests here; the test files import it.
 */
import type { ContractRunner } from "ethers";
import type { network } from "hardhat";
import { ComputeMarket__factory, DaiosToken__factory, ModelRegistry__factory, ProviderRegistry__factory, StorageMarket__factory } from "../../../../types/ethers-contracts/index.js";
import { ComputeClient } from "../../../../agents/src/sdk/compute/client.js";
import { SoftwareEnclave, computeMarketDomain } from "../../../../agents/src/sdk/compute/tee.js";
import { deployStorageStack } from "../../../helpers/storage-stack.js";

type Ethers = Awaited<ReturnType<typeof network.create>>["ethers"];
type Signer = Awaited<ReturnType<Ethers["getSigners"]>>[number];

export const MARKET_CONFIG = {
  protocolFeeBps: 500n,
  collateralBps: 20_000n,
  minCollateral: 10n ** 17n,
  reporterBps: 2_000n,
  minJobDuration: 10n,
  maxJobDuration: 7n * 24n * 3600n,
};
export const COMPUTE_STAKE = 100n * 10n ** 18n;
/** The devnet-like enclave key of the tests (a Hardhat test key, never for real funds). */
export const ENCLAVE_KEY = "0x47e179ec197488593b187f8a8eb0da0dd7b8d6a4e2b4de8f5a8b0c8f9e2d0a11";
export const ENCLAVE_MEASUREMENT = `0x${"5e".repeat(32)}`;

export async function deployComputeStack(ethers: Ethers, options: { owner: Signer; clients: Signer[]; providers: Signer[]; treasury: Signer }) {
  const { owner } = options;
  const storage = await deployStorageStack(ethers, {
    owner,
    funded: [...options.clients, ...options.providers],
    providers: [],
    verifier: "MockPoRAVerifier",
  });
  const modelRegistry = await ethers.deployContract("ModelRegistry", [owner.address]);
  const verifier = await ethers.deployContract("MockInferenceVerifier");
  const computeMarket = await ethers.deployContract("ComputeMarket", [
    await storage.token.getAddress(),
    await storage.registry.getAddress(),
    await modelRegistry.getAddress(),
    await storage.market.getAddress(),
    options.treasury.address,
    MARKET_CONFIG,
  ]);
  const computeRole = await storage.registry.COMPUTE_ROLE();
  await storage.registry.setMinStake(computeRole, COMPUTE_STAKE);
  await storage.registry.setLayer(await computeMarket.getAddress(), computeRole, true);
  for (const [i, p] of options.providers.entries()) {
    await storage.registry.connect(p).register(computeRole, COMPUTE_STAKE, `http://127.0.0.1:${9000 + i}`, 1n);
  }
  const enclave = new SoftwareEnclave(ENCLAVE_KEY, ENCLAVE_MEASUREMENT);
  await modelRegistry.acknowledgeEnclave(enclave.address, ENCLAVE_MEASUREMENT);
  const { chainId } = await ethers.provider.getNetwork();
  const domain = computeMarketDomain(chainId, await computeMarket.getAddress());

  /** Typed handles as the SDK gets them from a deployment, signing as `signer`. */
  const contractsFor = (signer: ContractRunner) => ({
    token: DaiosToken__factory.connect(storage.token.target as string, signer),
    registry: ProviderRegistry__factory.connect(storage.registry.target as string, signer),
    modelRegistry: ModelRegistry__factory.connect(modelRegistry.target as string, signer),
    computeMarket: ComputeMarket__factory.connect(computeMarket.target as string, signer),
    storageMarket: StorageMarket__factory.connect(storage.market.target as string, signer),
  });
  const clientFor = (signer: Signer | undefined, localModels?: ConstructorParameters<typeof ComputeClient>[0]["localModels"]) => {
    const { token, registry, modelRegistry: models, computeMarket: market } = contractsFor(signer ?? ethers.provider);
    return new ComputeClient({ provider: ethers.provider, signer, contracts: { token, registry, modelRegistry: models, computeMarket: market }, localModels });
  };

  return { ...storage, storageMarket: storage.market, modelRegistry, verifier, computeMarket, computeRole, enclave, domain, chainId, contractsFor, clientFor };
}

export type ComputeStack = Awaited<ReturnType<typeof deployComputeStack>>;
