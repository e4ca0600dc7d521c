/**
 * The DA blob format: how a blob is cut into shards for a quorum, erasure-coded (erasure.ts) and
 * committed (commitment.ts), and how it comes back from any k shards.
 *
 * For a quorum of Q members (DA.MIN_QUORUM_SIZE <= Q <= DA.MAX_QUORUM_SIZE):
 * - k = floor(Q / 2) data shards, n = Q shards in all; member i keeps shard i.
 * - shardSize = ceil(size / k) rounded up to a multiple of DA.CHUNK_SIZE (at least one chunk);
 *   chunksPerShard = shardSize / CHUNK_SIZE.
 * - The blob, zero-padded to k * shardSize bytes, is cut into the k data shards in order; shards
 *   k .. n - 1 are the Reed–Solomon parity.
 * - The commitment is the tree over the n * chunksPerShard chunks of the shards one after the other:
 *   chunk c belongs to shard floor(c / chunksPerShard). Every chunk is whole, so no chunk is padded
 *   by the tree; only the leaf count is padded to a power of two.
 * - A shard's proof is the range proof of its chunks (EncodedBlob.shardProof): with it a member
 *   checks its shard against the root on its own and can answer a challenge for any of its chunks
 *   (commitment.openRange), and a reader can tell good shards from bad ones.
 */
import { DA } from "../../generated/constants.js";
import { DaiosError } from "../../core/errors.js";
import { CommitmentTree, defaultCommitHasher, openRange, type CommitHasher } from "./commitment.js";
import { ReedSolomon, defaultKernel } from "./erasure.js";
import type { GfKernel } from "./gf256.js";

/** A blob that cannot be encoded as asked, or parameters that describe no valid blob. */
export class BlobEncodingError extends DaiosError {}

/** A blob that cannot be decoded from the shards given. `rejected` lists the shards not used and why. */
export class BlobDecodingError extends DaiosError {
  readonly rejected: readonly RejectedShard[];

  constructor(problem: string, hint: string, rejected: readonly RejectedShard[]) {
    const details = rejected.length > 0 ? ` (rejected: ${rejected.map((r) => `shard ${r.index}: ${r.reason}`).join("; ")})` : "";
    super(`${problem}${details}`, { hint });
    this.rejected = rejected;
  }
}

/** The shape of a blob of `size` bytes for a quorum of n members. */
export interface BlobLayout {
  size: number;
  /** Data shards: floor(n / 2). */
  k: number;
  /** Shards in all: the quorum size. */
  n: number;
  shardSize: number;
  chunksPerShard: number;
  /** Chunks of all shards: n * chunksPerShard. */
  leafCount: number;
}

/** The layout of a blob of `size` bytes for a quorum of `quorumSize`; throws BlobEncodingError. */
export function blobLayout(size: number, quorumSize: number): BlobLayout {
  if (!Number.isInteger(size) || size < 1) {
    throw new BlobEncodingError(`Invalid blob size ${size}`, { hint: "A blob holds at least one byte: do not submit empty blobs" });
  }
  if (size > DA.MAX_BLOB_SIZE) {
    throw new BlobEncodingError(`The blob has ${size} bytes, more than DA.MAX_BLOB_SIZE = ${DA.MAX_BLOB_SIZE}`, {
      hint: `Split the data into blobs of at most ${DA.MAX_BLOB_SIZE} bytes`,
    });
  }
  if (!Number.isInteger(quorumSize) || quorumSize < DA.MIN_QUORUM_SIZE || quorumSize > DA.MAX_QUORUM_SIZE) {
    throw new BlobEncodingError(`Invalid quorum size ${quorumSize}`, {
      hint: `A quorum has between DA.MIN_QUORUM_SIZE = ${DA.MIN_QUORUM_SIZE} and DA.MAX_QUORUM_SIZE = ${DA.MAX_QUORUM_SIZE} members`,
    });
  }
  const k = Math.floor(quorumSize / 2);
  const n = quorumSize;
  const chunksPerShard = Math.max(1, Math.ceil(Math.ceil(size / k) / DA.CHUNK_SIZE));
  const shardSize = chunksPerShard * DA.CHUNK_SIZE;
  const leafCount = n * chunksPerShard;
  if (leafCount > 2 ** DA.MAX_TREE_DEPTH) {
    throw new BlobEncodingError(`A blob of ${size} bytes for ${n} members has ${leafCount} chunks, more than 2^${DA.MAX_TREE_DEPTH}`, {
      hint: "Use a smaller blob",
    });
  }
  return { size, k, n, shardSize, chunksPerShard, leafCount };
}

export interface CodingOptions {
  /** The GF(2^8) kernel (default: native when built, else the TypeScript reference). */
  kernel?: GfKernel;
  /** The commitment hasher (default: native when built, else node:crypto). */
  hasher?: CommitHasher;
}

/** An encoded blob: its shards, its tree and root, chunks and proofs. */
export class EncodedBlob implements BlobLayout {
  readonly size: number;
  readonly k: number;
  readonly n: number;
  readonly shardSize: number;
  readonly chunksPerShard: number;
  readonly leafCount: number;
  /** All shards one after the other (n * shardSize bytes): chunk c is at c * CHUNK_SIZE. */
  readonly coded: Buffer;
  /** Views of `coded`: shards[i] is member i's shard. */
  readonly shards: readonly Buffer[];
  readonly tree: CommitmentTree;
  /** The commitment (32 bytes). */
  readonly root: Buffer;

  constructor(layout: BlobLayout, coded: Buffer, tree: CommitmentTree) {
    this.size = layout.size;
    this.k = layout.k;
    this.n = layout.n;
    this.shardSize = layout.shardSize;
    this.chunksPerShard = layout.chunksPerShard;
    this.leafCount = layout.leafCount;
    this.coded = coded;
    this.shards = Array.from({ length: this.n }, (_, i) => coded.subarray(i * this.shardSize, (i + 1) * this.shardSize));
    this.tree = tree;
    this.root = tree.root;
  }

  /** The root as 0x-prefixed hex (a bytes32). */
  get rootHex(): string {
    return `0x${this.root.toString("hex")}`;
  }

  /** What a reader needs besides shards to decode: size, n, k, shardSize, chunksPerShard, root. */
  get params(): BlobParams {
    return { size: this.size, n: this.n, k: this.k, shardSize: this.shardSize, chunksPerShard: this.chunksPerShard, root: this.root };
  }

  /** Chunk `index` (CHUNK_SIZE bytes) of the coded blob. */
  chunk(index: number): Buffer {
    this.checkChunk(index);
    return this.coded.subarray(index * DA.CHUNK_SIZE, (index + 1) * DA.CHUNK_SIZE);
  }

  /** The Merkle proof of chunk `index` (tree depth siblings). */
  proof(index: number): Buffer[] {
    this.checkChunk(index);
    return this.tree.proof(index);
  }

  /** The shard that holds chunk `index`. */
  shardOf(index: number): number {
    this.checkChunk(index);
    return Math.floor(index / this.chunksPerShard);
  }

  /** The range proof of shard `index`'s chunks. */
  shardProof(index: number): Buffer[] {
    if (!Number.isInteger(index) || index < 0 || index >= this.n) {
      throw new BlobEncodingError(`Shard index ${index} is out of range`, { hint: `Shards run from 0 to ${this.n - 1}` });
    }
    return this.tree.rangeProof(index * this.chunksPerShard, (index + 1) * this.chunksPerShard);
  }

  private checkChunk(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.leafCount) {
      throw new BlobEncodingError(`Chunk index ${index} is out of range`, { hint: `Chunks run from 0 to ${this.leafCount - 1}` });
    }
  }
}

/** Encodes `bytes` for a quorum of `quorumSize` members (see the file comment). */
export function encodeBlob(bytes: Uint8Array, quorumSize: number, options: CodingOptions = {}): EncodedBlob {
  if (!(bytes instanceof Uint8Array)) throw new BlobEncodingError("The blob must be a Uint8Array or Buffer");
  const layout = blobLayout(bytes.length, quorumSize);
  const { k, n, shardSize } = layout;
  const coded = Buffer.allocUnsafe(n * shardSize);
  coded.set(bytes, 0);
  coded.fill(0, bytes.length, k * shardSize);
  const shard = (i: number) => coded.subarray(i * shardSize, (i + 1) * shardSize);
  const data = Array.from({ length: k }, (_, i) => shard(i));
  const parity = Array.from({ length: n - k }, (_, r) => shard(k + r));
  new ReedSolomon(k, n, options.kernel ?? defaultKernel()).encode(data, parity);
  const tree = CommitmentTree.build(coded, { hasher: options.hasher ?? defaultCommitHasher() });
  return new EncodedBlob(layout, coded, tree);
}

/** What a reader knows about a blob (from the chain): its size, quorum size and root. */
export interface BlobParams {
  size: number;
  /** The quorum size (shards in all). */
  n: number;
  /** 32 bytes, or 0x-prefixed hex. */
  root: Uint8Array | string;
  /** Optional; checked against the layout when given. */
  k?: number;
  shardSize?: number;
  chunksPerShard?: number;
}

/** A shard fetched from member `index`, with its range proof when the member sent one. */
export interface AvailableShard {
  index: number;
  data: Uint8Array;
  /** EncodedBlob.shardProof(index). Without it the shard is only checked by the final root check. */
  proof?: readonly Uint8Array[];
}

export interface RejectedShard {
  index: number;
  reason: string;
}

export interface DecodedBlob {
  data: Buffer;
  /** The k shards the data was rebuilt from. */
  used: number[];
  /** Shards that failed their proof or differ from the re-encoded blob, and why. */
  rejected: RejectedShard[];
}

/** The blob bytes from any k good shards; throws BlobDecodingError (see decodeBlobDetailed). */
export function decodeBlob(
  params: BlobParams,
  shards: Iterable<AvailableShard> | ReadonlyMap<number, Uint8Array>,
  options: CodingOptions = {},
): Buffer {
  return decodeBlobDetailed(params, shards, options).data;
}

/**
 * Decodes a blob: checks each shard that comes with a proof against the root (a bad one is
 * rejected), rebuilds the data from k shards (proven ones first), re-encodes all n shards and checks
 * that they give the root again (else the blob was encoded inconsistently, or an unproven shard is
 * bad), and reports the other given shards that differ from the re-encoding.
 */
export function decodeBlobDetailed(
  params: BlobParams,
  shards: Iterable<AvailableShard> | ReadonlyMap<number, Uint8Array>,
  options: CodingOptions = {},
): DecodedBlob {
  const layout = blobLayout(params.size, params.n);
  for (const key of ["k", "shardSize", "chunksPerShard"] as const) {
    if (params[key] !== undefined && params[key] !== layout[key]) {
      throw new BlobEncodingError(`The blob parameters say ${key} = ${params[key]}, but a blob of ${params.size} bytes for ${params.n} members has ${layout[key]}`, {
        hint: "Pass the size and quorum size recorded for the blob",
      });
    }
  }
  const root = parseRoot(params.root);
  const { k, n, shardSize, chunksPerShard, leafCount } = layout;
  const hasher = options.hasher ?? defaultCommitHasher();
  const kernel = options.kernel ?? defaultKernel();

  const given: AvailableShard[] =
    shards instanceof Map ? [...shards.entries()].map(([index, data]) => ({ index, data })) : [...(shards as Iterable<AvailableShard>)];
  const rejected: RejectedShard[] = [];
  const proven = new Map<number, Uint8Array>();
  const unproven = new Map<number, Uint8Array>();
  for (const shard of given) {
    const { index, data, proof } = shard;
    if (!Number.isInteger(index) || index < 0 || index >= n) {
      throw new BlobDecodingError(`Shard index ${index} is out of range`, `Shard indices run from 0 to ${n - 1} (the member's position in the quorum)`, []);
    }
    if (proven.has(index) || unproven.has(index)) {
      throw new BlobDecodingError(`Shard ${index} was given twice`, "Pass each member's shard once", []);
    }
    if (!(data instanceof Uint8Array) || data.length !== shardSize) {
      rejected.push({ index, reason: `it has ${data instanceof Uint8Array ? data.length : "no"} bytes, not shardSize = ${shardSize}` });
      continue;
    }
    if (proof === undefined) {
      unproven.set(index, data);
    } else if (openRange(root, leafCount, index * chunksPerShard, data, proof, hasher)) {
      proven.set(index, data);
    } else {
      rejected.push({ index, reason: "its range proof does not match the root" });
    }
  }

  const usable = proven.size + unproven.size;
  if (usable < k) {
    throw new BlobDecodingError(
      `Cannot decode the blob: ${usable} usable shard(s) of the ${k} needed (${given.length} given)`,
      `Fetch ${k - usable} more shard(s), with their proofs, from other members of the quorum`,
      rejected,
    );
  }
  const byIndex = (a: number, b: number) => a - b;
  const chosen = [...[...proven.keys()].sort(byIndex), ...[...unproven.keys()].sort(byIndex)].slice(0, k);
  const available = new Map(chosen.map((i) => [i, (proven.get(i) ?? unproven.get(i))!]));
  const all = new ReedSolomon(k, n, kernel).repair(available);
  const coded = Buffer.allocUnsafe(n * shardSize);
  all.forEach((shard, i) => coded.set(shard, i * shardSize));
  const recomputed = CommitmentTree.build(coded, { hasher }).root;
  if (!recomputed.equals(root)) {
    const blind = chosen.filter((i) => unproven.has(i));
    if (blind.length > 0) {
      throw new BlobDecodingError(
        `The shards ${chosen.join(", ")} do not re-encode to the blob's root; shard(s) ${blind.join(", ")} came without a proof and may be bad`,
        "Fetch the shards with their proofs (EncodedBlob.shardProof) so that bad ones are found and skipped",
        rejected,
      );
    }
    throw new BlobDecodingError(
      `The blob was encoded inconsistently: shards ${chosen.join(", ")} match the root one by one but do not re-encode to it (root 0x${root.toString("hex")}, re-encoded 0x${recomputed.toString("hex")})`,
      "The disperser published a commitment to data that is not a Reed–Solomon codeword: treat the blob as unavailable and report it",
      rejected,
    );
  }
  for (const [index, data] of [...proven, ...unproven]) {
    if (!available.has(index) && !Buffer.from(data.buffer, data.byteOffset, data.length).equals(coded.subarray(index * shardSize, (index + 1) * shardSize))) {
      rejected.push({ index, reason: "it differs from the re-encoded blob" });
    }
  }
  rejected.sort((a, b) => a.index - b.index);
  return { data: Buffer.from(coded.subarray(0, params.size)), used: chosen, rejected };
}

function parseRoot(root: Uint8Array | string): Buffer {
  const bytes = typeof root === "string" ? (/^0x[0-9a-fA-F]{64}$/.test(root) ? Buffer.from(root.slice(2), "hex") : undefined) : Buffer.from(root);
  if (!bytes || bytes.length !== 32) {
    throw new BlobEncodingError(`Invalid blob root ${typeof root === "string" ? root : `(${root.length} bytes)`}`, {
      hint: "The root is 32 bytes: a Uint8Array or 0x-prefixed hex of 64 digits",
    });
  }
  return bytes;
}
