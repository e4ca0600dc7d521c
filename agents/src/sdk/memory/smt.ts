/**
 * The authenticated map of a memory stream: a sparse Merkle tree over keccak256 with shortcut leaves
 * (design: /work/design/issue5.md, "Authenticated map"). This file is the TypeScript reference; the
 * node, the client, contracts/libraries/MemoryProof.sol and test/vectors/memory.json follow it.
 *
 *   const map = new SparseMerkleMap();
 *   map.set(keyHash, { valueHash, seq: 1n, version: 1n });
 *   const root = map.root();                      // bytes32 hex; 0x00…00 for an empty map
 *   const proof = map.prove(keyHash);             // membership or absence
 *   verifyMemoryProof(root, keyHash, proof);      // { kind: "member", leaf } | { kind: "absent" }, or throws
 *   const wire = encodeProof(proof);              // 0x… (memory.proof.bytes = proofByteLength(proof))
 *
 * Tree. The path of a key is the 256 bits of its keyHash, most significant bit of byte 0 first. A
 * subtree with no leaf is empty (hash bytes32(0)); a subtree with exactly one leaf IS that leaf, placed
 * at the top of the subtree (a "shortcut"); a subtree with two or more leaves is an internal node whose
 * left child holds the keys with bit d = 0 and right child those with bit d = 1. There are no
 * extension nodes: two keys sharing 20 bits sit under a chain of 20 internal nodes, each with one empty
 * child. The shape depends only on the set of leaves, so the root does too.
 *
 *   leaf hash     = keccak256(0x00 ‖ keyHash ‖ valueHash ‖ uint64be(seq) ‖ uint64be(version))   81 bytes
 *   internal hash = keccak256(0x01 ‖ left ‖ right)                                              65 bytes
 *
 * Tombstones (deletes) are leaves with valueHash = 0x00…00; nothing is ever removed from the tree.
 *
 * Proof of a key: the hashes of the siblings along the key's path, top-down (siblings[0] is the
 * root's child on the other side of the key), and the terminal node where the walk ends at depth
 * d = siblings.length: nothing (empty: absent), a leaf with the key (member) or a leaf with another key
 * sharing the first d bits (absent).
 *
 * Wire encoding of a proof (big-endian):
 *
 *   uint16 d ‖ d × bytes32 sibling ‖ uint8 flag (0 = no leaf, 1 = leaf)
 *            ‖ [keyHash(32) ‖ valueHash(32) ‖ uint64 seq ‖ uint64 version]   (only when flag = 1)
 *
 * that is 3 + 32·d (+ 80 with a leaf) bytes.
 *
 * Keys, hashes and roots are 0x-prefixed hex at this API (bytes32: 64 hex digits, either case;
 * returned in lower case); keys are always keyHashes (keccak256 of the key bytes, see signing.ts
 * keyHashOf), never the raw keys. seq and version are bigints (uint64).
 */
import { keccak256 } from "../../core/keccak.js";
import { DaiosError, type DaiosErrorOptions } from "../../core/errors.js";

/** bytes32(0): the hash of an empty subtree and the root of an empty stream. */
export const EMPTY_ROOT = `0x${"00".repeat(32)}`;
/** Paths are 256 bits long: no proof is deeper. */
export const MAX_PROOF_DEPTH = 256;
/** Largest uint64 (seq and version). */
export const MAX_UINT64 = (1n << 64n) - 1n;

const LEAF_TAG = 0x00;
const NODE_TAG = 0x01;
const ZERO32 = new Uint8Array(32);
/** Bytes of a leaf's fields on the wire: keyHash, valueHash, seq, version. */
const LEAF_FIELD_BYTES = 32 + 32 + 8 + 8;

/** What a leaf records about a key: the hash of its value (0 for a tombstone), the write and its version. */
export interface MemoryLeafState {
  /** keccak256 of the value, or bytes32(0) when the key's last op was a delete. */
  valueHash: string;
  /** seq of the write that set this state. */
  seq: bigint;
  /** Number of accepted ops (puts and deletes) on the key, 1 after the first put. */
  version: bigint;
}

/** A leaf of the tree: the key's hash and its state. */
export interface MemoryLeaf extends MemoryLeafState {
  keyHash: string;
}

/** A proof for one key, against one root (membership or absence). */
export interface MemoryProof {
  /** Hashes of the sibling subtrees along the key's path, top-down (bytes32 hex each). */
  siblings: string[];
  /** The leaf where the walk ends; omitted when it ends at an empty subtree. */
  leaf?: MemoryLeaf;
}

/** What a proof shows once verified. */
export type MemoryProofResult = { kind: "member"; leaf: MemoryLeaf } | { kind: "absent" };

/** Which check a proof failed. */
export type MemoryProofFailure =
  /** A field is not what its type says (a hash that is not bytes32, a seq beyond uint64, bad bytes). */
  | "malformed"
  /** More than 256 siblings. */
  | "too-deep"
  /** No sibling and no leaf (the proof of an empty tree) against a root that is not bytes32(0). */
  | "empty-root"
  /** The proof's leaf is another key's that does not share the first d bits with the queried key. */
  | "prefix"
  /** The recomputed root differs from the expected one. */
  | "root-mismatch";

/** A memory proof that does not verify or cannot be decoded; `reason` says which check failed. */
export class MemoryProofError extends DaiosError {
  readonly reason: MemoryProofFailure;

  constructor(reason: MemoryProofFailure, problem: string, options: DaiosErrorOptions = {}) {
    super(problem, options);
    this.reason = reason;
  }
}

/** A key hash, leaf or root handed to the map that is not what its type says. */
export class MemoryMapError extends DaiosError {}

// ---------------------------------------------------------------------------------------------
// Hex and bytes

const HEX_DIGITS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lower-case 0x hex of `bytes`. */
function toHex(bytes: Uint8Array): string {
  let out = "0x";
  for (let i = 0; i < bytes.length; i++) out += HEX_DIGITS[bytes[i]];
  return out;
}

function nibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

/** The bytes of a 0x-prefixed hex string, or undefined when it is not one (or not `length` bytes). */
function parseHex(value: unknown, length?: number): Uint8Array | undefined {
  if (typeof value !== "string" || value.length % 2 !== 0 || value[0] !== "0" || (value[1] !== "x" && value[1] !== "X")) return undefined;
  const n = (value.length - 2) / 2;
  if (length !== undefined && n !== length) return undefined;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const hi = nibble(value.charCodeAt(2 + 2 * i));
    const lo = nibble(value.charCodeAt(3 + 2 * i));
    if (hi < 0 || lo < 0) return undefined;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

function show(value: unknown): string {
  const text = typeof value === "string" ? value : typeof value === "bigint" ? `${value}n` : JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** bytes32 from hex, or a MemoryMapError naming `what`. */
function bytes32(value: unknown, what: string): Uint8Array {
  const bytes = parseHex(value, 32);
  if (!bytes) throw new MemoryMapError(`${what} ${show(value)} is not a bytes32`, { hint: "pass 0x and 64 hex digits" });
  return bytes;
}

function uint64(value: unknown, what: string): bigint {
  if (typeof value !== "bigint" || value < 0n || value > MAX_UINT64) {
    throw new MemoryMapError(`${what} ${show(value)} is not a uint64`, { hint: "pass a bigint from 0n to 2n ** 64n - 1n" });
  }
  return value;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Bit `i` of a 32-byte path (bit 0 = most significant bit of byte 0). */
function bitAt(path: Uint8Array, i: number): number {
  return (path[i >> 3] >> (7 - (i & 7))) & 1;
}

/** The first bit at or after `from` where two paths differ (256 when they are equal from there). */
function firstDifference(a: Uint8Array, b: Uint8Array, from: number): number {
  for (let i = from; i < 256; i++) if (bitAt(a, i) !== bitAt(b, i)) return i;
  return 256;
}

// ---------------------------------------------------------------------------------------------
// Hashing

const leafBuffer = new Uint8Array(1 + LEAF_FIELD_BYTES);
const leafView = new DataView(leafBuffer.buffer);
const nodeBuffer = new Uint8Array(65);
nodeBuffer[0] = NODE_TAG;

function hashLeafBytes(keyHash: Uint8Array, valueHash: Uint8Array, seq: bigint, version: bigint): Uint8Array {
  leafBuffer[0] = LEAF_TAG;
  leafBuffer.set(keyHash, 1);
  leafBuffer.set(valueHash, 33);
  leafView.setBigUint64(65, seq);
  leafView.setBigUint64(73, version);
  return keccak256(leafBuffer);
}

function hashNodeBytes(left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeBuffer.set(left, 1);
  nodeBuffer.set(right, 33);
  return keccak256(nodeBuffer);
}

/** keccak256(0x00 ‖ keyHash ‖ valueHash ‖ uint64be(seq) ‖ uint64be(version)), bytes32 hex. */
export function leafHash(leaf: MemoryLeaf): string {
  return toHex(hashLeafBytes(bytes32(leaf.keyHash, "keyHash"), bytes32(leaf.valueHash, "valueHash"), uint64(leaf.seq, "seq"), uint64(leaf.version, "version")));
}

/** keccak256(0x01 ‖ left ‖ right), bytes32 hex: the hash of an internal node. */
export function nodeHash(left: string, right: string): string {
  return toHex(hashNodeBytes(bytes32(left, "left child hash"), bytes32(right, "right child hash")));
}

// ---------------------------------------------------------------------------------------------
// The map

interface LeafNode {
  leaf: true;
  key: Uint8Array;
  valueHash: Uint8Array;
  seq: bigint;
  version: bigint;
  /** Cached hash; null when the fields changed since it was computed. */
  hash: Uint8Array | null;
}

interface InnerNode {
  leaf: false;
  left: TrieNode | null;
  right: TrieNode | null;
  /** Cached hash; null when a leaf below changed since it was computed. */
  hash: Uint8Array | null;
}

type TrieNode = LeafNode | InnerNode;

function hashOf(node: TrieNode | null): Uint8Array {
  if (node === null) return ZERO32;
  if (node.hash !== null) return node.hash;
  if (node.leaf) {
    node.hash = hashLeafBytes(node.key, node.valueHash, node.seq, node.version);
  } else {
    // Children first: hashNodeBytes uses a shared buffer.
    const left = hashOf(node.left);
    const right = hashOf(node.right);
    node.hash = hashNodeBytes(left, right);
  }
  return node.hash;
}

function leafOf(node: LeafNode): MemoryLeaf {
  return { keyHash: toHex(node.key), valueHash: toHex(node.valueHash), seq: node.seq, version: node.version };
}

/** Two leaves that first differ at bit `split`, under a chain of internal nodes from `depth` down. */
function splitChain(a: LeafNode, b: LeafNode, depth: number, split: number): InnerNode {
  const bottom: InnerNode = bitAt(a.key, split) === 0 ? { leaf: false, left: a, right: b, hash: null } : { leaf: false, left: b, right: a, hash: null };
  let node = bottom;
  for (let d = split - 1; d >= depth; d--) {
    node = bitAt(a.key, d) === 0 ? { leaf: false, left: node, right: null, hash: null } : { leaf: false, left: null, right: node, hash: null };
  }
  return node;
}

/**
 * The authenticated map of one stream: keyHash → leaf (valueHash, seq, version), kept as a binary
 * trie of the canonical shape. set() marks the path it touched; root() rehashes only marked nodes and
 * caches every hash, so a root after k sets costs about k · (depth + 1) hashes.
 */
export class SparseMerkleMap {
  private top: TrieNode | null = null;
  private count = 0;

  /**
   * The map of `leaves` (a later leaf with the same keyHash replaces an earlier one). Inserting costs
   * no hashing (about 2 µs a leaf); the hashes are computed once, by the first root() or prove().
   */
  static fromLeaves(leaves: Iterable<MemoryLeaf>): SparseMerkleMap {
    const map = new SparseMerkleMap();
    for (const leaf of leaves) map.set(leaf.keyHash, leaf);
    return map;
  }

  /** Number of leaves (keys ever written, tombstones included). */
  get size(): number {
    return this.count;
  }

  /** Sets the leaf of `keyHash` (a new key, or a new state of an existing one). */
  set(keyHash: string, state: MemoryLeafState): void {
    const key = bytes32(keyHash, "keyHash");
    const fresh: LeafNode = {
      leaf: true,
      key,
      valueHash: bytes32(state.valueHash, "valueHash"),
      seq: uint64(state.seq, "seq"),
      version: uint64(state.version, "version"),
      hash: null,
    };
    if (this.top === null) {
      this.top = fresh;
      this.count = 1;
      return;
    }
    let parent: InnerNode | null = null;
    let node: TrieNode = this.top;
    let depth = 0;
    for (;;) {
      if (!node.leaf) {
        node.hash = null;
        const right = bitAt(key, depth) === 1;
        const child: TrieNode | null = right ? node.right : node.left;
        if (child === null) {
          if (right) node.right = fresh;
          else node.left = fresh;
          this.count++;
          return;
        }
        parent = node;
        node = child;
        depth++;
        continue;
      }
      if (equalBytes(node.key, key)) {
        node.valueHash = fresh.valueHash;
        node.seq = fresh.seq;
        node.version = fresh.version;
        node.hash = null;
        return;
      }
      const chain = splitChain(node, fresh, depth, firstDifference(node.key, key, depth));
      if (parent === null) this.top = chain;
      else if (parent.left === node) parent.left = chain;
      else parent.right = chain;
      this.count++;
      return;
    }
  }

  /** The leaf of `keyHash`, or undefined when the key was never written. */
  get(keyHash: string): MemoryLeaf | undefined {
    const key = bytes32(keyHash, "keyHash");
    const node = this.terminal(key).node;
    return node !== null && node.leaf && equalBytes(node.key, key) ? leafOf(node) : undefined;
  }

  /** Whether `keyHash` has a leaf (tombstones included). */
  has(keyHash: string): boolean {
    return this.get(keyHash) !== undefined;
  }

  /** The root hash (bytes32 hex; 0x00…00 for an empty map). Rehashes what changed since the last call. */
  root(): string {
    return toHex(hashOf(this.top));
  }

  /** A proof for `keyHash` against root(): membership when the key has a leaf, absence otherwise. */
  prove(keyHash: string): MemoryProof {
    const key = bytes32(keyHash, "keyHash");
    hashOf(this.top);
    const { node, siblings } = this.terminal(key, []);
    const proof: MemoryProof = { siblings: (siblings as Uint8Array[]).map(toHex) };
    if (node !== null) proof.leaf = leafOf(node as LeafNode);
    return proof;
  }

  /** Every leaf, in keyHash order. */
  *leaves(): IterableIterator<MemoryLeaf> {
    const stack: (TrieNode | null)[] = [this.top];
    while (stack.length > 0) {
      const node = stack.pop() as TrieNode | null;
      if (node === null) continue;
      if (node.leaf) yield leafOf(node);
      else stack.push(node.right, node.left);
    }
  }

  /** Walks `key`'s path to its terminal node (null, or a leaf), collecting sibling hashes when asked. */
  private terminal(key: Uint8Array, siblings?: Uint8Array[]): { node: TrieNode | null; siblings?: Uint8Array[] } {
    let node = this.top;
    let depth = 0;
    while (node !== null && !node.leaf) {
      const right = bitAt(key, depth) === 1;
      siblings?.push(hashOf(right ? node.left : node.right));
      node = right ? node.right : node.left;
      depth++;
    }
    return { node, siblings };
  }
}

/** The root of a set of leaves, without keeping the map. */
export function memoryRoot(leaves: Iterable<MemoryLeaf>): string {
  return SparseMerkleMap.fromLeaves(leaves).root();
}

// ---------------------------------------------------------------------------------------------
// Verification

function proofField(value: unknown, what: string): Uint8Array {
  const bytes = parseHex(value, 32);
  if (!bytes) throw new MemoryProofError("malformed", `the proof's ${what} ${show(value)} is not a bytes32`, { hint: "a proof carries 0x and 64 hex digits per hash" });
  return bytes;
}

function proofUint64(value: unknown, what: string): bigint {
  if (typeof value !== "bigint" || value < 0n || value > MAX_UINT64) {
    throw new MemoryProofError("malformed", `the proof's leaf ${what} ${show(value)} is not a uint64`, { hint: "seq and version are bigints from 0n to 2n ** 64n - 1n" });
  }
  return value;
}

/**
 * Checks `proof` for `keyHash` against `root` (all bytes32 hex) and says what it shows: the key's leaf
 * (membership; a tombstone has valueHash 0x00…00), or that the key has no leaf. Throws a
 * MemoryProofError whose `reason` names the failed check otherwise.
 */
export function verifyMemoryProof(root: string, keyHash: string, proof: MemoryProof): MemoryProofResult {
  const expected = parseHex(root, 32);
  if (!expected) throw new MemoryProofError("malformed", `the root ${show(root)} is not a bytes32`, { hint: "pass the stream's root as 0x and 64 hex digits" });
  const key = parseHex(keyHash, 32);
  if (!key) throw new MemoryProofError("malformed", `the key hash ${show(keyHash)} is not a bytes32`, { hint: "pass keccak256(key) as 0x and 64 hex digits" });
  if (proof === null || typeof proof !== "object" || !Array.isArray(proof.siblings)) {
    throw new MemoryProofError("malformed", "the proof has no siblings array", { hint: "a proof is { siblings: bytes32[], leaf? }" });
  }
  const d = proof.siblings.length;
  if (d > MAX_PROOF_DEPTH) {
    throw new MemoryProofError("too-deep", `the proof has ${d} siblings, more than the ${MAX_PROOF_DEPTH} bits of a key path`, { hint: "the proof is corrupt or forged" });
  }

  let h: Uint8Array;
  let result: MemoryProofResult;
  if (proof.leaf === undefined || proof.leaf === null) {
    if (d === 0 && !equalBytes(expected, ZERO32)) {
      throw new MemoryProofError("empty-root", `the proof says the tree is empty, but the root is ${toHex(expected)}`, { hint: "ask the node for a fresh proof against this root" });
    }
    h = ZERO32;
    result = { kind: "absent" };
  } else {
    const leafKey = proofField(proof.leaf.keyHash, "leaf keyHash");
    const valueHash = proofField(proof.leaf.valueHash, "leaf valueHash");
    const seq = proofUint64(proof.leaf.seq, "seq");
    const version = proofUint64(proof.leaf.version, "version");
    h = hashLeafBytes(leafKey, valueHash, seq, version);
    if (equalBytes(leafKey, key)) {
      result = { kind: "member", leaf: { keyHash: toHex(key), valueHash: toHex(valueHash), seq, version } };
    } else {
      const shared = firstDifference(leafKey, key, 0);
      if (shared < d) {
        throw new MemoryProofError(
          "prefix",
          `the proof's leaf ${toHex(leafKey)} shares only ${shared} leading bits with the key ${toHex(key)}, but ends at depth ${d}`,
          { hint: "an absence proof must end at a leaf on the key's own path; the proof is corrupt or forged" },
        );
      }
      result = { kind: "absent" };
    }
  }

  for (let i = d - 1; i >= 0; i--) {
    const sibling = proofField(proof.siblings[i], `sibling ${i}`);
    h = bitAt(key, i) === 0 ? hashNodeBytes(h, sibling) : hashNodeBytes(sibling, h);
  }
  if (!equalBytes(h, expected)) {
    throw new MemoryProofError("root-mismatch", `the proof for ${toHex(key)} leads to root ${toHex(h)}, not ${toHex(expected)}`, {
      hint: "the proof is for another root or was altered; fetch a proof against the root you trust",
    });
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Wire encoding

/** Length in bytes of the wire encoding of `proof`: 3 + 32·d, plus 80 with a leaf. */
export function proofByteLength(proof: MemoryProof): number {
  return 2 + 32 * proof.siblings.length + 1 + (proof.leaf ? LEAF_FIELD_BYTES : 0);
}

/** The wire encoding of `proof` (see the file comment), as 0x hex. */
export function encodeProof(proof: MemoryProof): string {
  const d = proof.siblings.length;
  if (d > MAX_PROOF_DEPTH) {
    throw new MemoryProofError("too-deep", `cannot encode a proof with ${d} siblings, more than ${MAX_PROOF_DEPTH}`, { hint: "the proof is corrupt" });
  }
  const out = new Uint8Array(proofByteLength(proof));
  const view = new DataView(out.buffer);
  view.setUint16(0, d);
  for (let i = 0; i < d; i++) out.set(proofField(proof.siblings[i], `sibling ${i}`), 2 + 32 * i);
  let at = 2 + 32 * d;
  if (proof.leaf) {
    out[at++] = 1;
    out.set(proofField(proof.leaf.keyHash, "leaf keyHash"), at);
    out.set(proofField(proof.leaf.valueHash, "leaf valueHash"), at + 32);
    view.setBigUint64(at + 64, proofUint64(proof.leaf.seq, "seq"));
    view.setBigUint64(at + 72, proofUint64(proof.leaf.version, "version"));
  } else {
    out[at] = 0;
  }
  return toHex(out);
}

function malformed(problem: string): MemoryProofError {
  return new MemoryProofError("malformed", `cannot decode the memory proof: ${problem}`, {
    hint: "expected uint16 d, d × 32-byte siblings, a flag byte (0 or 1) and, with flag 1, 80 bytes of leaf fields",
  });
}

/** Decodes a proof from its wire encoding (0x hex or bytes); rejects anything not exactly that format. */
export function decodeProof(encoded: string | Uint8Array): MemoryProof {
  let bytes: Uint8Array;
  if (typeof encoded === "string") {
    const parsed = parseHex(encoded);
    if (!parsed) throw malformed(`${show(encoded)} is not 0x-prefixed hex with an even number of digits`);
    bytes = parsed;
  } else if (encoded instanceof Uint8Array) {
    bytes = encoded;
  } else {
    throw malformed(`expected a hex string or a Uint8Array, got ${typeof encoded}`);
  }
  if (bytes.length < 3) throw malformed(`${bytes.length} bytes is shorter than the 3-byte minimum`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const d = view.getUint16(0);
  if (d > MAX_PROOF_DEPTH) {
    throw new MemoryProofError("too-deep", `cannot decode the memory proof: it declares ${d} siblings, more than ${MAX_PROOF_DEPTH}`, { hint: "the proof is corrupt or forged" });
  }
  const flagAt = 2 + 32 * d;
  if (bytes.length <= flagAt) throw malformed(`it declares ${d} siblings but has ${bytes.length} bytes (truncated)`);
  const flag = bytes[flagAt];
  if (flag !== 0 && flag !== 1) throw malformed(`the leaf flag is ${flag}, not 0 or 1`);
  const length = flagAt + 1 + (flag === 1 ? LEAF_FIELD_BYTES : 0);
  if (bytes.length !== length) {
    throw malformed(`it has ${bytes.length} bytes, but ${d} siblings ${flag === 1 ? "and a leaf " : "and no leaf "}take ${length}${bytes.length < length ? " (truncated)" : " (trailing bytes)"}`);
  }
  const siblings: string[] = new Array<string>(d);
  for (let i = 0; i < d; i++) siblings[i] = toHex(bytes.subarray(2 + 32 * i, 34 + 32 * i));
  const proof: MemoryProof = { siblings };
  if (flag === 1) {
    const at = flagAt + 1;
    proof.leaf = {
      keyHash: toHex(bytes.subarray(at, at + 32)),
      valueHash: toHex(bytes.subarray(at + 32, at + 64)),
      seq: view.getBigUint64(at + 64),
      version: view.getBigUint64(at + 72),
    };
  }
  return proof;
}
