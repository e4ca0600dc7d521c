/**
 * MemoryClient's checks (agents/src/sdk/memory/client.ts) against a small fake of the memory node's
 * HTTP API, injected as the client's fetch. The fake keeps a real SparseMerkleMap, builds real proofs
 * and signs receipts and roots with a real node key (signing.ts); the chain is a fake reader whose
 * checkpoint the test sets. Each test then makes the fake lie in one way and expects the client to
 * refuse with the matching reason: a forged proof, a stale root, a root signed by another key, a
 * receipt for other ops or by another key; and it checks version conflicts and nonce ordering.
 * The real node (agents/src/roles/memory-node) is exercised by its own tests and the end-to-end test.
 *
 *   npx hardhat test mocha test/mocha/sdk/memory/client.test.ts
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet, getAddress, hexlify, keccak256, toUtf8Bytes } from "ethers";
import {
  MemoryClient,
  MemoryConflictError,
  MemoryInputError,
  MemoryNodeError,
  MemoryVerificationError,
  checkReceiptsAgainst,
  readReceipts,
  sseMessages,
  type MemoryChainReader,
  type MemoryCheckpoint,
  type MemoryWriteEvent,
} from "../../../../agents/src/sdk/memory/client.js";
import { MAX_VALUE_BYTES, TOMBSTONE_VALUE_HASH, entriesHash, keyHashOf, memoryDomain, signReceipt, signRoot } from "../../../../agents/src/sdk/memory/signing.js";
import { EMPTY_ROOT, SparseMerkleMap, encodeProof, type MemoryProof } from "../../../../agents/src/sdk/memory/smt.js";

const STREAM = 7n;
const REGISTRY = "0x00000000000000000000000000000000000000aa";
const CHAIN_ID = 31337n;
const domain = memoryDomain(CHAIN_ID, REGISTRY);
const utf8 = (text: string) => toUtf8Bytes(text);

interface FakeEntry {
  key: string;
  value: string | null;
  valueHash: string;
  seq: bigint;
  version: bigint;
}

/** The fake node: an honest memory node's answers, unless a `lie` is set. */
class FakeNode {
  readonly map = new SparseMerkleMap();
  readonly entries = new Map<string, FakeEntry>();
  seq = 0n;
  lastNonce = new Map<string, bigint>();
  /** Nonces of POST /writes in arrival order, and the most requests in flight at once. */
  readonly nonces: bigint[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** How the next answers lie. */
  lie: {
    proof?: (proof: MemoryProof) => MemoryProof;
    value?: string;
    /** The value hash the answer states (default: the leaf's). */
    statedHash?: string;
    rootKey?: Wallet;
    receiptKey?: Wallet;
    receiptEntries?: string;
    /** Answer reads as of this older state (root, seq, proofs of a snapshot map). */
    snapshot?: { map: SparseMerkleMap; seq: bigint };
  } = {};

  constructor(readonly key: Wallet) {}

  fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const parts = url.pathname.split("/").filter(Boolean);
    expect(parts.slice(0, 3)).to.deep.equal(["v1", "streams", String(STREAM)]);
    const [what, arg] = parts.slice(3);
    const method = init?.method ?? "GET";
    if (what === "writes" && method === "POST") return this.write(JSON.parse(String(init?.body)) as WriteBody);
    if (what === "writers") return json(200, { writer: getAddress(arg), allowed: true, lastNonce: this.lastNonce.get(getAddress(arg))?.toString() ?? null });
    if (what === "keys" && arg !== undefined) return this.read(arg, url.searchParams.get("proof") === "1");
    if (what === "keys") {
      const prefix = url.searchParams.get("prefix") ?? "0x";
      const after = url.searchParams.get("after");
      const limit = Number(url.searchParams.get("limit"));
      const live = [...this.entries.values()].filter((e) => e.value !== null && e.key.startsWith(prefix) && (after === null || e.key > after)).sort((a, b) => (a.key < b.key ? -1 : 1));
      const page = live.slice(0, limit);
      return json(200, { entries: page.map((e) => ({ key: e.key, value: e.value, valueHash: e.valueHash, seq: String(e.seq), version: String(e.version) })), next: live.length > limit ? page[page.length - 1].key : null });
    }
    return json(404, { error: `no route ${method} ${url.pathname}`, hint: "fake" });
  };

  private async write(body: WriteBody): Promise<Response> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      this.nonces.push(BigInt(body.nonce));
      // Answer slowly and out of step, so that a client sending concurrently would show it.
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.floor(Math.random() * 10)));
      const last = this.lastNonce.get(body.writer);
      if (last !== undefined && BigInt(body.nonce) <= last) {
        return json(403, { error: `nonce ${body.nonce} of writer ${body.writer} is not above its last accepted nonce ${last} on this stream`, hint: "sign again", lastNonce: last.toString() });
      }
      for (const op of body.ops) {
        const current = this.entries.get(op.key)?.version ?? 0n;
        if (op.expectedVersion !== undefined && BigInt(op.expectedVersion) !== current) {
          return json(409, { error: `key ${op.key} is at version ${current}`, hint: "read the key again", key: op.key, expected: op.expectedVersion, actual: current.toString() });
        }
      }
      this.lastNonce.set(body.writer, BigInt(body.nonce));
      const seq = ++this.seq;
      const versions: string[] = [];
      const entries: { keyHash: string; valueHash: string }[] = [];
      for (const op of body.ops) {
        const keyHash = keccak256(op.key);
        const valueHash = op.kind === "put" ? keccak256(op.value as string) : TOMBSTONE_VALUE_HASH;
        const version = (this.entries.get(op.key)?.version ?? 0n) + 1n;
        this.entries.set(op.key, { key: op.key, value: op.kind === "put" ? (op.value as string) : null, valueHash, seq, version });
        this.map.set(keyHash, { valueHash, seq, version });
        versions.push(version.toString());
        entries.push({ keyHash, valueHash });
      }
      const receipt = { stream: STREAM, seq, entriesHash: this.lie.receiptEntries ?? entriesHash(entries), issuedAt: BigInt(Math.floor(Date.now() / 1000)) };
      const signature = await signReceipt(this.lie.receiptKey ?? this.key, domain, receipt);
      return json(200, { stream: STREAM.toString(), seq: seq.toString(), receipt: { ...receipt, stream: receipt.stream.toString(), seq: seq.toString(), issuedAt: receipt.issuedAt.toString() }, signature, versions });
    } finally {
      this.inFlight--;
    }
  }

  private async read(keyHex: string, withProof: boolean): Promise<Response> {
    const map = this.lie.snapshot?.map ?? this.map;
    const seq = this.lie.snapshot?.seq ?? this.seq;
    const keyHash = keccak256(keyHex);
    const leaf = map.get(keyHash);
    const entry = this.lie.snapshot ? undefined : this.entries.get(keyHex);
    const value = this.lie.value ?? (entry ? entry.value : null);
    let proof = map.prove(keyHash);
    if (this.lie.proof) proof = this.lie.proof(proof);
    const root = map.root();
    return json(200, {
      key: keyHex,
      found: leaf !== undefined,
      value,
      valueHash: this.lie.statedHash ?? leaf?.valueHash ?? TOMBSTONE_VALUE_HASH,
      seq: String(leaf?.seq ?? 0n),
      version: String(leaf?.version ?? 0n),
      deleted: leaf !== undefined && leaf.valueHash === TOMBSTONE_VALUE_HASH,
      root,
      rootSeq: seq.toString(),
      rootSignature: await signRoot(this.lie.rootKey ?? this.key, domain, { stream: STREAM, seq, root }),
      ...(withProof ? { proof: encodeProof(proof) } : {}),
    });
  }
}

interface WriteBody {
  writer: string;
  nonce: string;
  ops: { kind: "put" | "delete"; key: string; value?: string; expectedVersion?: string }[];
  signature: string;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** The chain as the client reads it: a checkpoint the test sets, and the stream's node. */
class FakeChain implements MemoryChainReader {
  checkpoint: MemoryCheckpoint = { root: EMPTY_ROOT, seq: 0n, timestamp: 0n, index: 0n };
  constructor(readonly node: string) {}
  async latestCheckpoint(stream: bigint): Promise<MemoryCheckpoint> {
    expect(stream).to.equal(STREAM);
    return this.checkpoint;
  }
  async nodeOf(stream: bigint): Promise<string> {
    expect(stream).to.equal(STREAM);
    return this.node;
  }
  /** Posts the node's current root as the next checkpoint. */
  post(node: FakeNode): void {
    this.checkpoint = { root: node.map.root(), seq: node.seq, timestamp: BigInt(Math.floor(Date.now() / 1000)), index: this.checkpoint.seq === 0n ? 0n : this.checkpoint.index + 1n };
  }
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the call to fail");
}

describe("MemoryClient (against a fake node: verification, receipts, conflicts, nonces)", function () {
  let nodeKey: Wallet;
  let writer: Wallet;
  let node: FakeNode;
  let chain: FakeChain;
  let client: MemoryClient;
  let dir: string;

  beforeEach(() => {
    nodeKey = Wallet.createRandom() as unknown as Wallet;
    writer = Wallet.createRandom() as unknown as Wallet;
    node = new FakeNode(nodeKey);
    chain = new FakeChain(nodeKey.address);
    dir = mkdtempSync(path.join(os.tmpdir(), "daios-memory-client-"));
    client = new MemoryClient({ nodeUrl: "http://memory-node.test/", stream: STREAM, writer, chainId: CHAIN_ID, registry: REGISTRY, chain, fetch: node.fetch, receiptsFile: path.join(dir, "receipts.jsonl") });
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes, keeps checked receipts, and reads verified against the checkpoint or the node's signed newer root", async () => {
    const first = await client.put("notes/a", "alpha");
    expect(first).to.deep.include({ seq: 1n, version: 1n, versions: [1n] });
    const second = await client.batch([
      { kind: "put", key: "notes/b", value: utf8("beta") },
      { kind: "put", key: "notes/c", value: "" },
    ]);
    expect(second.seq).to.equal(2n);
    expect(second.versions).to.deep.equal([1n, 1n]);
    expect(second.receipt.entries.map((e) => e.keyHash)).to.deep.equal([keyHashOf(utf8("notes/b")), keyHashOf(utf8("notes/c"))]);

    chain.post(node); // checkpoint #0 at seq 2
    const a = await client.get("notes/a");
    expect(Buffer.from(a.value!).toString()).to.equal("alpha");
    expect(a).to.deep.include({ seq: 1n, version: 1n, deleted: false, rootSeq: 2n });
    expect(a.verified).to.deep.include({ against: "checkpoint", seq: 2n, index: 0n, root: node.map.root() });
    const empty = await client.get("notes/c");
    expect(empty.value).to.deep.equal(new Uint8Array());

    await client.delete("notes/a", { expectedVersion: 1n });
    const gone = await client.get("notes/a");
    expect(gone).to.deep.include({ value: null, deleted: true, version: 2n, seq: 3n });
    expect(gone.verified).to.deep.include({ against: "signed-root", seq: 3n, node: nodeKey.address });
    const never = await client.get("notes/zzz");
    expect(never).to.deep.include({ value: null, deleted: false, version: 0n, seq: 0n });
    expect(never.verified?.against).to.equal("signed-root");

    const unverified = await client.get("notes/b", { verify: false });
    expect(unverified.verified).to.equal(undefined);

    // Receipts: in memory and in the file, each recovering to the node.
    const kept = client.receipts();
    expect(kept.map((r) => r.seq)).to.deep.equal([1n, 2n, 3n]);
    expect(kept.every((r) => r.node === nodeKey.address && r.writer === writer.address)).to.equal(true);
    const fromFile = await readReceipts(path.join(dir, "receipts.jsonl"));
    expect(fromFile).to.deep.equal(kept);
    expect(readFileSync(path.join(dir, "receipts.jsonl"), "utf8").trim().split("\n")).to.have.length(3);
    const checks = checkReceiptsAgainst(kept, chain.checkpoint, 3600, kept[2].issuedAt + 10n);
    expect(checks.map((c) => c.status)).to.deep.equal(["covered", "covered", "pending"]);
    expect(checkReceiptsAgainst(kept, chain.checkpoint, 3600, kept[2].issuedAt + 3601n)[2].status).to.equal("late");

    // Scan pages through the keys in order.
    const pages: string[][] = [];
    for await (const page of client.scan("notes/", { pageSize: 1 })) pages.push(page.map((e) => Buffer.from(e.key).toString()));
    expect(pages).to.deep.equal([["notes/b"], ["notes/c"]]);
  });

  it("refuses a forged proof (altered sibling, forged leaf, absence for a present key) and an answer its proof contradicts", async () => {
    await client.put("k1", "v1");
    await client.put("k2", "v2");
    await client.put("k3", "v3");
    chain.post(node);
    const flip = (hex: string) => `${hex.slice(0, -1)}${hex.endsWith("0") ? "1" : "0"}`;

    node.lie = { proof: (p) => ({ ...p, siblings: p.siblings.map((s, i) => (i === 0 ? flip(s) : s)) }) };
    let e = await rejection(client.get("k1"));
    expect(e).to.be.instanceOf(MemoryVerificationError);
    expect((e as MemoryVerificationError).reason).to.equal("forged-proof");
    expect(e.message).to.match(/the proof for k1 does not verify against root 0x[0-9a-f]{64} \(seq 3\)/);

    // The leaf of a forged value: the proof no longer reaches the root.
    const forged = keccak256(utf8("forged"));
    node.lie = { value: hexlify(utf8("forged")), statedHash: forged, proof: (p) => ({ ...p, leaf: { ...p.leaf!, valueHash: forged } }) };
    e = await rejection(client.get("k1"));
    expect((e as MemoryVerificationError).reason).to.equal("forged-proof");

    // A value that does not match the hash the node states.
    node.lie = { value: hexlify(utf8("forged")) };
    e = await rejection(client.get("k1"));
    expect((e as MemoryVerificationError).reason).to.equal("answer-mismatch");
    expect(e.message).to.match(/hashes to 0x[0-9a-f]{64}, not the 0x[0-9a-f]{64} it claims/);

    // A valid proof of absence presented for a key that is there: the root does not match.
    node.lie = { proof: () => ({ siblings: [] }) };
    e = await rejection(client.get("k2"));
    expect((e as MemoryVerificationError).reason).to.equal("forged-proof");

    // A proof that truly shows the key absent while the node claims a value.
    const without = new SparseMerkleMap();
    for (const leaf of node.map.leaves()) if (leaf.keyHash !== keyHashOf(utf8("k2"))) without.set(leaf.keyHash, leaf);
    node.lie = { snapshot: { map: without, seq: 3n }, value: hexlify(utf8("v2")), statedHash: keccak256(utf8("v2")) };
    chain.checkpoint = { ...chain.checkpoint, root: without.root() };
    e = await rejection(client.get("k2"));
    expect((e as MemoryVerificationError).reason).to.equal("answer-mismatch");
    expect(e.message).to.include("the proof shows the key was never written");
  });

  it("refuses a root older than the checkpoint, and one that contradicts it at the same seq", async () => {
    await client.put("k", "one");
    const old = SparseMerkleMap.fromLeaves(node.map.leaves());
    await client.put("k", "two");
    chain.post(node); // the chain is at seq 2
    node.lie = { snapshot: { map: old, seq: 1n } };
    let e = await rejection(client.get("k"));
    expect((e as MemoryVerificationError).reason).to.equal("stale-root");
    expect(e.message).to.include("the node answered against root #1, older than seq 2 that this client already saw");

    node.lie = { snapshot: { map: old, seq: 2n } };
    e = await rejection(client.get("k"));
    expect((e as MemoryVerificationError).reason).to.equal("checkpoint-mismatch");

    node.lie = {};
    const ok = await client.get("k");
    expect(Buffer.from(ok.value!).toString()).to.equal("two");
  });

  it("refuses a newer root not signed by the stream's node", async () => {
    await client.put("k", "v");
    node.lie = { rootKey: Wallet.createRandom() as unknown as Wallet };
    const e = await rejection(client.get("k"));
    expect(e).to.be.instanceOf(MemoryVerificationError);
    expect((e as MemoryVerificationError).reason).to.equal("bad-root-signature");
    expect(e.message).to.include(`not to stream ${STREAM}'s node ${nodeKey.address}`);
    // The same root checkpointed on chain needs no signature.
    chain.post(node);
    expect((await client.get("k")).verified?.against).to.equal("checkpoint");
  });

  it("refuses a receipt signed by another key or for other ops", async () => {
    node.lie = { receiptKey: Wallet.createRandom() as unknown as Wallet };
    let e = await rejection(client.put("k", "v"));
    expect((e as MemoryVerificationError).reason).to.equal("bad-receipt");
    expect(e.message).to.match(/is signed by 0x[0-9a-fA-F]{40}, not by the stream's node/);
    node.lie = { receiptEntries: keccak256(utf8("other")) };
    e = await rejection(client.put("k", "v"));
    expect((e as MemoryVerificationError).reason).to.equal("bad-receipt");
    expect(e.message).to.include("commits to entries");
    expect(client.receipts()).to.have.length(0);
  });

  it("audits receipts against the checkpoint: held, contradicted by a dropped write, unchecked before a checkpoint", async () => {
    const kept = await client.put("a", "1");
    const dropped = await client.put("b", "2");
    expect((await client.auditReceipt(kept.receipt)).map((r) => r.result)).to.deep.equal(["unchecked"]);
    chain.post(node);
    const held = await client.auditReceipt(kept.receipt);
    expect(held.map((r) => r.result)).to.deep.equal(["held"]);
    expect(held[0].leaf).to.deep.include({ seq: 1n, version: 1n });
    // The node checkpoints a root without write 2's key and serves it: the receipt contradicts it.
    const without = new SparseMerkleMap();
    without.set(keyHashOf(utf8("a")), node.map.get(keyHashOf(utf8("a")))!);
    chain.checkpoint = { ...chain.checkpoint, root: without.root() };
    node.lie = { snapshot: { map: without, seq: 2n } };
    const audit = await client.auditReceipt(dropped.receipt);
    expect(audit.map((r) => r.result)).to.deep.equal(["contradicted"]);
    expect(audit[0].proof).to.not.equal(undefined);
    expect(audit[0].checkpoint.root).to.equal(without.root());
  });

  it("turns a version conflict into MemoryConflictError with the key, expected and actual versions", async () => {
    await client.put("plan", "a");
    await client.put("plan", "b");
    const e = await rejection(client.put("plan", "c", { expectedVersion: 1 }));
    expect(e).to.be.instanceOf(MemoryConflictError);
    expect(e).to.deep.include({ key: "plan", expected: 1n, actual: 2n });
    const fresh = await rejection(client.put("plan", "c", { expectedVersion: 0n }));
    expect(fresh).to.deep.include({ key: "plan", expected: 0n, actual: 2n });
    expect((await client.put("plan", "c", { expectedVersion: 2n })).version).to.equal(3n);
  });

  it("sends writes one at a time with increasing nonces, above the node's last, and recovers from a moved nonce", async () => {
    node.lastNonce.set(writer.address, BigInt(Date.now()) * 1000n + 5_000_000n);
    const puts = Array.from({ length: 8 }, (_, i) => client.put(`k${i}`, `v${i}`));
    const results = await Promise.all(puts);
    expect(results.map((r) => r.seq)).to.deep.equal([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]);
    expect(node.maxInFlight).to.equal(1);
    for (let i = 1; i < node.nonces.length; i++) expect(node.nonces[i] > node.nonces[i - 1]).to.equal(true);
    expect(node.nonces[0] > BigInt(Date.now()) * 1000n).to.equal(true, "the first nonce is above the node's last");

    // Another process with the same key moves the nonce far ahead: the client learns it and retries once.
    const moved = node.nonces[node.nonces.length - 1] + 10_000_000n;
    node.lastNonce.set(writer.address, moved);
    const r = await client.put("after", "x");
    expect(r.nonce).to.equal(moved + 1n);
    expect(r.seq).to.equal(9n);
  });

  it("checks keys and values before sending anything", async () => {
    const sent = node.nonces.length;
    for (const [call, message] of [
      [() => client.put("", "v"), /the memory key is empty/],
      [() => client.put("x".repeat(257), "v"), /the memory key is 257 bytes, more than the limit of 256/],
      [() => client.put("k", new Uint8Array(MAX_VALUE_BYTES + 1)), /the memory value is 65537 bytes, more than the limit of 65536/],
      [() => client.batch([]), /a batch has no ops/],
      [() => client.put("k", "v", { expectedVersion: -2 }), /expectedVersion -2 is negative/],
    ] as [() => Promise<unknown>, RegExp][]) {
      const e = await rejection(call());
      expect(e).to.be.instanceOf(MemoryInputError);
      expect(e.message).to.match(message);
    }
    expect(node.nonces.length).to.equal(sent);
    const reader = new MemoryClient({ nodeUrl: "http://memory-node.test", stream: STREAM, chainId: CHAIN_ID, registry: REGISTRY, chain, fetch: node.fetch });
    expect((await rejection(reader.put("k", "v"))).message).to.include("writing to a memory stream needs the writer's key");
  });

  it("reports the node's {error, hint} as a MemoryNodeError with the hint", async () => {
    const e = await rejection(client.history("k"));
    expect(e).to.be.instanceOf(MemoryNodeError);
    expect((e as MemoryNodeError).status).to.equal(404);
    expect((e as MemoryNodeError).hint).to.equal("fake");
    const down = new MemoryClient({ nodeUrl: "http://127.0.0.1:1", stream: STREAM, chainId: CHAIN_ID, registry: REGISTRY, chain });
    const d = await rejection(down.get("k", { verify: false }));
    expect(d).to.be.instanceOf(MemoryNodeError);
    expect(d.message).to.match(/the memory node at http:\/\/127\.0\.0\.1:1 did not answer GET/);
  });

  it("parses server-sent write events as they arrive, split anywhere", async () => {
    const text = ": subscribed\n\nid: 1\nevent: write\ndata: {\"seq\":\"1\",\"writer\":\"0x01\",\"time\":5,\"ops\":[{\"kind\":\"put\",\"key\":\"0x6b\",\"valueHash\":\"" +
      keccak256("0x01") + "\",\"version\":\"1\"}]}\n\n: keep-alive\r\n\r\nevent: write\r\ndata: {\"seq\":\"2\",\"ops\":[]}\r\n\r\n";
    const bytes = Buffer.from(text);
    async function* chunks() {
      for (let i = 0; i < bytes.length; i += 7) yield new Uint8Array(bytes.subarray(i, i + 7));
    }
    const messages = [];
    for await (const m of sseMessages(chunks())) messages.push(m);
    expect(messages.map((m) => [m.event, m.id])).to.deep.equal([["write", "1"], ["write", "1"]]);
    expect(JSON.parse(messages[1].data)).to.deep.equal({ seq: "2", ops: [] });

    // subscribe() over the same stream (the fake answers /events with it), from seq 1.
    const events: MemoryWriteEvent[] = [];
    let asked = "";
    const sub = new MemoryClient({
      nodeUrl: "http://memory-node.test",
      stream: STREAM,
      chainId: CHAIN_ID,
      registry: REGISTRY,
      fetch: async (input) => {
        asked = String(input);
        return new Response(bytes, { status: 200, headers: { "content-type": "text/event-stream" } });
      },
    }).subscribe((e) => {
      events.push(e);
      if (events.length === 2) sub.close();
    }, { from: 1n });
    await sub.done;
    expect(asked).to.equal(`http://memory-node.test/v1/streams/${STREAM}/events?from=1`);
    expect(events.map((e) => e.seq)).to.deep.equal([1n, 2n]);
    expect(events[0].ops[0]).to.deep.include({ version: 1n, deleted: false });
    expect(Buffer.from(events[0].ops[0].key).toString()).to.equal("k");
  });
});
