/**
 * The DA node HTTP API as both sides see it (agents/src/roles/da-node/http-api.ts serves it, the
 * SDK client calls it):
 *
 *   GET  /v1/health                                   200 once registered, else 503
 *   GET  /v1/blobs                                    shards held: [{ blobId, position, root }]
 *   PUT  /v1/blobs/:blobId/shards/:position           body: the shard (raw bytes, Content-Length =
 *                                                     the blob's shard size); header x-daios-proof: the
 *                                                     shard's range proof; answers a ShardReceipt
 *   GET  /v1/blobs/:blobId/shards/:position           the shard, its range proof in x-daios-proof
 *   GET  /v1/blobs/:blobId/chunks/:index              a ChunkOpening (chunk index in the whole blob)
 *
 * Errors are JSON `{ error, hint }`.
 */
import { DaiosError } from "../../core/errors.js";

/** Header carrying a range proof: 0x followed by the 32-byte nodes one after the other, in hex. */
export const PROOF_HEADER = "x-daios-proof";
/** Most nodes in a shard's range proof: two per level of the deepest tree. */
export const MAX_PROOF_NODES = 64;

/** A node's answer to a stored shard. */
export interface ShardReceipt {
  blobId: string;
  position: number;
  nodeId: string;
  /** The node's BLS signature over the blob's certificate message: 0x + 64 bytes x || y. */
  signature: string;
}

/** A chunk and its Merkle proof against the blob's root. */
export interface ChunkOpening {
  blobId: string;
  /** Chunk index in the whole coded blob. */
  index: number;
  /** 0x + DA.CHUNK_SIZE bytes. */
  chunk: string;
  /** Siblings from the leaf up, each 0x + 32 bytes. */
  proof: string[];
}

/** What the node lists at GET /v1/blobs. */
export interface HeldShard {
  blobId: string;
  position: number;
  root: string;
  size: number;
}

export function shardPath(blobId: bigint, position: number): string {
  return `/v1/blobs/${blobId}/shards/${position}`;
}

export function chunkPath(blobId: bigint, index: number): string {
  return `/v1/blobs/${blobId}/chunks/${index}`;
}

/** A range proof for the x-daios-proof header. */
export function encodeProofHeader(proof: readonly Uint8Array[]): string {
  return `0x${proof.map((node) => Buffer.from(node.buffer, node.byteOffset, node.byteLength).toString("hex")).join("")}`;
}

/** A range proof from the x-daios-proof header; throws a DaiosError saying what is wrong with it. */
export function decodeProofHeader(value: string | undefined): Buffer[] {
  if (value === undefined) {
    throw new DaiosError(`the ${PROOF_HEADER} header is missing`, { hint: "send the shard's range proof (EncodedBlob.shardProof) in it" });
  }
  const body = value.trim();
  if (!/^0x([0-9a-fA-F]{64})*$/.test(body)) {
    throw new DaiosError(`the ${PROOF_HEADER} header is not 0x followed by whole 32-byte nodes in hex`, { hint: "encode the proof with encodeProofHeader" });
  }
  const count = (body.length - 2) / 64;
  if (count > MAX_PROOF_NODES) {
    throw new DaiosError(`the ${PROOF_HEADER} header has ${count} nodes, more than any range proof (${MAX_PROOF_NODES})`);
  }
  const bytes = Buffer.from(body.slice(2), "hex");
  return Array.from({ length: count }, (_, i) => bytes.subarray(32 * i, 32 * (i + 1)));
}
