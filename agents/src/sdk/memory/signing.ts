/**
 * What the parties of a memory stream sign (design: /work/design/issue5.md, "EIP-712"), and the
 * limits and hashes of keys and values. MemoryRegistry computes the same digests (writeDigest,
 * receiptDigest, rootDigest) and recovers the same signers.
 *
 *   const domain = memoryDomain(chainId, registryAddress);
 *   const ops = [hashOp({ kind: "put", key: utf8("notes/1"), value: bytes })];
 *   const write = { stream: 1n, writer: wallet.address, nonce, opsHash: opsHash(ops) };
 *   const signature = await signWrite(wallet, domain, write);               // the writer
 *   recoverWriter(domain, write, signature) === wallet.address;             // the node checks
 *   const receipt = { stream: 1n, seq, entriesHash: entriesHash(ops), issuedAt };
 *   const nodeSig = await signReceipt(operator, domain, receipt);           // the node commits
 *
 * Domain: name "daios MemoryRegistry", version "1", the chain id, the MemoryRegistry's address.
 * Types:
 *   Write(uint256 stream,address writer,uint64 nonce,bytes32 opsHash)           signed by the writer
 *   Receipt(uint256 stream,uint64 seq,bytes32 entriesHash,uint64 issuedAt)      signed by the node's operator
 *   Root(uint256 stream,uint64 seq,bytes32 root)                               signed by the node's operator
 * Hashes:
 *   keyHash   = keccak256(key), valueHash = keccak256(value) (a delete: bytes32(0))
 *   opHash    = keccak256(abi.encode(uint8 kind, bytes32 keyHash, bytes32 valueHash, int64 expectedVersion))
 *               kind 0 = put, 1 = delete; expectedVersion -1 = no expectation, 0 = never written, n = the
 *               key's current version must be n
 *   opsHash   = keccak256(opHash_0 ‖ opHash_1 ‖ …)
 *   entriesHash = keccak256(keyHash_0 ‖ valueHash_0 ‖ keyHash_1 ‖ valueHash_1 ‖ …)
 *
 * Byte strings are 0x hex at this API except keys and values themselves (Uint8Array); bytes32 results
 * are lower-case hex, addresses checksummed; integers are bigints.
 */
import { keccak256 } from "../../core/keccak.js";
import { TypedDataEncoder, getAddress, verifyTypedData, type Signer, type TypedDataDomain, type TypedDataField } from "ethers";
import { DaiosError } from "../../core/errors.js";
import { MAX_UINT64 } from "./smt.js";

export const MEMORY_REGISTRY_DOMAIN_NAME = "daios MemoryRegistry";
export const MEMORY_REGISTRY_DOMAIN_VERSION = "1";
/** Largest key, in bytes (keys are 1..MAX_KEY_BYTES bytes). */
export const MAX_KEY_BYTES = 256;
/** Largest value, in bytes (values are 0..MAX_VALUE_BYTES bytes; an empty value is a put, not a delete). */
export const MAX_VALUE_BYTES = 65536;
/**
 * Most ops in one write request (MemoryRegistry.MAX_ENTRIES): a receipt over more entries could not be
 * presented to slashContradiction, so opsHash and entriesHash refuse more.
 */
export const MAX_WRITE_OPS = 1024;
/** The valueHash of a delete (tombstone). */
export const TOMBSTONE_VALUE_HASH = `0x${"00".repeat(32)}`;
/** expectedVersion when the writer sets none. */
export const NO_EXPECTED_VERSION = -1n;

const MAX_INT64 = (1n << 63n) - 1n;
const ZERO_HASH = TOMBSTONE_VALUE_HASH;

/** A key, value, op or signed message that breaks the rules of a memory stream. */
export class MemoryInputError extends DaiosError {}

/** EIP-712 types of a write request; the primary type is Write. */
export const WRITE_TYPES: Record<string, TypedDataField[]> = {
  Write: [
    { name: "stream", type: "uint256" },
    { name: "writer", type: "address" },
    { name: "nonce", type: "uint64" },
    { name: "opsHash", type: "bytes32" },
  ],
};

/** EIP-712 types of a node's receipt for an accepted write; the primary type is Receipt. */
export const RECEIPT_TYPES: Record<string, TypedDataField[]> = {
  Receipt: [
    { name: "stream", type: "uint256" },
    { name: "seq", type: "uint64" },
    { name: "entriesHash", type: "bytes32" },
    { name: "issuedAt", type: "uint64" },
  ],
};

/** EIP-712 types of a node's statement of its current root; the primary type is Root. */
export const ROOT_TYPES: Record<string, TypedDataField[]> = {
  Root: [
    { name: "stream", type: "uint256" },
    { name: "seq", type: "uint64" },
    { name: "root", type: "bytes32" },
  ],
};

/** A write request as the writer signs it. */
export interface WriteMessage {
  stream: bigint;
  /** The writer's address (the signer). */
  writer: string;
  /** Strictly greater than the writer's last accepted nonce on the stream. */
  nonce: bigint;
  /** opsHash() of the request's ops, in order. */
  opsHash: string;
}

/** A node's receipt for one accepted write request. */
export interface ReceiptMessage {
  stream: bigint;
  /** The seq the node gave the request. */
  seq: bigint;
  /** entriesHash() of the request's ops, in order. */
  entriesHash: string;
  /** Unix seconds, node clock. */
  issuedAt: bigint;
}

/** A node's signed statement that the stream's root after `seq` is `root`. */
export interface RootMessage {
  stream: bigint;
  seq: bigint;
  root: string;
}

export type MemoryOpKind = "put" | "delete";

/** One op of a write, by hashes (what is signed). */
export interface MemoryOpHashes {
  kind: MemoryOpKind;
  keyHash: string;
  /** keccak256 of the value for a put; bytes32(0) (or omitted) for a delete. */
  valueHash?: string;
  /** -1 (or omitted) = none, 0 = the key was never written, n = the key's current version is n. */
  expectedVersion?: bigint;
}

/** One op of a write, with the key and value themselves. */
export interface MemoryOp {
  kind: MemoryOpKind;
  key: Uint8Array;
  /** The value of a put (may be empty); must be omitted for a delete. */
  value?: Uint8Array;
  expectedVersion?: bigint;
}

/** Something that signs EIP-712 typed data: an ethers Wallet or any ethers Signer. */
export type TypedDataSigner = Pick<Signer, "signTypedData" | "getAddress">;

/** The EIP-712 domain of the MemoryRegistry at `verifyingContract` on chain `chainId`. */
export function memoryDomain(chainId: bigint | number, verifyingContract: string): TypedDataDomain {
  return { name: MEMORY_REGISTRY_DOMAIN_NAME, version: MEMORY_REGISTRY_DOMAIN_VERSION, chainId: BigInt(chainId), verifyingContract: address(verifyingContract, "verifyingContract") };
}

// ---------------------------------------------------------------------------------------------
// Keys, values and their hashes

function hex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")}`;
}

function show(value: unknown): string {
  const text = typeof value === "string" ? value : typeof value === "bigint" ? `${value}n` : JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Throws unless `key` is 1..MAX_KEY_BYTES bytes. */
export function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array)) throw new MemoryInputError(`a memory key must be bytes (Uint8Array), got ${typeof key}`, { hint: "encode a string key as UTF-8" });
  if (key.length === 0) throw new MemoryInputError("the memory key is empty", { hint: `use a key of 1 to ${MAX_KEY_BYTES} bytes` });
  if (key.length > MAX_KEY_BYTES) {
    throw new MemoryInputError(`the memory key is ${key.length} bytes, more than the limit of ${MAX_KEY_BYTES}`, { hint: `use a key of 1 to ${MAX_KEY_BYTES} bytes (hash or shorten long names)` });
  }
}

/** Throws unless `value` is 0..MAX_VALUE_BYTES bytes. */
export function checkValue(value: Uint8Array): void {
  if (!(value instanceof Uint8Array)) throw new MemoryInputError(`a memory value must be bytes (Uint8Array), got ${typeof value}`, { hint: "encode the value (JSON, UTF-8, …) to bytes first" });
  if (value.length > MAX_VALUE_BYTES) {
    throw new MemoryInputError(`the memory value is ${value.length} bytes, more than the limit of ${MAX_VALUE_BYTES}`, {
      hint: "store large data as a storage deal and keep its id in memory",
    });
  }
}

/** keccak256(key) as bytes32 hex, after checkKey. */
export function keyHashOf(key: Uint8Array): string {
  checkKey(key);
  return hex(keccak256(key));
}

/** keccak256(value) as bytes32 hex, after checkValue. */
export function valueHashOf(value: Uint8Array): string {
  checkValue(value);
  return hex(keccak256(value));
}

function bytes32(value: unknown, what: string): string {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value)) throw new MemoryInputError(`${what} ${show(value)} is not a bytes32`, { hint: "pass 0x and 64 hex digits" });
  return value.toLowerCase();
}

function uint(value: unknown, max: bigint, what: string): bigint {
  if (typeof value !== "bigint" || value < 0n || value > max) {
    throw new MemoryInputError(`${what} ${show(value)} is out of range`, { hint: `pass a bigint from 0n to ${max}n` });
  }
  return value;
}

function address(value: unknown, what: string): string {
  try {
    return getAddress(value as string);
  } catch (error) {
    throw new MemoryInputError(`${what} ${show(value)} is not an address`, { hint: "pass 0x and 40 hex digits", cause: error });
  }
}

/** The hashes of an op with its key and value (checks the limits; a delete must carry no value). */
export function hashOp(op: MemoryOp): MemoryOpHashes {
  const keyHash = keyHashOf(op.key);
  if (op.kind === "delete") {
    if (op.value !== undefined) throw new MemoryInputError("a delete op carries a value", { hint: "omit the value of a delete (or use a put)" });
    return { kind: "delete", keyHash, valueHash: ZERO_HASH, expectedVersion: op.expectedVersion ?? NO_EXPECTED_VERSION };
  }
  if (op.kind !== "put") throw new MemoryInputError(`unknown op kind ${show(op.kind)}`, { hint: 'use "put" or "delete"' });
  if (op.value === undefined) throw new MemoryInputError("a put op has no value", { hint: "pass a value (an empty Uint8Array is allowed) or use a delete" });
  return { kind: "put", keyHash, valueHash: valueHashOf(op.value), expectedVersion: op.expectedVersion ?? NO_EXPECTED_VERSION };
}

/** The checked fields of an op: kind code, keyHash, valueHash, expectedVersion. */
function opFields(op: MemoryOpHashes, at: number): [number, string, string, bigint] {
  const what = `op ${at}`;
  const keyHash = bytes32(op.keyHash, `${what} keyHash`);
  const expected = op.expectedVersion ?? NO_EXPECTED_VERSION;
  if (typeof expected !== "bigint" || expected < -1n || expected > MAX_INT64) {
    throw new MemoryInputError(`${what} expectedVersion ${show(expected)} is out of range`, { hint: "use -1n (none), 0n (never written) or the key's current version" });
  }
  if (op.kind === "delete") {
    const valueHash = op.valueHash === undefined ? ZERO_HASH : bytes32(op.valueHash, `${what} valueHash`);
    if (valueHash !== ZERO_HASH) throw new MemoryInputError(`${what} is a delete with valueHash ${valueHash}`, { hint: "a delete's valueHash is bytes32(0)" });
    return [1, keyHash, valueHash, expected];
  }
  if (op.kind !== "put") throw new MemoryInputError(`${what} has unknown kind ${show(op.kind)}`, { hint: 'use "put" or "delete"' });
  const valueHash = bytes32(op.valueHash, `${what} valueHash`);
  if (valueHash === ZERO_HASH) throw new MemoryInputError(`${what} is a put with valueHash bytes32(0)`, { hint: "a put's valueHash is keccak256(value); use a delete to remove a key" });
  return [0, keyHash, valueHash, expected];
}

/** keccak256(abi.encode(uint8 kind, bytes32 keyHash, bytes32 valueHash, int64 expectedVersion)). */
export function opHash(op: MemoryOpHashes): string {
  return opHashAt(op, 0);
}

/**
 * abi.encode of the four fields written out by hand (four 32-byte words: the kind right-aligned, the two
 * hashes, the version as a sign-extended two's-complement int64): ethers' ABI coder made hashing a
 * 200-op batch cost milliseconds. The contract-compat test checks it against MemoryRegistry.opHash.
 */
function opHashAt(op: MemoryOpHashes, at: number): string {
  const [kind, keyHash, valueHash, expected] = opFields(op, at);
  const encoded = Buffer.alloc(128);
  encoded[31] = kind;
  encoded.write(keyHash.slice(2), 32, "hex");
  encoded.write(valueHash.slice(2), 64, "hex");
  if (expected < 0n) encoded.fill(0xff, 96, 120);
  encoded.writeBigInt64BE(expected, 120);
  return hex(keccak256(encoded));
}

function checkCount<T>(items: readonly T[], what: string): void {
  if (!Array.isArray(items) || items.length === 0) throw new MemoryInputError(`${what}: a write has no ops`, { hint: "a write request carries at least one op" });
  if (items.length > MAX_WRITE_OPS) {
    throw new MemoryInputError(`${what}: a write has ${items.length} ops, more than the limit of ${MAX_WRITE_OPS}`, { hint: `split it into requests of at most ${MAX_WRITE_OPS} ops` });
  }
}

/** keccak256(opHash_0 ‖ opHash_1 ‖ …) of a write's ops, in order (1..MAX_WRITE_OPS). */
export function opsHash(ops: readonly MemoryOpHashes[]): string {
  checkCount(ops, "opsHash");
  const packed = Buffer.alloc(32 * ops.length);
  ops.forEach((op, i) => Buffer.from(opHashAt(op, i).slice(2), "hex").copy(packed, 32 * i));
  return hex(keccak256(packed));
}

/** keccak256(keyHash_0 ‖ valueHash_0 ‖ keyHash_1 ‖ valueHash_1 ‖ …) of a write's ops, in order (1..MAX_WRITE_OPS). */
export function entriesHash(entries: readonly { keyHash: string; valueHash?: string }[]): string {
  checkCount(entries, "entriesHash");
  const packed = Buffer.alloc(64 * entries.length);
  entries.forEach((e, i) => {
    Buffer.from(bytes32(e.keyHash, `entry ${i} keyHash`).slice(2), "hex").copy(packed, 64 * i);
    Buffer.from(bytes32(e.valueHash ?? ZERO_HASH, `entry ${i} valueHash`).slice(2), "hex").copy(packed, 64 * i + 32);
  });
  return hex(keccak256(packed));
}

// ---------------------------------------------------------------------------------------------
// Messages, digests, signatures

function writeValue(w: WriteMessage): Record<string, unknown> {
  return { stream: uint(w.stream, (1n << 256n) - 1n, "stream"), writer: address(w.writer, "writer"), nonce: uint(w.nonce, MAX_UINT64, "nonce"), opsHash: bytes32(w.opsHash, "opsHash") };
}

function receiptValue(r: ReceiptMessage): Record<string, unknown> {
  return {
    stream: uint(r.stream, (1n << 256n) - 1n, "stream"),
    seq: uint(r.seq, MAX_UINT64, "seq"),
    entriesHash: bytes32(r.entriesHash, "entriesHash"),
    issuedAt: uint(r.issuedAt, MAX_UINT64, "issuedAt"),
  };
}

function rootValue(r: RootMessage): Record<string, unknown> {
  return { stream: uint(r.stream, (1n << 256n) - 1n, "stream"), seq: uint(r.seq, MAX_UINT64, "seq"), root: bytes32(r.root, "root") };
}

/** The EIP-712 digest of a write (MemoryRegistry.writeDigest). */
export function writeDigest(domain: TypedDataDomain, write: WriteMessage): string {
  return TypedDataEncoder.hash(domain, WRITE_TYPES, writeValue(write));
}

/** The EIP-712 digest of a receipt (MemoryRegistry.receiptDigest). */
export function receiptDigest(domain: TypedDataDomain, receipt: ReceiptMessage): string {
  return TypedDataEncoder.hash(domain, RECEIPT_TYPES, receiptValue(receipt));
}

/** The EIP-712 digest of a root statement (MemoryRegistry.rootDigest). */
export function rootDigest(domain: TypedDataDomain, root: RootMessage): string {
  return TypedDataEncoder.hash(domain, ROOT_TYPES, rootValue(root));
}

/** Signs a write as its writer (a 65-byte signature, hex); `wallet` must be `write.writer`. */
export async function signWrite(wallet: TypedDataSigner, domain: TypedDataDomain, write: WriteMessage): Promise<string> {
  const value = writeValue(write);
  const signer = getAddress(await wallet.getAddress());
  if (signer !== value.writer) {
    throw new MemoryInputError(`the write names writer ${String(value.writer)}, but the signing key is ${signer}`, { hint: "set write.writer to the signer's address" });
  }
  return wallet.signTypedData(domain, WRITE_TYPES, value);
}

/** The address that signed `write` (compare it with write.writer and the stream's writers). */
export function recoverWriter(domain: TypedDataDomain, write: WriteMessage, signature: string): string {
  return recover(domain, WRITE_TYPES, writeValue(write), signature, "write");
}

/** Signs a receipt with the node's operator key. */
export function signReceipt(wallet: Pick<Signer, "signTypedData">, domain: TypedDataDomain, receipt: ReceiptMessage): Promise<string> {
  return wallet.signTypedData(domain, RECEIPT_TYPES, receiptValue(receipt));
}

/** The address that signed `receipt` (compare it with the stream's node). */
export function recoverReceiptSigner(domain: TypedDataDomain, receipt: ReceiptMessage, signature: string): string {
  return recover(domain, RECEIPT_TYPES, receiptValue(receipt), signature, "receipt");
}

/** Signs a root statement with the node's operator key. */
export function signRoot(wallet: Pick<Signer, "signTypedData">, domain: TypedDataDomain, root: RootMessage): Promise<string> {
  return wallet.signTypedData(domain, ROOT_TYPES, rootValue(root));
}

/** The address that signed `root` (compare it with the stream's node). */
export function recoverRootSigner(domain: TypedDataDomain, root: RootMessage, signature: string): string {
  return recover(domain, ROOT_TYPES, rootValue(root), signature, "root statement");
}

function recover(domain: TypedDataDomain, types: Record<string, TypedDataField[]>, value: Record<string, unknown>, signature: string, what: string): string {
  try {
    return verifyTypedData(domain, types, value, signature);
  } catch (error) {
    throw new MemoryInputError(`the ${what} signature ${show(signature)} is not a valid secp256k1 signature`, { hint: "expected 65 bytes (r ‖ s ‖ v) as 0x hex", cause: error });
  }
}
