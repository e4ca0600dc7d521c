/**
 * The DA commitment: a binary SHA-256 Merkle tree over the chunks of a byte string (for a blob: all
 * coded shards in shard order, see blob.ts). This file is the specification; the Solidity verifier
 * (sha256 precompile) and test/vectors/da.json follow it.
 *
 * - Chunks are DA.CHUNK_SIZE (512) bytes; the last chunk of data whose length is not a multiple is
 *   zero-padded to a whole chunk. leafCount = ceil(length / CHUNK_SIZE), between 1 and
 *   2^DA.MAX_TREE_DEPTH.
 * - leaf = sha256(0x00 || chunk), node = sha256(0x01 || left || right): the prefixes keep a leaf
 *   from ever being read as a node and back.
 * - depth = ceil(log2(leafCount)) (0 for one leaf, whose leaf is the root). The leaves are padded
 *   to 2^depth with PADDING_LEAF = 32 zero bytes. It is no leaf hash (that would need a SHA-256
 *   preimage of zero), so no chunk can be proven at a padding position. A subtree of padding only
 *   hashes to ZERO_HASHES[level]: ZERO_HASHES[0] = PADDING_LEAF,
 *   ZERO_HASHES[l + 1] = sha256(0x01 || ZERO_HASHES[l] || ZERO_HASHES[l]).
 * - A chunk proof is the `depth` siblings from the leaf up; at level l the node is the left child
 *   when bit l of the index is 0. A verifier checks leafCount in [1, 2^MAX_TREE_DEPTH],
 *   index < leafCount, proof length == depth(leafCount), and that the root comes out.
 * - A range proof opens chunks [start, end) at once (a DA node keeps one for its shard): level by
 *   level from the leaves, the left neighbour of the range when its first node is a right child,
 *   then the right neighbour when its last node is a left child (a ZERO_HASHES entry past the end).
 */
import { hash } from "node:crypto";
import { DA } from "../../generated/constants.js";
import { DaiosError } from "../../core/errors.js";
import { optionalErasureAddon, type ErasureAddon } from "./native-erasure.js";

export const LEAF_PREFIX = 0x00;
export const NODE_PREFIX = 0x01;
/** The leaf that pads the leaf count to a power of two: 32 zero bytes. */
export const PADDING_LEAF: Buffer = Buffer.alloc(32);

/** Bad input to the commitment tree (sizes, indices, proof shapes). */
export class CommitmentError extends DaiosError {}

/** The hashing of a tree: the TypeScript reference over node:crypto, or the native addon. */
export interface CommitHasher {
  /** "node:crypto" or "native:<sha-256 implementation>". */
  readonly name: string;
  /** Leaves of all chunks of `data` (the last zero-padded to chunkSize), 32 bytes each. */
  hashLeaves(data: Uint8Array, chunkSize: number): Uint8Array;
  /** Parents of a level of 32-byte nodes, an odd last node paired with `zero`. */
  hashNodes(level: Uint8Array, zero: Uint8Array): Uint8Array;
}

/** sha256(0x00 || chunk), the chunk zero-padded to chunkSize. */
export function leafHash(chunk: Uint8Array, chunkSize: number = DA.CHUNK_SIZE): Buffer {
  if (chunk.length > chunkSize) throw new CommitmentError(`A chunk has at most ${chunkSize} bytes, got ${chunk.length}`);
  const message = Buffer.alloc(1 + chunkSize);
  message[0] = LEAF_PREFIX;
  message.set(chunk, 1);
  return hash("sha256", message, "buffer");
}

/** sha256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  const message = Buffer.allocUnsafe(65);
  message[0] = NODE_PREFIX;
  message.set(left, 1);
  message.set(right, 33);
  return hash("sha256", message, "buffer");
}

/** ZERO_HASHES[l]: the root of a subtree of 2^l padding leaves, l = 0 .. DA.MAX_TREE_DEPTH. */
export const ZERO_HASHES: readonly Buffer[] = (() => {
  const zeros = [PADDING_LEAF];
  for (let l = 0; l < DA.MAX_TREE_DEPTH; l++) zeros.push(nodeHash(zeros[l], zeros[l]));
  return zeros;
})();

/** The TypeScript reference hasher (node:crypto, one call per hash). */
export const referenceCommitHasher: CommitHasher = {
  name: "node:crypto",
  hashLeaves(data, chunkSize) {
    const count = Math.ceil(data.length / chunkSize);
    const out = Buffer.allocUnsafe(count * 32);
    const message = Buffer.alloc(1 + chunkSize);
    message[0] = LEAF_PREFIX;
    for (let i = 0; i < count; i++) {
      const chunk = data.subarray(i * chunkSize, (i + 1) * chunkSize);
      message.set(chunk, 1);
      if (chunk.length < chunkSize) message.fill(0, 1 + chunk.length);
      out.set(hash("sha256", message, "buffer"), i * 32);
    }
    return out;
  },
  hashNodes(level, zero) {
    const count = level.length / 32;
    const parents = Math.ceil(count / 2);
    const out = Buffer.allocUnsafe(parents * 32);
    const message = Buffer.allocUnsafe(65);
    message[0] = NODE_PREFIX;
    for (let i = 0; i < parents; i++) {
      message.set(level.subarray(64 * i, 64 * i + 32), 1);
      message.set(2 * i + 1 < count ? level.subarray(64 * i + 32, 64 * i + 64) : zero, 33);
      out.set(hash("sha256", message, "buffer"), i * 32);
    }
    return out;
  },
};

/** The addon's SHA-256 (whatever implementation this thread has selected) as a CommitHasher. */
export function nativeCommitHasher(addon: ErasureAddon): CommitHasher {
  return {
    get name() {
      return `native:${addon.sha()}`;
    },
    hashLeaves: (data, chunkSize) => addon.hashLeaves(data, chunkSize),
    hashNodes: (level, zero) => addon.hashNodes(level, zero),
  };
}

/** The fastest hasher available: native, or node:crypto after a one-line warning. */
export function defaultCommitHasher(warn?: (message: string) => void): CommitHasher {
  const addon = optionalErasureAddon(warn);
  return addon ? nativeCommitHasher(addon) : referenceCommitHasher;
}

/** ceil(log2(leafCount)): the number of siblings in a proof. */
export function treeDepth(leafCount: number): number {
  checkLeafCount(leafCount);
  let depth = 0;
  while (2 ** depth < leafCount) depth++;
  return depth;
}

function checkLeafCount(leafCount: number): void {
  if (!Number.isInteger(leafCount) || leafCount < 1 || leafCount > 2 ** DA.MAX_TREE_DEPTH) {
    throw new CommitmentError(`A tree has between 1 and 2^${DA.MAX_TREE_DEPTH} leaves, got ${leafCount}`);
  }
}

export interface TreeOptions {
  /** Default: `defaultCommitHasher()` (native when built). */
  hasher?: CommitHasher;
  /** Default DA.CHUNK_SIZE. */
  chunkSize?: number;
}

/** The Merkle tree of a byte string, every level kept (32 bytes per node), unpadded. */
export class CommitmentTree {
  readonly chunkSize: number;
  readonly leafCount: number;
  readonly depth: number;
  /** levels[0] = the leaves, levels[depth] = the root; level l has ceil(leafCount / 2^l) nodes. */
  readonly levels: readonly Uint8Array[];

  private constructor(chunkSize: number, leafCount: number, levels: Uint8Array[]) {
    this.chunkSize = chunkSize;
    this.leafCount = leafCount;
    this.depth = levels.length - 1;
    this.levels = levels;
  }

  /** The tree over the chunks of `data` (1 to 2^MAX_TREE_DEPTH chunks). */
  static build(data: Uint8Array, options: TreeOptions = {}): CommitmentTree {
    const chunkSize = options.chunkSize ?? DA.CHUNK_SIZE;
    if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new CommitmentError(`Invalid chunk size ${chunkSize}`);
    if (data.length === 0) throw new CommitmentError("Cannot commit to empty data", { hint: "Commit to at least one byte" });
    const leafCount = Math.ceil(data.length / chunkSize);
    checkLeafCount(leafCount);
    const hasher = options.hasher ?? defaultCommitHasher();
    return CommitmentTree.fromLeaves(hasher.hashLeaves(data, chunkSize), hasher, chunkSize);
  }

  /** The tree above given leaves (32 bytes each). */
  static fromLeaves(leaves: Uint8Array, hasher: CommitHasher = defaultCommitHasher(), chunkSize: number = DA.CHUNK_SIZE): CommitmentTree {
    if (leaves.length % 32 !== 0) throw new CommitmentError(`Leaves are 32 bytes each; got ${leaves.length} bytes`);
    const leafCount = leaves.length / 32;
    const depth = treeDepth(leafCount);
    const levels: Uint8Array[] = [leaves];
    for (let l = 0; l < depth; l++) levels.push(hasher.hashNodes(levels[l], ZERO_HASHES[l]));
    return new CommitmentTree(chunkSize, leafCount, levels);
  }

  get root(): Buffer {
    return Buffer.from(this.levels[this.depth].subarray(0, 32));
  }

  /** Node i of level l, or the padding subtree's hash past the end of the level. */
  node(level: number, index: number): Buffer {
    const nodes = this.levels[level];
    if (index * 32 < nodes.length) return Buffer.from(nodes.subarray(index * 32, index * 32 + 32));
    return ZERO_HASHES[level];
  }

  /** The `depth` siblings of leaf `index`, from the leaf up. */
  proof(index: number): Buffer[] {
    this.checkIndex(index);
    const siblings: Buffer[] = [];
    for (let l = 0; l < this.depth; l++) siblings.push(this.node(l, (index >> l) ^ 1));
    return siblings;
  }

  /** The range proof of leaves [start, end) (see the file comment for the order). */
  rangeProof(start: number, end: number): Buffer[] {
    this.checkIndex(start);
    if (!Number.isInteger(end) || end <= start || end > this.leafCount) {
      throw new CommitmentError(`Invalid range [${start}, ${end}) of ${this.leafCount} leaves`);
    }
    const proof: Buffer[] = [];
    let first = start;
    let last = end - 1;
    for (let l = 0; l < this.depth; l++) {
      if (first & 1) proof.push(this.node(l, first - 1));
      if (!(last & 1)) proof.push(this.node(l, last + 1));
      first >>= 1;
      last >>= 1;
    }
    return proof;
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.leafCount) {
      throw new CommitmentError(`Leaf index ${index} is out of range`, { hint: `Indices run from 0 to ${this.leafCount - 1}` });
    }
  }
}

/** The root that a leaf hash and its proof give, or undefined when the shapes are wrong. */
export function rootFromProof(index: number, leaf: Uint8Array, proof: readonly Uint8Array[], leafCount: number): Buffer | undefined {
  if (!Number.isInteger(leafCount) || leafCount < 1 || leafCount > 2 ** DA.MAX_TREE_DEPTH) return undefined;
  if (!Number.isInteger(index) || index < 0 || index >= leafCount) return undefined;
  if (leaf.length !== 32 || proof.length !== treeDepth(leafCount) || proof.some((p) => p.length !== 32)) return undefined;
  let node: Uint8Array = leaf;
  for (let l = 0; l < proof.length; l++) {
    node = (index >> l) & 1 ? nodeHash(proof[l], node) : nodeHash(node, proof[l]);
  }
  return Buffer.from(node);
}

/**
 * Whether `chunk` (exactly DA.CHUNK_SIZE bytes; the last chunk of the data as zero-padded) is leaf
 * `index` of the tree of `leafCount` leaves with this root. Never throws on bad input: false.
 */
export function verifyProof(root: Uint8Array, index: number, chunk: Uint8Array, proof: readonly Uint8Array[], leafCount: number): boolean {
  if (root.length !== 32 || chunk.length !== DA.CHUNK_SIZE) return false;
  const computed = rootFromProof(index, leafHash(chunk), proof, leafCount);
  return computed !== undefined && computed.equals(root);
}

/**
 * The nodes that a range proof lets a verifier compute: per level, the first index and the nodes
 * from there (the range's own nodes with the proof's neighbours around them).
 */
interface RangeLevels {
  root: Buffer;
  /** levels[l] = { first, nodes } with nodes at indices first, first + 1, ... of level l. */
  levels: { first: number; nodes: Uint8Array }[];
}

function rangeLevels(
  leafCount: number,
  start: number,
  leaves: Uint8Array,
  proof: readonly Uint8Array[],
  hasher: CommitHasher,
): RangeLevels | undefined {
  if (!Number.isInteger(leafCount) || leafCount < 1 || leafCount > 2 ** DA.MAX_TREE_DEPTH) return undefined;
  const count = leaves.length / 32;
  if (!Number.isInteger(start) || start < 0 || count < 1 || !Number.isInteger(count) || start + count > leafCount) return undefined;
  if (proof.some((p) => p.length !== 32)) return undefined;
  const depth = treeDepth(leafCount);
  const levels: { first: number; nodes: Uint8Array }[] = [];
  let first = start;
  let nodes: Uint8Array = leaves;
  let used = 0;
  for (let l = 0; l < depth; l++) {
    const last = first + nodes.length / 32 - 1;
    const parts: Uint8Array[] = [];
    let from = first;
    if (first & 1) {
      if (used >= proof.length) return undefined;
      parts.push(proof[used++]);
      from = first - 1;
    }
    parts.push(nodes);
    if (!(last & 1)) {
      if (used >= proof.length) return undefined;
      parts.push(proof[used++]);
    }
    const widened = parts.length === 1 ? nodes : Buffer.concat(parts);
    levels.push({ first: from, nodes: widened });
    first = from >> 1;
    nodes = hasher.hashNodes(widened, ZERO_HASHES[l]); // widened is whole pairs: `zero` is never used
  }
  if (used !== proof.length || nodes.length !== 32) return undefined;
  levels.push({ first: 0, nodes });
  return { root: Buffer.from(nodes), levels };
}

/**
 * Whether `data` (whole chunks, the last zero-padded if short) is leaves [start, start + chunks)
 * of the tree with this root, by a range proof. Never throws on bad input: false.
 */
export function verifyRange(
  root: Uint8Array,
  leafCount: number,
  start: number,
  data: Uint8Array,
  proof: readonly Uint8Array[],
  hasher: CommitHasher = defaultCommitHasher(),
): boolean {
  return openRange(root, leafCount, start, data, proof, hasher) !== undefined;
}

/** A verified range of leaves: proofs of each of its chunks, without the rest of the tree. */
export interface RangeOpening {
  readonly start: number;
  readonly end: number;
  /** The chunk proof of leaf `index` in [start, end). */
  proof(index: number): Buffer[];
}

/**
 * Verifies a range proof (like verifyRange) and, when it holds, returns an opening that gives the
 * full proof of every chunk in the range (what a DA node answers challenges with); else undefined.
 */
export function openRange(
  root: Uint8Array,
  leafCount: number,
  start: number,
  data: Uint8Array,
  proof: readonly Uint8Array[],
  hasher: CommitHasher = defaultCommitHasher(),
): RangeOpening | undefined {
  if (root.length !== 32 || data.length === 0 || data.length % DA.CHUNK_SIZE !== 0) return undefined;
  const leaves = hasher.hashLeaves(data, DA.CHUNK_SIZE);
  const opened = rangeLevels(leafCount, start, leaves, proof, hasher);
  if (!opened || !opened.root.equals(root)) return undefined;
  const end = start + leaves.length / 32;
  return {
    start,
    end,
    proof(index: number): Buffer[] {
      if (!Number.isInteger(index) || index < start || index >= end) {
        throw new CommitmentError(`Leaf ${index} is outside the opened range [${start}, ${end})`);
      }
      return opened.levels.slice(0, -1).map(({ first, nodes }, l) => {
        const offset = (((index >> l) ^ 1) - first) * 32;
        return Buffer.from(nodes.subarray(offset, offset + 32));
      });
    },
  };
}
