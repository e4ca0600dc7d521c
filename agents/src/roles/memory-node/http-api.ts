/**
 * The memory node's HTTP API (node:http, JSON; bytes are 0x hex, uint64 numbers decimal strings).
 * Every route of a stream lives under /v1/streams/:stream:
 *
 *   POST /writes           {writer, nonce, ops:[{kind:"put"|"delete", key, value?, expectedVersion?}], signature}
 *                          → 200 {stream, seq, receipt:{stream, seq, entriesHash, issuedAt}, signature, versions}
 *   GET  /keys/:key        [?proof=1] → {key, found, value|null, valueHash, seq, version, deleted, writer, time}, and
 *                          with proof=1 also {root, rootSeq, rootSignature, proof} (proof: the wire encoding, against root)
 *   GET  /keys             ?prefix=&after=&limit= → {entries:[{key, value, valueHash, seq, version}], next|null}
 *   GET  /history/:key     → {key, versions:[{seq, version, kind, valueHash, value|null, writer, time}]}
 *   GET  /writes/:seq      → the logged write: {seq, writer, nonce, ops, signature, receipt, receiptSignature, versions, time}
 *   GET  /writers/:address → {writer, allowed, lastNonce|null}
 *   GET  /events           [?from=seq] Server-Sent Events: `event: write`, `id: seq`,
 *                          data {seq, writer, time, ops:[{kind, key, valueHash, version}]}; from: replay from that seq
 *   POST /checkpoint       → {stream, seq, root, txHash|null, skipped}
 *   GET  /checkpoint       → {stream, onChain:{root, seq, timestamp, index}, local:{seq, root}}
 *   GET  /                 → {stream, node, seq, root, checkpoint, snapshot}
 * and GET /v1/health → {ok, address, streams}.
 *
 * Refusals are JSON {error, hint} (409 adds key, expected, actual): 400 malformed (bad hex, empty or too
 * long key, too long value, bad op, malformed signature, duplicate key), 403 the signer is not the
 * named writer, is not (or no longer) a writer, or the nonce is not above its last, 404 unknown stream
 * (or one served by another node: the hint names it), 409 version conflict, 413 body too large. A write
 * is checked completely before the store changes anything, and answered only once it is durable.
 */
import http from "node:http";
import { getAddress, type TypedDataDomain } from "ethers";
import { DaiosError } from "../../core/errors.js";
import { HttpError, sendError, sendJson } from "../../core/http.js";
import { encodeProof } from "../../sdk/memory/smt.js";
import {
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  NO_EXPECTED_VERSION,
  TOMBSTONE_VALUE_HASH,
  keyHashOf,
  opsHash,
  recoverWriter,
  valueHashOf,
  type ReceiptMessage,
  type RootMessage,
} from "../../sdk/memory/signing.js";
import { MAX_STORE_UINT64, NonceNotAboveError, VersionConflictError, WriteRejectedError, bytesToHex, type LogRecord, type MemoryStore, type WriteEvent, type WriteOp, type WriteRequest } from "./store.js";
import type { MemoryNodeMetrics } from "./metrics.js";

/** Most ops in one write request (MemoryRegistry.MAX_ENTRIES: every receipt stays presentable for slashing). */
export const MAX_OPS_PER_WRITE = 1024;
/** Default largest request body. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Default and largest page of GET /keys. */
export const DEFAULT_SCAN_LIMIT = 100;
export const MAX_SCAN_LIMIT = 1000;
const MAX_INT64 = (1n << 63n) - 1n;

/** What the chain says about a stream. */
export interface StreamView {
  /** The node serving the stream. */
  node: string;
  /** Active streams take writes; Closed and Slashed ones are read-only. */
  status: "Active" | "Closed" | "Slashed";
  /** The serving node's registered endpoint, when known (for the hint of a misdirected request). */
  endpoint?: string;
}

/** The chain as the API needs it: who serves a stream and who may write to it. */
export interface MemoryAuthority {
  /** The stream, or undefined when no stream has this id. */
  stream(stream: bigint): Promise<StreamView | undefined>;
  /** Whether `account` may write to the stream now (granted, not revoked, stream Active). */
  isWriter(stream: bigint, account: string): Promise<boolean>;
}

/** The node's operator key: signs receipts and roots. */
export interface NodeSigner {
  address: string;
  signReceipt(receipt: ReceiptMessage): Promise<string>;
  signRoot(root: RootMessage): Promise<string>;
}

/** Checkpoints on chain (absent in tests without a chain: the routes answer 503). */
export interface CheckpointService {
  /** Posts the stream's current root now unless the chain has it already. */
  post(stream: bigint): Promise<{ seq: bigint; root: string; txHash: string | null; skipped: boolean }>;
  /** The latest checkpoint on chain. */
  latest(stream: bigint): Promise<{ root: string; seq: bigint; timestamp: bigint; index: bigint }>;
}

export interface ApiLogger {
  info: (obj: object, msg?: string) => void;
  warn: (obj: object, msg?: string) => void;
}

export interface MemoryNodeApiOptions {
  store: MemoryStore;
  authority: MemoryAuthority;
  signer: NodeSigner;
  /** The EIP-712 domain of the MemoryRegistry (writers' signatures are checked in it). */
  domain: TypedDataDomain;
  log: ApiLogger;
  checkpoints?: CheckpointService;
  metrics?: MemoryNodeMetrics;
  /** Largest request body (default DEFAULT_MAX_BODY_BYTES). */
  maxBodyBytes?: number;
  /** Interval of SSE keep-alive comments (default 15 s). */
  keepAliveMs?: number;
  /** False while the node is starting (health is 503, every other route too). */
  isReady?: () => boolean;
}

// ---------------------------------------------------------------------------------------------
// Parsing

function show(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Bytes of 0x hex, or a 400 naming `what`. */
function parseHex(value: unknown, what: string): Buffer {
  if (typeof value !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(value)) {
    throw new HttpError(400, `${what} ${show(value)} is not 0x-prefixed hex of whole bytes`, "send bytes as 0x followed by an even number of hex digits", "malformed");
  }
  return Buffer.from(value.slice(2), "hex");
}

function parseKey(value: unknown, what = "key"): Buffer {
  const key = parseHex(value, what);
  if (key.length === 0) throw new HttpError(400, `${what} is empty`, `keys are 1 to ${MAX_KEY_BYTES} bytes`, "malformed");
  if (key.length > MAX_KEY_BYTES) throw new HttpError(400, `${what} is ${key.length} bytes, more than the limit of ${MAX_KEY_BYTES}`, `keys are 1 to ${MAX_KEY_BYTES} bytes (hash or shorten long names)`, "malformed");
  return key;
}

/** A whole number given as a JSON number or a decimal string, in [min, max]. */
function parseInteger(value: unknown, what: string, min: bigint, max: bigint): bigint {
  let n: bigint | undefined;
  if (typeof value === "number" && Number.isSafeInteger(value)) n = BigInt(value);
  else if (typeof value === "string" && /^-?\d{1,20}$/.test(value)) n = BigInt(value);
  if (n === undefined || n < min || n > max) throw new HttpError(400, `${what} ${show(value)} is not a whole number from ${min} to ${max}`, `send ${what} as a JSON number or a decimal string`, "malformed");
  return n;
}

function parseStreamId(text: string): bigint {
  if (!/^\d{1,20}$/.test(text) || BigInt(text) < 1n || BigInt(text) > MAX_STORE_UINT64) throw new HttpError(400, `'${show(text)}' is not a stream id`, "stream ids are whole numbers from 1", "malformed");
  return BigInt(text);
}

function parseAddress(value: unknown, what: string): string {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(value)) throw new HttpError(400, `${what} ${show(value)} is not an address`, "send 0x followed by 40 hex digits", "malformed");
  try {
    return getAddress(value);
  } catch {
    throw new HttpError(400, `${what} ${value} has a wrong checksum`, "send the address in lower case or with its correct checksum", "malformed");
  }
}

/** A write request's body: checked entirely (shape, limits, hashes) before anything else happens. */
export function parseWriteBody(body: unknown): WriteRequest & { opsHash: string } {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new HttpError(400, "the body is not a JSON object", "send {writer, nonce, ops, signature}", "malformed");
  const b = body as Record<string, unknown>;
  const writer = parseAddress(b.writer, "writer");
  const nonce = parseInteger(b.nonce, "nonce", 0n, MAX_STORE_UINT64);
  if (!Array.isArray(b.ops) || b.ops.length === 0 || b.ops.length > MAX_OPS_PER_WRITE) {
    throw new HttpError(400, `ops must be an array of 1 to ${MAX_OPS_PER_WRITE} ops`, "send at least one op; split larger batches", "malformed");
  }
  const seen = new Set<string>();
  const ops: WriteOp[] = b.ops.map((raw: unknown, i: number) => {
    const what = `op ${i}`;
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new HttpError(400, `${what} is not an object`, "an op is {kind, key, value?, expectedVersion?}", "malformed");
    const o = raw as Record<string, unknown>;
    if (o.kind !== "put" && o.kind !== "delete") throw new HttpError(400, `${what} has kind ${show(o.kind)}`, 'kind is "put" or "delete"', "malformed");
    const key = parseKey(o.key, `${what} key`);
    const expectedVersion = o.expectedVersion === undefined || o.expectedVersion === null ? NO_EXPECTED_VERSION : parseInteger(o.expectedVersion, `${what} expectedVersion`, -1n, MAX_INT64);
    const keyHash = keyHashOf(key);
    if (seen.has(keyHash)) throw new HttpError(400, `key ${bytesToHex(key)} appears twice in one write`, "a write changes each key at most once: merge the ops or send two writes", "malformed");
    seen.add(keyHash);
    if (o.kind === "delete") {
      if (o.value !== undefined && o.value !== null) throw new HttpError(400, `${what} is a delete with a value`, "omit the value of a delete", "malformed");
      return { kind: "delete", key, keyHash, valueHash: TOMBSTONE_VALUE_HASH, expectedVersion };
    }
    if (o.value === undefined || o.value === null) throw new HttpError(400, `${what} is a put without a value`, 'send the value as hex ("0x" for an empty value) or use a delete', "malformed");
    const value = parseHex(o.value, `${what} value`);
    if (value.length > MAX_VALUE_BYTES) {
      throw new HttpError(400, `${what} value is ${value.length} bytes, more than the limit of ${MAX_VALUE_BYTES}`, "store large data as a storage deal and keep its id in memory", "malformed");
    }
    return { kind: "put", key, keyHash, value, valueHash: valueHashOf(value), expectedVersion };
  });
  if (typeof b.signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(b.signature)) {
    throw new HttpError(400, `signature ${show(b.signature)} is not a 65-byte signature`, "send the writer's EIP-712 signature of Write(stream, writer, nonce, opsHash) as 0x and 130 hex digits", "malformed");
  }
  return { writer, nonce, ops, signature: b.signature, opsHash: opsHash(ops) };
}

/** Reads a JSON body of at most `limit` bytes (413 beyond it, 400 when it is not JSON). */
async function readJson(req: http.IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) throw new HttpError(413, `the body is ${declared} bytes, more than the limit of ${limit}`, "send fewer or smaller ops per write", "too-large");
  const pieces: Buffer[] = [];
  let received = 0;
  for await (const piece of req as AsyncIterable<Buffer>) {
    received += piece.length;
    if (received > limit) throw new HttpError(413, `the body is more than the limit of ${limit} bytes`, "send fewer or smaller ops per write", "too-large");
    pieces.push(piece);
  }
  try {
    return JSON.parse(Buffer.concat(pieces).toString("utf8"));
  } catch {
    throw new HttpError(400, "the body is not valid JSON", "send a JSON object with content-type application/json", "malformed");
  }
}

// ---------------------------------------------------------------------------------------------
// Views

function writeView(stream: bigint, w: LogRecord) {
  return {
    stream: stream.toString(),
    seq: String(w.seq),
    writer: w.writer,
    nonce: w.nonce,
    ops: w.ops.map((op) => ({ kind: op.kind, key: bytesToHex(op.key), ...(op.value === undefined ? {} : { value: bytesToHex(op.value) }), expectedVersion: op.expectedVersion })),
    signature: w.signature,
    receipt: w.receipt,
    receiptSignature: w.receiptSignature,
    versions: w.versions.map(String),
    time: w.time,
  };
}

function eventData(e: { seq: number; writer: string; time: number; ops: { kind: string; key: Uint8Array; valueHash: string; version: number }[] }): string {
  return JSON.stringify({ seq: String(e.seq), writer: e.writer, time: e.time, ops: e.ops.map((op) => ({ kind: op.kind, key: bytesToHex(op.key), valueHash: op.valueHash, version: String(op.version) })) });
}

// ---------------------------------------------------------------------------------------------
// The server

export function createMemoryNodeApi(options: MemoryNodeApiOptions): http.Server {
  const { store, authority, signer, log, metrics } = options;
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  /** Signed roots, one per stream: (seq, root, signature) of the latest signed seq. */
  const signedRoots = new Map<bigint, { seq: bigint; root: string; signature: Promise<string> }>();

  const rootSignature = (stream: bigint, seq: bigint, root: string): Promise<string> => {
    const cached = signedRoots.get(stream);
    if (cached && cached.seq === seq && cached.root === root) return cached.signature;
    const signature = signer.signRoot({ stream, seq, root });
    signedRoots.set(stream, { seq, root, signature });
    signature.catch(() => signedRoots.delete(stream));
    return signature;
  };

  /** The stream if this node serves it; 404 otherwise (naming the node that does). */
  const served = async (stream: bigint): Promise<StreamView> => {
    const view = await authority.stream(stream);
    if (!view) throw new HttpError(404, `stream ${stream} does not exist`, "create it with MemoryRegistry.createStream (daios memory create-stream), or check the id", "unknown-stream");
    if (getAddress(view.node) !== getAddress(signer.address)) {
      throw new HttpError(404, `stream ${stream} is not served by this node (${signer.address})`, `it is served by node ${view.node}${view.endpoint ? ` at ${view.endpoint}` : ""}: send the request there`, "unknown-stream");
    }
    return view;
  };

  async function postWrite(req: http.IncomingMessage, res: http.ServerResponse, stream: bigint): Promise<void> {
    const body = await readJson(req, maxBody);
    const started = performance.now();
    const request = parseWriteBody(body);
    const view = await served(stream);
    let signerAddress: string;
    try {
      signerAddress = recoverWriter(options.domain, { stream, writer: request.writer, nonce: request.nonce, opsHash: request.opsHash }, request.signature);
    } catch (error) {
      throw new HttpError(400, `the signature is malformed: ${(error as DaiosError).problem ?? (error as Error).message}`, "sign Write(stream, writer, nonce, opsHash) with the writer's key (EIP-712, domain daios MemoryRegistry)", "malformed");
    }
    if (signerAddress !== request.writer) {
      throw new HttpError(403, `the write names writer ${request.writer} but was signed by ${signerAddress}`, "sign with the writer's key, over this stream, nonce and these ops, in the MemoryRegistry's domain on this chain", "forbidden");
    }
    if (view.status !== "Active") throw new HttpError(403, `stream ${stream} is ${view.status}: it takes no more writes`, "create a new stream", "forbidden");
    if (!(await authority.isWriter(stream, request.writer))) {
      throw new HttpError(403, `${request.writer} is not a writer of stream ${stream} (never granted, or revoked)`, "the stream's owner grants writers with MemoryRegistry.grantWriter", "forbidden");
    }
    const result = await store.apply(stream, request, (receipt) => signer.signReceipt(receipt));
    metrics?.writes.inc({ outcome: "accepted" });
    for (const op of request.ops) metrics?.ops.inc({ kind: op.kind });
    metrics?.writeSeconds.observe((performance.now() - started) / 1000);
    sendJson(res, 200, {
      stream: stream.toString(),
      seq: result.seq,
      receipt: result.receipt,
      signature: result.signature,
      versions: result.versions,
    });
  }

  async function getKey(res: http.ServerResponse, stream: bigint, keyText: string, url: URL): Promise<void> {
    await served(stream);
    const key = parseKey(keyText);
    const withProof = url.searchParams.get("proof") === "1" || url.searchParams.get("proof") === "true";
    const state = store.get(stream, key);
    metrics?.reads.inc({ kind: withProof ? "proof" : "key" });
    const answer = {
      key: bytesToHex(key),
      found: state !== undefined,
      value: state?.value ? bytesToHex(state.value) : null,
      valueHash: state?.valueHash ?? TOMBSTONE_VALUE_HASH,
      seq: String(state?.seq ?? 0),
      version: String(state?.version ?? 0),
      deleted: state !== undefined && state.value === null,
      writer: state?.writer ?? null,
      time: state?.time ?? null,
    };
    // A plain read skips the root: hashing the paths changed since the last proof and signing the new
    // root cost more than the read itself. With a proof, the state, the proof and the root are read in
    // one synchronous step, so they agree.
    if (!withProof) return sendJson(res, 200, answer);
    const proven = store.prove(stream, keyHashOf(key));
    const signature = rootSignature(stream, proven.seq, proven.root);
    sendJson(res, 200, { ...answer, root: proven.root, rootSeq: proven.seq, rootSignature: await signature, proof: encodeProof(proven.proof) });
  }

  async function scanKeys(res: http.ServerResponse, stream: bigint, url: URL): Promise<void> {
    await served(stream);
    const prefixText = url.searchParams.get("prefix");
    const afterText = url.searchParams.get("after");
    const limitText = url.searchParams.get("limit");
    const prefix = prefixText === null || prefixText === "" || prefixText === "0x" ? undefined : parseHex(prefixText, "prefix");
    const after = afterText === null || afterText === "" ? undefined : parseKey(afterText, "after");
    const limit = limitText === null ? DEFAULT_SCAN_LIMIT : Number(parseInteger(limitText, "limit", 1n, BigInt(MAX_SCAN_LIMIT)));
    const page = store.scan(stream, { prefix, after, limit });
    metrics?.reads.inc({ kind: "scan" });
    sendJson(res, 200, {
      entries: page.entries.map((e) => ({ key: bytesToHex(e.key), value: bytesToHex(e.value ?? new Uint8Array()), valueHash: e.valueHash, seq: String(e.seq), version: String(e.version) })),
      next: page.next === null ? null : bytesToHex(page.next),
    });
  }

  async function history(res: http.ServerResponse, stream: bigint, keyText: string): Promise<void> {
    await served(stream);
    const key = parseKey(keyText);
    metrics?.reads.inc({ kind: "history" });
    sendJson(res, 200, {
      key: bytesToHex(key),
      versions: store.history(stream, key).map((h) => ({
        seq: String(h.seq),
        version: String(h.version),
        kind: h.valueHash === TOMBSTONE_VALUE_HASH ? "delete" : "put",
        valueHash: h.valueHash,
        value: h.value === null ? null : bytesToHex(h.value),
        writer: h.writer,
        time: h.time,
      })),
    });
  }

  async function events(req: http.IncomingMessage, res: http.ServerResponse, stream: bigint, url: URL): Promise<void> {
    await served(stream);
    const fromText = url.searchParams.get("from");
    const lastId = req.headers["last-event-id"];
    // ?from=n replays writes n, n+1, …; a reconnecting EventSource resumes after its Last-Event-ID.
    let from: bigint | undefined;
    if (fromText !== null) from = parseInteger(fromText, "from", 0n, MAX_STORE_UINT64);
    else if (typeof lastId === "string" && /^\d{1,20}$/.test(lastId)) from = BigInt(lastId) + 1n;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no" });
    res.write(": subscribed\n\n");
    metrics?.reads.inc({ kind: "events" });
    metrics?.subscribers.inc();
    let sent = from === undefined ? store.head(stream).seq : from - 1n;
    const send = (seq: number, data: string) => {
      if (BigInt(seq) <= sent) return;
      sent = BigInt(seq);
      res.write(`id: ${seq}\nevent: write\ndata: ${data}\n\n`);
    };
    // Live writes are held back while the log is replayed, then sent after it (each seq once, in order).
    let replaying = true;
    const pending: WriteEvent[] = [];
    const onWrite = (e: WriteEvent) => {
      if (e.stream !== stream) return;
      if (replaying) pending.push(e);
      else send(e.seq, eventData(e));
    };
    store.events.on("write", onWrite);
    const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), keepAliveMs);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(keepAlive);
      store.events.off("write", onWrite);
      metrics?.subscribers.dec();
    };
    res.on("close", close);
    req.on("close", close);
    if (from !== undefined) {
      for (const w of store.writes(stream, from)) {
        if (closed) break;
        send(w.seq, eventData({ seq: w.seq, writer: w.writer, time: w.time, ops: w.ops.map((op, i) => ({ kind: op.kind, key: op.key, valueHash: op.kind === "put" ? valueHashOf(op.value ?? new Uint8Array()) : TOMBSTONE_VALUE_HASH, version: w.versions[i] })) }));
        // Let other requests run during a long replay.
        if (w.seq % 256 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    }
    replaying = false;
    for (const e of pending.splice(0)) send(e.seq, eventData(e));
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://memory-node");
    let parts: string[];
    try {
      parts = url.pathname.split("/").filter(Boolean).map((p) => decodeURIComponent(p));
    } catch {
      throw new HttpError(400, `the path ${url.pathname} is not valid percent-encoding`, "send keys and addresses as 0x hex", "malformed");
    }
    if (parts[0] !== "v1") throw new HttpError(404, `no route ${url.pathname}`, "routes live under /v1");
    const method = req.method ?? "GET";
    const ready = options.isReady?.() ?? true;
    if (method === "GET" && parts.length === 2 && parts[1] === "health") {
      return sendJson(res, ready ? 200 : 503, { ok: ready, address: signer.address, streams: store.streams().filter((s) => s.seq > 0n).length });
    }
    if (!ready) throw new HttpError(503, "the node is starting (registering on chain)", "retry in a few seconds");
    if (parts[1] !== "streams" || parts.length < 3) throw new HttpError(404, `no route ${method} ${url.pathname}`, "stream routes live under /v1/streams/:stream");
    const stream = parseStreamId(parts[2]);
    const rest = parts.slice(3);
    if (rest.length === 0 && method === "GET") {
      const view = await served(stream);
      const head = store.head(stream);
      const record = store.record(stream);
      return sendJson(res, 200, { stream: stream.toString(), node: view.node, status: view.status, seq: head.seq, root: head.root, checkpoint: record?.checkpoint ?? null, snapshot: record?.snapshot ?? null });
    }
    const [what, arg] = rest;
    if (what === "writes" && rest.length === 1 && method === "POST") return postWrite(req, res, stream);
    if (what === "writes" && rest.length === 2 && method === "GET") {
      await served(stream);
      const seq = parseInteger(arg, "seq", 1n, MAX_STORE_UINT64);
      const w = store.write(stream, seq);
      if (!w) throw new HttpError(404, `stream ${stream} has no write ${seq} (its seq is ${store.head(stream).seq})`);
      return sendJson(res, 200, writeView(stream, w));
    }
    if (what === "keys" && rest.length === 2 && method === "GET") return getKey(res, stream, arg, url);
    if (what === "keys" && rest.length === 1 && method === "GET") return scanKeys(res, stream, url);
    if (what === "history" && rest.length === 2 && method === "GET") return history(res, stream, arg);
    if (what === "writers" && rest.length === 2 && method === "GET") {
      await served(stream);
      const writer = parseAddress(arg, "writer");
      const last = store.lastNonce(stream, writer);
      return sendJson(res, 200, { writer, allowed: await authority.isWriter(stream, writer), lastNonce: last === undefined ? null : last.toString() });
    }
    if (what === "events" && rest.length === 1 && method === "GET") return events(req, res, stream, url);
    if (what === "checkpoint" && rest.length === 1 && (method === "GET" || method === "POST")) {
      await served(stream);
      if (!options.checkpoints) throw new HttpError(503, "this node posts no checkpoints (no chain connection)", "ask the node operator");
      const head = store.head(stream);
      if (method === "POST") {
        const posted = await options.checkpoints.post(stream);
        return sendJson(res, 200, { stream: stream.toString(), ...posted });
      }
      const onChain = await options.checkpoints.latest(stream);
      return sendJson(res, 200, { stream: stream.toString(), onChain, local: head });
    }
    throw new HttpError(404, `no route ${method} ${url.pathname}`);
  }

  return http.createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      let status = 500;
      let hint: string | undefined;
      let message = error instanceof Error ? error.message : String(error);
      let extra: Record<string, unknown> = {};
      let reason = "error";
      if (error instanceof HttpError) {
        status = error.status;
        hint = error.hint;
        reason = error.reason ?? "bad-request";
      } else if (error instanceof VersionConflictError) {
        status = 409;
        reason = "conflict";
        extra = { key: error.key, expected: error.expected.toString(), actual: error.actual.toString() };
      } else if (error instanceof NonceNotAboveError) {
        status = 403;
        reason = "forbidden";
        extra = { lastNonce: error.lastNonce.toString() };
      } else if (error instanceof WriteRejectedError) {
        status = 400;
        reason = "malformed";
      }
      if (error instanceof DaiosError) {
        message = error.problem;
        hint = error.hint;
      }
      if (req.method === "POST" && /\/writes\/?$/.test(req.url ?? "")) metrics?.writes.inc({ outcome: reason });
      if (status >= 500) options.log.warn({ err: message, url: req.url }, "request failed");
      else if (req.method === "POST") options.log.info({ status, err: message, url: req.url }, "write refused");
      if (Object.keys(extra).length === 0) return sendError(req, res, status, message, hint);
      if (res.headersSent) return void res.destroy();
      res.setHeader("connection", "close");
      sendJson(res, status, { error: message, hint, ...extra });
      req.resume();
    });
  });
}
