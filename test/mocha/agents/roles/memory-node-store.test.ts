/**
 * The memory node's lmdb store on its own: writes get gap-free seqs, are checked completely before
 * anything changes (nonce, expected versions, duplicate keys), reads and proofs agree with the map,
 * the map is rebuilt on reopen with the same root, history and older states are kept, and snapshot
 * files decode to the root they were written with.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet, getAddress } from "ethers";
import { silentLogger } from "../../../../agents/src/core/log.js";
import { EMPTY_ROOT, memoryRoot, verifyMemoryProof } from "../../../../agents/src/sdk/memory/smt.js";
import { TOMBSTONE_VALUE_HASH, entriesHash, keyHashOf, memoryDomain, recoverReceiptSigner, signReceipt, valueHashOf } from "../../../../agents/src/sdk/memory/signing.js";
import { MemoryStore, NonceNotAboveError, VersionConflictError, WriteRejectedError, type WriteOp, type WriteRequest } from "../../../../agents/src/roles/memory-node/store.js";
import { ChainAuthority } from "../../../../agents/src/roles/memory-node/writers.js";
import type { ChainEvent } from "../../../../agents/src/core/chain-watcher.js";
import { SnapshotError, decodeSnapshot, encodeSnapshot, snapshotEntries, snapshotRoot } from "../../../../agents/src/roles/memory-node/snapshot.js";

const REGISTRY = "0x00000000000000000000000000000000000000d1";
const domain = memoryDomain(31337n, REGISTRY);
const node = new Wallet("0x" + "21".repeat(32));
const writer = getAddress("0x00000000000000000000000000000000000000a1");
const sign = (receipt: Parameters<typeof signReceipt>[2]) => signReceipt(node, domain, receipt);
const utf8 = (s: string) => new TextEncoder().encode(s);

function put(key: string, value: string, expectedVersion = -1n): WriteOp {
  const k = utf8(key);
  const v = utf8(value);
  return { kind: "put", key: k, keyHash: keyHashOf(k), value: v, valueHash: valueHashOf(v), expectedVersion };
}

function del(key: string, expectedVersion = -1n): WriteOp {
  const k = utf8(key);
  return { kind: "delete", key: k, keyHash: keyHashOf(k), valueHash: TOMBSTONE_VALUE_HASH, expectedVersion };
}

let nonce = 1000n;
const request = (ops: WriteOp[], n = ++nonce): WriteRequest => ({ writer, nonce: n, ops, signature: "0x" + "11".repeat(65) });

describe("memory-node: store", function () {
  this.timeout(60_000);
  let dir: string;
  let store: MemoryStore;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "daios-memory-store-"));
    store = await MemoryStore.open(dir, { log: silentLogger() });
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("gives gap-free seqs to concurrent writes, signs receipts and keeps reads, proofs and roots in step", async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.apply(1n, request([put(`k${i % 5}`, `v${i}`)]), sign)));
    expect(results.map((r) => r.seq).sort((a, b) => Number(a - b))).to.deep.equal(Array.from({ length: 20 }, (_, i) => BigInt(i + 1)));
    for (const r of results) expect(recoverReceiptSigner(domain, r.receipt, r.signature)).to.equal(node.address);
    expect(store.head(1n).seq).to.equal(20n);
    // k0 was written by writes 1, 6, 11, 16: version 4, and the value of the last one applied.
    const k0 = store.get(1n, utf8("k0"));
    expect(k0?.version).to.equal(4);
    const { proof, root, leaf } = store.prove(1n, keyHashOf(utf8("k0")));
    expect(verifyMemoryProof(root, keyHashOf(utf8("k0")), proof)).to.deep.include({ kind: "member" });
    expect(leaf?.valueHash).to.equal(k0?.valueHash);
    expect(leaf?.seq).to.equal(BigInt(k0?.seq ?? 0));
    expect(store.head(2n)).to.deep.equal({ seq: 0n, root: EMPTY_ROOT });
  });

  it("checks a whole write before changing anything", async () => {
    const first = await store.apply(1n, request([put("a", "1"), put("b", "2")], 10n), sign);
    expect(first.versions).to.deep.equal([1n, 1n]);
    expect(first.receipt.entriesHash).to.equal(entriesHash([put("a", "1"), put("b", "2")]));
    const before = store.head(1n);
    // Nonce not above the last one.
    const stale = await store.apply(1n, request([put("c", "3")], 10n), sign).catch((e: unknown) => e);
    expect(stale).to.be.instanceOf(NonceNotAboveError);
    expect((stale as NonceNotAboveError).lastNonce).to.equal(10n);
    // The second op conflicts: the first must not be applied either.
    const conflict = await store.apply(1n, request([put("c", "3", 0n), put("a", "x", 5n)], 11n), sign).catch((e: unknown) => e);
    expect(conflict).to.be.instanceOf(VersionConflictError);
    expect(conflict).to.include({ key: "0x61", expected: 5n, actual: 1n });
    // The same key twice.
    const twice = await store.apply(1n, request([put("d", "1"), del("d")], 12n), sign).catch((e: unknown) => e);
    expect(twice).to.be.instanceOf(WriteRejectedError);
    expect(store.head(1n)).to.deep.equal(before);
    expect(store.get(1n, utf8("c"))).to.equal(undefined);
    expect(store.get(1n, utf8("d"))).to.equal(undefined);
    expect(store.lastNonce(1n, writer)).to.equal(10n);
    // expectedVersion 0 = never written; n = current version.
    const ok = await store.apply(1n, request([put("c", "3", 0n), put("a", "x", 1n)], 11n), sign);
    expect(ok.seq).to.equal(2n);
    expect(ok.versions).to.deep.equal([1n, 2n]);
  });

  it("keeps tombstones, history, old states and scans in key order", async () => {
    await store.apply(1n, request([put("user/1", "alice"), put("user/2", "bob"), put("x", "y")]), sign);
    await store.apply(1n, request([del("user/1")]), sign);
    await store.apply(1n, request([put("user/1", "carol"), put("user/3", "")]), sign);
    await store.apply(1n, request([del("user/2")]), sign);
    const u1 = store.get(1n, utf8("user/1"));
    expect(Buffer.from(u1?.value ?? []).toString()).to.equal("carol");
    expect(u1?.version).to.equal(3);
    const u2 = store.get(1n, utf8("user/2"));
    expect(u2?.value).to.equal(null);
    expect(u2?.valueHash).to.equal(TOMBSTONE_VALUE_HASH);
    expect(store.prove(1n, keyHashOf(utf8("user/2"))).leaf?.valueHash).to.equal(TOMBSTONE_VALUE_HASH);

    const history = store.history(1n, utf8("user/1"));
    expect(history.map((h) => [h.seq, h.version, h.value === null ? null : Buffer.from(h.value).toString()])).to.deep.equal([
      [1, 1, "alice"],
      [2, 2, null],
      [3, 3, "carol"],
    ]);

    const page1 = store.scan(1n, { prefix: utf8("user/"), limit: 1 });
    expect(page1.entries.map((e) => Buffer.from(e.key).toString())).to.deep.equal(["user/1"]);
    expect(Buffer.from(page1.next ?? []).toString()).to.equal("user/1");
    const page2 = store.scan(1n, { prefix: utf8("user/"), after: page1.next ?? undefined, limit: 10 });
    // user/2 is deleted; user/3 has an empty value (a put, not a delete).
    expect(page2.entries.map((e) => [Buffer.from(e.key).toString(), Buffer.from(e.value ?? []).toString()])).to.deep.equal([["user/3", ""]]);
    expect(page2.next).to.equal(null);
    expect(store.scan(1n, { limit: 10 }).entries.map((e) => Buffer.from(e.key).toString())).to.deep.equal(["user/1", "user/3", "x"]);

    // The state at seq 2 gives the root the map had after write 2.
    const rootAt2 = memoryRoot(
      [...store.statesAt(1n, 2n)].map((s) => ({ keyHash: s.keyHash, valueHash: s.valueHash, seq: BigInt(s.seq), version: BigInt(s.version) })),
    );
    const replay = await MemoryStore.open(mkdtempSync(path.join(os.tmpdir(), "daios-memory-replay-")));
    try {
      await replay.apply(1n, request([put("user/1", "alice"), put("user/2", "bob"), put("x", "y")]), sign);
      await replay.apply(1n, request([del("user/1")]), sign);
      expect(replay.head(1n).root).to.equal(rootAt2);
    } finally {
      await replay.close();
      rmSync(replay.dir, { recursive: true, force: true });
    }
    expect([...store.writes(1n, 2n, 3n)].map((w) => w.seq)).to.deep.equal([2, 3]);
  });

  it("rebuilds every stream's map on reopen with the same roots and nonces", async () => {
    for (let i = 0; i < 30; i++) await store.apply(BigInt(1 + (i % 3)), request([put(`key-${i % 7}`, `value-${i}`), ...(i % 4 === 0 ? [del(`gone-${i}`)] : [])]), sign);
    const heads = [1n, 2n, 3n].map((s) => store.head(s));
    const last = store.lastNonce(2n, writer);
    await store.close();
    store = await MemoryStore.open(dir, { log: silentLogger() });
    expect([1n, 2n, 3n].map((s) => store.head(s))).to.deep.equal(heads);
    expect(store.lastNonce(2n, writer)).to.equal(last);
    const next = await store.apply(2n, request([put("after", "reopen")]), sign);
    expect(next.seq).to.equal(heads[1].seq + 1n);
  });

  it("writes snapshot files that decode to their root, and refuses a tampered one", async () => {
    await store.apply(7n, request([put("a", "1"), put("b", "")]), sign);
    await store.apply(7n, request([del("a"), put("c", "3")]), sign);
    const { seq, root } = store.head(7n);
    const entries = snapshotEntries(store, 7n, seq);
    expect(snapshotRoot(entries)).to.equal(root);
    const file = encodeSnapshot({ chainId: 31337n, registry: REGISTRY, stream: 7n, seq, root, entries });
    const decoded = decodeSnapshot(file);
    expect(decoded).to.deep.include({ chainId: 31337n, registry: getAddress(REGISTRY), stream: 7n, seq, root });
    expect(decoded.entries.map((e) => [Buffer.from(e.key).toString(), e.value === null ? null : Buffer.from(e.value).toString(), e.seq, e.version])).to.deep.equal([
      ["a", null, 2n, 2n],
      ["b", "", 1n, 1n],
      ["c", "3", 2n, 1n],
    ]);
    const tampered = Buffer.from(file);
    tampered[tampered.length - 1] ^= 1;
    expect(() => decodeSnapshot(tampered)).to.throw(SnapshotError, "give root");
    expect(() => decodeSnapshot(file.subarray(0, file.length - 1))).to.throw(SnapshotError, "ends inside");
  });
});

describe("memory-node: writer sets from the chain", function () {
  const event = (name: string, args: Record<string, unknown>) => ({ name, args }) as unknown as ChainEvent;

  it("reads a writer once, then follows WriterGranted / WriterRevoked / StreamClosed without asking the chain again", async () => {
    let reads = 0;
    const onChain = new Set([`1:${writer}`]);
    const authority = new ChainAuthority({
      registry: {
        streamCount: async () => 2n,
        getStream: async (id) => ({ node: id === 1n ? node.address : REGISTRY, status: 1n }),
        isWriter: async (id, account) => {
          reads++;
          return onChain.has(`${id}:${account}`);
        },
      },
      endpointOf: async (n) => (n === getAddress(REGISTRY) ? "http://other:1" : undefined),
    });
    expect(await authority.stream(3n)).to.equal(undefined);
    expect(await authority.stream(2n)).to.deep.equal({ node: getAddress(REGISTRY), status: "Active", endpoint: "http://other:1" });
    expect(await authority.isWriter(1n, writer)).to.equal(true);
    expect(await authority.isWriter(1n, writer)).to.equal(true);
    expect(reads).to.equal(1);
    await authority.apply(event("WriterRevoked", { stream: 1n, writer }));
    expect(await authority.isWriter(1n, writer)).to.equal(false);
    await authority.apply(event("WriterGranted", { stream: 1n, writer }));
    expect(await authority.isWriter(1n, writer)).to.equal(true);
    expect(reads).to.equal(1);
    await authority.apply(event("StreamClosed", { stream: 1n }));
    expect((await authority.stream(1n))?.status).to.equal("Closed");
    expect(await authority.isWriter(1n, writer)).to.equal(false);
  });

  it("does not let a chain read that started before an event overwrite it", async () => {
    let release: (allowed: boolean) => void = () => undefined;
    const authority = new ChainAuthority({
      registry: { streamCount: async () => 1n, getStream: async () => ({ node: node.address, status: 1n }), isWriter: () => new Promise<boolean>((resolve) => (release = resolve)) },
    });
    const pending = authority.isWriter(1n, writer);
    await new Promise((resolve) => setImmediate(resolve));
    await authority.apply(event("WriterRevoked", { stream: 1n, writer }));
    release(true); // the read saw the state before the revocation
    expect(await pending).to.equal(false);
    expect(await authority.isWriter(1n, writer)).to.equal(false);
  });
});
