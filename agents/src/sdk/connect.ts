/**
 * One call that gives an SDK user (or the CLI) everything it needs on a chain: provider, signer,
 * deployment, typed contracts and the storage client.
 */
import type { Signer } from "ethers";
import { connectChain } from "./chain.js";
import { connectContracts } from "./contracts.js";
import { StorageClient, type StorageEvent } from "./storage/client.js";
import { createTreeHasher } from "./storage/native-hasher.js";

export interface ConnectOptions {
  rpcUrl: string;
  /** Hex private key; without it the handles are read-only. */
  privateKey?: string;
  deploymentFile?: string;
  onEvent?: (event: StorageEvent) => void;
}

export async function connect(options: ConnectOptions) {
  const { provider, chainId, deployment, signer: wallet } = await connectChain(options, { polling: true, pollingInterval: 500 });
  // A plain wallet asks the node for the pending nonce before each transaction, so a key used by
  // several processes at once (a script and the CLI, say) never sends a stale nonce.
  const signer: Signer | undefined = wallet;
  const contracts = connectContracts(deployment, signer ?? provider);
  const { hasher, poseidon } = await createTreeHasher();
  const storage = new StorageClient({ contracts, signer, hasher, poseidon, onEvent: options.onEvent });
  return {
    provider,
    chainId,
    deployment,
    signer,
    contracts,
    poseidon,
    hasher,
    storage,
    async close() {
      await hasher.close();
      provider.destroy();
    },
  };
}

export type Connection = Awaited<ReturnType<typeof connect>>;
