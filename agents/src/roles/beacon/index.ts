/**
 * beacon role: keeps the RandomnessBeacon fed with fresh rounds, so that storage challenges (and DA
 * quorums) get their randomness a few blocks after they are fixed.
 *
 *   mode drand   fetches the newest round of a public drand network from its HTTP relays (drand-client
 *                checks it against the network's key) and relays it;
 *   mode devnet  signs rounds itself with the devnet's published, INSECURE key, following chain time:
 *                the round due at the latest block's timestamp, never one ahead of it.
 * Either way a round is relayed once: it is skipped when the contract stores it already (anyone may
 * relay), and only rounds newer than the contract's latest are relayed (older ones would not anchor).
 *
 * Configuration (environment; common variables in agents/src/core/config.ts):
 *   BEACON_MODE        drand | devnet (default: devnet when the contract holds the devnet key, drand
 *                      when it holds evmnet's; required for any other key)
 *   BEACON_DRAND_URLS  comma-separated drand relay base URLs (default: drand's public relays)
 *   BEACON_CHAIN_HASH  drand chain hash of the contract's network (default: evmnet's, for its key)
 *   BEACON_SECRET_KEY  devnet mode: the signing key, 32 bytes hex (default: the published devnet key)
 *   BEACON_INTERVAL_MS how often to look for a new round (default 1000)
 *   BEACON_TIMEOUT_MS  give up on one drand relay after this long (default 5000)
 */
import { Counter, Gauge, Histogram } from "prom-client";
import { field } from "../../core/config.js";
import { DaiosError } from "../../core/errors.js";
import { eventsIn } from "../../sdk/contracts.js";
import { g2FromSolidity, g2ToBytes, publicKeyG2, toHex } from "../../sdk/bls/index.js";
import {
  DEFAULT_DRAND_RELAYS,
  DEVNET_PUBLIC_KEY,
  DEVNET_SECRET_KEY,
  DrandRelays,
  EVMNET,
  roundAt,
  signRound,
  signatureForContract,
  type BeaconNetwork,
  type BeaconRound,
} from "../../sdk/beacon/index.js";
import { startRuntime, type RoleRuntime } from "../runtime.js";

const URL_LIST = /^https?:\/\/[^\s,]+(,\s*https?:\/\/[^\s,]+)*$/;

export const beaconSchema = {
  mode: field.oneOf("BEACON_MODE", ["drand", "devnet"] as const, "where rounds come from").optional(),
  drandUrls: field
    .string("BEACON_DRAND_URLS", { pattern: URL_LIST, expect: "comma-separated http(s) URLs of drand relays, e.g. https://api.drand.sh" })
    .default(DEFAULT_DRAND_RELAYS.join(",")),
  chainHash: field.hex("BEACON_CHAIN_HASH", { bytes: 32, what: "the drand chain hash of the contract's network" }).optional(),
  secretKey: field.hex("BEACON_SECRET_KEY", { bytes: 32, what: "devnet mode: the BLS signing key (default: the published devnet key)" }).secret().optional(),
  intervalMs: field.int("BEACON_INTERVAL_MS", { min: 50, max: 600_000, what: "how often to look for a new round" }).default(1000),
  timeoutMs: field.int("BEACON_TIMEOUT_MS", { min: 100, max: 120_000, what: "how long to wait for one drand relay" }).default(5000),
};

type Runtime = RoleRuntime<typeof beaconSchema>;

/** Where the next round comes from. */
interface RoundSource {
  /** The newest round available now (or undefined when there is none yet). */
  newest(): Promise<BeaconRound | undefined>;
  /** The round due now by the source's clock, for the lag metric. */
  due(): Promise<number>;
}

function beaconMetrics(rt: Runtime) {
  return {
    relayed: new Counter({ name: "daios_beacon_rounds_relayed_total", help: "Rounds this agent relayed to the beacon contract", registers: [rt.metrics] }),
    skipped: new Counter({ name: "daios_beacon_rounds_skipped_total", help: "Rounds not relayed because the contract had them already", registers: [rt.metrics] }),
    failures: new Counter({ name: "daios_beacon_failures_total", help: "Ticks that failed (relay unreachable, transaction failed)", labelNames: ["stage"], registers: [rt.metrics] }),
    gas: new Histogram({
      name: "daios_beacon_relay_gas",
      help: "Gas used by each relay transaction",
      buckets: [50_000, 100_000, 150_000, 200_000, 250_000, 300_000, 400_000],
      registers: [rt.metrics],
    }),
    gasTotal: new Counter({ name: "daios_beacon_relay_gas_total", help: "Gas used by all relay transactions", registers: [rt.metrics] }),
    latestRound: new Gauge({ name: "daios_beacon_latest_round", help: "Newest round stored in the beacon contract", registers: [rt.metrics] }),
    lag: new Gauge({ name: "daios_beacon_lag_rounds", help: "Rounds between the round due now and the newest round the contract stores", registers: [rt.metrics] }),
  };
}

/** The contract's key and schedule, and which known network they are. */
async function contractNetwork(rt: Runtime): Promise<BeaconNetwork> {
  const beacon = rt.contracts.beacon;
  const pk = await beacon.publicKey();
  const publicKey = toHex(g2ToBytes(g2FromSolidity({ x1: pk.x1, x0: pk.x0, y1: pk.y1, y0: pk.y0 }, "the beacon's public key")));
  const genesis = Number(await beacon.genesis());
  const period = Number(await beacon.period());
  const known = publicKey === EVMNET.publicKey.toLowerCase() ? "evmnet" : publicKey === DEVNET_PUBLIC_KEY ? "devnet" : "custom";
  const chainHash = rt.config.role.chainHash?.replace(/^0x/, "").toLowerCase() ?? (known === "evmnet" ? EVMNET.chainHash : undefined);
  return { name: known, publicKey, genesis, period, chainHash };
}

function devnetSource(rt: Runtime, network: BeaconNetwork): RoundSource {
  const secret = rt.config.role.secretKey ? BigInt(rt.config.role.secretKey) : DEVNET_SECRET_KEY;
  const ours = toHex(g2ToBytes(publicKeyG2(secret)));
  if (ours !== network.publicKey) {
    throw new DaiosError(`the signing key's public key ${ours.slice(0, 18)}… is not the beacon contract's ${network.publicKey.slice(0, 18)}…: its rounds would be rejected`, {
      hint: network.name === "devnet" ? "unset BEACON_SECRET_KEY to use the devnet key" : "set BEACON_SECRET_KEY to the key the beacon was deployed with, or use BEACON_MODE=drand",
    });
  }
  // Chain time, not the wall clock: a round is signed only once a block with its time exists.
  const chainRound = async () => {
    const block = await rt.provider.getBlock("latest");
    if (!block) throw new Error("the node returned no latest block");
    return roundAt(block.timestamp, network);
  };
  return {
    async newest() {
      const round = await chainRound();
      return round >= 1 ? signRound(round, secret) : undefined;
    },
    due: chainRound,
  };
}

function drandSource(rt: Runtime, network: BeaconNetwork): RoundSource {
  if (!network.chainHash) {
    throw new DaiosError("the beacon contract's key is not drand evmnet's, so its drand chain hash is unknown", { hint: "set BEACON_CHAIN_HASH to the network's chain hash" });
  }
  const relays = new DrandRelays(network, rt.config.role.drandUrls.split(",").map((u) => u.trim()), { timeoutMs: rt.config.role.timeoutMs });
  return {
    async newest() {
      const r = await relays.latest();
      rt.log.debug({ round: r.round, relay: r.relay }, "fetched the newest drand round");
      return r;
    },
    async due() {
      return roundAt(Date.now() / 1000, network);
    },
  };
}

export async function runBeacon(): Promise<Runtime> {
  const rt = await startRuntime("beacon", beaconSchema);
  const { log, tx } = rt;
  const beacon = rt.contracts.beacon;
  const address = beacon.target as string;
  const metrics = beaconMetrics(rt);
  const network = await contractNetwork(rt);
  const mode = rt.config.role.mode ?? (network.name === "devnet" ? "devnet" : network.name === "evmnet" ? "drand" : undefined);
  if (!mode) {
    throw new DaiosError(`the beacon at ${address} has a key that is neither drand evmnet's nor the devnet's, so the mode cannot be guessed`, {
      hint: "set BEACON_MODE=drand (with BEACON_CHAIN_HASH) or BEACON_MODE=devnet (with BEACON_SECRET_KEY)",
    });
  }
  if (mode === "devnet" && network.name !== "devnet") log.warn("devnet mode on a beacon without the devnet key: the rounds are only as secret as BEACON_SECRET_KEY");
  const source = mode === "devnet" ? devnetSource(rt, network) : drandSource(rt, network);
  if (mode === "devnet") log.warn("devnet signer: rounds are signed with a published, insecure key; anyone can predict them. Never use it on a public chain");

  const stored = async (round: number) => {
    try {
      await beacon.randomnessOf(round);
      return true;
    } catch {
      return false;
    }
  };

  rt.every(rt.config.role.intervalMs, "beacon tick", async () => {
    let latest = Number(await beacon.latestRound());
    try {
      const round = await source.newest();
      if (round && round.round > latest) {
        const result = await tx.send({
          label: `relay:${round.round}`,
          isDone: () => stored(round.round),
          build: () => ({ to: address, data: beacon.interface.encodeFunctionData("relay", [round.round, signatureForContract(round.signature)]) }),
        });
        if (result.skipped) {
          metrics.skipped.inc();
        } else {
          metrics.relayed.inc();
          metrics.gas.observe(Number(result.gasUsed));
          metrics.gasTotal.inc(Number(result.gasUsed));
          const [anchored] = eventsIn(beacon, result.receipt, "BucketAnchored");
          log.info(
            { round: round.round, randomness: round.randomness, txHash: result.txHash, block: result.receipt.blockNumber, gasUsed: result.gasUsed.toString(), anchoredBucket: anchored?.args.bucket?.toString() },
            "round relayed",
          );
        }
        latest = Math.max(latest, round.round);
      }
    } catch (error) {
      metrics.failures.inc({ stage: "relay" });
      throw error;
    } finally {
      metrics.latestRound.set(latest);
      metrics.lag.set(Math.max(0, (await source.due()) - latest));
    }
  });
  log.info({ mode, network: network.name, beacon: address, genesis: network.genesis, period: network.period, relayer: tx.address }, "beacon ready");
  return rt;
}
