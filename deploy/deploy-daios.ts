/**
 * Deploys the daios contracts with Ignition on a network connection and writes
 * deploy/deployments/<chainId>.json. Used by deploy/deploy.ts and by `npm start`.
 * Parameters come from deploy/parameters/<chainId>.json when it exists.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { network } from "hardhat";
import type { DeploymentParameters } from "@nomicfoundation/ignition-core";
import DaiosModule from "./ignition/modules/Daios.js";
import { writeDeployment, type BeaconParameters, type Deployment } from "../agents/src/sdk/deployment.js";
import { DEVNET_PERIOD, DEVNET_PUBLIC_KEY, EVMNET, publicKeyForContract } from "../agents/src/sdk/beacon/networks.js";
import { g2FromSolidity, g2ToBytes, toHex } from "../agents/src/sdk/bls/index.js";

const here = path.dirname(fileURLToPath(import.meta.url));

type Connection = Awaited<ReturnType<typeof network.create>>;

export interface DeployOptions {
  /**
   * A chain that will not outlive this process (the devnet): Ignition's journal, which exists to
   * resume an interrupted deployment, is written under a one-off id and removed afterwards, so a
   * later devnet from genesis deploys afresh instead of "resuming" contracts that no longer exist.
   */
  ephemeral?: boolean;
  /**
   * Deploy the beacon with the devnet signer's published, insecure key (see
   * agents/src/sdk/beacon/networks.ts), round 1 due at the chain's latest block time, a round every
   * DEVNET_PERIOD seconds. Without it the beacon gets the parameters file's key (default drand evmnet).
   */
  devnetBeacon?: boolean;
  /** Ignition parameters of the Daios module that override the parameters file's. */
  parameters?: Record<string, bigint | string | number>;
  /** Where to write the deployment file (default deploy/deployments/<chainId>.json). */
  deploymentFile?: string;
}

/** Ignition parameters of the devnet beacon: the dev key and the chain's time as genesis. */
async function devnetBeaconParameters(provider: Connection["ethers"]["provider"]) {
  const latest = await provider.getBlock("latest");
  if (!latest) throw new Error("the node returned no latest block");
  const key = publicKeyForContract(DEVNET_PUBLIC_KEY);
  return { beaconPublicKey: [key.x1, key.x0, key.y1, key.y0], beaconGenesis: BigInt(latest.timestamp), beaconPeriod: BigInt(DEVNET_PERIOD) };
}

/** The deployed beacon's parameters, read from the contract, with the network they belong to. */
async function beaconParameters(beacon: { publicKey(): Promise<{ x1: bigint; x0: bigint; y1: bigint; y0: bigint }>; genesis(): Promise<bigint>; period(): Promise<bigint> }): Promise<BeaconParameters> {
  const pk = await beacon.publicKey();
  const publicKey = toHex(g2ToBytes(g2FromSolidity({ x1: pk.x1, x0: pk.x0, y1: pk.y1, y0: pk.y0 }, "deployed beacon key")));
  const network = publicKey === EVMNET.publicKey.toLowerCase() ? "evmnet" : publicKey === DEVNET_PUBLIC_KEY ? "devnet" : "custom";
  return {
    network,
    publicKey,
    genesis: Number(await beacon.genesis()),
    period: Number(await beacon.period()),
    ...(network === "evmnet" ? { chainHash: EVMNET.chainHash } : {}),
  };
}

export async function deployDaios(
  connection: Connection,
  networkName: string,
  options: DeployOptions = {},
): Promise<{ deployment: Deployment; file: string }> {
  const provider = connection.ethers.provider;
  const chainId = Number((await provider.getNetwork()).chainId);
  const parametersFile = path.join(here, "parameters", `${chainId}.json`);
  const parameters: DeploymentParameters = existsSync(parametersFile) ? (JSON.parse(readFileSync(parametersFile, "utf8")) as DeploymentParameters) : {};
  if (options.devnetBeacon) parameters.Daios = { ...parameters.Daios, ...(await devnetBeaconParameters(provider)) };
  if (options.parameters) parameters.Daios = { ...parameters.Daios, ...options.parameters };
  const startBlock = (await provider.getBlockNumber()) + 1;
  const deploymentId = options.ephemeral ? `devnet-${chainId}-${Date.now()}` : undefined;
  const deployed = await connection.ignition.deploy(DaiosModule, { parameters, displayUi: false, deploymentId });
  if (deploymentId) rmSync(path.join(here, "ignition", "deployments", deploymentId), { recursive: true, force: true });
  const entry = async (contract: { getAddress(): Promise<string> }) => ({ address: await contract.getAddress(), block: startBlock });
  const startHash = (await provider.getBlock(startBlock))?.hash;
  if (!startHash) throw new Error(`block ${startBlock} is missing right after the deployment`);
  const deployment: Deployment = {
    id: startHash.slice(2, 14),
    chainId,
    network: networkName,
    deployedAt: new Date().toISOString(),
    startBlock,
    contracts: {
      DaiosToken: await entry(deployed.token),
      ProviderRegistry: await entry(deployed.registry),
      RandomnessBeacon: await entry(deployed.beacon),
      PoRAVerifier: await entry(deployed.verifier),
      StorageMarket: await entry(deployed.market),
      DARegistry: await entry(deployed.daRegistry),
      DABlobs: await entry(deployed.daBlobs),
      ModelRegistry: await entry(deployed.modelRegistry),
      ComputeMarket: await entry(deployed.computeMarket),
      DigitsVerifier: await entry(deployed.digitsVerifier),
      MemoryRegistry: await entry(deployed.memoryRegistry),
    },
    beacon: await beaconParameters(deployed.beacon as unknown as Parameters<typeof beaconParameters>[0]),
  };
  return { deployment, file: writeDeployment(deployment, options.deploymentFile) };
}

