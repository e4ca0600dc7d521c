/**
 * The data-availability layer's SDK: what `daios da …` uses and what an integrator imports.
 *
 *   const { client, close } = await connectDa({ rpcUrl, privateKey });
 *   const { blobId } = await client.submit(bytes, { onProgress: console.log });
 *   const { data } = await client.get(blobId);                   // byte-exact, from any k members
 *   const { confidence } = await client.verify(blobId, 16);     // random chunks checked against the root
 *
 * submit: takes the epoch of the block its transaction will be mined in (sampling it when nobody has
 * yet), erasure-codes the blob for the epoch's quorum size (k = floor(Q / 2) data shards of Q), pays
 * and submits the header, sends every member its shard in parallel, checks each returned BLS signature
 * against the member's registered G2 key (a bad one makes the member a non-signer), and certifies with
 * the signers' aggregate once their weight reaches the threshold; else it says which members failed
 * and why. Contract errors are decoded wherever ethers leaves them (decodeRevert).
 *
 * Every method checks its input before touching the chain; bad input throws DaInputError (the CLI
 * exits 2 on it), other failures a DaiosError that says what to do.
 */
import { randomInt } from "node:crypto";
import { AbiCoder, JsonRpcProvider, type ContractTransactionReceipt, type Interface, type Provider, type Signer } from "ethers";
import { DA } from "../../generated/constants.js";
import { DaiosError, errorMessage } from "../../core/errors.js";
import { connectContracts, connectDaContracts, eventsIn, type DaContracts, type DaiosContracts } from "../contracts.js";
import { type Deployment } from "../deployment.js";
import { connectChain } from "../chain.js";
import { g1ToSolidity, g2FromSolidity, g2ToSolidity, type G1, type G2, type SolidityG1, type SolidityG2 } from "../bls/index.js";
import { blobLayout, decodeBlobDetailed, encodeBlob, type BlobLayout, type EncodedBlob } from "./blob.js";
import { defaultCommitHasher, verifyProof, verifyRange, type CommitHasher } from "./commitment.js";
import { aggregateCertificate, certificatePoint, signatureFromHex, verifyCertificateSignature } from "./certificate.js";
import { memberRoot, nonSignerEntry, type QuorumMember } from "./quorum.js";
import { PROOF_HEADER, chunkPath, decodeProofHeader, encodeProofHeader, shardPath, type ChunkOpening, type ShardReceipt } from "./wire.js";

/** Input that is wrong whatever the state of the network (unknown blob, empty file, bad position…). */
export class DaInputError extends DaiosError {}

/**
 * How often a submission (or its epoch's sampling) is tried again when the epoch rolled over between
 * reading it and mining the transaction. Once is the rule at one block a second; a busy chain mining
 * many blocks a second (a test node with many senders) can roll over a few times in a row.
 */
const EPOCH_RACE_RETRIES = 6;

export const BLOB_STATUS = ["None", "Pending", "Certified", "Reclaimed"] as const;
export type BlobStatusName = (typeof BLOB_STATUS)[number];
export const CHALLENGE_STATUS = ["None", "Open", "Answered", "Slashed"] as const;
export type ChallengeStatusName = (typeof CHALLENGE_STATUS)[number];

/** Progress of the client's long operations. */
export type DaEvent =
  | { type: "encoding"; bytes: number; epoch: bigint; quorumSize: number }
  | { type: "encoded"; root: string; k: number; n: number; shardSize: number; ms: number }
  | { type: "submitted"; blobId: bigint; txHash: string; fee: bigint; epoch: bigint; quorum: number }
  | { type: "shard-sent"; position: number; endpoint: string; bytes: number }
  | { type: "signed"; position: number; endpoint: string }
  | { type: "shard-failed"; position: number; endpoint: string; reason: string }
  | { type: "certified"; blobId: bigint; txHash: string; signers: number; nonSigners: number }
  | { type: "fetched"; position: number; endpoint: string; bytes: number }
  | { type: "fetch-failed"; position: number; endpoint: string; reason: string }
  | { type: "sampled"; chunkIndex: number; position: number; ok: boolean; reason?: string };

export interface ProgressOptions {
  onProgress?: (event: DaEvent) => void;
}

/** A member of a blob's quorum: its on-chain identity, keys and endpoint (and weight when asked for). */
export interface MemberInfo {
  position: number;
  nodeId: bigint;
  account: string;
  endpoint: string;
  pkG1: SolidityG1;
  pkG2: SolidityG2;
  /** Stake at sampling (from the QuorumSampled event); only read when needed. */
  weight?: bigint;
}

/** A blob as DABlobs records it, with its coding. */
export interface BlobRecord {
  blobId: bigint;
  client: string;
  root: string;
  size: number;
  epoch: bigint;
  quorum: number;
  quorumSize: number;
  fee: bigint;
  submittedAt: number;
  certifiedAt: number;
  nonSignerMask: bigint;
  claimedMask: bigint;
  status: BlobStatusName;
  layout: BlobLayout;
}

export interface MemberOutcome {
  position: number;
  nodeId: bigint;
  endpoint: string;
}

export interface SubmitResult {
  blobId: bigint;
  root: string;
  size: number;
  epoch: bigint;
  quorum: number;
  quorumSize: number;
  fee: bigint;
  submitTx: string;
  certifyTx: string;
  signedWeight: bigint;
  totalWeight: bigint;
  signers: MemberOutcome[];
  /** Members whose shard or signature failed, and why. */
  nonSigners: (MemberOutcome & { reason: string })[];
  gasUsed: { submit: bigint; certify: bigint };
}

export interface RetrievedBlob {
  data: Buffer;
  /** Positions whose shards rebuilt the blob. */
  used: number[];
  /** Members that did not deliver a verified shard (before k had arrived), and why. */
  failures: (MemberOutcome & { reason: string })[];
}

export interface SampleFailure extends MemberOutcome {
  chunkIndex: number;
  reason: string;
}

export interface SampleReport {
  blobId: bigint;
  root: string;
  status: BlobStatusName;
  samples: number;
  passed: number;
  failures: SampleFailure[];
  /**
   * With rate-1/2 coding an unrecoverable blob misses more than half of its chunks, so a random
   * sample passes with probability below 1/2: when all `passed` samples pass, the blob is recoverable
   * with confidence at least 1 - 2^-passed. Zero when a sample failed (see `failures`).
   */
  confidence: number;
}

export interface BlobStatusReport extends BlobRecord {
  members: (MemberInfo & { signed: boolean | undefined })[];
  certifyDeadline: number;
  retentionEnd: number | undefined;
  feePerSigner: bigint;
  currentBlock: number;
}

export interface DaNodeInfo {
  account: string;
  nodeId: bigint;
  endpoint: string;
  stake: bigint;
  active: boolean;
  pkG1?: SolidityG1;
}

export interface ChallengeRecord {
  challengeId: bigint;
  blobId: bigint;
  position: number;
  chunkIndex: number;
  node: string;
  challenger: string;
  bond: bigint;
  deadline: number;
  status: ChallengeStatusName;
}

export interface DaClientOptions {
  provider: Provider;
  chainId: bigint;
  deployment: Deployment;
  /** Signs transactions; without it the client can only read, fetch and sample. */
  signer?: Signer;
  /** Per-request timeout of shard uploads and downloads (default 60 s). */
  fetchTimeoutMs?: number;
  hasher?: CommitHasher;
}

/** The contracts the client uses. */
export type DaClientContracts = Pick<DaiosContracts, "token" | "registry"> & DaContracts;

/** A contract error decoded from a failed call or transaction. */
export interface ContractRevert {
  /** The custom error's name ("DABlobsWrongEpoch"), or "Error" / "Panic" for a require message or a panic. */
  name: string;
  args: readonly unknown[];
  /** name(argument=value, …), as messages show it. */
  text: string;
}

/**
 * The contract error in a failed call or transaction, decoded with `interfaces`; undefined when the
 * error carries no revert data (a network failure, or a node that did not report it).
 *
 * ethers decodes a revert into `error.revert` only when a Contract's own call reverts. When a
 * Wallet's gas estimation reverts it throws CALL_EXCEPTION "unknown custom error" with `revert` null
 * and the data in `error.data` (and `error.info.error.data`); when a send with a gas limit reverts
 * on an automining node, UNKNOWN_ERROR "could not coalesce error" with the data in `error.error.data`.
 * So the data is looked for wherever nodes put it, also in wrapped errors (`cause`).
 */
export function decodeRevert(error: unknown, interfaces: readonly Interface[]): ContractRevert | undefined {
  const data = revertData(error);
  if (data !== undefined) {
    for (const iface of interfaces) {
      try {
        const parsed = iface.parseError(data);
        if (parsed) return describeRevert(parsed.name, parsed.args, parsed.fragment.inputs.map((input) => input.name));
      } catch {
        // the selector is this contract's, the arguments are malformed
      }
    }
    const builtin = AbiCoder.getBuiltinCallException("call", {}, data).revert;
    if (builtin) return describeRevert(builtin.name, builtin.args, []);
  }
  const decoded = (error as { revert?: { name?: unknown; args?: readonly unknown[] } | null } | null)?.revert;
  return typeof decoded?.name === "string" ? describeRevert(decoded.name, decoded.args ?? [], []) : undefined;
}

/** The first revert data (0x + a selector at least) in `error` or the errors it wraps. */
function revertData(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const walk = (value: unknown, depth: number): string | undefined => {
    if (value === null || typeof value !== "object" || depth > 6 || seen.has(value)) return undefined;
    seen.add(value);
    const v = value as Record<string, unknown>;
    if (typeof v.data === "string" && /^0x([0-9a-fA-F]{2}){4,}$/.test(v.data)) return v.data;
    for (const key of ["error", "info", "data", "cause"]) {
      const found = walk(v[key], depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return walk(error, 0);
}

function describeRevert(name: string, args: readonly unknown[], names: readonly string[]): ContractRevert {
  const shown = [...args].map((arg, i) => (names[i] ? `${names[i]}=${formatArg(arg)}` : formatArg(arg)));
  return { name, args: [...args], text: `${name}(${shown.join(", ")})` };
}

function formatArg(value: unknown): string {
  if (typeof value === "string" || typeof value === "bigint" || typeof value === "number" || typeof value === "boolean") return String(value);
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  } catch {
    return String(value);
  }
}

/** The epoch of the block after `head`: the one a transaction sent now is mined in on an automining node. */
export function epochOfNextBlock(head: number): bigint {
  return BigInt(Math.floor((head + 1) / DA.EPOCH_BLOCKS));
}

/**
 * Gas limit of submitBlob: the estimate plus SUBMIT_GAS_MARGIN_PERCENT. submitBlob hashes the
 * certificate message, which includes the blob id, to a curve point (BLS.hashToPoint: each of its two
 * field elements takes one to three square-root attempts, a modexp each, depending on the hash). The
 * estimate prices the id the next blob gets at estimation time; when another client's blob takes it
 * first, ours gets the next id, whose hashing may take more attempts, and the exact estimate runs out
 * of gas. 25% is several times what the extra attempts cost; unused gas is not paid for.
 * certify is sent with its estimate: its message point was stored at submission, and its work depends
 * only on its arguments (the non-signers and the aggregate), which the estimate already saw.
 */
export const SUBMIT_GAS_MARGIN_PERCENT = 25n;

function submitGasLimit(estimate: bigint): bigint {
  return (estimate * (100n + SUBMIT_GAS_MARGIN_PERCENT) + 99n) / 100n;
}

async function json<T>(response: Response): Promise<T & { error?: string; hint?: string }> {
  return (await response.json().catch(() => ({}))) as T & { error?: string; hint?: string };
}

export class DaClient {
  private readonly provider: Provider;
  private readonly signer: Signer | undefined;
  private readonly chainId: bigint;
  private readonly deployment: Deployment;
  private readonly timeoutMs: number;
  private readonly hasher: CommitHasher;
  readonly contracts: DaClientContracts;
  private daRole: Promise<string> | undefined;

  constructor(options: DaClientOptions) {
    this.provider = options.provider;
    this.signer = options.signer;
    this.chainId = options.chainId;
    this.deployment = options.deployment;
    this.timeoutMs = options.fetchTimeoutMs ?? 60_000;
    this.hasher = options.hasher ?? defaultCommitHasher();
    const runner = options.signer ?? options.provider;
    const core = connectContracts(options.deployment, runner);
    this.contracts = { token: core.token, registry: core.registry, ...connectDaContracts(options.deployment, runner) };
  }

  private requireSigner(): Signer {
    if (!this.signer) throw new DaInputError("this command sends transactions and needs a key", { hint: "set PRIVATE_KEY or pass --key" });
    return this.signer;
  }

  private role(): Promise<string> {
    this.daRole ??= this.contracts.registry.DA_ROLE();
    return this.daRole;
  }

  /** The contract error in `error`, decoded with the interfaces of every contract the client calls. */
  private revertOf(error: unknown): ContractRevert | undefined {
    const { blobs, daRegistry, registry, token } = this.contracts;
    return decodeRevert(error, [blobs.interface, daRegistry.interface, registry.interface, token.interface]);
  }

  /** A failed transaction as a DaiosError naming the contract error and its arguments. */
  private txError(what: string, error: unknown, hint?: string): DaiosError {
    const detail = this.revertOf(error)?.text ?? errorMessage(error).split("\n")[0];
    return new DaiosError(`${what} failed: ${detail}`, { hint, cause: error });
  }

  // ------------------------------------------------------------------ reads

  /** Blob `blobId` as recorded on-chain; DaInputError for an unknown id. */
  async blob(blobId: bigint): Promise<BlobRecord> {
    const count = await this.contracts.blobs.blobCount();
    if (blobId < 1n || blobId > count) {
      throw new DaInputError(`blob ${blobId} does not exist (${count === 0n ? "no blob was submitted yet" : `blob ids run from 1 to ${count}`})`, {
        hint: "check the id printed by `daios da submit`",
      });
    }
    const b = await this.contracts.blobs.blob(blobId);
    const size = Number(b.size);
    const quorumSize = Number(b.quorumSize);
    return {
      blobId,
      client: b.client,
      root: b.root,
      size,
      epoch: b.epoch,
      quorum: Number(b.quorum),
      quorumSize,
      fee: b.fee,
      submittedAt: Number(b.submittedAt),
      certifiedAt: Number(b.certifiedAt),
      nonSignerMask: b.nonSignerMask,
      claimedMask: b.claimedMask,
      status: BLOB_STATUS[Number(b.status)],
      layout: blobLayout(size, quorumSize),
    };
  }

  /** The members of quorum `quorum` of `epoch` in position order, with their weights when asked. */
  async members(epoch: bigint, quorum: number, withWeights = false): Promise<MemberInfo[]> {
    const { daRegistry, registry } = this.contracts;
    const role = await this.role();
    const ids = await daRegistry.quorumMembers(epoch, quorum);
    const members = await Promise.all(
      ids.map(async (nodeId, position): Promise<MemberInfo> => {
        const node = await daRegistry.node(nodeId);
        const provider = await registry.getProvider(node.account, role);
        return {
          position,
          nodeId,
          account: node.account,
          endpoint: provider.endpoint.replace(/\/+$/, ""),
          pkG1: { x: node.pkG1.x, y: node.pkG1.y },
          pkG2: { x1: node.pkG2.x1, x0: node.pkG2.x0, y1: node.pkG2.y1, y0: node.pkG2.y0 },
        };
      }),
    );
    if (withWeights) {
      const weights = await this.memberWeights(epoch, quorum, ids);
      members.forEach((m, i) => (m.weight = weights[i]));
    }
    return members;
  }

  /** Member weights from the QuorumSampled event (sampling happens in epoch - 1 or epoch: a bounded search). */
  private async memberWeights(epoch: bigint, quorum: number, ids: readonly bigint[]): Promise<bigint[]> {
    const { daRegistry } = this.contracts;
    const start = this.deployment.contracts.DARegistry?.block ?? 0;
    const head = await this.provider.getBlockNumber();
    const from = Math.max(start, Number(epoch - 1n) * DA.EPOCH_BLOCKS);
    const to = Math.min(head, Number(epoch + 1n) * DA.EPOCH_BLOCKS - 1);
    const logs = await daRegistry.queryFilter(daRegistry.filters.QuorumSampled(epoch, quorum), from, to);
    const sampled = logs[logs.length - 1];
    if (!sampled) throw new DaiosError(`no QuorumSampled event for quorum ${quorum} of epoch ${epoch} between blocks ${from} and ${to}`, { hint: "check that the RPC node serves logs of those blocks" });
    const nodeIds = sampled.args.nodeIds;
    if (nodeIds.length !== ids.length || nodeIds.some((id, i) => id !== ids[i])) {
      throw new DaiosError(`the QuorumSampled event of quorum ${quorum} of epoch ${epoch} lists other members than the registry`);
    }
    return [...sampled.args.weights];
  }

  /**
   * The epoch of the block the next transaction will be mined in, sampled (sampling it first when
   * nobody has: anyone may). Not currentEpoch(), which is the head's: when the head is an epoch's last
   * block, a transaction sent now lands in the next epoch.
   */
  private async sampledEpoch(): Promise<bigint> {
    const { daRegistry } = this.contracts;
    for (let attempt = 0; ; attempt++) {
      const epoch = epochOfNextBlock(await this.provider.getBlockNumber());
      if ((await daRegistry.epochInfo(epoch)).sampled) return epoch;
      try {
        await daRegistry.sampleEpoch.staticCall(epoch);
      } catch (error) {
        if (this.revertOf(error)?.name === "DARegistryEpochAlreadySampled") return epoch;
        throw this.txError(`epoch ${epoch}'s quorums are not sampled yet, and sampling them now`, error, "its randomness is not available yet (on the devnet the beacon role relays it): retry in a few blocks");
      }
      try {
        await (await daRegistry.sampleEpoch(epoch)).wait();
        return epoch;
      } catch (error) {
        const name = this.revertOf(error)?.name;
        if (name === "DARegistryEpochAlreadySampled") return epoch;
        // The chain moved past `epoch` before the transaction was mined: take the epoch again.
        if (name === "DARegistryEpochNotSampleable" && attempt < EPOCH_RACE_RETRIES) continue;
        throw this.txError(`sampleEpoch(${epoch})`, error);
      }
    }
  }

  // ------------------------------------------------------------------ submit

  /** Encodes, pays for, disperses and certifies a blob; see the file comment. */
  async submit(bytes: Uint8Array, options: ProgressOptions = {}): Promise<SubmitResult> {
    const emit = options.onProgress ?? (() => undefined);
    if (!(bytes instanceof Uint8Array)) throw new DaInputError("the blob must be bytes (a Uint8Array or Buffer)");
    if (bytes.length === 0) throw new DaInputError("the blob is empty: there is nothing to submit", { hint: "submit at least one byte" });
    if (bytes.length > DA.MAX_BLOB_SIZE) {
      throw new DaInputError(`the blob has ${bytes.length} bytes, more than DA.MAX_BLOB_SIZE = ${DA.MAX_BLOB_SIZE} (16 MiB)`, { hint: "split the data into several blobs" });
    }
    const signer = this.requireSigner();
    const account = await signer.getAddress();
    const { blobs, daRegistry, token } = this.contracts;
    const blobsAddress = blobs.target as string;

    let encoded: EncodedBlob;
    let epoch: bigint;
    let receipt: ContractTransactionReceipt;
    let fee: bigint;
    for (let attempt = 0; ; attempt++) {
      epoch = await this.sampledEpoch();
      const info = await daRegistry.epochInfo(epoch);
      if (info.quorumCount === 0n) {
        throw new DaiosError(`epoch ${epoch} has no quorums: only ${info.candidates} DA node(s) were eligible when it was sampled`, {
          hint: `a quorum needs at least ${DA.MIN_QUORUM_SIZE} nodes with registered keys and stake; wait for more nodes and the next epoch`,
        });
      }
      const quorumSize = Number(info.quorumSize);
      emit({ type: "encoding", bytes: bytes.length, epoch, quorumSize });
      const started = Date.now();
      encoded = encodeBlob(bytes, quorumSize, { hasher: this.hasher });
      emit({ type: "encoded", root: encoded.rootHex, k: encoded.k, n: encoded.n, shardSize: encoded.shardSize, ms: Date.now() - started });
      fee = await blobs.quote(bytes.length);
      const balance = await token.balanceOf(account);
      if (balance < fee) {
        throw new DaiosError(`submitting a blob of ${bytes.length} bytes costs ${fee} token units but ${account} holds ${balance}`, { hint: "get tokens (on the devnet: daios faucet) or submit less data" });
      }
      if ((await token.allowance(account, blobsAddress)) < fee) {
        try {
          await (await token.approve(blobsAddress, fee)).wait();
        } catch (error) {
          throw this.txError("approving the blob fee", error);
        }
      }
      try {
        const estimate = await blobs.submitBlob.estimateGas(encoded.rootHex, bytes.length, epoch);
        const sent = await blobs.submitBlob(encoded.rootHex, bytes.length, epoch, { gasLimit: submitGasLimit(estimate) });
        receipt = (await sent.wait()) as ContractTransactionReceipt;
        break;
      } catch (error) {
        // The epoch ended between reading it and mining the header (a block came in, or the approval
        // took one): encode again for the new one.
        if (this.revertOf(error)?.name === "DABlobsWrongEpoch" && attempt < EPOCH_RACE_RETRIES) continue;
        throw this.txError("submitBlob", error);
      }
    }
    const [submitted] = eventsIn(blobs, receipt, "BlobSubmitted");
    if (!submitted) throw new DaiosError(`submitBlob ${receipt.hash} emitted no BlobSubmitted event`);
    const blobId = submitted.args.blobId as bigint;
    const quorum = Number(submitted.args.quorum);
    emit({ type: "submitted", blobId, txHash: receipt.hash, fee, epoch, quorum });

    const members = await this.members(epoch, quorum, true);
    const onChain = await daRegistry.quorum(epoch, quorum);
    const tree: QuorumMember[] = members.map((m) => ({ nodeId: m.nodeId, pkG1: m.pkG1, weight: m.weight as bigint }));
    if (memberRoot(tree) !== onChain.memberRoot) {
      throw new DaiosError(`the members and weights of quorum ${quorum} of epoch ${epoch} do not give its on-chain member root`, { hint: "the RPC node served inconsistent state: retry, or use another node" });
    }
    const point = certificatePoint({ chainId: this.chainId, blobs: blobsAddress, blobId, root: encoded.rootHex, epoch });
    const outcomes = await Promise.all(members.map((m) => this.disperse(m, blobId, encoded, point, emit)));

    const signers: { member: MemberInfo; signature: G1; key: G2 }[] = [];
    const failed: SubmitResult["nonSigners"] = [];
    outcomes.forEach((outcome, i) => {
      const m = members[i];
      if ("signature" in outcome) signers.push({ member: m, signature: outcome.signature, key: outcome.key });
      else failed.push({ position: m.position, nodeId: m.nodeId, endpoint: m.endpoint, reason: outcome.reason });
    });
    const signedWeight = signers.reduce((sum, s) => sum + (s.member.weight as bigint), 0n);
    const totalWeight = onChain.totalWeight;
    const reclaimAfter = Number(receipt.blockNumber) + DA.CERTIFY_WINDOW_BLOCKS;
    if (signers.length === 0 || signedWeight * BigInt(DA.SIGN_THRESHOLD_DENOMINATOR) < totalWeight * BigInt(DA.SIGN_THRESHOLD_NUMERATOR)) {
      throw new DaiosError(
        `blob ${blobId} cannot be certified: members holding ${signedWeight} of ${totalWeight} stake signed, below ${DA.SIGN_THRESHOLD_NUMERATOR}/${DA.SIGN_THRESHOLD_DENOMINATOR}; failed:\n  ${failed.map((f) => `position ${f.position} (node ${f.nodeId}, ${f.endpoint || "no endpoint"}): ${f.reason}`).join("\n  ")}`,
        { hint: `the blob stays pending until block ${reclaimAfter}; after it, reclaim the fee with \`daios da reclaim ${blobId}\`` },
      );
    }
    // Sorted by position (members are in position order); proofs padded to the contract's fixed size.
    const nonSigners = failed.map((f) => nonSignerEntry(tree, f.position)) as unknown as Parameters<typeof blobs.certify>[1];
    const { sigma, apkG2 } = aggregateCertificate(
      signers.map((s) => s.signature),
      signers.map((s) => s.key),
    );
    let certified: ContractTransactionReceipt;
    try {
      certified = (await (await blobs.certify(blobId, nonSigners, g2ToSolidity(apkG2), g1ToSolidity(sigma))).wait()) as ContractTransactionReceipt;
    } catch (error) {
      throw this.txError(`certify(${blobId})`, error, `the blob stays pending until block ${reclaimAfter}`);
    }
    emit({ type: "certified", blobId, txHash: certified.hash, signers: signers.length, nonSigners: failed.length });
    return {
      blobId,
      root: encoded.rootHex,
      size: bytes.length,
      epoch,
      quorum,
      quorumSize: encoded.n,
      fee,
      submitTx: receipt.hash,
      certifyTx: certified.hash,
      signedWeight,
      totalWeight,
      signers: signers.map(({ member: m }) => ({ position: m.position, nodeId: m.nodeId, endpoint: m.endpoint })),
      nonSigners: failed,
      gasUsed: { submit: receipt.gasUsed, certify: certified.gasUsed },
    };
  }

  /** Sends a member its shard and checks the signature it answers with. */
  private async disperse(
    m: MemberInfo,
    blobId: bigint,
    encoded: EncodedBlob,
    point: G1,
    emit: (event: DaEvent) => void,
  ): Promise<{ signature: G1; key: G2 } | { reason: string }> {
    const fail = (reason: string) => {
      emit({ type: "shard-failed", position: m.position, endpoint: m.endpoint, reason });
      return { reason };
    };
    if (!m.endpoint) return fail("has no registered endpoint");
    const shard = encoded.shards[m.position];
    let response: Response;
    try {
      response = await fetch(`${m.endpoint}${shardPath(blobId, m.position)}`, {
        method: "PUT",
        headers: { "content-type": "application/octet-stream", [PROOF_HEADER]: encodeProofHeader(encoded.shardProof(m.position)) },
        body: shard,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      return fail(`unreachable at ${m.endpoint} (${errorMessage(error)})`);
    }
    const body = await json<Partial<ShardReceipt>>(response);
    if (!response.ok) return fail(`refused the shard: HTTP ${response.status} ${body.error ?? ""}`.trim());
    emit({ type: "shard-sent", position: m.position, endpoint: m.endpoint, bytes: shard.length });
    if (body.nodeId !== m.nodeId.toString()) return fail(`answered as node ${body.nodeId}, not node ${m.nodeId}`);
    let signature: G1;
    try {
      signature = signatureFromHex(String(body.signature));
    } catch (error) {
      return fail(`returned a malformed signature (${errorMessage(error)})`);
    }
    const key = g2FromSolidity(m.pkG2, `node ${m.nodeId}'s G2 key`);
    if (!verifyCertificateSignature(signature, key, point)) return fail("returned a signature that does not verify against its registered BLS key");
    emit({ type: "signed", position: m.position, endpoint: m.endpoint });
    return { signature, key };
  }

  // ------------------------------------------------------------------ retrieval and sampling

  /** The blob's bytes, rebuilt from the first k shards that arrive and verify (fetched from all members at once). */
  async get(blobId: bigint, options: ProgressOptions = {}): Promise<RetrievedBlob> {
    const emit = options.onProgress ?? (() => undefined);
    const blob = await this.blob(blobId);
    if (blob.status === "Reclaimed") {
      throw new DaInputError(`blob ${blobId} was never certified and its fee was reclaimed: its data is not kept`);
    }
    const { k, shardSize, chunksPerShard, leafCount } = blob.layout;
    const root = Buffer.from(blob.root.slice(2), "hex");
    const members = await this.members(blob.epoch, blob.quorum);
    const enough = new AbortController();
    const verified = new Map<number, { data: Buffer; proof: Buffer[] }>();
    const failures: RetrievedBlob["failures"] = [];
    await Promise.all(
      members.map(async (m) => {
        try {
          if (!m.endpoint) throw new Error("has no registered endpoint");
          const response = await fetch(`${m.endpoint}${shardPath(blobId, m.position)}`, {
            signal: AbortSignal.any([enough.signal, AbortSignal.timeout(this.timeoutMs)]),
          });
          if (!response.ok) throw new Error(`HTTP ${response.status} ${(await json(response)).error ?? ""}`.trim());
          const proof = decodeProofHeader(response.headers.get(PROOF_HEADER) ?? undefined);
          const data = Buffer.from(await response.arrayBuffer());
          if (data.length !== shardSize) throw new Error(`sent ${data.length} bytes, not the shard size ${shardSize}`);
          if (!verifyRange(root, leafCount, m.position * chunksPerShard, data, proof, this.hasher)) throw new Error("sent a shard that does not match the blob's root");
          if (enough.signal.aborted) return;
          verified.set(m.position, { data, proof });
          emit({ type: "fetched", position: m.position, endpoint: m.endpoint, bytes: data.length });
          if (verified.size >= k) enough.abort();
        } catch (error) {
          if (enough.signal.aborted) return;
          const reason = error instanceof DaiosError ? error.problem : errorMessage(error);
          failures.push({ position: m.position, nodeId: m.nodeId, endpoint: m.endpoint, reason });
          emit({ type: "fetch-failed", position: m.position, endpoint: m.endpoint, reason });
        }
      }),
    );
    if (verified.size < k) {
      failures.sort((a, b) => a.position - b.position);
      throw new DaiosError(
        `cannot rebuild blob ${blobId}: ${verified.size} of the ${k} shards needed arrived verified; failed:\n  ${failures.map((f) => `position ${f.position} (node ${f.nodeId}, ${f.endpoint || "no endpoint"}): ${f.reason}`).join("\n  ")}`,
        { hint: `any ${k} of the ${blob.quorumSize} members suffice: retry when more of them are up` },
      );
    }
    const shards = [...verified].map(([index, s]) => ({ index, data: s.data, proof: s.proof }));
    const decoded = decodeBlobDetailed({ size: blob.size, n: blob.quorumSize, root }, shards, { hasher: this.hasher });
    return { data: decoded.data, used: decoded.used, failures: failures.sort((a, b) => a.position - b.position) };
  }

  /** Fetches `samples` distinct random chunks from the members holding them and checks each against the root. */
  async verify(blobId: bigint, samples: number, options: ProgressOptions = {}): Promise<SampleReport> {
    const emit = options.onProgress ?? (() => undefined);
    if (!Number.isSafeInteger(samples) || samples < 1) throw new DaInputError(`--samples must be a positive whole number, got ${samples}`);
    const blob = await this.blob(blobId);
    const { chunksPerShard, leafCount } = blob.layout;
    const count = Math.min(samples, leafCount);
    const chosen = new Set<number>();
    while (chosen.size < count) chosen.add(randomInt(leafCount));
    const root = Buffer.from(blob.root.slice(2), "hex");
    const members = await this.members(blob.epoch, blob.quorum);
    const failures: SampleFailure[] = [];
    let passed = 0;
    const queue = [...chosen];
    const worker = async () => {
      for (let index = queue.shift(); index !== undefined; index = queue.shift()) {
        const m = members[Math.floor(index / chunksPerShard)];
        try {
          if (!m.endpoint) throw new Error("has no registered endpoint");
          const response = await fetch(`${m.endpoint}${chunkPath(blobId, index)}`, { signal: AbortSignal.timeout(this.timeoutMs) });
          const body = await json<Partial<ChunkOpening>>(response);
          if (!response.ok) throw new Error(`HTTP ${response.status} ${body.error ?? ""}`.trim());
          if (body.index !== index || typeof body.chunk !== "string" || !Array.isArray(body.proof)) throw new Error("answered with a malformed chunk opening");
          const chunk = Buffer.from(body.chunk.replace(/^0x/, ""), "hex");
          const proof = body.proof.map((node) => Buffer.from(String(node).replace(/^0x/, ""), "hex"));
          if (!verifyProof(root, index, chunk, proof, leafCount)) throw new Error("sent a chunk whose proof does not give the blob's root");
          passed++;
          emit({ type: "sampled", chunkIndex: index, position: m.position, ok: true });
        } catch (error) {
          const reason = errorMessage(error);
          failures.push({ chunkIndex: index, position: m.position, nodeId: m.nodeId, endpoint: m.endpoint, reason });
          emit({ type: "sampled", chunkIndex: index, position: m.position, ok: false, reason });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, count) }, worker));
    failures.sort((a, b) => a.chunkIndex - b.chunkIndex);
    return { blobId, root: blob.root, status: blob.status, samples: count, passed, failures, confidence: failures.length === 0 ? 1 - 2 ** -passed : 0 };
  }

  /** The blob, its coding, windows and quorum members (with who signed, once certified). */
  async status(blobId: bigint): Promise<BlobStatusReport> {
    const blob = await this.blob(blobId);
    const members = await this.members(blob.epoch, blob.quorum, true);
    const currentBlock = await this.provider.getBlockNumber();
    return {
      ...blob,
      members: members.map((m) => ({ ...m, signed: blob.status === "Certified" ? (blob.nonSignerMask & (1n << BigInt(m.position))) === 0n : undefined })),
      certifyDeadline: blob.submittedAt + DA.CERTIFY_WINDOW_BLOCKS,
      retentionEnd: blob.status === "Certified" ? blob.certifiedAt + DA.RETENTION_BLOCKS : undefined,
      feePerSigner: await this.contracts.blobs.feePerSigner(blobId),
      currentBlock,
    };
  }

  /** DA providers of the registry, with their node ids (0 before their keys are registered). */
  async nodes(): Promise<DaNodeInfo[]> {
    const { registry, daRegistry } = this.contracts;
    const role = await this.role();
    const count = Number(await registry.providerCount(role));
    const page = Number(await registry.MAX_PAGE_SIZE());
    const out: DaNodeInfo[] = [];
    for (let offset = 0; offset < count; offset += page) {
      for (const account of await registry.providers(role, offset, page)) {
        const [p, active, nodeId] = await Promise.all([registry.getProvider(account, role), registry.isActive(account, role), daRegistry.nodeIdOf(account)]);
        const node = nodeId === 0n ? undefined : await daRegistry.node(nodeId);
        out.push({ account, nodeId, endpoint: p.endpoint, stake: p.stake, active, pkG1: node ? { x: node.pkG1.x, y: node.pkG1.y } : undefined });
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ challenges and payouts

  /** Challenges the signer at `position` to open chunk `chunkIndex` (an index in the whole blob, within its shard). */
  async challenge(blobId: bigint, position: number, chunkIndex: number) {
    const blob = await this.blob(blobId);
    if (blob.status !== "Certified") throw new DaInputError(`blob ${blobId} is ${blob.status}: only certified blobs can be challenged`);
    if (!Number.isSafeInteger(position) || position < 0 || position >= blob.quorumSize) {
      throw new DaInputError(`blob ${blobId}'s quorum has ${blob.quorumSize} members: there is no position ${position}`, { hint: `positions run from 0 to ${blob.quorumSize - 1}` });
    }
    if ((blob.nonSignerMask & (1n << BigInt(position))) !== 0n) {
      throw new DaInputError(`the member at position ${position} did not sign blob ${blobId}: only signers can be challenged`, { hint: "`daios da status` shows who signed" });
    }
    const { chunksPerShard } = blob.layout;
    const first = position * chunksPerShard;
    if (!Number.isSafeInteger(chunkIndex) || chunkIndex < first || chunkIndex >= first + chunksPerShard) {
      throw new DaInputError(`chunk ${chunkIndex} is not in the shard of position ${position}`, { hint: `that member holds chunks ${first} to ${first + chunksPerShard - 1}` });
    }
    const head = await this.provider.getBlockNumber();
    if (head >= blob.certifiedAt + DA.RETENTION_BLOCKS) {
      throw new DaInputError(`blob ${blobId}'s retention period ended at block ${blob.certifiedAt + DA.RETENTION_BLOCKS}: it can no longer be challenged`);
    }
    const signer = this.requireSigner();
    const account = await signer.getAddress();
    const { blobs, token } = this.contracts;
    const bond = await blobs.challengeBond();
    const balance = await token.balanceOf(account);
    if (balance < bond) throw new DaiosError(`a challenge bonds ${bond} token units but ${account} holds ${balance}`, { hint: "get tokens (on the devnet: daios faucet)" });
    if ((await token.allowance(account, blobs.target as string)) < bond) {
      try {
        await (await token.approve(blobs.target as string, bond)).wait();
      } catch (error) {
        throw this.txError("approving the challenge bond", error);
      }
    }
    let receipt: ContractTransactionReceipt;
    try {
      receipt = (await (await blobs.challenge(blobId, position, chunkIndex)).wait()) as ContractTransactionReceipt;
    } catch (error) {
      throw this.txError(`challenge(${blobId}, ${position}, ${chunkIndex})`, error);
    }
    const [opened] = eventsIn(blobs, receipt, "ChallengeOpened");
    if (!opened) throw new DaiosError(`challenge ${receipt.hash} emitted no ChallengeOpened event`);
    return {
      challengeId: opened.args.challengeId as bigint,
      node: opened.args.node as string,
      deadline: Number(opened.args.deadline),
      bond,
      txHash: receipt.hash,
    };
  }

  /** Challenge `challengeId`; DaInputError for an unknown id. */
  async challengeInfo(challengeId: bigint): Promise<ChallengeRecord> {
    const count = await this.contracts.blobs.challengeCount();
    if (challengeId < 1n || challengeId > count) {
      throw new DaInputError(`challenge ${challengeId} does not exist (${count === 0n ? "no challenge was opened yet" : `challenge ids run from 1 to ${count}`})`);
    }
    const c = await this.contracts.blobs.challengeInfo(challengeId);
    return {
      challengeId,
      blobId: c.blobId,
      position: Number(c.position),
      chunkIndex: Number(c.chunkIndex),
      node: c.node,
      challenger: c.challenger,
      bond: c.bond,
      deadline: Number(c.deadline),
      status: CHALLENGE_STATUS[Number(c.status)],
    };
  }

  /** Slashes the node of a challenge left unanswered after its window. */
  async resolve(challengeId: bigint) {
    const c = await this.challengeInfo(challengeId);
    if (c.status === "Answered") throw new DaInputError(`challenge ${challengeId} was answered in time: there is nothing to resolve (the bond went to the node)`);
    if (c.status === "Slashed") throw new DaInputError(`challenge ${challengeId} was resolved already: node ${c.node} was slashed`);
    const head = await this.provider.getBlockNumber();
    if (head < c.deadline) {
      throw new DaInputError(`challenge ${challengeId}'s answer window is open until block ${c.deadline} (now ${head})`, { hint: "resolve it after that block if it is still unanswered" });
    }
    this.requireSigner();
    let receipt: ContractTransactionReceipt;
    try {
      receipt = (await (await this.contracts.blobs.resolve(challengeId)).wait()) as ContractTransactionReceipt;
    } catch (error) {
      throw this.txError(`resolve(${challengeId})`, error);
    }
    const [resolved] = eventsIn(this.contracts.blobs, receipt, "ChallengeResolved");
    if (!resolved) throw new DaiosError(`resolve ${receipt.hash} emitted no ChallengeResolved event`);
    return {
      challengeId,
      node: c.node,
      slashed: resolved.args.slashed as bigint,
      challengerCredit: resolved.args.challengerCredit as bigint,
      treasuryCredit: resolved.args.treasuryCredit as bigint,
      txHash: receipt.hash,
    };
  }

  /** Takes back the fee of a blob that was not certified within its window (its client only). */
  async reclaim(blobId: bigint) {
    const blob = await this.blob(blobId);
    const account = await this.requireSigner().getAddress();
    if (blob.status !== "Pending") throw new DaInputError(`blob ${blobId} is ${blob.status}: only a pending blob's fee can be reclaimed`);
    if (blob.client.toLowerCase() !== account.toLowerCase()) throw new DaInputError(`blob ${blobId} was submitted by ${blob.client}, not ${account}`);
    const deadline = blob.submittedAt + DA.CERTIFY_WINDOW_BLOCKS;
    const head = await this.provider.getBlockNumber();
    if (head < deadline) throw new DaInputError(`blob ${blobId} can still be certified until block ${deadline} (now ${head})`, { hint: "reclaim it after that block" });
    try {
      const receipt = (await (await this.contracts.blobs.reclaim(blobId)).wait()) as ContractTransactionReceipt;
      return { blobId, fee: blob.fee, txHash: receipt.hash };
    } catch (error) {
      throw this.txError(`reclaim(${blobId})`, error);
    }
  }

  /** Withdraws the caller's DA credits (challenge bonds and rewards, treasury share). */
  async withdraw() {
    const account = await this.requireSigner().getAddress();
    const credit = await this.contracts.blobs.credits(account);
    if (credit === 0n) throw new DaInputError(`${account} has nothing to withdraw from DABlobs`);
    try {
      const receipt = (await (await this.contracts.blobs.withdraw()).wait()) as ContractTransactionReceipt;
      return { amount: credit, txHash: receipt.hash };
    } catch (error) {
      throw this.txError("withdraw()", error);
    }
  }
}

export interface ConnectDaOptions {
  rpcUrl: string;
  /** Hex private key; without it the client is read-only. */
  privateKey?: string;
  deploymentFile?: string;
  fetchTimeoutMs?: number;
}

/** A DaClient on a chain: provider, deployment and signer from an RPC URL and a key. */
export async function connectDa(options: ConnectDaOptions): Promise<{ client: DaClient; provider: JsonRpcProvider; chainId: bigint; deployment: Deployment; close: () => void }> {
  const { provider, chainId, deployment, signer, close } = await connectChain(options);
  try {
    const client = new DaClient({ provider, chainId, deployment, signer, fetchTimeoutMs: options.fetchTimeoutMs });
    return { client, provider, chainId, deployment, close };
  } catch (error) {
    close();
    throw error;
  }
}
