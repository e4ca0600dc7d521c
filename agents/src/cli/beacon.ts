/**
 * `daios beacon …`: check drand-compatible rounds through the RandomnessBeacon contract and show the
 * newest relayed round.
 *
 *   daios beacon verify <round> <signature> [--key evmnet|devnet|<hex>]
 *       exit 0: the signature is the round's under the key; 1: it is not; 2: bad input (what is wrong
 *       is printed). With RPC_URL (or --rpc) set the check runs on that node: on the deployment's
 *       beacon when it holds the key, else on a beacon deployed there with that key (sent by
 *       PRIVATE_KEY, or on a devnet by its funded deployer). Without a node it runs on an in-process
 *       Hardhat network.
 *   daios beacon latest
 *       the newest round the deployment's beacon stores: its randomness, due time and age.
 *
 * The global --key is the signing key of every other command; here a value that is not a 32-byte
 * private key (evmnet, devnet or a 128-byte G2 public key) names the beacon key instead.
 */
import { createHash } from "node:crypto";
import type { Command } from "commander";
import { JsonRpcProvider, Wallet, type ContractRunner, type Provider } from "ethers";
import { DEVNET_CHAIN_IDS } from "../core/config.js";
import { DaiosError } from "../core/errors.js";
import { hardhatAccount } from "../devnet/hardhat-node.js";
import { connectContracts } from "../sdk/contracts.js";
import { readDeployment } from "../sdk/deployment.js";
import { g2FromSolidity, g2ToBytes, toHex } from "../sdk/bls/index.js";
import {
  BeaconInputError,
  DEVNET_PERIOD,
  DEVNET_PUBLIC_KEY,
  EVMNET,
  parsePublicKeyHex,
  parseRound,
  parseSignature,
  publicKeyForContract,
  timeOf,
} from "../sdk/beacon/index.js";
import { RandomnessBeacon__factory, type RandomnessBeacon } from "../../../types/ethers-contracts/index.js";

/** Ends a command with an exit code other than 0 (1: a negative answer; 2: bad input). */
export class CliExit extends Error {
  override name = "CliExit";
  constructor(
    readonly code: number,
    message = "",
  ) {
    super(message);
  }
}

interface GlobalOptions {
  rpc: string;
  key?: string;
  deployment?: string;
  json?: boolean;
}

interface KeyChoice {
  /** evmnet, devnet or custom. */
  name: string;
  /** kyber G2 hex. */
  publicKey: string;
  /** Schedule for a beacon deployed with this key (only freshness of anchors depends on it). */
  genesis: number;
  period: number;
}

const PRIVATE_KEY = /^0x[0-9a-fA-F]{64}$/;

function keyChoice(value: string | undefined): KeyChoice {
  const v = (value ?? "evmnet").trim();
  if (v === "evmnet") return { name: "evmnet", publicKey: EVMNET.publicKey.toLowerCase(), genesis: EVMNET.genesis, period: EVMNET.period };
  if (v === "devnet") return { name: "devnet", publicKey: DEVNET_PUBLIC_KEY, genesis: 1, period: DEVNET_PERIOD };
  if (!/^(0x)?[0-9a-fA-F]+$/.test(v)) throw new BeaconInputError(`--key ${JSON.stringify(v)} is not evmnet, devnet or a hex public key`);
  const publicKey = parsePublicKeyHex(v).toLowerCase();
  const name = publicKey === EVMNET.publicKey.toLowerCase() ? "evmnet" : publicKey === DEVNET_PUBLIC_KEY ? "devnet" : "custom";
  return { name, publicKey, genesis: name === "evmnet" ? EVMNET.genesis : 1, period: name === "evmnet" ? EVMNET.period : DEVNET_PERIOD };
}

async function beaconKeyOf(beacon: RandomnessBeacon): Promise<string> {
  const pk = await beacon.publicKey();
  return toHex(g2ToBytes(g2FromSolidity({ x1: pk.x1, x0: pk.x0, y1: pk.y1, y0: pk.y0 }, "the beacon's public key")));
}

async function deployBeacon(runner: ContractRunner, key: KeyChoice): Promise<RandomnessBeacon> {
  const beacon = await new RandomnessBeacon__factory(runner as Wallet).deploy(publicKeyForContract(key.publicKey), key.genesis, key.period);
  await beacon.waitForDeployment();
  return beacon;
}

type Verdict = { valid: true; randomness: string } | { valid: false; reason: string };

/** Checks the round on `beacon`: a static call of relay(), or the stored randomness when the round is relayed already. */
async function verifyOn(beacon: RandomnessBeacon, round: bigint, sig: { x: bigint; y: bigint }): Promise<Verdict> {
  const randomness = `0x${createHash("sha256").update(Buffer.from(sig.x.toString(16).padStart(64, "0") + sig.y.toString(16).padStart(64, "0"), "hex")).digest("hex")}`;
  let stored: string | undefined;
  try {
    stored = await beacon.randomnessOf(round);
  } catch {
    stored = undefined;
  }
  if (stored !== undefined) {
    // relay() does not check a stored round again; a BLS signature is unique, so the stored round's
    // randomness (sha256 of its verified signature) decides.
    return stored === randomness ? { valid: true, randomness } : { valid: false, reason: `the beacon stores round ${round} with another signature (randomness ${stored})` };
  }
  try {
    await beacon.relay.staticCall(round, sig);
    return { valid: true, randomness };
  } catch (error) {
    const data = (error as { data?: string }).data;
    const parsed = data ? beacon.interface.parseError(data) : null;
    if (parsed) return { valid: false, reason: `${parsed.name}(${parsed.args.map(String).join(", ")})` };
    throw error;
  }
}

/** Runs the check on the node at `rpc`: the deployment's beacon when it holds the key, else a new one. */
async function verifyOnNode(options: GlobalOptions, signingKey: string | undefined, key: KeyChoice, round: bigint, sig: { x: bigint; y: bigint }) {
  const provider = new JsonRpcProvider(options.rpc, undefined, { staticNetwork: true });
  try {
    let chainId: bigint;
    try {
      chainId = (await provider.getNetwork()).chainId;
    } catch (error) {
      throw new DaiosError(`no JSON-RPC node answers at ${options.rpc} (${(error as Error).message})`, { hint: "unset RPC_URL to verify on an in-process network, or start a node (npm start)" });
    }
    let beacon: RandomnessBeacon | undefined;
    let where = "";
    try {
      const deployment = readDeployment(chainId, options.deployment);
      const deployed = connectContracts(deployment, provider).beacon;
      if ((await beaconKeyOf(deployed)) === key.publicKey) {
        beacon = deployed;
        where = `the deployment's RandomnessBeacon ${deployment.contracts.RandomnessBeacon.address} on chain ${chainId}`;
      }
    } catch {
      // no deployment (or no beacon in it): deploy one below
    }
    if (!beacon) {
      const privateKey = signingKey ?? (DEVNET_CHAIN_IDS.includes(Number(chainId)) ? hardhatAccount(0).privateKey : undefined);
      if (!privateKey) {
        throw new DaiosError(`chain ${chainId} has no beacon with the ${key.name} key to verify on, and no key to deploy one`, {
          hint: "set PRIVATE_KEY to a funded account, or unset RPC_URL to verify on an in-process network",
        });
      }
      beacon = await deployBeacon(new Wallet(privateKey, provider), key);
      where = `a RandomnessBeacon with the ${key.name} key deployed for this check at ${await beacon.getAddress()} on chain ${chainId}`;
    }
    return { verdict: await verifyOn(beacon, round, sig), where };
  } finally {
    provider.destroy();
  }
}

/** Runs the check on an in-process Hardhat network (no node needed). */
async function verifyInProcess(key: KeyChoice, round: bigint, sig: { x: bigint; y: bigint }) {
  const { network } = await import("hardhat");
  const connection = await network.create();
  try {
    const [signer] = await connection.ethers.getSigners();
    const beacon = await deployBeacon(signer, key);
    return { verdict: await verifyOn(beacon, round, sig), where: `a RandomnessBeacon with the ${key.name} key on an in-process Hardhat network` };
  } finally {
    await connection.close();
  }
}

function output(json: boolean | undefined, human: string, data: unknown): void {
  if (json) console.log(JSON.stringify(data, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2));
  else console.log(human);
}

function ago(seconds: number): string {
  if (seconds < 0) return `in ${-seconds} s`;
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  return `${(seconds / 3600).toFixed(1)} h ago`;
}

export function registerBeaconCommands(program: Command): void {
  const globals = () => program.opts<GlobalOptions>();
  const beacon = program.command("beacon").description("drand-compatible randomness beacon: verify rounds, show the newest relayed round");

  beacon
    .command("verify")
    .description("check a round's signature through the RandomnessBeacon contract (exit 0 valid, 1 invalid, 2 bad input)")
    .argument("<round>", "round number (from 1)")
    .argument("<signature>", "the round's signature: 64 bytes hex (x || y)")
    .option("--key <key>", "the beacon's public key: evmnet, devnet or 128 bytes hex (kyber G2) (default: evmnet)")
    .action(async (roundArg: string, signatureArg: string, local: { key?: string }) => {
      const options = globals();
      // The global --key is also parsed from this command's line: a 32-byte private key keeps its
      // global meaning (the signing key); anything else names the beacon key.
      const typed = program.getOptionValueSource("key") === "cli" ? options.key : undefined;
      const typedIsPrivate = typed !== undefined && PRIVATE_KEY.test(typed);
      const keyArg = local.key ?? (typed !== undefined && !typedIsPrivate ? typed : undefined);
      const signingKey = typed === undefined || typedIsPrivate ? options.key : process.env.PRIVATE_KEY;
      let round: bigint, sig: { x: bigint; y: bigint }, key: KeyChoice;
      try {
        round = parseRound(roundArg);
        sig = parseSignature(signatureArg);
        key = keyChoice(keyArg);
      } catch (error) {
        if (error instanceof BeaconInputError) throw new CliExit(2, error.message);
        throw error;
      }
      const onNode = Boolean(process.env.RPC_URL) || program.getOptionValueSource("rpc") === "cli";
      const { verdict, where } = onNode ? await verifyOnNode(options, signingKey, key, round, sig) : await verifyInProcess(key, round, sig);
      if (verdict.valid) {
        output(options.json, `round ${round}: valid under the ${key.name} key (checked by ${where})\nrandomness ${verdict.randomness}`, { round, valid: true, key: key.name, randomness: verdict.randomness, checkedBy: where });
        return;
      }
      output(options.json, `round ${round}: INVALID under the ${key.name} key: ${verdict.reason} (checked by ${where})`, { round, valid: false, key: key.name, reason: verdict.reason, checkedBy: where });
      throw new CliExit(1);
    });

  beacon
    .command("latest")
    .description("show the newest round the deployment's beacon stores: randomness, due time and age")
    .action(async () => {
      const options = globals();
      const provider: Provider = new JsonRpcProvider(options.rpc, undefined, { staticNetwork: true });
      try {
        let chainId: bigint;
        try {
          chainId = (await provider.getNetwork()).chainId;
        } catch (error) {
          throw new DaiosError(`no JSON-RPC node answers at ${options.rpc} (${(error as Error).message})`, { hint: "start one with `npm start`, or set RPC_URL / --rpc to a reachable node" });
        }
        const deployment = readDeployment(chainId, options.deployment);
        const contract = connectContracts(deployment, provider).beacon;
        const address = deployment.contracts.RandomnessBeacon.address;
        const round = await contract.latestRound();
        if (round === 0n) {
          output(options.json, `the beacon ${address} has no round yet: is a beacon role running? (npm run agent -- --role beacon)`, { beacon: address, round: 0 });
          return;
        }
        const clock = { genesis: Number(await contract.genesis()), period: Number(await contract.period()) };
        const randomness = await contract.randomnessOf(round);
        const due = timeOf(round, clock);
        const [relayed] = await contract.queryFilter(contract.filters.RoundRelayed(round), deployment.contracts.RandomnessBeacon.block);
        const age = Math.round(Date.now() / 1000 - due);
        output(
          options.json,
          [
            `round ${round} of the beacon ${address}${deployment.beacon ? ` (${deployment.beacon.network} key)` : ""}`,
            `randomness ${randomness}`,
            `due at ${new Date(due * 1000).toISOString()} (${ago(age)})`,
            ...(relayed ? [`relayed in block ${relayed.blockNumber} by ${relayed.args.relayer}`] : []),
          ].join("\n"),
          { beacon: address, round, randomness, dueAt: due, ageSeconds: age, relayedInBlock: relayed?.blockNumber, relayer: relayed?.args.relayer },
        );
      } finally {
        provider.destroy();
      }
    });
}
