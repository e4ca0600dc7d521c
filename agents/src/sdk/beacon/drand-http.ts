/**
 * Rounds of a public drand network fetched from drand's HTTP relays with the official client
 * (drand-client). The client checks the relay's chain information against the network's chain hash
 * and public key, and every round's signature and randomness against that key, before a round is
 * returned; RandomnessBeacon checks the signature again on chain.
 */
import { HttpCachingChain, HttpChainClient, fetchBeacon, type ChainClient } from "drand-client";
import type { BeaconNetwork, BeaconRound } from "./networks.js";

/** drand's public HTTP relays (League of Entropy); each serves every chain under /<chain hash>. */
export const DEFAULT_DRAND_RELAYS: readonly string[] = Object.freeze([
  "https://api.drand.sh",
  "https://api2.drand.sh",
  "https://api3.drand.sh",
  "https://drand.cloudflare.com",
]);

/** No relay answered with a valid round; `failures` says what each one did. */
export class DrandUnavailableError extends Error {
  override name = "DrandUnavailableError";
  constructor(readonly failures: { relay: string; error: string }[]) {
    super(
      `no drand relay returned a valid round: ${failures.map((f) => `${f.relay}: ${f.error}`).join("; ")}. ` +
        "Check the network connection or set BEACON_DRAND_URLS to reachable relays",
    );
  }
}

export interface DrandRelaysOptions {
  /** Give up on one relay after this long (default 5 s). */
  timeoutMs?: number;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The rounds of one drand network, from the first relay that answers correctly. */
export class DrandRelays {
  private readonly clients: { relay: string; client: ChainClient }[];
  private readonly timeoutMs: number;

  constructor(network: BeaconNetwork, relays: readonly string[], options: DrandRelaysOptions = {}) {
    if (!network.chainHash) throw new Error(`beacon network ${network.name} has no drand chain hash: drand's relays do not serve it`);
    if (relays.length === 0) throw new Error("no drand relay URL given");
    const chainHash = network.chainHash;
    const params = {
      disableBeaconVerification: false,
      noCache: false,
      chainVerificationParams: { chainHash, publicKey: network.publicKey.replace(/^0x/, "").toLowerCase() },
    };
    this.clients = relays.map((relay) => {
      const chainUrl = `${relay.replace(/\/+$/, "")}/${chainHash}`;
      return { relay, client: new HttpChainClient(new HttpCachingChain(chainUrl, params), params) };
    });
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /** The newest round the relays serve, verified. Tries the relays in order. */
  async latest(): Promise<BeaconRound & { relay: string }> {
    return this.first(async (client) => {
      const head = await client.latest();
      return fetchBeacon(client, head.round);
    });
  }

  /** Round `round`, verified. */
  async get(round: number): Promise<BeaconRound & { relay: string }> {
    return this.first((client) => fetchBeacon(client, round));
  }

  private async first(fetchOne: (client: ChainClient) => Promise<{ round: number; signature: string; randomness: string }>) {
    const failures: { relay: string; error: string }[] = [];
    for (const { relay, client } of this.clients) {
      try {
        const beacon = await withTimeout(fetchOne(client), this.timeoutMs, `drand relay ${relay}`);
        return { round: beacon.round, signature: `0x${beacon.signature}`, randomness: `0x${beacon.randomness}`, relay };
      } catch (error) {
        failures.push({ relay, error: (error as Error).message });
      }
    }
    throw new DrandUnavailableError(failures);
  }
}
