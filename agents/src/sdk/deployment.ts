/**
 * Deployment files: deploy/deployments/<chainId>.json records where every contract of a chain lives
 * and the block it was deployed in (where chain watchers start). Written by the deploy step of
 * `npm start` (and deploy/deploy.ts for other networks), read by every agent role, the SDK and the CLI.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { getAddress } from "ethers";
import { DaiosError } from "../core/errors.js";

export const CONTRACT_NAMES = ["DaiosToken", "ProviderRegistry", "RandomnessBeacon", "PoRAVerifier", "StorageMarket"] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];
/** Contracts of the data-availability layer: optional, so deployments made before it still load. */
export const DA_CONTRACT_NAMES = ["DARegistry", "DABlobs"] as const;
export type DaContractName = (typeof DA_CONTRACT_NAMES)[number];
/** Contracts of the compute layer: optional, so deployments made before it still load. */
export const COMPUTE_CONTRACT_NAMES = ["ModelRegistry", "ComputeMarket", "DigitsVerifier"] as const;
export type ComputeContractName = (typeof COMPUTE_CONTRACT_NAMES)[number];

export const MEMORY_CONTRACT_NAMES = ["MemoryRegistry"] as const;
export type MemoryContractName = (typeof MEMORY_CONTRACT_NAMES)[number];

/** The randomness beacon's parameters, as deployed (the contract holds the same values). */
export interface BeaconParameters {
  /** "evmnet" (drand's public network), "devnet" (the published insecure dev key) or "custom". */
  network: "evmnet" | "devnet" | "custom";
  /** Group public key, kyber G2 hex (x1 || x0 || y1 || y0). */
  publicKey: string;
  /** Unix time of round 1. */
  genesis: number;
  /** Seconds between rounds. */
  period: number;
  /** drand's chain hash, for networks drand's HTTP relays serve. */
  chainHash?: string;
}

export interface Deployment {
  /**
   * Identifies this deployment among others on the same chain id (a devnet restarted from genesis
   * redeploys to the same addresses): the first 12 hex digits of the hash of its start block.
   * Agents prefix their Redis keys and queues with it, so state of an earlier devnet never leaks in.
   */
  id: string;
  chainId: number;
  network: string;
  deployedAt: string;
  /** The first block any daios contract of this deployment lives in. */
  startBlock: number;
  contracts: Record<ContractName, { address: string; block: number }> &
    Partial<Record<DaContractName | ComputeContractName | MemoryContractName, { address: string; block: number }>>;
  /** Parameters of contracts.RandomnessBeacon (the storage market's randomness source). */
  beacon?: BeaconParameters;
}

export const DEPLOYMENTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../deploy/deployments");

export function deploymentPath(chainId: number | bigint, dir = DEPLOYMENTS_DIR): string {
  return path.join(dir, `${chainId}.json`);
}

export function writeDeployment(deployment: Deployment, file = deploymentPath(deployment.chainId)): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(deployment, null, 2)}\n`);
  return file;
}

/** Reads and checks a deployment file; every problem names the file and what to do. */
export function readDeployment(chainId: number | bigint, file = deploymentPath(chainId)): Deployment {
  if (!existsSync(file)) {
    throw new DaiosError(`no deployment for chain ${chainId}: ${file} does not exist`, {
      hint: "run `npm start` for a local devnet, or deploy with `npx hardhat run deploy/deploy.ts --network <name>`, or set DEPLOYMENT_FILE",
    });
  }
  let parsed: Deployment;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8")) as Deployment;
  } catch (error) {
    throw new DaiosError(`deployment file ${file} is not valid JSON (${(error as Error).message})`, { hint: "redeploy to rewrite it" });
  }
  if (Number(parsed.chainId) !== Number(chainId)) {
    throw new DaiosError(`deployment file ${file} is for chain ${parsed.chainId}, but the RPC node is chain ${chainId}`, {
      hint: "point RPC_URL at the chain the file was written for, or use that chain's deployment file",
    });
  }
  if (typeof parsed.id !== "string" || !/^[0-9a-f]{12}$/.test(parsed.id)) {
    throw new DaiosError(`deployment file ${file} has no valid id`, { hint: "redeploy to rewrite it" });
  }
  for (const name of CONTRACT_NAMES) {
    const entry = parsed.contracts?.[name];
    try {
      getAddress(entry?.address ?? "");
    } catch {
      throw new DaiosError(`deployment file ${file} has no valid address for ${name}`, { hint: "redeploy to rewrite it" });
    }
  }
  for (const name of [...DA_CONTRACT_NAMES, ...COMPUTE_CONTRACT_NAMES, ...MEMORY_CONTRACT_NAMES]) {
    const entry = parsed.contracts[name];
    if (entry === undefined) continue;
    try {
      getAddress(entry.address ?? "");
    } catch {
      throw new DaiosError(`deployment file ${file} has an invalid address for ${name}`, { hint: "redeploy to rewrite it" });
    }
  }
  return parsed;
}
