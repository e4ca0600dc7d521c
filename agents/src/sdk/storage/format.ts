/**
 * The storage layer's data format: the one reference implementation that the circuit, the contracts
 * and every agent agree with (test vectors in test/vectors/ are written from here).
 *
 * A file of `size` bytes (1 <= size <= MAX_FILE_SIZE) is cut into CHUNK_SIZE-byte chunks, the last
 * one zero-padded. A chunk is packed into ELEMENTS_PER_CHUNK field elements of FIELD_BYTES bytes
 * each (big-endian; the last element takes the remaining CHUNK_SIZE mod FIELD_BYTES bytes). Its leaf
 * is Poseidon(elements). Leaves fill a binary Poseidon Merkle tree of depth TREE_DEPTH from the left;
 * missing leaves are 0, so an empty subtree of height h hashes to ZERO[h]. The data root is
 * Poseidon(treeRoot, size): it commits to the exact byte length too.
 *
 * Tree levels are kept as byte arrays of 32-byte big-endian field elements: compact, ready for disk
 * and for the native hasher.
 */
import { STORAGE } from "../../generated/constants.js";
import type { PoseidonFn } from "./poseidon.js";

const { CHUNK_SIZE, FIELD_BYTES, ELEMENTS_PER_CHUNK, TREE_DEPTH, MAX_FILE_SIZE } = STORAGE;

export class DataFormatError extends Error {
  override name = "DataFormatError";
}

/** Number of chunks of a file of `size` bytes; throws for sizes the protocol does not accept. */
export function chunkCount(size: number): number {
  if (!Number.isInteger(size) || size < 1) {
    throw new DataFormatError(`file size ${size} is not allowed: a file must hold at least 1 byte`);
  }
  if (size > MAX_FILE_SIZE) {
    throw new DataFormatError(
      `file size ${size} bytes is over the maximum of ${MAX_FILE_SIZE} bytes (${MAX_FILE_SIZE / 2 ** 20} MiB): split the file`,
    );
  }
  return Math.ceil(size / CHUNK_SIZE);
}

/** The bytes of chunk `index` of `data`, zero-padded to CHUNK_SIZE. */
export function chunkBytes(data: Uint8Array, index: number): Uint8Array {
  const start = index * CHUNK_SIZE;
  const slice = data.subarray(start, Math.min(start + CHUNK_SIZE, data.length));
  if (slice.length === CHUNK_SIZE) return slice;
  const padded = new Uint8Array(CHUNK_SIZE);
  padded.set(slice);
  return padded;
}

/** Packs one CHUNK_SIZE-byte chunk into its field elements (circuit input `chunks[j]`). */
export function packChunk(chunk: Uint8Array): bigint[] {
  if (chunk.length !== CHUNK_SIZE) {
    throw new DataFormatError(`a chunk must be ${CHUNK_SIZE} bytes, got ${chunk.length}`);
  }
  const elements: bigint[] = [];
  for (let e = 0; e < ELEMENTS_PER_CHUNK; e++) {
    let value = 0n;
    const end = Math.min((e + 1) * FIELD_BYTES, CHUNK_SIZE);
    for (let i = e * FIELD_BYTES; i < end; i++) value = (value << 8n) | BigInt(chunk[i]);
    elements.push(value);
  }
  return elements;
}

export function toBytes32(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = value;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function fromBytes32(bytes: Uint8Array, offset = 0): bigint {
  let v = 0n;
  for (let i = offset; i < offset + 32; i++) v = (v << 8n) | BigInt(bytes[i]);
  return v;
}

/** ZERO[h]: the root of an empty subtree of height h (ZERO[0] = 0, an absent leaf). */
export function zeroHashes(poseidon: PoseidonFn): bigint[] {
  const zeros = [0n];
  for (let h = 0; h < TREE_DEPTH; h++) zeros.push(poseidon([zeros[h], zeros[h]]));
  return zeros;
}

/** Hashes chunks into leaves and leaf levels into parent levels; implementations must agree bit for bit. */
export interface TreeHasher {
  /** Leaf hashes of every chunk of `data`, as 32-byte big-endian values. */
  leaves(data: Uint8Array): Promise<Uint8Array>;
  /** The level above `level`: parent i = Poseidon(level[2i], level[2i+1]), an odd last node paired with `zero`. */
  parents(level: Uint8Array, zero: bigint): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** The plain single-threaded hasher over circomlibjs's Poseidon: the reference for every faster one. */
export class ReferenceHasher implements TreeHasher {
  constructor(private readonly poseidon: PoseidonFn) {}

  async leaves(data: Uint8Array): Promise<Uint8Array> {
    const n = chunkCount(data.length);
    const out = new Uint8Array(n * 32);
    for (let i = 0; i < n; i++) out.set(toBytes32(this.poseidon(packChunk(chunkBytes(data, i)))), i * 32);
    return out;
  }

  async parents(level: Uint8Array, zero: bigint): Promise<Uint8Array> {
    const n = level.length / 32;
    const m = Math.ceil(n / 2);
    const out = new Uint8Array(m * 32);
    for (let i = 0; i < m; i++) {
      const left = fromBytes32(level, 64 * i);
      const right = 2 * i + 1 < n ? fromBytes32(level, 64 * i + 32) : zero;
      out.set(toBytes32(this.poseidon([left, right])), i * 32);
    }
    return out;
  }

  async close(): Promise<void> {}
}

/** A file's Merkle tree: levels[0] holds the leaves, levels[TREE_DEPTH] the root. */
export class DataTree {
  private constructor(
    readonly size: number,
    readonly levels: Uint8Array[],
    readonly zeros: bigint[],
    readonly dataRoot: bigint,
  ) {}

  get treeRoot(): bigint {
    return fromBytes32(this.levels[TREE_DEPTH]);
  }

  get chunkCount(): number {
    return this.levels[0].length / 32;
  }

  static async build(data: Uint8Array, hasher: TreeHasher, poseidon: PoseidonFn): Promise<DataTree> {
    const leaves = await hasher.leaves(data);
    return DataTree.fromLeaves(data.length, leaves, hasher, poseidon);
  }

  static async fromLeaves(size: number, leaves: Uint8Array, hasher: TreeHasher, poseidon: PoseidonFn): Promise<DataTree> {
    if (leaves.length !== chunkCount(size) * 32) {
      throw new DataFormatError(`${leaves.length / 32} leaves do not fit a file of ${size} bytes`);
    }
    const zeros = zeroHashes(poseidon);
    const levels = [leaves];
    for (let h = 0; h < TREE_DEPTH; h++) levels.push(await hasher.parents(levels[h], zeros[h]));
    const treeRoot = fromBytes32(levels[TREE_DEPTH]);
    return new DataTree(size, levels, zeros, poseidon([treeRoot, BigInt(size)]));
  }

  /** A tree from levels stored earlier (no rehashing: the caller checks dataRoot against what it expects). */
  static fromLevels(size: number, levels: Uint8Array[], poseidon: PoseidonFn): DataTree {
    let count = chunkCount(size);
    if (levels.length !== TREE_DEPTH + 1) throw new DataFormatError(`a tree has ${TREE_DEPTH + 1} levels, got ${levels.length}`);
    for (const level of levels) {
      if (level.length !== count * 32) throw new DataFormatError(`tree level of ${level.length / 32} nodes where ${count} belong`);
      count = Math.ceil(count / 2);
    }
    return new DataTree(size, levels, zeroHashes(poseidon), poseidon([fromBytes32(levels[TREE_DEPTH]), BigInt(size)]));
  }

  /** Siblings of leaf `index` from the bottom up (circuit input `siblings[j]`). */
  siblings(index: number): bigint[] {
    if (!Number.isInteger(index) || index < 0 || index >= this.chunkCount) {
      throw new DataFormatError(`chunk index ${index} is out of range: the file has ${this.chunkCount} chunks`);
    }
    const path: bigint[] = [];
    let i = index;
    for (let h = 0; h < TREE_DEPTH; h++) {
      const sibling = i ^ 1;
      const level = this.levels[h];
      path.push(sibling * 32 < level.length ? fromBytes32(level, sibling * 32) : this.zeros[h]);
      i >>= 1;
    }
    return path;
  }
}

/** Tree root obtained by hashing `chunk` up along `siblings` at position `index`. */
export function rootFromPath(poseidon: PoseidonFn, chunk: Uint8Array, index: number, siblings: readonly bigint[]): bigint {
  let node = poseidon(packChunk(chunk));
  let i = index;
  for (const sibling of siblings) {
    node = i & 1 ? poseidon([sibling, node]) : poseidon([node, sibling]);
    i >>= 1;
  }
  return node;
}

/** True when `chunk` is chunk `index` of the file with this data root and size. */
export function verifyChunk(
  poseidon: PoseidonFn,
  dataRoot: bigint,
  size: number,
  index: number,
  chunk: Uint8Array,
  siblings: readonly bigint[],
): boolean {
  if (index < 0 || index >= chunkCount(size) || siblings.length !== TREE_DEPTH) return false;
  return poseidon([rootFromPath(poseidon, chunk, index, siblings), BigInt(size)]) === dataRoot;
}
