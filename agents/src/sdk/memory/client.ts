/**
 * An agent's client of a memory stream: writes signed by the agent's writer key, reads checked against
 * the stream's root on chain (design: /work/design/issue5.md, "memory-node role — HTTP API").
 *
 *   const client = new MemoryClient({ nodeUrl, stream: 1n, writer: wallet, chainId, registry: registryAddress,
 *                                     chain: memoryChainReader(memoryRegistry), receiptsFile: "receipts.jsonl" });
 *   await client.put("notes/today", "buy milk");                     // → { seq, version, receipt }
 *   await client.put("notes/today", "buy bread", { expectedVersion: 1n });   // MemoryConflictError if it moved on
 *   const got = await client.get("notes/today");                     // checked against the chain (see below)
 *   for await (const page of client.scan("notes/")) …
 *   const sub = client.subscribe((w) => console.log(w.seq, w.ops));  // server-sent events; sub.close()
 *
 * Writes. Every write request (put, delete, or a batch of ops under one signature) carries the writer's
 * next nonce: the client asks the node for the writer's last accepted nonce before its first write and
 * counts up from there (never below Date.now() · 1000, so that two processes sharing a key rarely
 * collide), and it sends one request at a time, so nonces reach the node in increasing order. The node
 * answers with a receipt signed by its operator key; the client checks that the receipt is for this
 * stream, the seq it was given and exactly the ops it sent (entriesHash), and that it recovers to the
 * stream's node, then keeps it (receipts()) and, with receiptsFile, appends it as one JSON line. A
 * receipt is the writer's evidence against a node that later drops or alters the write
 * (MemoryRegistry.slashContradiction, slashUncheckpointed); checkReceipts() says which ones are due.
 *
 * Reads with verification (the default when the client has a chain reader). The node answers a read
 * with the key's state, a proof against its current root, that root's seq and its signature of
 * Root(stream, seq, root). The client reads the latest checkpoint on chain, then:
 *   - the node's root is the checkpoint's (same seq and root): the proof is checked against it;
 *   - the node's root is newer (a higher seq): its signature must recover to the stream's node as
 *     recorded on chain; the proof is checked against it (the node is slashable for it);
 *   - the node's root is older than the checkpoint, or differs from it at the same seq: refused.
 * The proof must then show exactly what the node said: the value's hash, seq and version (a tombstone
 * for a deleted key), or the key's absence. Every failure is a MemoryVerificationError whose `reason`
 * says which check failed.
 *
 * Errors: the node's JSON errors ({error, hint}) become MemoryNodeError (a DaiosError, the hint kept);
 * a version conflict (HTTP 409) becomes MemoryConflictError with the key, the expected and the actual
 * version; bad keys and values are MemoryInputError (signing.ts) before anything is sent.
 */
import { appendFile, readFile } from "node:fs/promises";
import { getAddress, type JsonRpcProvider, type Provider, type Signer, type TypedDataDomain, type Wallet } from "ethers";
import { DaiosError, errorMessage } from "../../core/errors.js";
import { connectChain } from "../chain.js";
import { connectContracts } from "../contracts.js";
import { decodeRevert } from "../da/client.js";
import type { Deployment } from "../deployment.js";
import { MemoryRegistry__factory, type DaiosToken, type MemoryRegistry, type ProviderRegistry } from "../../../../types/ethers-contracts/index.js";
import {
  MemoryInputError,
  NO_EXPECTED_VERSION,
  TOMBSTONE_VALUE_HASH,
  checkKey,
  checkValue,
  entriesHash,
  hashOp,
  keyHashOf,
  memoryDomain,
  opsHash,
  recoverReceiptSigner,
  recoverRootSigner,
  signWrite,
  valueHashOf,
  type MemoryOp,
  type MemoryOpHashes,
  type TypedDataSigner,
} from "./signing.js";
import { EMPTY_ROOT, MemoryProofError, decodeProof, verifyMemoryProof, type MemoryLeaf, type MemoryProof } from "./smt.js";

export { MemoryInputError };

/** A key or value: a string (UTF-8) or raw bytes. */
export type MemoryBytes = string | Uint8Array;

/** The most ops in one batch (one signature, one seq): MemoryRegistry.MAX_ENTRIES, so every receipt stays presentable for slashing. */
export const MAX_BATCH_OPS = 1024;
/** Entries a scan asks for per page when not told. */
export const DEFAULT_SCAN_PAGE = 100;
/** How long an HTTP request to the node may take before it is abandoned. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** How far a receipt's issuedAt may be from this machine's clock, in seconds. */
export const RECEIPT_CLOCK_SKEW_SEC = 300n;

/** A checkpoint as MemoryRegistry.latestCheckpoint returns it (seq 0 / root 0: none yet). */
export interface MemoryCheckpoint {
  root: string;
  seq: bigint;
  timestamp: bigint;
  /** Position of the checkpoint in the stream's history (checkpointHash[stream][index]). */
  index: bigint;
}

/**
 * What the client reads on chain: the stream's latest checkpoint and its node's address. Build one
 * from a MemoryRegistry contract with memoryChainReader(), or pass any object with these methods.
 */
export interface MemoryChainReader {
  latestCheckpoint(stream: bigint): Promise<MemoryCheckpoint>;
  /** The operator address of the stream's node (the key that signs receipts and roots). */
  nodeOf(stream: bigint): Promise<string>;
}

/** The MemoryRegistry views memoryChainReader uses (a TypeChain MemoryRegistry has them). */
export interface MemoryRegistryReads {
  latestCheckpoint(stream: bigint): Promise<{ root: string; seq: bigint; timestamp: bigint; index: bigint }>;
  getStream(stream: bigint): Promise<{ node: string }>;
}

/** A MemoryChainReader over a MemoryRegistry contract. */
export function memoryChainReader(registry: MemoryRegistryReads): MemoryChainReader {
  return {
    async latestCheckpoint(stream) {
      const c = await registry.latestCheckpoint(stream);
      return { root: c.root.toLowerCase(), seq: BigInt(c.seq), timestamp: BigInt(c.timestamp), index: BigInt(c.index) };
    },
    async nodeOf(stream) {
      return getAddress((await registry.getStream(stream)).node);
    },
  };
}

export interface MemoryClientOptions {
  /** The memory node's base URL (what it registered as its endpoint), e.g. http://127.0.0.1:8600. */
  nodeUrl: string;
  stream: bigint | number;
  /** The writer's key; without it the client can only read. */
  writer?: TypedDataSigner;
  /** The EIP-712 domain: chain id and MemoryRegistry address (or give `domain`). */
  chainId?: bigint | number;
  registry?: string;
  domain?: TypedDataDomain;
  /** On-chain reads for verification and the node's address; without it reads cannot be verified. */
  chain?: MemoryChainReader;
  /**
   * The node's operator address, when there is no chain reader (receipts are checked against it).
   * With a chain reader the address on chain is used and this must agree with it.
   */
  nodeAddress?: string;
  /** Append every receipt to this file, one JSON line each (see readReceipts). */
  receiptsFile?: string;
  /** fetch to use (default: the global one). */
  fetch?: typeof fetch;
  requestTimeoutMs?: number;
}

/** One op of a batch, with string (UTF-8) or byte keys and values. */
export type MemoryBatchOp =
  | { kind: "put"; key: MemoryBytes; value: MemoryBytes; expectedVersion?: bigint | number }
  | { kind: "delete"; key: MemoryBytes; expectedVersion?: bigint | number };

export interface MemoryWriteOptions {
  /** The key's version must be this for the write to apply (0: the key was never written). */
  expectedVersion?: bigint | number;
}

/** A node's receipt for an accepted write, as the client keeps it (checked: it recovers to `node`). */
export interface MemoryReceiptRecord {
  stream: bigint;
  seq: bigint;
  entriesHash: string;
  issuedAt: bigint;
  /** The node operator's EIP-712 signature of Receipt(stream, seq, entriesHash, issuedAt). */
  signature: string;
  /** The node's operator address the signature recovers to. */
  node: string;
  writer: string;
  nonce: bigint;
  /** The write's ops in order: key (hex), keyHash, valueHash (bytes32(0) for a delete). */
  entries: { key: string; keyHash: string; valueHash: string }[];
}

export interface MemoryWriteResult {
  seq: bigint;
  nonce: bigint;
  /** The version of each op's key after the write, in op order. */
  versions: bigint[];
  receipt: MemoryReceiptRecord;
}

export interface MemoryPutResult extends MemoryWriteResult {
  /** The key's version after the write. */
  version: bigint;
}

/** How a read was verified. */
export type MemoryVerification =
  | { against: "checkpoint"; root: string; seq: bigint; index: bigint; timestamp: bigint }
  | { against: "signed-root"; root: string; seq: bigint; signature: string; node: string; checkpoint: MemoryCheckpoint };

export interface MemoryGetResult {
  key: Uint8Array;
  /** The value (null when the key is absent or deleted). */
  value: Uint8Array | null;
  /** keccak256 of the value; bytes32(0) for a deleted or absent key. */
  valueHash: string;
  /** seq of the write that set this state (0 when the key was never written). */
  seq: bigint;
  /** Number of ops on the key (0 when never written). */
  version: bigint;
  deleted: boolean;
  /** The root the node answered against and its seq (reads with a proof only: a plain read skips the root). */
  root?: string;
  rootSeq?: bigint;
  /** Set when the read was verified. */
  verified?: MemoryVerification;
}

export interface MemoryScanEntry {
  key: Uint8Array;
  value: Uint8Array | null;
  valueHash: string;
  seq: bigint;
  version: bigint;
}

export interface MemoryHistoryEntry {
  seq: bigint;
  version: bigint;
  valueHash: string;
  /** The value of that version when the node still has it (null for a delete). */
  value: Uint8Array | null | undefined;
  deleted: boolean;
  writer: string | undefined;
  /** Unix milliseconds (node clock) when the write was accepted. */
  time: number | undefined;
}

export interface MemoryWriteEvent {
  seq: bigint;
  writer: string | undefined;
  /** Unix milliseconds (node clock) when the write was accepted. */
  time: number | undefined;
  ops: { key: Uint8Array; valueHash: string; version: bigint; deleted: boolean }[];
}

export interface MemorySubscription {
  /** Stops listening; `done` then resolves. */
  close(): void;
  /** Resolves when the subscription ends (closed, or failed: see onError). */
  done: Promise<void>;
}

export interface MemorySubscribeOptions {
  /** Replay writes from this seq on (the node keeps them), then follow new ones. */
  from?: bigint | number;
  /** A failed connection is retried (from the seq after the last event seen) unless this returns false. */
  onError?: (error: Error) => boolean | void;
  /** Delay before reconnecting, doubled after each failure up to 30 s (default 500 ms). */
  retryMs?: number;
}

export interface MemoryCheckpointResult {
  /** The checkpoint transaction (not yet mined); null when the chain had this root already (skipped). */
  txHash: string | null;
  seq: bigint;
  root: string;
  skipped: boolean;
}

export interface MemoryWriterStatus {
  writer: string;
  allowed: boolean;
  lastNonce: bigint;
}

/** Which check a verified read failed. */
export type MemoryVerificationFailure =
  /** The proof does not decode or does not lead to the root it was given with. */
  | "forged-proof"
  /** The proof is valid but shows something else than the node's answer (value, seq, version). */
  | "answer-mismatch"
  /** The node's root is older than the latest checkpoint on chain. */
  | "stale-root"
  /** The node's root has the checkpoint's seq but another hash: the node contradicts its own checkpoint. */
  | "checkpoint-mismatch"
  /** The signature of the node's newer root does not recover to the stream's node. */
  | "bad-root-signature"
  /** A receipt is not signed by the stream's node, or not for the write that was sent. */
  | "bad-receipt";

/** A node's answer that the client could not verify; `reason` says which check failed. */
export class MemoryVerificationError extends DaiosError {
  readonly reason: MemoryVerificationFailure;

  constructor(reason: MemoryVerificationFailure, problem: string, options: { hint?: string; cause?: unknown } = {}) {
    super(problem, options);
    this.reason = reason;
  }
}

/** A write whose expectedVersion was not the key's version (HTTP 409); nothing of the request applied. */
export class MemoryConflictError extends DaiosError {
  /** The key (UTF-8 when it decodes as such, hex otherwise). */
  readonly key: string;
  readonly expected: bigint;
  readonly actual: bigint;

  constructor(key: string, expected: bigint, actual: bigint, hint?: string) {
    super(`version conflict on key ${key}: expected version ${expected}, the key is at version ${actual}`, {
      hint: hint ?? "read the key again (its value may have changed), then retry with --expect-version / expectedVersion set to the version you read",
    });
    this.key = key;
    this.expected = expected;
    this.actual = actual;
  }
}

/** An error answer of the memory node ({error, hint}), or a node that does not answer. */
export class MemoryNodeError extends DaiosError {
  /** HTTP status (0 when the node did not answer). */
  readonly status: number;
  /** The node's JSON answer, when it sent one. */
  readonly body: Record<string, unknown> | undefined;

  constructor(status: number, problem: string, options: { hint?: string; cause?: unknown; body?: Record<string, unknown> } = {}) {
    super(problem, options);
    this.status = status;
    this.body = options.body;
  }
}

// ---------------------------------------------------------------------------------------------
// Bytes, hex and wire values

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** The bytes of a key or value given as a string (UTF-8) or bytes. */
export function memoryBytes(value: MemoryBytes): Uint8Array {
  return typeof value === "string" ? utf8Encoder.encode(value) : value;
}

function toHex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")}`;
}

function fromHex(value: unknown, what: string): Uint8Array {
  if (typeof value !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(value)) throw malformedAnswer(`${what} is not 0x hex: ${show(value)}`);
  return new Uint8Array(Buffer.from(value.slice(2), "hex"));
}

/** A key for people: its UTF-8 text when it is printable, its hex otherwise. */
export function displayKey(key: Uint8Array): string {
  try {
    const text = utf8Decoder.decode(key);
    // eslint-disable-next-line no-control-regex
    if (!/[\u0000-\u001f\u007f]/.test(text)) return text;
  } catch {
    // not UTF-8
  }
  return toHex(key);
}

function show(value: unknown): string {
  const text = typeof value === "string" ? value : typeof value === "bigint" ? String(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function malformedAnswer(problem: string): MemoryNodeError {
  return new MemoryNodeError(200, `the memory node sent a malformed answer: ${problem}`, { hint: "the node runs an incompatible version or is faulty; try another node or report it" });
}

function bigintField(value: unknown, what: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === "string" && /^-?\d{1,30}$/.test(value)) return BigInt(value);
  throw malformedAnswer(`${what} is not a whole number: ${show(value)}`);
}

function hashField(value: unknown, what: string): string {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value)) throw malformedAnswer(`${what} is not a bytes32: ${show(value)}`);
  return value.toLowerCase();
}

/** Integers on the wire: decimal strings (uint64 and int64 do not fit a JSON number). */
function wireInt(value: bigint): string {
  return value.toString();
}

function json(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

function hexEqual(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// Receipts

/** A receipt as one JSON line (integers as decimal strings). */
export function receiptToJson(receipt: MemoryReceiptRecord): string {
  return json(receipt);
}

/** The receipts of a receipts file (one JSON line each), in the order they were written. */
export async function readReceipts(file: string): Promise<MemoryReceiptRecord[]> {
  const text = await readFile(file, "utf8");
  const out: MemoryReceiptRecord[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    try {
      const r = JSON.parse(line) as Record<string, unknown>;
      out.push({
        stream: BigInt(r.stream as string),
        seq: BigInt(r.seq as string),
        entriesHash: String(r.entriesHash),
        issuedAt: BigInt(r.issuedAt as string),
        signature: String(r.signature),
        node: String(r.node),
        writer: String(r.writer),
        nonce: BigInt(r.nonce as string),
        entries: (r.entries as MemoryReceiptRecord["entries"]).map((e) => ({ key: String(e.key), keyHash: String(e.keyHash), valueHash: String(e.valueHash) })),
      });
    } catch (error) {
      throw new DaiosError(`${file} line ${i + 1} is not a memory receipt (${errorMessage(error)})`, { hint: "a receipts file holds one JSON receipt per line, as MemoryClient writes them" });
    }
  });
  return out;
}

/** Where a receipt stands against a checkpoint. */
export interface MemoryReceiptCheck {
  receipt: MemoryReceiptRecord;
  /**
   * covered: the checkpoint's seq reaches the receipt's (its writes must be in that root: audit them
   * with MemoryClient.auditReceipt); pending: not yet checkpointed, still within the window; late: not
   * checkpointed past issuedAt + window, so the node can be slashed with slashUncheckpointed.
   */
  status: "covered" | "pending" | "late";
}

/**
 * Sorts receipts by where they stand against `checkpoint` (the stream's latest): covered by it,
 * pending, or late (issuedAt + checkpointWindowSec before `now`, in unix seconds).
 */
export function checkReceiptsAgainst(receipts: readonly MemoryReceiptRecord[], checkpoint: Pick<MemoryCheckpoint, "seq">, checkpointWindowSec: bigint | number, now = BigInt(Math.floor(Date.now() / 1000))): MemoryReceiptCheck[] {
  const window = BigInt(checkpointWindowSec);
  return receipts.map((receipt) => ({
    receipt,
    status: receipt.seq <= checkpoint.seq ? "covered" : BigInt(now) > receipt.issuedAt + window ? "late" : "pending",
  }));
}

/** What auditReceipt found for one op of a receipt. */
export interface MemoryReceiptAudit {
  receipt: MemoryReceiptRecord;
  /** Index of the op in the receipt. */
  index: number;
  /**
   * held: the checkpointed root holds the write (or a later one of the same key); contradicted: the
   * root shows the key absent, an older write, or another value at the receipt's seq — slashable with
   * slashContradiction using `proof` and `checkpoint`; unchecked: the node's root is not the latest
   * checkpoint's (audit again after the next checkpoint).
   */
  result: "held" | "contradicted" | "unchecked";
  checkpoint: MemoryCheckpoint;
  proof?: MemoryProof;
  leaf?: MemoryLeaf;
}

// ---------------------------------------------------------------------------------------------
// The client

export class MemoryClient {
  readonly nodeUrl: string;
  readonly stream: bigint;
  readonly domain: TypedDataDomain;
  private readonly writer: TypedDataSigner | undefined;
  private readonly chain: MemoryChainReader | undefined;
  private readonly givenNode: string | undefined;
  private readonly receiptsFile: string | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly kept: MemoryReceiptRecord[] = [];
  private nodeAddressPromise: Promise<string> | undefined;
  private writerAddressPromise: Promise<string> | undefined;
  /** The last nonce this client used or learnt from the node; undefined before the first write. */
  private lastNonce: bigint | undefined;
  /** Tail of the write queue: writes run one after another. */
  private writeTail: Promise<unknown> = Promise.resolve();
  /** The highest seq this client knows the stream reached (its receipts, verified reads): older roots are stale. */
  private seenSeq = 0n;

  constructor(options: MemoryClientOptions) {
    let url: URL;
    try {
      url = new URL(options.nodeUrl);
    } catch {
      throw new MemoryInputError(`the memory node URL ${show(options.nodeUrl)} is not a URL`, { hint: "pass the node's endpoint, e.g. http://127.0.0.1:8600" });
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new MemoryInputError(`the memory node URL ${options.nodeUrl} is not http(s)`, { hint: "pass the node's http:// or https:// endpoint" });
    this.nodeUrl = options.nodeUrl.replace(/\/+$/, "");
    const stream = BigInt(options.stream);
    if (stream < 1n) throw new MemoryInputError(`stream id ${stream} is not a stream: stream ids start at 1`, { hint: "pass the id createStream returned (daios memory create-stream prints it)" });
    this.stream = stream;
    if (options.domain) this.domain = options.domain;
    else if (options.chainId !== undefined && options.registry !== undefined) this.domain = memoryDomain(options.chainId, options.registry);
    else throw new MemoryInputError("the memory client needs the EIP-712 domain", { hint: "pass chainId and registry (the MemoryRegistry address), or domain" });
    this.writer = options.writer;
    this.chain = options.chain;
    this.givenNode = options.nodeAddress === undefined ? undefined : getAddress(options.nodeAddress);
    this.receiptsFile = options.receiptsFile;
    this.fetchImpl = options.fetch ?? fetch;
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  // ------------------------------------------------------------------ addresses

  /** The stream node's operator address: from chain when the client has a reader, else as given. */
  nodeAddress(): Promise<string> {
    this.nodeAddressPromise ??= (async () => {
      if (this.chain) {
        const onChain = getAddress(await this.chain.nodeOf(this.stream));
        if (this.givenNode !== undefined && this.givenNode !== onChain) {
          throw new MemoryInputError(`stream ${this.stream}'s node is ${onChain} on chain, not ${this.givenNode}`, { hint: "drop nodeAddress, or connect to the stream's own node" });
        }
        return onChain;
      }
      if (this.givenNode !== undefined) return this.givenNode;
      throw new MemoryInputError("the memory client cannot check the node's signatures: it knows no node address", {
        hint: "pass chain (a MemoryChainReader over the MemoryRegistry) or nodeAddress",
      });
    })();
    this.nodeAddressPromise.catch(() => (this.nodeAddressPromise = undefined));
    return this.nodeAddressPromise;
  }

  private requireWriter(): TypedDataSigner {
    if (!this.writer) throw new MemoryInputError("writing to a memory stream needs the writer's key", { hint: "set PRIVATE_KEY or pass --key (the client's writer option in the SDK)" });
    return this.writer;
  }

  /** The writer's address. */
  writerAddress(): Promise<string> {
    const writer = this.requireWriter();
    this.writerAddressPromise ??= writer.getAddress().then(getAddress);
    return this.writerAddressPromise;
  }

  // ------------------------------------------------------------------ HTTP

  private url(path: string): string {
    return `${this.nodeUrl}/v1/streams/${this.stream}${path}`;
  }

  private async request(method: "GET" | "POST", path: string, body?: unknown): Promise<Record<string, unknown>> {
    const url = this.url(path);
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers: body === undefined ? { accept: "application/json" } : { "content-type": "application/json", accept: "application/json" },
        body: body === undefined ? undefined : json(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new MemoryNodeError(0, `the memory node at ${this.nodeUrl} did not answer ${method} ${path} (${errorMessage(error)})`, {
        hint: "check that the node runs and its endpoint is reachable (--node-url overrides the registered one)",
        cause: error,
      });
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === "" ? {} : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      if (!response.ok) throw new MemoryNodeError(response.status, `the memory node answered ${method} ${path} with HTTP ${response.status}: ${show(text)}`, { hint: "check that the URL is a daios memory node" });
      throw malformedAnswer(`${method} ${path} did not return a JSON object`);
    }
    const data = parsed as Record<string, unknown>;
    if (response.ok) return data;
    const problem = typeof data.error === "string" ? data.error : `HTTP ${response.status}`;
    const hint = typeof data.hint === "string" ? data.hint : undefined;
    if (response.status === 409 && data.key !== undefined && data.expected !== undefined && data.actual !== undefined) {
      const key = typeof data.key === "string" && /^0x([0-9a-fA-F]{2})+$/.test(data.key) ? displayKey(fromHex(data.key, "key")) : String(data.key);
      throw new MemoryConflictError(key, bigintField(data.expected, "expected"), bigintField(data.actual, "actual"), hint);
    }
    throw new MemoryNodeError(response.status, `memory node: ${problem}`, { hint, body: data });
  }

  // ------------------------------------------------------------------ writes

  /** Puts `value` under `key`. */
  async put(key: MemoryBytes, value: MemoryBytes, options: MemoryWriteOptions = {}): Promise<MemoryPutResult> {
    const result = await this.batch([{ kind: "put", key, value, expectedVersion: options.expectedVersion }]);
    return { ...result, version: result.versions[0] };
  }

  /** Deletes `key` (a tombstone: the key's version goes up, its value becomes null). */
  async delete(key: MemoryBytes, options: MemoryWriteOptions = {}): Promise<MemoryPutResult> {
    const result = await this.batch([{ kind: "delete", key, expectedVersion: options.expectedVersion }]);
    return { ...result, version: result.versions[0] };
  }

  /** Applies `ops` atomically, in order, under one signature and one seq (all or nothing). */
  batch(ops: readonly MemoryBatchOp[]): Promise<MemoryWriteResult> {
    if (!Array.isArray(ops) || ops.length === 0) return Promise.reject(new MemoryInputError("a batch has no ops", { hint: "pass at least one put or delete" }));
    if (ops.length > MAX_BATCH_OPS) return Promise.reject(new MemoryInputError(`a batch of ${ops.length} ops is more than the ${MAX_BATCH_OPS} one write may carry`, { hint: "split it into several batches" }));
    let prepared: { op: MemoryOp; hashes: MemoryOpHashes }[];
    try {
      prepared = ops.map((op, i) => prepareOp(op, i));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.serially(() => this.send(prepared));
  }

  /** Runs `task` after every write queued before it (nonces reach the node in increasing order). */
  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.writeTail.then(task, task);
    this.writeTail = run.catch(() => undefined);
    return run;
  }

  private async nextNonce(writer: string): Promise<bigint> {
    if (this.lastNonce === undefined) this.lastNonce = (await this.writerStatus(writer)).lastNonce;
    const floor = BigInt(Date.now()) * 1000n;
    const next = this.lastNonce + 1n > floor ? this.lastNonce + 1n : floor;
    this.lastNonce = next;
    return next;
  }

  private async send(prepared: { op: MemoryOp; hashes: MemoryOpHashes }[], retried = false): Promise<MemoryWriteResult> {
    const signer = this.requireWriter();
    const writer = await this.writerAddress();
    const node = await this.nodeAddress();
    const nonce = await this.nextNonce(writer);
    const hashes = prepared.map((p) => p.hashes);
    const signature = await signWrite(signer, this.domain, { stream: this.stream, writer, nonce, opsHash: opsHash(hashes) });
    const body = {
      writer,
      nonce: wireInt(nonce),
      ops: prepared.map(({ op }) => ({
        kind: op.kind,
        key: toHex(op.key),
        ...(op.kind === "put" ? { value: toHex(op.value ?? new Uint8Array()) } : {}),
        ...(op.expectedVersion !== undefined && op.expectedVersion !== NO_EXPECTED_VERSION ? { expectedVersion: wireInt(op.expectedVersion) } : {}),
      })),
      signature,
    };
    let answer: Record<string, unknown>;
    try {
      answer = await this.request("POST", "/writes", body);
    } catch (error) {
      // Another process using the same key moved the nonce on (the node says so with lastNonce): retry once above it.
      if (!retried && error instanceof MemoryNodeError && error.status === 403 && error.body?.lastNonce !== undefined) {
        this.lastNonce = bigintField(error.body.lastNonce, "lastNonce");
        return this.send(prepared, true);
      }
      throw error;
    }
    const seq = bigintField(answer.seq, "seq");
    const receiptBody = answer.receipt as Record<string, unknown> | undefined;
    if (receiptBody === null || typeof receiptBody !== "object") throw malformedAnswer("the write's answer has no receipt");
    const entries = prepared.map(({ op, hashes: h }) => ({ key: toHex(op.key), keyHash: h.keyHash, valueHash: h.valueHash ?? TOMBSTONE_VALUE_HASH }));
    const receipt: MemoryReceiptRecord = {
      stream: bigintField(receiptBody.stream, "receipt.stream"),
      seq: bigintField(receiptBody.seq, "receipt.seq"),
      entriesHash: hashField(receiptBody.entriesHash, "receipt.entriesHash"),
      issuedAt: bigintField(receiptBody.issuedAt, "receipt.issuedAt"),
      signature: typeof answer.signature === "string" ? answer.signature : "",
      node,
      writer,
      nonce,
      entries,
    };
    this.checkReceipt(receipt, seq, entriesHash(entries));
    const versions = Array.isArray(answer.versions) ? answer.versions.map((v, i) => bigintField(v, `versions[${i}]`)) : [];
    if (versions.length !== prepared.length) throw malformedAnswer(`the write's answer gives ${versions.length} versions for ${prepared.length} ops`);
    this.kept.push(receipt);
    if (this.receiptsFile) await appendFile(this.receiptsFile, `${receiptToJson(receipt)}\n`);
    return { seq, nonce, versions, receipt };
  }

  /** Throws unless `receipt` is for this stream, `seq` and these entries, and signed by the node. */
  private checkReceipt(receipt: MemoryReceiptRecord, seq: bigint, expectedEntries: string): void {
    const bad = (problem: string) =>
      new MemoryVerificationError("bad-receipt", `the node's receipt for seq ${seq} ${problem}`, {
        hint: "the node accepted the write but its receipt would not hold against it; keep the node's answer and report the node",
      });
    if (receipt.stream !== this.stream) throw bad(`is for stream ${receipt.stream}, not ${this.stream}`);
    if (receipt.seq !== seq) throw bad(`names seq ${receipt.seq}`);
    if (!hexEqual(receipt.entriesHash, expectedEntries)) throw bad(`commits to entries ${receipt.entriesHash}, not the ops sent (${expectedEntries})`);
    let signer: string;
    try {
      signer = recoverReceiptSigner(this.domain, receipt, receipt.signature);
    } catch (error) {
      throw bad(`has no valid signature (${errorMessage(error)})`);
    }
    if (signer !== receipt.node) throw bad(`is signed by ${signer}, not by the stream's node ${receipt.node}`);
    // The lateness slash counts from issuedAt: a receipt dated far ahead could never be late.
    const now = BigInt(Math.floor(Date.now() / 1000));
    if (receipt.issuedAt > now + RECEIPT_CLOCK_SKEW_SEC || receipt.issuedAt + RECEIPT_CLOCK_SKEW_SEC < now) {
      throw bad(`is dated ${receipt.issuedAt}, more than ${RECEIPT_CLOCK_SKEW_SEC} s from this machine's clock (${now})`);
    }
    if (receipt.seq > this.seenSeq) this.seenSeq = receipt.seq;
  }

  /** Every receipt this client received, oldest first (each checked to be signed by the node). */
  receipts(): readonly MemoryReceiptRecord[] {
    return [...this.kept];
  }

  /** The writer's standing with the node: allowed to write, last accepted nonce. */
  async writerStatus(address?: string): Promise<MemoryWriterStatus> {
    const who = address === undefined ? await this.writerAddress() : getAddress(address);
    const a = await this.request("GET", `/writers/${who}`);
    return { writer: typeof a.writer === "string" ? getAddress(a.writer) : who, allowed: a.allowed === true, lastNonce: bigintField(a.lastNonce ?? 0, "lastNonce") };
  }

  // ------------------------------------------------------------------ reads

  /**
   * The key's state. With `verify` (the default when the client has a chain reader) the node's proof is
   * checked against the latest checkpoint or the node's signed newer root (see the file comment).
   */
  async get(key: MemoryBytes, options: { verify?: boolean } = {}): Promise<MemoryGetResult> {
    const keyBytes = memoryBytes(key);
    const keyHash = keyHashOf(keyBytes);
    const verify = options.verify ?? this.chain !== undefined;
    if (verify && !this.chain) {
      throw new MemoryInputError("cannot verify a read without the chain", { hint: "pass chain (a MemoryChainReader over the MemoryRegistry), or read with verify: false" });
    }
    // The chain's side of the check is read while the node answers (the two do not depend on each other).
    const chainView = verify ? Promise.all([(this.chain as MemoryChainReader).latestCheckpoint(this.stream), this.nodeAddress()]) : undefined;
    chainView?.catch(() => undefined);
    const a = await this.request("GET", `/keys/${toHex(keyBytes)}${verify ? "?proof=1" : ""}`);
    const value = a.value === null || a.value === undefined ? null : fromHex(a.value, "value");
    const result: MemoryGetResult = {
      key: keyBytes,
      value,
      valueHash: a.valueHash === undefined || a.valueHash === null ? TOMBSTONE_VALUE_HASH : hashField(a.valueHash, "valueHash"),
      seq: bigintField(a.seq ?? 0, "seq"),
      version: bigintField(a.version ?? 0, "version"),
      deleted: a.deleted === true,
      root: a.root === undefined ? undefined : hashField(a.root, "root"),
      rootSeq: a.rootSeq === undefined ? undefined : bigintField(a.rootSeq, "rootSeq"),
    };
    if (value !== null && !hexEqual(valueHashOf(value), result.valueHash)) {
      throw new MemoryVerificationError("answer-mismatch", `the node's value for ${displayKey(keyBytes)} hashes to ${valueHashOf(value)}, not the ${result.valueHash} it claims`, {
        hint: "the node altered the value in transit; read from another node or report it",
      });
    }
    if (!verify) return result;
    result.verified = await this.verifyAnswer(keyBytes, keyHash, result, a.proof, a.rootSignature, chainView as Promise<[MemoryCheckpoint, string]>);
    return result;
  }

  /** Checks a read's proof and root (see the file comment); returns how it was verified. */
  private async verifyAnswer(key: Uint8Array, keyHash: string, r: MemoryGetResult, proofWire: unknown, rootSignature: unknown, chainView: Promise<[MemoryCheckpoint, string]>): Promise<MemoryVerification> {
    const { root, rootSeq } = r;
    if (root === undefined || rootSeq === undefined) {
      throw new MemoryVerificationError("answer-mismatch", `the node answered the read of ${displayKey(key)} with a proof but without the root and seq it is against`, {
        hint: "the node does not follow the memory API; read from another node or report it",
      });
    }
    const [checkpoint, node] = await chainView;
    let verification: MemoryVerification;
    if (rootSeq < this.seenSeq) {
      throw new MemoryVerificationError("stale-root", `the node answered against root #${rootSeq}, older than seq ${this.seenSeq} that this client already saw (a receipt or an earlier read)`, {
        hint: "the node went back in time; do not trust this answer, and check your receipts against its checkpoints",
      });
    } else if (rootSeq < checkpoint.seq) {
      throw new MemoryVerificationError("stale-root", `the node answered against root #${rootSeq}, older than the checkpoint on chain (#${checkpoint.index}, seq ${checkpoint.seq})`, {
        hint: "the node is behind its own checkpoint; retry shortly, or read from the stream's node directly",
      });
    } else if (rootSeq === checkpoint.seq) {
      if (!hexEqual(root, checkpoint.root)) {
        throw new MemoryVerificationError("checkpoint-mismatch", `the node's root at seq ${rootSeq} is ${root}, but checkpoint #${checkpoint.index} on chain records ${checkpoint.root} for that seq`, {
          hint: "the node contradicts its own checkpoint; do not trust this answer and report the node",
        });
      }
      verification = { against: "checkpoint", root: checkpoint.root, seq: checkpoint.seq, index: checkpoint.index, timestamp: checkpoint.timestamp };
    } else {
      if (typeof rootSignature !== "string") {
        throw new MemoryVerificationError("bad-root-signature", `the node's root at seq ${rootSeq} is newer than the checkpoint (seq ${checkpoint.seq}) but comes without a signature`, {
          hint: "a root newer than the checkpoint is only accepted signed by the stream's node",
        });
      }
      let signer: string | undefined;
      try {
        signer = recoverRootSigner(this.domain, { stream: this.stream, seq: rootSeq, root: root }, rootSignature);
      } catch {
        signer = undefined;
      }
      if (signer !== node) {
        throw new MemoryVerificationError("bad-root-signature", `the signature of root ${root} (seq ${rootSeq}) ${signer ? `recovers to ${signer}` : "is not a valid signature"}, not to stream ${this.stream}'s node ${node}`, {
          hint: "the answer did not come from the stream's node, or was altered; read from the node registered for the stream",
        });
      }
      verification = { against: "signed-root", root: root, seq: rootSeq, signature: rootSignature, node, checkpoint };
    }

    let shown: ReturnType<typeof verifyMemoryProof>;
    try {
      if (typeof proofWire !== "string") throw new MemoryProofError("malformed", "the answer carries no proof", { hint: "the node must send a proof with ?proof=1" });
      shown = verifyMemoryProof(verification.root, keyHash, decodeProof(proofWire));
    } catch (error) {
      if (!(error instanceof MemoryProofError)) throw error;
      throw new MemoryVerificationError("forged-proof", `the proof for ${displayKey(key)} does not verify against root ${verification.root} (seq ${verification.seq}): ${error.problem}`, {
        hint: "do not trust this answer; the node is faulty or malicious (report it)",
        cause: error,
      });
    }
    const mismatch = (problem: string) =>
      new MemoryVerificationError("answer-mismatch", `the node's answer for ${displayKey(key)} ${problem}`, { hint: "do not trust this answer; the node is faulty or malicious (report it)" });
    if (shown.kind === "absent") {
      if (r.value !== null || r.version !== 0n || r.deleted) throw mismatch(`says version ${r.version}${r.deleted ? " (deleted)" : ""}, but the proof shows the key was never written`);
    } else {
      const leaf = shown.leaf;
      const tombstone = hexEqual(leaf.valueHash, TOMBSTONE_VALUE_HASH);
      if (leaf.seq !== r.seq || leaf.version !== r.version) throw mismatch(`says seq ${r.seq} version ${r.version}, but the proof shows seq ${leaf.seq} version ${leaf.version}`);
      if (tombstone) {
        if (r.value !== null || !r.deleted) throw mismatch("carries a value, but the proof shows the key deleted");
      } else {
        if (r.value === null) throw mismatch("carries no value, but the proof shows one");
        if (!hexEqual(leaf.valueHash, r.valueHash)) throw mismatch(`carries a value with hash ${r.valueHash}, but the proof shows ${leaf.valueHash}`);
        if (r.deleted) throw mismatch("says the key is deleted, but the proof shows a value");
      }
    }
    if (rootSeq > this.seenSeq) this.seenSeq = rootSeq;
    return verification;
  }

  /**
   * The keys under `prefix` in key order (deleted keys skipped), one page at a time. `limit` caps the
   * entries in all; `pageSize` the entries per request.
   */
  async *scan(prefix: MemoryBytes = "", options: { limit?: number; pageSize?: number } = {}): AsyncGenerator<MemoryScanEntry[], void, undefined> {
    const prefixBytes = memoryBytes(prefix);
    if (prefixBytes.length > 0) checkKey(prefixBytes);
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const pageSize = options.pageSize ?? DEFAULT_SCAN_PAGE;
    if (!(limit >= 1) || (limit !== Number.POSITIVE_INFINITY && !Number.isSafeInteger(limit))) throw new MemoryInputError(`scan limit ${limit} is not a positive whole number`);
    if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new MemoryInputError(`scan page size ${pageSize} is not a positive whole number`);
    let after: string | undefined;
    let left = limit;
    while (left > 0) {
      const query = new URLSearchParams({ prefix: toHex(prefixBytes), limit: String(Math.min(pageSize, left)) });
      if (after !== undefined) query.set("after", after);
      const a = await this.request("GET", `/keys?${query.toString()}`);
      const raw = Array.isArray(a.entries) ? a.entries : undefined;
      if (!raw) throw malformedAnswer("a scan page has no entries array");
      const page = raw.slice(0, left).map((e: Record<string, unknown>, i: number) => ({
        key: fromHex(e.key, `entries[${i}].key`),
        value: e.value === null || e.value === undefined ? null : fromHex(e.value, `entries[${i}].value`),
        valueHash: hashField(e.valueHash, `entries[${i}].valueHash`),
        seq: bigintField(e.seq, `entries[${i}].seq`),
        version: bigintField(e.version, `entries[${i}].version`),
      }));
      if (page.length > 0) yield page;
      left -= page.length;
      const next = a.next;
      if (typeof next !== "string" || next === "" || page.length === 0) return;
      after = next;
    }
  }

  /** Every version of `key`, oldest first. */
  async history(key: MemoryBytes): Promise<MemoryHistoryEntry[]> {
    const keyBytes = memoryBytes(key);
    checkKey(keyBytes);
    const a = await this.request("GET", `/history/${toHex(keyBytes)}`);
    const raw = Array.isArray(a.versions) ? a.versions : undefined;
    if (!raw) throw malformedAnswer("the history has no versions array");
    return raw.map((e: Record<string, unknown>, i: number) => {
      const valueHash = hashField(e.valueHash, `versions[${i}].valueHash`);
      return {
        seq: bigintField(e.seq, `versions[${i}].seq`),
        version: bigintField(e.version ?? i + 1, `versions[${i}].version`),
        valueHash,
        value: e.value === undefined ? undefined : e.value === null ? null : fromHex(e.value, `versions[${i}].value`),
        deleted: e.deleted === true || hexEqual(valueHash, TOMBSTONE_VALUE_HASH),
        writer: typeof e.writer === "string" ? e.writer : undefined,
        time: timeField(e.time),
      };
    });
  }

  // ------------------------------------------------------------------ checkpoints

  /** Asks the node to post a checkpoint now; returns its transaction (not yet mined), seq and root. */
  async checkpoint(): Promise<MemoryCheckpointResult> {
    const a = await this.request("POST", "/checkpoint", {});
    const skipped = a.skipped === true;
    const txHash = a.txHash ?? null;
    if (txHash === null ? !skipped : typeof txHash !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(txHash)) throw malformedAnswer(`the checkpoint answer has no transaction hash: ${show(a)}`);
    return { txHash: txHash as string | null, seq: bigintField(a.seq, "seq"), root: hashField(a.root, "root"), skipped };
  }

  /**
   * Audits one covered receipt: reads each of its keys with a proof and, when the node's root is the
   * latest checkpoint's, says whether that root holds the write or contradicts it.
   */
  async auditReceipt(receipt: MemoryReceiptRecord): Promise<MemoryReceiptAudit[]> {
    if (!this.chain) throw new MemoryInputError("auditing receipts needs the chain", { hint: "pass chain (a MemoryChainReader over the MemoryRegistry)" });
    const out: MemoryReceiptAudit[] = [];
    for (const [index, entry] of receipt.entries.entries()) {
      const checkpoint = await this.chain.latestCheckpoint(this.stream);
      const a = await this.request("GET", `/keys/${entry.key}?proof=1`);
      const root = a.root === undefined ? EMPTY_ROOT : hashField(a.root, "root");
      const rootSeq = bigintField(a.rootSeq ?? 0, "rootSeq");
      if (checkpoint.seq < receipt.seq || rootSeq !== checkpoint.seq || !hexEqual(root, checkpoint.root) || typeof a.proof !== "string") {
        out.push({ receipt, index, result: "unchecked", checkpoint });
        continue;
      }
      const proof = decodeProof(a.proof);
      const shown = verifyMemoryProof(checkpoint.root, entry.keyHash, proof);
      if (shown.kind === "absent") {
        out.push({ receipt, index, result: "contradicted", checkpoint, proof });
        continue;
      }
      const leaf = shown.leaf;
      const contradicted = leaf.seq < receipt.seq || (leaf.seq === receipt.seq && !hexEqual(leaf.valueHash, entry.valueHash));
      out.push({ receipt, index, result: contradicted ? "contradicted" : "held", checkpoint, proof, leaf });
    }
    return out;
  }

  // ------------------------------------------------------------------ events

  /**
   * Calls `onWrite` for every accepted write, as the node announces them (server-sent events on
   * /events; with `from`, the node first replays the writes from that seq). A dropped connection is
   * reopened from the seq after the last event seen.
   */
  subscribe(onWrite: (event: MemoryWriteEvent) => void | Promise<void>, options: MemorySubscribeOptions = {}): MemorySubscription {
    const controller = new AbortController();
    let from = options.from === undefined ? undefined : BigInt(options.from);
    const baseDelay = options.retryMs ?? 500;
    const done = (async () => {
      let delay = baseDelay;
      while (!controller.signal.aborted) {
        try {
          const query = from === undefined ? "" : `?from=${from}`;
          const response = await this.fetchImpl(this.url(`/events${query}`), { headers: { accept: "text/event-stream" }, signal: controller.signal });
          if (!response.ok || !response.body) {
            const text = await response.text().catch(() => "");
            let parsed: { error?: string; hint?: string } = {};
            try {
              parsed = JSON.parse(text) as { error?: string; hint?: string };
            } catch {
              // not JSON
            }
            throw new MemoryNodeError(response.status, `memory node: ${parsed.error ?? `the event stream answered HTTP ${response.status}`}`, { hint: parsed.hint });
          }
          delay = baseDelay;
          for await (const message of sseMessages(response.body)) {
            if (message.event !== "write") continue;
            const event = parseWriteEvent(message.data);
            from = event.seq + 1n;
            await onWrite(event);
          }
          if (controller.signal.aborted) return;
          throw new MemoryNodeError(0, `the memory node at ${this.nodeUrl} closed the event stream`, { hint: "it is reopened from the last seq seen" });
        } catch (error) {
          if (controller.signal.aborted) return;
          const err = error instanceof Error ? error : new Error(String(error));
          if (options.onError?.(err) === false) throw err;
          await new Promise((resolve) => setTimeout(resolve, delay));
          delay = Math.min(delay * 2, 30_000);
        }
      }
    })();
    return { close: () => controller.abort(), done };
  }
}

/** Checks and hashes one batch op. */
function prepareOp(op: MemoryBatchOp, at: number): { op: MemoryOp; hashes: MemoryOpHashes } {
  if (op === null || typeof op !== "object") throw new MemoryInputError(`op ${at} is not an op`, { hint: 'pass { kind: "put", key, value } or { kind: "delete", key }' });
  const key = memoryBytes(op.key);
  checkKey(key);
  let expectedVersion: bigint | undefined;
  if (op.expectedVersion !== undefined) {
    if (typeof op.expectedVersion === "number" && !Number.isSafeInteger(op.expectedVersion)) throw new MemoryInputError(`op ${at}: expectedVersion ${op.expectedVersion} is not a whole number`);
    expectedVersion = BigInt(op.expectedVersion);
    if (expectedVersion < 0n) throw new MemoryInputError(`op ${at}: expectedVersion ${expectedVersion} is negative`, { hint: "use 0 for a key that must not exist yet, or the version you read" });
  }
  let memoryOp: MemoryOp;
  if (op.kind === "put") {
    const value = memoryBytes(op.value);
    checkValue(value);
    memoryOp = { kind: "put", key, value, expectedVersion };
  } else if (op.kind === "delete") {
    memoryOp = { kind: "delete", key, expectedVersion };
  } else {
    throw new MemoryInputError(`op ${at} has kind ${show((op as { kind: unknown }).kind)}`, { hint: 'use "put" or "delete"' });
  }
  return { op: memoryOp, hashes: hashOp(memoryOp) };
}

// ---------------------------------------------------------------------------------------------
// Server-sent events

interface SseMessage {
  event: string;
  data: string;
  id: string | undefined;
}

/** The messages of an event stream (text/event-stream), parsed as they arrive. */
export async function* sseMessages(body: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>): AsyncGenerator<SseMessage, void, undefined> {
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "";
  let data: string[] = [];
  let id: string | undefined;
  const chunks = body as AsyncIterable<Uint8Array>;
  for await (const chunk of chunks) {
    buffer += decoder.decode(chunk, { stream: true });
    for (;;) {
      const newline = buffer.search(/\r\n|\r|\n/);
      if (newline < 0) break;
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
      if (line === "") {
        if (data.length > 0) yield { event: event || "message", data: data.join("\n"), id };
        event = "";
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
    }
  }
}

function timeField(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && /^\d{1,16}$/.test(value)) return Number(value);
  return undefined;
}

function parseWriteEvent(data: string): MemoryWriteEvent {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(data) as Record<string, unknown>;
  } catch {
    throw malformedAnswer(`a write event is not JSON: ${show(data)}`);
  }
  const ops = Array.isArray(parsed.ops) ? parsed.ops : [];
  return {
    seq: bigintField(parsed.seq, "event seq"),
    writer: typeof parsed.writer === "string" ? parsed.writer : undefined,
    time: timeField(parsed.time),
    ops: ops.map((o: Record<string, unknown>, i: number) => {
      const valueHash = hashField(o.valueHash, `event ops[${i}].valueHash`);
      return { key: fromHex(o.key, `event ops[${i}].key`), valueHash, version: bigintField(o.version, `event ops[${i}].version`), deleted: hexEqual(valueHash, TOMBSTONE_VALUE_HASH) };
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// Connecting from a deployment (the CLI's path)

/** The contracts of the memory layer and what it relies on. */
export interface MemoryContracts {
  memoryRegistry: MemoryRegistry;
  registry: ProviderRegistry;
  token: DaiosToken;
}

/** The memory contracts of a deployment, or a DaiosError saying the deployment has none. */
export function connectMemoryContracts(deployment: Deployment, runner: Signer | Provider): MemoryContracts {
  const entries = deployment.contracts as Partial<Record<string, { address: string }>>;
  const address = entries.MemoryRegistry?.address;
  if (!address) {
    throw new DaiosError(`the deployment of chain ${deployment.chainId} (id ${deployment.id}) has no MemoryRegistry`, {
      hint: "redeploy with a version that includes the memory layer (npm start does), or point DEPLOYMENT_FILE / --deployment at a deployment that has it",
    });
  }
  const core = connectContracts(deployment, runner);
  return { memoryRegistry: MemoryRegistry__factory.connect(address, runner), registry: core.registry, token: core.token };
}

/** A stream as MemoryRegistry records it (getStream). */
export interface MemoryStreamInfo {
  stream: bigint;
  owner: string;
  node: string;
  status: "None" | "Active" | "Closed" | "Slashed";
  createdAt: bigint;
  collateral: bigint;
  checkpointWindow: bigint;
  ratePerSecond: bigint;
  balance: bigint;
  root: string;
  seq: bigint;
  checkpointedAt: bigint;
  checkpointCount: bigint;
}

const STREAM_STATUS = ["None", "Active", "Closed", "Slashed"] as const;

/** Stream `stream`; MemoryInputError naming the valid ids when there is no such stream. */
export async function memoryStream(memoryRegistry: MemoryRegistry, stream: bigint): Promise<MemoryStreamInfo> {
  const count = await memoryRegistry.streamCount();
  if (stream < 1n || stream > count) {
    throw new MemoryInputError(`stream ${stream} does not exist (${count === 0n ? "no stream was created yet" : `stream ids run from 1 to ${count}`})`, {
      hint: "create one with `daios memory create-stream --node <address>`, or set MEMORY_STREAM / --stream to one of yours",
    });
  }
  const s = await memoryRegistry.getStream(stream);
  return {
    stream,
    owner: s.owner,
    node: s.node,
    status: STREAM_STATUS[Number(s.status)] ?? "None",
    createdAt: s.createdAt,
    collateral: s.collateral,
    checkpointWindow: s.checkpointWindow,
    ratePerSecond: s.ratePerSecond,
    balance: s.balance,
    root: s.root.toLowerCase(),
    seq: s.seq,
    checkpointedAt: s.checkpointedAt,
    checkpointCount: s.checkpointCount,
  };
}

/** The endpoint `node` registered for the memory role in the ProviderRegistry. */
export async function memoryNodeUrl(registry: ProviderRegistry, node: string): Promise<string> {
  const role = await registry.MEMORY_ROLE();
  const p = await registry.getProvider(node, role);
  if (!p.registered || p.endpoint === "") {
    throw new DaiosError(`memory node ${node} has no endpoint registered for the memory role`, { hint: "pass the node's URL with --node-url (or MEMORY_NODE_URL)" });
  }
  return p.endpoint;
}

/** The contract error in `error`, decoded with the memory contracts' interfaces, as text. */
export function memoryRevertText(contracts: MemoryContracts, error: unknown): string | undefined {
  return decodeRevert(error, [contracts.memoryRegistry.interface, contracts.registry.interface, contracts.token.interface])?.text;
}

export interface ConnectMemoryOptions {
  rpcUrl: string;
  /** Hex private key: the writer (and the signer of transactions); without it the client only reads. */
  privateKey?: string;
  deploymentFile?: string;
  stream: bigint | number;
  /** The node's URL; default: the endpoint the stream's node registered. */
  nodeUrl?: string;
  receiptsFile?: string;
}

/** A MemoryClient for a stream on a chain: the stream checked on chain, its node found in the registry. */
export async function connectMemory(options: ConnectMemoryOptions): Promise<{
  client: MemoryClient;
  contracts: MemoryContracts;
  stream: MemoryStreamInfo;
  provider: JsonRpcProvider;
  chainId: bigint;
  deployment: Deployment;
  signer: Wallet | undefined;
  close: () => void;
}> {
  const { provider, chainId, deployment, signer, close } = await connectChain(options);
  try {
    const contracts = connectMemoryContracts(deployment, signer ?? provider);
    const stream = await memoryStream(contracts.memoryRegistry, BigInt(options.stream));
    const nodeUrl = options.nodeUrl ?? (await memoryNodeUrl(contracts.registry, stream.node));
    const client = new MemoryClient({
      nodeUrl,
      stream: stream.stream,
      writer: signer,
      chainId,
      registry: await contracts.memoryRegistry.getAddress(),
      chain: memoryChainReader(contracts.memoryRegistry),
      receiptsFile: options.receiptsFile,
    });
    return { client, contracts, stream, provider, chainId, deployment, signer, close };
  } catch (error) {
    close();
    throw error;
  }
}
