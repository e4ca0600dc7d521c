/**
 * The chain half of every `connect*` helper: a JSON-RPC provider, its chain id (a clear error when no
 * node answers), the deployment of that chain and, given a key, a signer. The provider is destroyed
 * again if anything fails, so a caller holds it only on success.
 *
 *   const chain = await connectChain({ rpcUrl, privateKey });
 *   try { ...chain.provider, chain.deployment, chain.signer... } finally { chain.close(); }
 */
import { JsonRpcProvider, Wallet } from "ethers";
import { DaiosError, errorMessage } from "../core/errors.js";
import { readDeployment, type Deployment } from "./deployment.js";

export interface ConnectChainOptions {
  rpcUrl: string;
  /** Hex private key; without it there is no signer (read-only). */
  privateKey?: string;
  deploymentFile?: string;
}

export interface ChainConnection {
  provider: JsonRpcProvider;
  chainId: bigint;
  deployment: Deployment;
  /** A plain wallet: it asks the node for the pending nonce before each transaction. */
  signer: Wallet | undefined;
  close: () => void;
}

export async function connectChain(options: ConnectChainOptions, providerOptions: { polling?: boolean; pollingInterval?: number } = {}): Promise<ChainConnection> {
  // cacheTimeout -1: ethers otherwise answers a repeated call (the pending nonce among them) from a
  // 250 ms cache, and a transaction sent right after another from the same key reuses its nonce.
  // batchMaxCount 1: ethers otherwise holds every call for 10 ms to batch it with others, which made
  // each verified memory read 10 ms slower than the read itself.
  const provider = new JsonRpcProvider(options.rpcUrl, undefined, { staticNetwork: true, pollingInterval: 250, ...providerOptions, cacheTimeout: -1, batchMaxCount: 1 });
  try {
    let chainId: bigint;
    try {
      chainId = (await provider.getNetwork()).chainId;
    } catch (error) {
      throw new DaiosError(`no JSON-RPC node answers at ${options.rpcUrl} (${errorMessage(error)})`, {
        hint: "start one with `npm start`, or set RPC_URL / --rpc to a reachable node",
      });
    }
    const deployment = readDeployment(chainId, options.deploymentFile);
    const signer = options.privateKey ? new Wallet(options.privateKey, provider) : undefined;
    return { provider, chainId, deployment, signer, close: () => provider.destroy() };
  } catch (error) {
    provider.destroy();
    throw error;
  }
}
