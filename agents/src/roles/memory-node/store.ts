/**
 * The memory node's embedded store: one lmdb environment per (chain, MemoryRegistry), holding every
 * stream this node serves, and each stream's authenticated map (SparseMerkleMap) in memory.
 *
 * Databases (keys are binary, big-endian; values msgpack):
 *
 *   streams  stream(8)                          → StreamRecord   seq, creation time, last checkpoint and snapshot
 *   entries  stream(8) ‖ key                    → EntryRecord    the key's current state (tombstones kept)
 *   history  stream(8) ‖ keyHash(32) ‖ seq(8)   → HistoryRecord  every op on a key (the value stays in the log)
 *   log      stream(8) ‖ seq(8)                 → LogRecord      the signed write, its receipt and node signature
 *   nonces   stream(8) ‖ writer(20)             → string         the writer's last accepted nonce (decimal)
 *
 * Writes. Every write request of a stream goes through that stream's promise chain, so requests are
 * checked and applied one at a time and seq is gap-free. A request is checked completely (nonce above
 * the writer's last, every expectedVersion) before anything changes, then applied in ONE lmdb
 * transaction (entries, history, log, nonce, stream record), and `apply` resolves only after that
 * transaction is committed and flushed to disk (lmdb's default synchronous commit; noSync is never
 * set). Only then is the in-memory map updated and the write published to subscribers.
 *
 * Reads see the state of the last acknowledged write (the stream's `seq`): a key whose entry belongs
 * to a write still being flushed is read from its history at that seq instead, so a value, its leaf
 * and its proof always agree.
 *
 * On open, every stream's map is rebuilt from its entries and the time it took is logged.
 */
import { EventEmitter } from "node:events";
import { mkdirSync } from "node:fs";
import { getAddress } from "ethers";
import { open, type Database, type RootDatabase } from "lmdb";
import { keccak256 } from "../../core/keccak.js";
import { DaiosError, errorMessage } from "../../core/errors.js";
import { EMPTY_ROOT, SparseMerkleMap, type MemoryLeaf, type MemoryProof } from "../../sdk/memory/smt.js";
import { NO_EXPECTED_VERSION, TOMBSTONE_VALUE_HASH, entriesHash, type ReceiptMessage } from "../../sdk/memory/signing.js";

/** Largest stream id and seq this store keys (8 bytes); stream ids are assigned 1, 2, 3, … on chain. */
export const MAX_STORE_UINT64 = (1n << 64n) - 1n;

// ---------------------------------------------------------------------------------------------
// Records

/** A stream's durable state. */
export interface StreamRecord {
  /** Decimal stream id. */
  stream: string;
  /** seq of the last accepted write. */
  seq: number;
  /** Unix ms of the first write. */
  createdAt: number;
  /** The last checkpoint this node posted (or found on chain). */
  checkpoint?: { seq: number; root: string; txHash?: string; time: number };
  /** The last snapshot recorded on chain. */
  snapshot?: { seq: number; root: string; dealId: string; storageRoot: string; txHash?: string; time: number };
}

/** A key's current state. */
export interface EntryRecord {
  keyHash: string;
  /** The value; null for a tombstone. */
  value: Uint8Array | null;
  valueHash: string;
  seq: number;
  version: number;
  writer: string;
  /** Unix ms the write was accepted. */
  time: number;
}

/** One op on a key. */
export interface HistoryRecord {
  seq: number;
  version: number;
  valueHash: string;
  writer: string;
  time: number;
  /** Index of the op in the write (its value is in the log). */
  index: number;
}

/** One op of a write as logged. */
export interface LoggedOp {
  kind: "put" | "delete";
  key: Uint8Array;
  value?: Uint8Array;
  /** Decimal; "-1" when the writer set none. */
  expectedVersion: string;
}

/** A signed write as accepted, with the node's receipt. */
export interface LogRecord {
  seq: number;
  writer: string;
  /** Decimal uint64. */
  nonce: string;
  ops: LoggedOp[];
  /** The writer's EIP-712 signature over Write(stream, writer, nonce, opsHash). */
  signature: string;
  receipt: { stream: string; seq: string; entriesHash: string; issuedAt: string };
  /** The node's EIP-712 signature over the receipt. */
  receiptSignature: string;
  /** The version of each op's key after the write. */
  versions: number[];
  time: number;
}

// ---------------------------------------------------------------------------------------------
// Inputs and results

/** One op of a write request, already parsed and within the limits. */
export interface WriteOp {
  kind: "put" | "delete";
  key: Uint8Array;
  /** keccak256(key). */
  keyHash: string;
  /** The value of a put (may be empty); absent for a delete. */
  value?: Uint8Array;
  /** keccak256(value), or bytes32(0) for a delete. */
  valueHash: string;
  /** -1n: none; 0n: never written; n: the key's version must be n. */
  expectedVersion: bigint;
}

/** A write request whose signature has been checked against `writer`. */
export interface WriteRequest {
  writer: string;
  nonce: bigint;
  ops: WriteOp[];
  signature: string;
}

export interface WriteResult {
  seq: bigint;
  receipt: ReceiptMessage;
  /** The node's signature over the receipt. */
  signature: string;
  versions: bigint[];
}

/** A write published to subscribers once acknowledged. */
export interface WriteEvent {
  stream: bigint;
  seq: number;
  writer: string;
  time: number;
  ops: { kind: "put" | "delete"; key: Uint8Array; valueHash: string; version: number }[];
}

/** A key's state as read at the stream's acknowledged seq. */
export interface KeyState {
  key: Uint8Array;
  keyHash: string;
  /** null for a tombstone. */
  value: Uint8Array | null;
  valueHash: string;
  seq: number;
  version: number;
  writer: string;
  time: number;
}

/** The nonce is not above the writer's last accepted one (403). */
export class NonceNotAboveError extends DaiosError {
  constructor(
    readonly writer: string,
    readonly nonce: bigint,
    readonly lastNonce: bigint,
  ) {
    super(`nonce ${nonce} of writer ${writer} is not above its last accepted nonce ${lastNonce} on this stream`, {
      hint: `sign the write again with a nonce above ${lastNonce} (GET …/writers/${writer} tells the last one)`,
    });
  }
}

/** An op's expectedVersion is not the key's version (409). */
export class VersionConflictError extends DaiosError {
  constructor(
    /** The key, 0x hex. */
    readonly key: string,
    readonly expected: bigint,
    readonly actual: bigint,
  ) {
    super(`key ${key} is at version ${actual}, not the expected ${expected}`, { hint: "read the key again and retry the write with its current version" });
  }
}

/** A write that cannot be taken for a reason of the request (duplicate key, seq exhausted) (400). */
export class WriteRejectedError extends DaiosError {}

export interface StoreLogger {
  info: (obj: object, msg?: string) => void;
  warn: (obj: object, msg?: string) => void;
}

// ---------------------------------------------------------------------------------------------
// Keys

function u64(n: bigint | number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(n));
  return out;
}

function streamId(stream: bigint): Buffer {
  if (stream < 1n || stream > MAX_STORE_UINT64) throw new WriteRejectedError(`stream id ${stream} is out of range`, { hint: "stream ids are whole numbers from 1" });
  return u64(stream);
}

function hexBytes(hex: string): Buffer {
  return Buffer.from(hex.slice(2), "hex");
}

function toHex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")}`;
}

/** The lexicographically next byte string after every string starting with `prefix` (undefined: none). */
function prefixEnd(prefix: Buffer): Buffer | undefined {
  const out = Buffer.from(prefix);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] < 0xff) {
      out[i]++;
      return out.subarray(0, i + 1);
    }
  }
  return undefined;
}

const entryKey = (stream: bigint, key: Uint8Array) => Buffer.concat([streamId(stream), key]);
const historyKey = (stream: bigint, keyHash: string, seq: bigint | number) => Buffer.concat([streamId(stream), hexBytes(keyHash), u64(seq)]);
const logKey = (stream: bigint, seq: bigint | number) => Buffer.concat([streamId(stream), u64(seq)]);
const nonceKey = (stream: bigint, writer: string) => Buffer.concat([streamId(stream), hexBytes(getAddress(writer))]);

// ---------------------------------------------------------------------------------------------
// The store

interface StreamState {
  id: bigint;
  /** seq of the last acknowledged write. */
  seq: bigint;
  map: SparseMerkleMap;
  /** The tail of this stream's write chain. */
  tail: Promise<unknown>;
  createdAt: number;
}

export interface MemoryStoreOptions {
  log?: StoreLogger;
  /** The node's clock (ms); tests move it. */
  now?: () => number;
}

export class MemoryStore {
  /** Set when a commit failed: the store then refuses writes until restarted. */
  private broken: DaiosError | undefined;

  /** Emits "write" (WriteEvent) after each acknowledged write. */
  readonly events = new EventEmitter();
  private readonly streamsState = new Map<bigint, StreamState>();
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly env: RootDatabase,
    private readonly streamsDb: Database<StreamRecord, Buffer>,
    private readonly entriesDb: Database<EntryRecord, Buffer>,
    private readonly historyDb: Database<HistoryRecord, Buffer>,
    private readonly logDb: Database<LogRecord, Buffer>,
    private readonly noncesDb: Database<string, Buffer>,
    private readonly now: () => number,
  ) {
    this.events.setMaxListeners(0);
  }

  /** Opens (or creates) the store in `dir` and rebuilds every stream's map from its entries. */
  static async open(dir: string, options: MemoryStoreOptions = {}): Promise<MemoryStore> {
    mkdirSync(dir, { recursive: true });
    let env: RootDatabase;
    try {
      env = open({ path: dir, maxDbs: 8, mapSize: 1 << 30 });
    } catch (error) {
      throw new DaiosError(`cannot open the memory store in ${dir} (${(error as Error).message})`, { hint: "check MEMORY_DATA_DIR: it must be a writable directory used by one node at a time", cause: error });
    }
    const db = <V>(name: string) => env.openDB<V, Buffer>({ name, keyEncoding: "binary", encoding: name === "nonces" ? "string" : "msgpack" });
    const store = new MemoryStore(dir, env, db("streams"), db("entries"), db("history"), db("log"), db("nonces"), options.now ?? Date.now);
    const started = performance.now();
    const leaves = store.rebuild();
    const ms = Math.round(performance.now() - started);
    options.log?.info({ dir, streams: store.streamsState.size, leaves, ms }, `memory store opened: ${store.streamsState.size} stream map(s) with ${leaves} leaves rebuilt in ${ms} ms`);
    return store;
  }

  private rebuild(): number {
    let leaves = 0;
    for (const { value } of this.streamsDb.getRange()) {
      const id = BigInt(value.stream);
      this.streamsState.set(id, { id, seq: BigInt(value.seq), map: new SparseMerkleMap(), tail: Promise.resolve(), createdAt: value.createdAt });
    }
    for (const { key, value } of this.entriesDb.getRange()) {
      const id = key.readBigUInt64BE(0);
      const state = this.streamsState.get(id);
      if (!state) throw new DaiosError(`the memory store in ${this.dir} has entries of stream ${id} but no record of the stream`, { hint: "the store is damaged: restore it from the stream's last snapshot" });
      state.map.set(value.keyHash, { valueHash: value.valueHash, seq: BigInt(value.seq), version: BigInt(value.version) });
      leaves++;
    }
    // Hash every map now, not at the first read.
    for (const state of this.streamsState.values()) state.map.root();
    return leaves;
  }

  /** Closes the environment after the writes under way are done. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.streamsState.values()].map((s) => s.tail));
    this.events.removeAllListeners();
    await this.env.close();
  }

  /** The streams this store holds (those with at least one write). */
  streams(): { stream: bigint; seq: bigint; root: string }[] {
    return [...this.streamsState.values()].map((s) => ({ stream: s.id, seq: s.seq, root: s.map.root() }));
  }

  /** Whether the store holds stream `stream`. */
  has(stream: bigint): boolean {
    return this.streamsState.has(stream);
  }

  /** seq and root of the last acknowledged write (0 and bytes32(0) for a stream without writes). */
  head(stream: bigint): { seq: bigint; root: string } {
    const state = this.streamsState.get(stream);
    return state ? { seq: state.seq, root: state.map.root() } : { seq: 0n, root: EMPTY_ROOT };
  }

  /** The stream's durable record, if it has one. */
  record(stream: bigint): StreamRecord | undefined {
    return this.streamsDb.get(streamId(stream));
  }

  /** The writer's last accepted nonce on the stream (undefined: none yet). */
  lastNonce(stream: bigint, writer: string): bigint | undefined {
    const text = this.noncesDb.get(nonceKey(stream, writer));
    return text === undefined ? undefined : BigInt(text);
  }

  /**
   * Checks and applies one write request, after every earlier one of the stream. Resolves once the
   * write is durable; rejects with NonceNotAboveError, VersionConflictError or WriteRejectedError
   * (nothing changed) or with the lmdb error (nothing changed either).
   * `sign` signs the receipt with the node's key.
   */
  apply(stream: bigint, request: WriteRequest, sign: (receipt: ReceiptMessage) => Promise<string>): Promise<WriteResult> {
    if (this.closed) return Promise.reject(new DaiosError("the memory store is closed", { hint: "the node is shutting down; retry on its restart" }));
    streamId(stream);
    let state = this.streamsState.get(stream);
    if (!state) {
      state = { id: stream, seq: 0n, map: new SparseMerkleMap(), tail: Promise.resolve(), createdAt: this.now() };
      this.streamsState.set(stream, state);
    }
    const s = state;
    const run = s.tail.catch(() => undefined).then(() => this.applyNow(s, request, sign));
    s.tail = run.catch(() => undefined);
    return run;
  }

  private async applyNow(s: StreamState, request: WriteRequest, sign: (receipt: ReceiptMessage) => Promise<string>): Promise<WriteResult> {
    const stream = s.id;
    const writer = getAddress(request.writer);
    // --- checks, against the acknowledged state (this is the only writer of the stream)
    if (request.ops.length === 0) throw new WriteRejectedError("the write has no ops", { hint: "send at least one op" });
    const seen = new Set<string>();
    for (const op of request.ops) {
      if (seen.has(op.keyHash)) throw new WriteRejectedError(`key ${toHex(op.key)} appears twice in one write`, { hint: "a write changes each key at most once: merge the ops or send two writes" });
      seen.add(op.keyHash);
    }
    const last = this.lastNonce(stream, writer);
    if (last !== undefined && request.nonce <= last) throw new NonceNotAboveError(writer, request.nonce, last);
    const versions: bigint[] = [];
    for (const op of request.ops) {
      const current = s.map.get(op.keyHash)?.version ?? 0n;
      if (op.expectedVersion !== NO_EXPECTED_VERSION && op.expectedVersion !== current) throw new VersionConflictError(toHex(op.key), op.expectedVersion, current);
      versions.push(current + 1n);
    }
    const seq = s.seq + 1n;
    if (seq > BigInt(Number.MAX_SAFE_INTEGER)) throw new WriteRejectedError(`stream ${stream} has run out of sequence numbers`, { hint: "open a new stream" });
    const time = this.now();
    const receipt: ReceiptMessage = { stream, seq, entriesHash: entriesHash(request.ops.map((op) => ({ keyHash: op.keyHash, valueHash: op.valueHash }))), issuedAt: BigInt(Math.floor(time / 1000)) };
    const receiptSignature = await sign(receipt);

    // --- one transaction; acknowledged once committed and flushed
    const seqNumber = Number(seq);
    const record: StreamRecord = { ...(this.record(stream) ?? { stream: stream.toString(), createdAt: s.createdAt }), seq: seqNumber };
    const logRecord: LogRecord = {
      seq: seqNumber,
      writer,
      nonce: request.nonce.toString(),
      ops: request.ops.map((op) => ({ kind: op.kind, key: Buffer.from(op.key), ...(op.value === undefined ? {} : { value: Buffer.from(op.value) }), expectedVersion: op.expectedVersion.toString() })),
      signature: request.signature,
      receipt: { stream: stream.toString(), seq: seq.toString(), entriesHash: receipt.entriesHash, issuedAt: receipt.issuedAt.toString() },
      receiptSignature,
      versions: versions.map(Number),
      time,
    };
    if (this.broken) throw this.broken;
    const committed = this.env.transaction(() => {
      request.ops.forEach((op, i) => {
        const version = Number(versions[i]);
        const value = op.kind === "put" ? Buffer.from(op.value ?? new Uint8Array()) : null;
        void this.entriesDb.put(entryKey(stream, op.key), { keyHash: op.keyHash, value, valueHash: op.valueHash, seq: seqNumber, version, writer, time });
        void this.historyDb.put(historyKey(stream, op.keyHash, seq), { seq: seqNumber, version, valueHash: op.valueHash, writer, time, index: i });
      });
      void this.logDb.put(logKey(stream, seq), logRecord);
      void this.noncesDb.put(nonceKey(stream, writer), request.nonce.toString());
      void this.streamsDb.put(streamId(stream), record);
    });
    try {
      await committed;
      await this.env.flushed;
    } catch (error) {
      // The transaction may be on disk without the map knowing it: a later write would reuse its seq.
      // Refuse every write from now on; a restart rebuilds the map from what is on disk.
      this.broken = new DaiosError(`the memory store failed to commit a write of stream ${stream} (${errorMessage(error)}); it takes no more writes`, {
        hint: "restart the memory node: it rebuilds every stream from the store on disk",
        cause: error,
      });
      throw this.broken;
    }

    // --- acknowledged: the map and the readers move on together
    request.ops.forEach((op, i) => s.map.set(op.keyHash, { valueHash: op.valueHash, seq, version: versions[i] }));
    s.seq = seq;
    const event: WriteEvent = { stream, seq: seqNumber, writer, time, ops: request.ops.map((op, i) => ({ kind: op.kind, key: op.key, valueHash: op.valueHash, version: Number(versions[i]) })) };
    this.events.emit("write", event);
    // The root is not computed here: hashing waits for the next proof or checkpoint, so that a burst of
    // writes rehashes each changed path once.
    return { seq, receipt, signature: receiptSignature, versions };
  }

  /** A key's state at the acknowledged seq, or undefined when it was never written by then. */
  get(stream: bigint, key: Uint8Array): KeyState | undefined {
    const state = this.streamsState.get(stream);
    if (!state) return undefined;
    const entry = this.entriesDb.get(entryKey(stream, key));
    if (!entry) return undefined;
    return this.stateAt(stream, key, entry, state.seq);
  }

  /** The state of `key` at `seq`, given its current entry. */
  private stateAt(stream: bigint, key: Uint8Array, entry: EntryRecord, seq: bigint): KeyState | undefined {
    if (BigInt(entry.seq) <= seq) return { key, ...entry };
    for (const { value: h } of this.historyDb.getRange({ start: historyKey(stream, entry.keyHash, seq), end: historyKey(stream, entry.keyHash, 0), inclusiveEnd: true, reverse: true, limit: 1 })) {
      return { key, keyHash: entry.keyHash, value: this.valueOf(stream, h), valueHash: h.valueHash, seq: h.seq, version: h.version, writer: h.writer, time: h.time };
    }
    return undefined;
  }

  private valueOf(stream: bigint, h: HistoryRecord): Uint8Array | null {
    if (h.valueHash === TOMBSTONE_VALUE_HASH) return null;
    const op = this.logDb.get(logKey(stream, h.seq))?.ops[h.index];
    return op?.value ?? new Uint8Array();
  }

  /** A proof for `keyHash` against the stream's current root, with that root and seq. */
  prove(stream: bigint, keyHash: string): { proof: MemoryProof; root: string; seq: bigint; leaf?: MemoryLeaf } {
    const state = this.streamsState.get(stream);
    const map = state?.map ?? new SparseMerkleMap();
    const proof = map.prove(keyHash);
    return { proof, root: map.root(), seq: state?.seq ?? 0n, leaf: map.get(keyHash) };
  }

  /**
   * Live keys (tombstones skipped) in key order at the acknowledged seq: those starting with
   * `prefix`, after `after` (exclusive), at most `limit`; `next` is the cursor of the next page.
   */
  scan(stream: bigint, options: { prefix?: Uint8Array; after?: Uint8Array; limit: number }): { entries: KeyState[]; next: Uint8Array | null } {
    const state = this.streamsState.get(stream);
    if (!state) return { entries: [], next: null };
    const base = Buffer.concat([streamId(stream), options.prefix ?? new Uint8Array()]);
    let start = base;
    let exclusiveStart = false;
    if (options.after !== undefined) {
      const after = Buffer.concat([streamId(stream), options.after]);
      if (Buffer.compare(after, base) >= 0) {
        start = after;
        exclusiveStart = true;
      }
    }
    const end = prefixEnd(base);
    const entries: KeyState[] = [];
    let next: Uint8Array | null = null;
    for (const { key, value } of this.entriesDb.getRange({ start, end, exclusiveStart })) {
      if (!key.subarray(0, base.length).equals(base)) break;
      const read = this.stateAt(stream, key.subarray(8), value, state.seq);
      if (!read || read.value === null) continue;
      if (entries.length === options.limit) {
        next = entries[entries.length - 1].key;
        break;
      }
      entries.push({ ...read, key: Buffer.from(key.subarray(8)) });
    }
    return { entries, next };
  }

  /** Every op on `key` up to the acknowledged seq, oldest first, with its value (null for a delete). */
  history(stream: bigint, key: Uint8Array): (HistoryRecord & { value: Uint8Array | null })[] {
    const state = this.streamsState.get(stream);
    if (!state) return [];
    const keyHash = toHex(keccak256(key));
    const out: (HistoryRecord & { value: Uint8Array | null })[] = [];
    for (const { value } of this.historyDb.getRange({ start: historyKey(stream, keyHash, 0), end: historyKey(stream, keyHash, state.seq), inclusiveEnd: true })) {
      out.push({ ...value, value: this.valueOf(stream, value) });
    }
    return out;
  }

  /** The logged writes with seq in [from, to] (to: the acknowledged seq), in order. */
  *writes(stream: bigint, from: bigint, to?: bigint): IterableIterator<LogRecord> {
    const state = this.streamsState.get(stream);
    if (!state) return;
    const last = to === undefined || to > state.seq ? state.seq : to;
    if (from < 1n) from = 1n;
    if (from > last) return;
    for (const { value } of this.logDb.getRange({ start: logKey(stream, from), end: logKey(stream, last), inclusiveEnd: true })) yield value;
  }

  /** The logged write `seq` of the stream (up to the acknowledged seq). */
  write(stream: bigint, seq: bigint): LogRecord | undefined {
    const state = this.streamsState.get(stream);
    if (!state || seq < 1n || seq > state.seq) return undefined;
    return this.logDb.get(logKey(stream, seq));
  }

  /** Every key's state at `seq` (≤ the acknowledged seq), tombstones included, in key order. */
  *statesAt(stream: bigint, seq: bigint): IterableIterator<KeyState> {
    if (!this.streamsState.has(stream)) return;
    const base = streamId(stream);
    for (const { key, value } of this.entriesDb.getRange({ start: base, end: prefixEnd(base) })) {
      const read = this.stateAt(stream, Buffer.from(key.subarray(8)), value, seq);
      if (read) yield read;
    }
  }

  /** Records the stream's last checkpoint. */
  async setCheckpoint(stream: bigint, checkpoint: NonNullable<StreamRecord["checkpoint"]>): Promise<void> {
    await this.updateRecord(stream, (r) => ({ ...r, checkpoint }));
  }

  /** Records the stream's last snapshot. */
  async setSnapshot(stream: bigint, snapshot: NonNullable<StreamRecord["snapshot"]>): Promise<void> {
    await this.updateRecord(stream, (r) => ({ ...r, snapshot }));
  }

  private async updateRecord(stream: bigint, change: (r: StreamRecord) => StreamRecord): Promise<void> {
    const state = this.streamsState.get(stream);
    if (!state) return;
    // Through the stream's chain, so the write path's record (seq) is never overwritten with an older one.
    const run = state.tail.catch(() => undefined).then(async () => {
      const current = this.record(stream) ?? { stream: stream.toString(), seq: Number(state.seq), createdAt: state.createdAt };
      await this.streamsDb.put(streamId(stream), change(current));
      await this.env.flushed;
    });
    state.tail = run.catch(() => undefined);
    await run;
  }
}

/** 0x hex of bytes (lower case). */
export { toHex as bytesToHex };
