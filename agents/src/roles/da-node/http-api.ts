/**
 * The DA node's HTTP API (routes and wire formats: agents/src/sdk/da/wire.ts).
 *
 * A shard upload is checked in this order, and refused with a 4xx JSON error before anything is
 * stored when a check fails: the ids parse (400), the range proof header parses (400), the blob exists
 * on-chain (404), it can still be certified or is certified and within retention (410), the position
 * is in the quorum (400) and is this node's (403), the body has exactly the blob's shard size (411 /
 * 400 / 413), and the shard with its proof gives the blob's on-chain root (422). Only then is the shard
 * stored durably and the node's BLS signature over the blob's certificate message returned.
 */
import http from "node:http";
import { DA } from "../../generated/constants.js";
import { DaiosError } from "../../core/errors.js";
import { HttpError, sendError, sendJson } from "../../core/http.js";
import { blobLayout } from "../../sdk/da/blob.js";
import { openRange, type CommitHasher } from "../../sdk/da/commitment.js";
import { PROOF_HEADER, decodeProofHeader, encodeProofHeader, type ChunkOpening, type HeldShard, type ShardReceipt } from "../../sdk/da/wire.js";
import { ShardMissingError, type ShardStore } from "./shard-store.js";
import type { DaNodeMetrics } from "./metrics.js";

export type BlobStatusName = "Pending" | "Certified" | "Reclaimed";

/** A blob as DABlobs records it. */
export interface BlobView {
  /** bytes32 hex. */
  root: string;
  size: number;
  epoch: bigint;
  quorum: number;
  quorumSize: number;
  status: BlobStatusName;
  submittedAt: number;
  certifiedAt: number;
}

export interface DaNodeApiOptions {
  store: ShardStore;
  hasher: CommitHasher;
  /** The node's account. */
  address: string;
  /** The node's id in the DARegistry (0n until its keys are registered). */
  nodeId: () => bigint;
  /** Reads blob `blobId` from DABlobs; undefined when no such blob exists. */
  lookupBlob: (blobId: bigint) => Promise<BlobView | undefined>;
  /** The node id at `position` of quorum `quorum` of `epoch`. */
  memberAt: (epoch: bigint, quorum: number, position: number) => Promise<bigint>;
  /** The current block number. */
  blockNumber: () => Promise<number>;
  /** This node's signature over the blob's certificate message, 0x + 64 bytes. */
  sign: (blobId: bigint, blob: BlobView) => string;
  log: { info: (obj: object, msg?: string) => void; warn: (obj: object, msg?: string) => void };
  /** False while the node is starting (registering on-chain): health is 503 and every other route too. */
  isReady?: () => boolean;
  metrics?: DaNodeMetrics;
}

function parseId(text: string, what: string): bigint {
  if (!/^\d{1,30}$/.test(text) || BigInt(text) < 1n) throw new HttpError(400, `'${text}' is not a ${what}`, `a ${what} is a positive whole number`);
  return BigInt(text);
}

function parseIndex(text: string, what: string, limit: number): number {
  if (!/^\d{1,9}$/.test(text) || Number(text) >= limit) throw new HttpError(400, `'${text}' is not a ${what}`, `a ${what} is a whole number below ${limit}`);
  return Number(text);
}

/** Reads exactly `length` bytes of body; 413 as soon as more arrive, 400 when fewer do. */
async function readBody(req: http.IncomingMessage, length: number): Promise<Buffer> {
  const body = Buffer.allocUnsafe(length);
  let received = 0;
  for await (const piece of req as AsyncIterable<Buffer>) {
    if (received + piece.length > length) {
      throw new HttpError(413, `the body is longer than the ${length} bytes announced`, "send exactly the shard", "bad-length");
    }
    piece.copy(body, received);
    received += piece.length;
  }
  if (received !== length) throw new HttpError(400, `the body ended after ${received} of ${length} bytes`, "send the whole shard", "bad-length");
  return body;
}

export function createDaNodeApi(options: DaNodeApiOptions): http.Server {
  const { store } = options;

  async function putShard(req: http.IncomingMessage, res: http.ServerResponse, blobText: string, positionText: string): Promise<void> {
    const started = Date.now();
    const blobId = parseId(blobText, "blob id");
    const position = parseIndex(positionText, "quorum position", DA.MAX_QUORUM_SIZE);
    let proof: Buffer[];
    try {
      proof = decodeProofHeader(req.headers[PROOF_HEADER] as string | undefined);
    } catch (error) {
      throw new HttpError(400, (error as DaiosError).problem, (error as DaiosError).hint);
    }
    const blob = await options.lookupBlob(blobId);
    if (!blob) throw new HttpError(404, `blob ${blobId} does not exist on-chain`, "submit the blob's header (DABlobs.submitBlob) before sending its shards", "unknown-blob");
    const block = await options.blockNumber();
    if (blob.status === "Reclaimed") throw new HttpError(410, `blob ${blobId} was reclaimed by its client: it can no longer be certified`, undefined, "closed");
    if (blob.status === "Pending" && block > blob.submittedAt + DA.CERTIFY_WINDOW_BLOCKS) {
      throw new HttpError(410, `the certify window of blob ${blobId} closed at block ${blob.submittedAt + DA.CERTIFY_WINDOW_BLOCKS}`, "submit the blob again", "closed");
    }
    if (blob.status === "Certified" && block > blob.certifiedAt + DA.RETENTION_BLOCKS) {
      throw new HttpError(410, `the retention period of blob ${blobId} ended at block ${blob.certifiedAt + DA.RETENTION_BLOCKS}`, undefined, "closed");
    }
    if (position >= blob.quorumSize) {
      throw new HttpError(400, `blob ${blobId} has ${blob.quorumSize} shards: there is no position ${position}`, `positions run from 0 to ${blob.quorumSize - 1}`);
    }
    const me = options.nodeId();
    const member = await options.memberAt(blob.epoch, blob.quorum, position);
    if (me === 0n || member !== me) {
      throw new HttpError(
        403,
        `position ${position} of quorum ${blob.quorum} of epoch ${blob.epoch} is node ${member}, not this node (${me === 0n ? "unregistered" : `node ${me}`})`,
        "send each shard to the member at its position (DARegistry.memberAt)",
        "not-member",
      );
    }
    const layout = blobLayout(blob.size, blob.quorumSize);
    const lengthHeader = req.headers["content-length"];
    if (lengthHeader === undefined) throw new HttpError(411, `the upload needs a Content-Length header of ${layout.shardSize} (the blob's shard size)`, undefined, "bad-length");
    const length = Number(lengthHeader);
    if (length !== layout.shardSize) {
      throw new HttpError(400, `the shard is ${lengthHeader} bytes but blob ${blobId}'s shards are ${layout.shardSize} bytes`, "send the shard encoded for the blob's quorum size", "bad-length");
    }
    const data = await readBody(req, length);
    const root = Buffer.from(blob.root.slice(2), "hex");
    const first = position * layout.chunksPerShard;
    if (!openRange(root, layout.leafCount, first, data, proof, options.hasher)) {
      throw new HttpError(422, `the shard and its proof do not give blob ${blobId}'s root ${blob.root}`, "send the shard at this position of the blob that was submitted, with its range proof", "bad-proof");
    }
    await store.put(
      {
        blobId: blobId.toString(),
        position,
        root: blob.root,
        size: blob.size,
        epoch: blob.epoch.toString(),
        quorum: blob.quorum,
        quorumSize: blob.quorumSize,
        chunksPerShard: layout.chunksPerShard,
        leafCount: layout.leafCount,
        proof: proof.map((node) => `0x${node.toString("hex")}`),
        storedAt: new Date().toISOString(),
        signed: true,
        settled: false,
      },
      data,
    );
    const signature = options.sign(blobId, blob);
    options.metrics?.shardsStored.inc();
    options.metrics?.bytesStored.inc(data.length);
    options.metrics?.signDuration.observe((Date.now() - started) / 1000);
    options.log.info({ blobId: blobId.toString(), position, bytes: data.length, ms: Date.now() - started }, "shard stored and signed");
    const receipt: ShardReceipt = { blobId: blobId.toString(), position, nodeId: me.toString(), signature };
    sendJson(res, 200, receipt);
  }

  async function getShard(res: http.ServerResponse, blobText: string, positionText: string): Promise<void> {
    const blobId = parseId(blobText, "blob id");
    const position = parseIndex(positionText, "quorum position", DA.MAX_QUORUM_SIZE);
    const stored = store.get(blobId);
    if (!stored || stored.meta.position !== position) {
      throw new HttpError(404, `this node holds no shard at position ${position} of blob ${blobId}`, "ask the member at that position");
    }
    const data = await store.readShard(blobId);
    options.metrics?.served.inc({ kind: "shard" });
    res.writeHead(200, {
      "content-type": "application/octet-stream",
      "content-length": data.length,
      [PROOF_HEADER]: encodeProofHeader(stored.meta.proof.map((node) => Buffer.from(node.slice(2), "hex"))),
    });
    res.end(data);
  }

  async function getChunk(res: http.ServerResponse, blobText: string, indexText: string): Promise<void> {
    const blobId = parseId(blobText, "blob id");
    const index = parseIndex(indexText, "chunk index", 2 ** DA.MAX_TREE_DEPTH);
    const stored = store.get(blobId);
    if (!stored) throw new HttpError(404, `this node holds no shard of blob ${blobId}`);
    const first = stored.meta.position * stored.meta.chunksPerShard;
    if (index < first || index >= first + stored.meta.chunksPerShard) {
      throw new HttpError(404, `chunk ${index} of blob ${blobId} is not in this node's shard (chunks ${first} to ${first + stored.meta.chunksPerShard - 1})`, `ask the member at position ${Math.floor(index / stored.meta.chunksPerShard)}`);
    }
    const { chunk, proof } = await store.readChunk(blobId, index);
    options.metrics?.served.inc({ kind: "chunk" });
    const opening: ChunkOpening = { blobId: blobId.toString(), index, chunk: `0x${chunk.toString("hex")}`, proof: proof.map((node) => `0x${node.toString("hex")}`) };
    sendJson(res, 200, opening);
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://da-node");
    const parts = url.pathname.split("/").filter(Boolean);
    if (parts[0] !== "v1") throw new HttpError(404, `no route ${url.pathname}`, "routes live under /v1");
    const method = req.method ?? "GET";
    const ready = options.isReady?.() ?? true;
    if (method === "GET" && parts.length === 2 && parts[1] === "health") {
      return sendJson(res, ready ? 200 : 503, { ok: ready, address: options.address, nodeId: options.nodeId().toString() });
    }
    if (!ready) throw new HttpError(503, "the node is starting (registering on-chain)", "retry in a few seconds");
    if (method === "GET" && parts.length === 2 && parts[1] === "blobs") {
      const held: HeldShard[] = store.list().map(({ meta }) => ({ blobId: meta.blobId, position: meta.position, root: meta.root, size: meta.size }));
      return sendJson(res, 200, held);
    }
    if (parts[1] === "blobs" && parts.length === 5) {
      if (parts[3] === "shards" && method === "PUT") return putShard(req, res, parts[2], parts[4]);
      if (parts[3] === "shards" && method === "GET") return getShard(res, parts[2], parts[4]);
      if (parts[3] === "chunks" && method === "GET") return getChunk(res, parts[2], parts[4]);
    }
    throw new HttpError(404, `no route ${method} ${url.pathname}`);
  }

  return http.createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : error instanceof ShardMissingError ? 404 : 500;
      const hint = error instanceof HttpError || error instanceof DaiosError ? error.hint : undefined;
      const message = error instanceof DaiosError ? error.problem : error instanceof Error ? error.message : String(error);
      if (req.method === "PUT") options.metrics?.shardsRejected.inc({ reason: error instanceof HttpError ? (error.reason ?? "bad-request") : "error" });
      if (status >= 500) options.log.warn({ err: message, url: req.url }, "request failed");
      else if (req.method === "PUT") options.log.info({ status, err: message, url: req.url }, "shard refused");
      sendError(req, res, status, message, hint);
    });
  });
}
