/**
 * da-node role: a data-availability node. It registers with the DA role in the ProviderRegistry (stake,
 * endpoint) and its BLS keys with a proof of possession in the DARegistry; stores the shard of every blob
 * its quorum position holds, after checking it against the blob's on-chain root, and signs the blob's
 * certificate message; serves shards and chunks with their proofs; samples the next epoch's quorums as
 * soon as its randomness is available; answers availability challenges against it from disk; claims its
 * fee share of the blobs it signed and withdraws its credits.
 *
 * Configuration (environment; common variables in agents/src/core/config.ts):
 *   DA_BLS_SECRET_KEY (required, secret): the node's BLS secret key on BN254, 0x + 64 hex digits in
 *     [1, r - 1]; not the account's PRIVATE_KEY (`daios da keygen` makes one)
 *   DA_NODE_PORT (7801), DA_NODE_HOST (127.0.0.1), DA_NODE_PUBLIC_URL (http://HOST:PORT),
 *   DA_NODE_DATA_DIR (.daios/da-node), DA_NODE_STAKE (100 DAIOS), DA_NODE_CAPACITY_MIB (1024),
 *   DA_NODE_SAMPLE_EPOCHS (true), WITHDRAW_THRESHOLD (0.01 DAIOS)
 */
import path from "node:path";
import { MaxUint256, parseUnits } from "ethers";
import type { Job } from "bullmq";
import { Field, field, loadConfig, PROJECT_ROOT } from "../../core/config.js";
import { ChainWatcher, type ChainEvent } from "../../core/chain-watcher.js";
import { createQueue, createWorker, closeAll, UnrecoverableError } from "../../core/queues.js";
import { TxRevertedError } from "../../core/tx-sender.js";
import { ConfigError, DaiosError, errorMessage } from "../../core/errors.js";
import { connectDaContracts, eventsIn } from "../../sdk/contracts.js";
import { GROUP_ORDER, g1ToSolidity, g2ToSolidity } from "../../sdk/bls/index.js";
import { defaultCommitHasher } from "../../sdk/da/commitment.js";
import { blsKeypair, proofOfPossession, signCertificate, signatureToHex } from "../../sdk/da/certificate.js";
import { DA } from "../../generated/constants.js";
import { startRuntime, type RoleRuntime } from "../runtime.js";
import { ShardStore, ShardMissingError } from "./shard-store.js";
import { listen } from "../../core/http.js";
import { createDaNodeApi, type BlobStatusName, type BlobView } from "./http-api.js";
import { daNodeMetrics } from "./metrics.js";

const AMOUNT = /^\d+(\.\d{1,18})?$/;
const BLOB_STATUS = ["None", "Pending", "Certified", "Reclaimed"] as const;
/** Most blobs in one claimFees call (DABlobs.MAX_CLAIM_BLOBS). */
const MAX_CLAIM_BLOBS = 100;

/** DA_BLS_SECRET_KEY: 32 bytes of hex whose value is a BN254 scalar in [1, r - 1]. */
const blsSecretKeyField = new Field<string>({
  env: "DA_BLS_SECRET_KEY",
  expect: "0x followed by 64 hex digits, a BN254 scalar in [1, r - 1]",
  what: "the node's BLS secret key, not the account key; `daios da keygen` makes one",
  secret: true,
  missing: { kind: "required" },
  parse(raw: string) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(raw)) return { ok: false, expected: "is not 0x followed by 64 hex digits" };
    const value = BigInt(raw);
    if (value === 0n || value >= GROUP_ORDER) return { ok: false, expected: "is not in [1, r - 1] (r is the BN254 group order)" };
    return { ok: true, value: raw };
  },
});

export const daNodeSchema = {
  blsSecretKey: blsSecretKeyField,
  port: field.int("DA_NODE_PORT", { min: 0, max: 65535, what: "the node's HTTP port" }).default(7801),
  host: field.string("DA_NODE_HOST", { pattern: /^[A-Za-z0-9.:\-[\]]+$/, expect: "a host name or IP address to bind" }).default("127.0.0.1"),
  publicUrl: field.url("DA_NODE_PUBLIC_URL", { protocols: ["http", "https"], what: "the URL clients reach this node at (registered on-chain)" }).optional(),
  dataDir: field.path("DA_NODE_DATA_DIR", { what: "where stored shards live" }).default(path.join(PROJECT_ROOT, ".daios", "da-node")),
  stake: field.string("DA_NODE_STAKE", { pattern: AMOUNT, expect: "an amount of DAIOS such as 100 or 0.5" }).default("100"),
  capacityMiB: field.int("DA_NODE_CAPACITY_MIB", { min: 1, what: "storage offered, in MiB" }).default(1024),
  sampleEpochs: field.bool("DA_NODE_SAMPLE_EPOCHS", "sample the next epoch's quorums as soon as its randomness is available").default(true),
  withdrawThreshold: field.string("WITHDRAW_THRESHOLD", { pattern: AMOUNT, expect: "an amount of DAIOS" }).default("0.01"),
};

type Runtime = RoleRuntime<typeof daNodeSchema>;

interface AnswerJob {
  challengeId: string;
}

export async function runDaNode(): Promise<Runtime> {
  // Checked before anything connects: the BLS key must not be the account key.
  const config = loadConfig({ role: daNodeSchema });
  if (BigInt(config.role.blsSecretKey) === BigInt(config.privateKey)) {
    throw new ConfigError(["DA_BLS_SECRET_KEY is the account's PRIVATE_KEY: set DA_BLS_SECRET_KEY to a separate BLS key (`daios da keygen` makes one)"]);
  }
  const rt = await startRuntime("da-node", daNodeSchema);
  try {
    await startDaNode(rt);
  } catch (error) {
    await rt.shutdown(`start-up failed: ${errorMessage(error)}`);
    throw error;
  }
  return rt;
}

async function startDaNode(rt: Runtime): Promise<void> {
  const { log, tx, provider, chainId } = rt;
  const settings = rt.config.role;
  const me = tx.address;
  const keys = blsKeypair(settings.blsSecretKey);
  const { daRegistry, blobs } = connectDaContracts(rt.deployment, provider);
  const { registry, token } = rt.contracts;
  const blobsAddress = blobs.target as string;
  const registryAddress = daRegistry.target as string;
  const metrics = daNodeMetrics(rt.metrics);
  const hasher = defaultCommitHasher((message) => log.warn(message));
  // One directory per chain and DABlobs contract: shards of another deployment never mix in.
  const store = new ShardStore(path.join(settings.dataDir, `${chainId}-${blobsAddress.toLowerCase()}`), hasher);
  await store.open();

  let nodeId = await daRegistry.nodeIdOf(me);
  let ready = false;

  const lookupBlob = async (blobId: bigint): Promise<(BlobView & { nonSignerMask: bigint; claimedMask: bigint }) | undefined> => {
    if (blobId < 1n || blobId > (await blobs.blobCount())) return undefined;
    const b = await blobs.blob(blobId);
    return {
      root: b.root,
      size: Number(b.size),
      epoch: b.epoch,
      quorum: Number(b.quorum),
      quorumSize: Number(b.quorumSize),
      status: BLOB_STATUS[Number(b.status)] as BlobStatusName,
      submittedAt: Number(b.submittedAt),
      certifiedAt: Number(b.certifiedAt),
      nonSignerMask: b.nonSignerMask,
      claimedMask: b.claimedMask,
    };
  };

  const server = createDaNodeApi({
    store,
    hasher,
    address: me,
    nodeId: () => nodeId,
    lookupBlob,
    memberAt: async (epoch, quorum, position) => (await daRegistry.memberAt(epoch, quorum, position))[0],
    blockNumber: () => provider.getBlockNumber(),
    sign: (blobId, blob) => signatureToHex(signCertificate(keys, { chainId, blobs: blobsAddress, blobId, root: blob.root, epoch: blob.epoch })),
    log,
    isReady: () => ready,
    metrics,
  });
  const port = await listen(server, settings.port, settings.host);
  rt.onShutdown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const endpoint = settings.publicUrl ?? `http://${settings.host.includes(":") ? `[${settings.host}]` : settings.host}:${port}`;

  // --- registration: the DA role in the provider registry, then the BLS keys.
  const role = await registry.DA_ROLE();
  if (!(await registry.roleEnabled(role))) {
    throw new DaiosError(`the DA role is not enabled in the ProviderRegistry at ${registry.target as string}`, {
      hint: "the registry's owner enables it with setMinStake(DA_ROLE, minimum); check the deployment",
    });
  }
  const capacity = BigInt(settings.capacityMiB) * 2n ** 20n;
  const current = await registry.getProvider(me, role);
  if (!current.registered) {
    const stake = parseUnits(settings.stake, 18);
    const minimum = await registry.minStake(role);
    if (stake < minimum) {
      throw new DaiosError(`DA_NODE_STAKE=${settings.stake} is below the DA role's minimum stake of ${minimum} token units`, { hint: "raise DA_NODE_STAKE" });
    }
    const balance = await token.balanceOf(me);
    if (balance < stake) {
      throw new DaiosError(`node ${me} holds ${balance} token units but registering needs a stake of ${stake}`, {
        hint: "fund the node's address (on the devnet: daios faucet <address>) or lower DA_NODE_STAKE",
      });
    }
    const spender = registry.target as string;
    if ((await token.allowance(me, spender)) < stake) {
      await tx.send({
        label: "approve:registry",
        isDone: async () => (await token.allowance(me, spender)) >= stake,
        build: () => ({ to: token.target as string, data: token.interface.encodeFunctionData("approve", [spender, MaxUint256]) }),
      });
    }
    await tx.send({
      label: "register:da",
      isDone: async () => (await registry.getProvider(me, role)).registered,
      build: () => ({ to: spender, data: registry.interface.encodeFunctionData("register", [role, stake, endpoint, capacity]) }),
    });
    log.info({ endpoint, stake: stake.toString() }, "registered as a DA node");
  } else if (current.endpoint !== endpoint || current.capacity !== capacity) {
    await tx.send({
      label: "updateProvider:da",
      build: () => ({ to: registry.target as string, data: registry.interface.encodeFunctionData("updateProvider", [role, endpoint, capacity]) }),
    });
    log.info({ endpoint }, "updated the registered endpoint");
  }
  const pkG1 = g1ToSolidity(keys.publicKeyG1);
  const pkG2 = g2ToSolidity(keys.publicKeyG2);
  if (nodeId === 0n) {
    const message = await daRegistry.popMessage(me, pkG1, pkG2);
    const pop = g1ToSolidity(proofOfPossession(keys, message));
    const result = await tx.send({
      label: "registerKeys",
      iface: daRegistry.interface,
      isDone: async () => (await daRegistry.nodeIdOf(me)) !== 0n,
      build: () => ({ to: registryAddress, data: daRegistry.interface.encodeFunctionData("registerKeys", [pkG1, pkG2, pop]) }),
    });
    nodeId = await daRegistry.nodeIdOf(me);
    log.info({ nodeId: nodeId.toString(), txHash: result.skipped ? undefined : result.txHash }, "registered BLS keys");
  } else {
    const registered = await daRegistry.node(nodeId);
    if (registered.pkG1.x !== pkG1.x || registered.pkG1.y !== pkG1.y) {
      throw new DaiosError(`account ${me} registered other BLS keys, as node ${nodeId}; keys cannot be replaced`, {
        hint: "set DA_BLS_SECRET_KEY to the key this account registered, or run the node with another account",
      });
    }
  }
  ready = true;

  // --- availability challenges: answer each one opened against this node from the shard on disk.
  const answerQueueName = `da-answers-${me.toLowerCase()}`;
  const answerQueue = createQueue<AnswerJob>(answerQueueName, rt.redis, { queue: { prefix: rt.queuePrefix } });
  createWorker<AnswerJob>(
    answerQueueName,
    async (job: Job<AnswerJob>) => {
      const challengeId = BigInt(job.data.challengeId);
      const info = await blobs.challengeInfo(challengeId);
      if (Number(info.status) !== 1) return { skipped: "closed" };
      if ((await provider.getBlockNumber()) > Number(info.deadline)) {
        metrics.challenges.inc({ outcome: "expired" });
        log.error({ challengeId: challengeId.toString(), deadline: info.deadline.toString() }, "an availability challenge's answer window passed before it could be answered");
        return { skipped: "window over" };
      }
      const stored = store.get(info.blobId);
      const blob = await lookupBlob(info.blobId);
      let opened: { chunk: Buffer; proof: Buffer[] };
      try {
        if (stored && blob && stored.meta.root !== blob.root) {
          throw new ShardMissingError(`the stored shard of blob ${info.blobId} has root ${stored.meta.root}, not the on-chain ${blob.root}`);
        }
        opened = await store.readChunk(info.blobId, Number(info.chunkIndex));
      } catch (error) {
        metrics.challenges.inc({ outcome: "unanswerable" });
        const message = `cannot answer challenge ${challengeId} for chunk ${info.chunkIndex} of blob ${info.blobId}: ${errorMessage(error)}; the node will be slashed when it is resolved`;
        log.error({ challengeId: challengeId.toString(), blobId: info.blobId.toString(), chunkIndex: info.chunkIndex.toString() }, message);
        throw new UnrecoverableError(message);
      }
      const result = await tx.send({
        label: `answer:${challengeId}`,
        iface: blobs.interface,
        isDone: async () => Number((await blobs.challengeInfo(challengeId)).status) !== 1,
        build: () => ({ to: blobsAddress, data: blobs.interface.encodeFunctionData("answer", [challengeId, opened.chunk, opened.proof]) }),
      });
      if (result.skipped) return { skipped: result.reason };
      metrics.challenges.inc({ outcome: "answered" });
      log.info({ challengeId: challengeId.toString(), blobId: info.blobId.toString(), chunkIndex: info.chunkIndex.toString(), txHash: result.txHash }, "answered an availability challenge");
      return { txHash: result.txHash };
    },
    { connection: rt.redis, concurrency: 4, log, worker: { prefix: rt.queuePrefix } },
  );
  rt.onShutdown(() => closeAll());

  const watcher = new ChainWatcher({
    name: `da-node-${me.toLowerCase()}`,
    provider,
    cursors: rt.cursors,
    contracts: [{ address: blobsAddress, abi: blobs.interface, events: ["ChallengeOpened"] }],
    startBlock: rt.deployment.contracts.DABlobs?.block ?? rt.deployment.startBlock,
    handler: async (event: ChainEvent) => {
      if (event.name !== "ChallengeOpened" || (event.args.node as string).toLowerCase() !== me.toLowerCase()) return;
      const challengeId = event.args.challengeId as bigint;
      log.warn({ challengeId: challengeId.toString(), blobId: String(event.args.blobId), chunkIndex: String(event.args.chunkIndex), deadline: String(event.args.deadline) }, "challenged to open a chunk");
      await answerQueue.add("answer", { challengeId: challengeId.toString() }, { jobId: event.id });
    },
    confirmations: rt.confirmations,
    maxBlockRange: rt.config.maxBlockRange,
    pollIntervalMs: rt.config.pollIntervalMs,
    log,
  });
  await watcher.start();
  rt.onShutdown(() => watcher.stop());

  // --- epoch sampling: anyone may sample; the first transaction wins, the others are skipped.
  if (settings.sampleEpochs) {
    rt.every(rt.config.pollIntervalMs, "epoch sampling", async () => {
      const epoch = await daRegistry.currentEpoch();
      for (const e of [epoch, epoch + 1n]) {
        if ((await daRegistry.epochInfo(e)).sampled) continue;
        try {
          await daRegistry.sampleEpoch.staticCall(e);
        } catch {
          continue; // its randomness is not available yet
        }
        // Nodes take turns by node id (a different one goes first each epoch); the others wait a
        // second per place and then find the epoch sampled, instead of sending transactions that revert.
        const place = Number((nodeId + e) % 8n);
        if (place > 0) {
          await new Promise((resolve) => setTimeout(resolve, place * 1000));
          if ((await daRegistry.epochInfo(e)).sampled) continue;
        }
        try {
          const result = await tx.send({
            label: `sampleEpoch:${e}`,
            iface: daRegistry.interface,
            isDone: async () => (await daRegistry.epochInfo(e)).sampled,
            build: () => ({ to: registryAddress, data: daRegistry.interface.encodeFunctionData("sampleEpoch", [e]) }),
          });
          if (result.skipped) continue;
          metrics.epochsSampled.inc();
          const [sampled] = eventsIn(daRegistry, result.receipt, "EpochSampled");
          log.info({ epoch: e.toString(), quorums: String(sampled?.args.quorumCount), quorumSize: String(sampled?.args.quorumSize), candidates: String(sampled?.args.candidates), txHash: result.txHash }, "sampled an epoch's quorums");
        } catch (error) {
          if (error instanceof TxRevertedError && error.errorName === "DARegistryEpochAlreadySampled") continue;
          throw error;
        }
      }
    });
  }

  // --- fees, credits and retention: claim the share of every certified blob this node signed,
  // withdraw credited bonds, and delete shards no longer owed to anyone.
  rt.every(Math.max(2000, 5 * rt.config.pollIntervalMs), "fee claims", async () => {
    const block = await provider.getBlockNumber();
    const claimable: bigint[] = [];
    for (const { meta } of store.list()) {
      const blobId = BigInt(meta.blobId);
      if (meta.settled) {
        // A challenge may be opened up to the last block of retention and answered for
        // CHALLENGE_WINDOW_BLOCKS after it (the watcher sees it `confirmations` blocks late): the
        // shard stays until no challenge against it can still be answered.
        if (meta.retainUntil !== undefined && block > meta.retainUntil + DA.CHALLENGE_WINDOW_BLOCKS + rt.confirmations + 1) {
          await store.remove(blobId);
          log.info({ blobId: meta.blobId }, "retention over: shard deleted");
        }
        continue;
      }
      const blob = await lookupBlob(blobId);
      const bit = 1n << BigInt(meta.position);
      if (!blob || blob.root !== meta.root || blob.status === "Reclaimed" || (blob.status === "Pending" && block > blob.submittedAt + DA.CERTIFY_WINDOW_BLOCKS)) {
        await store.remove(blobId);
        log.info({ blobId: meta.blobId, status: blob?.status ?? "unknown" }, "blob will not be certified: shard deleted");
      } else if (blob.status === "Certified") {
        const retainUntil = blob.certifiedAt + DA.RETENTION_BLOCKS;
        if (!meta.signed || (blob.nonSignerMask & bit) !== 0n || (blob.claimedMask & bit) !== 0n) await store.update(blobId, { settled: true, retainUntil });
        else claimable.push(blobId);
      }
    }
    for (let i = 0; i < claimable.length; i += MAX_CLAIM_BLOBS) {
      const batch = claimable.slice(i, i + MAX_CLAIM_BLOBS);
      const claimed = async () => {
        for (const id of batch) {
          const position = BigInt(store.get(id)?.meta.position ?? 0);
          if (((await blobs.blob(id)).claimedMask & (1n << position)) === 0n) return false;
        }
        return true;
      };
      const result = await tx.send({
        label: `claimFees:${batch[0]}..${batch[batch.length - 1]}`,
        iface: blobs.interface,
        isDone: claimed,
        build: () => ({ to: blobsAddress, data: blobs.interface.encodeFunctionData("claimFees", [batch]) }),
      });
      for (const id of batch) {
        const blob = await lookupBlob(id);
        await store.update(id, { settled: true, retainUntil: (blob?.certifiedAt ?? block) + DA.RETENTION_BLOCKS });
      }
      if (!result.skipped) {
        const amount = eventsIn(blobs, result.receipt, "FeeClaimed").reduce((sum, e) => sum + (e.args.amount as bigint), 0n);
        metrics.feeClaims.inc();
        metrics.blobsClaimed.inc(batch.length);
        log.info({ blobs: batch.map(String), amount: amount.toString(), txHash: result.txHash }, "fees claimed");
      }
    }
    const credit = await blobs.credits(me);
    if (credit > 0n && credit >= parseUnits(settings.withdrawThreshold, 18)) {
      const result = await tx.send({
        label: "withdraw:da",
        iface: blobs.interface,
        isDone: async () => (await blobs.credits(me)) === 0n,
        build: () => ({ to: blobsAddress, data: blobs.interface.encodeFunctionData("withdraw") }),
      });
      if (!result.skipped) log.info({ amount: credit.toString(), txHash: result.txHash }, "credits withdrawn");
    }
  });

  log.info(
    { endpoint, port, nodeId: nodeId.toString(), dataDir: store.dir, shards: store.list().length, hasher: hasher.name, pkG1: { x: pkG1.x.toString(16), y: pkG1.y.toString(16) } },
    "DA node ready",
  );
}
