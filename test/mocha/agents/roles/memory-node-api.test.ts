/**
 * The memory node's HTTP API over real HTTP, with the chain replaced by a table of streams and
 * writers: signed writes are answered with receipts signed by the node and read back with proofs
 * that verify against a root the node signs; every bad request is refused with the right status and
 * a JSON {error, hint} and changes nothing; a revocation applies at once; events are replayed and
 * streamed; and a node killed with SIGKILL right after acknowledging writes has every one of them
 * when its store reopens.
 */
import { expect } from "chai";
import http from "node:http";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Wallet, getAddress } from "ethers";
import { listen } from "../../../../agents/src/core/http.js";
import { silentLogger } from "../../../../agents/src/core/log.js";
import { decodeProof, memoryRoot, verifyMemoryProof } from "../../../../agents/src/sdk/memory/smt.js";
import {
  TOMBSTONE_VALUE_HASH,
  entriesHash,
  hashOp,
  keyHashOf,
  memoryDomain,
  opsHash,
  recoverReceiptSigner,
  recoverRootSigner,
  signReceipt,
  signRoot,
  signWrite,
  valueHashOf,
  type MemoryOp,
} from "../../../../agents/src/sdk/memory/signing.js";
import { MemoryStore } from "../../../../agents/src/roles/memory-node/store.js";
import { createMemoryNodeApi, type MemoryAuthority, type NodeSigner, type StreamView } from "../../../../agents/src/roles/memory-node/http-api.js";

const CHAIN_ID = 31337n;
const REGISTRY = "0x00000000000000000000000000000000000000d1";
const domain = memoryDomain(CHAIN_ID, REGISTRY);
const nodeKey = new Wallet("0x" + "31".repeat(32));
const alice = new Wallet("0x" + "41".repeat(32));
const bob = new Wallet("0x" + "42".repeat(32));
const mallory = new Wallet("0x" + "43".repeat(32));
const OTHER_NODE = getAddress("0x00000000000000000000000000000000000000e2");
const STORE_MODULE = path.resolve("agents/src/roles/memory-node/store.ts");
const API_MODULE = path.resolve("agents/src/roles/memory-node/http-api.ts");
const SIGNING_MODULE = path.resolve("agents/src/sdk/memory/signing.ts");
const HTTP_MODULE = path.resolve("agents/src/core/http.ts");

const hex = (bytes: Uint8Array | string) => `0x${Buffer.from(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes).toString("hex")}`;
const utf8 = (s: string) => new TextEncoder().encode(s);

interface Op {
  kind: "put" | "delete";
  key: string | Uint8Array;
  value?: string | Uint8Array;
  expectedVersion?: bigint;
}

const toBytes = (v: string | Uint8Array) => (typeof v === "string" ? utf8(v) : v);

let nonceCounter = BigInt(Date.now()) * 1000n;

/** A signed write body, as the SDK sends it. */
async function signedBody(stream: bigint, ops: Op[], options: { signer?: Wallet; writer?: string; nonce?: bigint } = {}) {
  const signer = options.signer ?? alice;
  const nonce = options.nonce ?? ++nonceCounter;
  const memoryOps: MemoryOp[] = ops.map((op) => ({ kind: op.kind, key: toBytes(op.key), ...(op.value === undefined ? {} : { value: toBytes(op.value) }), ...(op.expectedVersion === undefined ? {} : { expectedVersion: op.expectedVersion }) }));
  const writer = options.writer ?? signer.address;
  const signature = await signer.signTypedData(domain, { Write: [{ name: "stream", type: "uint256" }, { name: "writer", type: "address" }, { name: "nonce", type: "uint64" }, { name: "opsHash", type: "bytes32" }] }, { stream, writer, nonce, opsHash: opsHash(memoryOps.map(hashOp)) });
  if (options.writer === undefined) expect(signature).to.equal(await signWrite(signer, domain, { stream, writer, nonce, opsHash: opsHash(memoryOps.map(hashOp)) }));
  return {
    writer,
    nonce: nonce.toString(),
    ops: memoryOps.map((op) => ({ kind: op.kind, key: hex(op.key), ...(op.value === undefined ? {} : { value: hex(op.value) }), ...(op.expectedVersion === undefined ? {} : { expectedVersion: op.expectedVersion.toString() }) })),
    signature,
  };
}

interface WriteReply {
  stream: string;
  seq: string;
  receipt: { stream: string; seq: string; entriesHash: string; issuedAt: string };
  signature: string;
  versions: string[];
  root: string;
}

interface KeyReply {
  key: string;
  found: boolean;
  value: string | null;
  valueHash: string;
  seq: string;
  version: string;
  deleted: boolean;
  root: string;
  rootSeq: string;
  rootSignature: string;
  proof?: string;
}

describe("memory-node: HTTP API", function () {
  this.timeout(120_000);
  let dir: string;
  let store: MemoryStore;
  let server: http.Server;
  let endpoint: string;
  const streams = new Map<bigint, StreamView>();
  const writers = new Set<string>();
  const authority: MemoryAuthority = {
    stream: async (id) => streams.get(id),
    isWriter: async (id, account) => streams.get(id)?.status === "Active" && writers.has(`${id}:${getAddress(account)}`),
  };
  const signer: NodeSigner = {
    address: nodeKey.address,
    signReceipt: (receipt) => signReceipt(nodeKey, domain, receipt),
    signRoot: (root) => signRoot(nodeKey, domain, root),
  };

  const post = (stream: bigint | string, body: unknown) =>
    fetch(`${endpoint}/v1/streams/${stream}/writes`, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
  const write = async (stream: bigint, ops: Op[], options?: Parameters<typeof signedBody>[2]) => {
    const response = await post(stream, await signedBody(stream, ops, options));
    const body = (await response.json()) as WriteReply & { error?: string; hint?: string };
    expect(response.status, JSON.stringify(body)).to.equal(200);
    return body;
  };
  const getJson = async <T>(url: string): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${endpoint}${url}`);
    return { status: response.status, body: (await response.json()) as T };
  };
  const refused = async (response: Response, status: number, includes: string) => {
    const body = (await response.json()) as { error: string; hint?: string };
    expect(response.status, JSON.stringify(body)).to.equal(status);
    expect(body.error).to.include(includes);
    expect(body.hint, "every refusal has a hint").to.be.a("string").and.not.equal("");
    return body;
  };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "daios-memory-api-"));
    store = await MemoryStore.open(dir);
    for (const id of [1n, 2n, 3n, 4n]) streams.set(id, { node: nodeKey.address, status: "Active" });
    streams.set(9n, { node: OTHER_NODE, status: "Active", endpoint: "http://other-node:7901" });
    for (const id of [1n, 2n, 3n, 4n]) writers.add(`${id}:${alice.address}`);
    writers.add(`1:${bob.address}`);
    server = createMemoryNodeApi({ store, authority, signer, domain, log: silentLogger(), maxBodyBytes: 256 * 1024, keepAliveMs: 200 });
    endpoint = `http://127.0.0.1:${await listen(server, 0)}`;
  });

  after(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("acknowledges a put with a receipt signed by the node and reads it back with a proof against a signed root", async () => {
    const reply = await write(1n, [{ kind: "put", key: "profile/name", value: "Ada" }]);
    expect(reply.seq).to.equal("1");
    expect(reply.versions).to.deep.equal(["1"]);
    const receipt = { stream: BigInt(reply.receipt.stream), seq: BigInt(reply.receipt.seq), entriesHash: reply.receipt.entriesHash, issuedAt: BigInt(reply.receipt.issuedAt) };
    expect(receipt.entriesHash).to.equal(entriesHash([{ keyHash: keyHashOf(utf8("profile/name")), valueHash: valueHashOf(utf8("Ada")) }]));
    expect(recoverReceiptSigner(domain, receipt, reply.signature)).to.equal(nodeKey.address);
    expect(Number(receipt.issuedAt)).to.be.closeTo(Math.floor(Date.now() / 1000), 5);

    const { status, body } = await getJson<KeyReply>(`/v1/streams/1/keys/${hex("profile/name")}?proof=1`);
    expect(status).to.equal(200);
    const root = memoryRoot([{ keyHash: keyHashOf(utf8("profile/name")), valueHash: valueHashOf(utf8("Ada")), seq: 1n, version: 1n }]);
    expect(body).to.deep.include({ key: hex("profile/name"), found: true, value: hex("Ada"), valueHash: valueHashOf(utf8("Ada")), seq: "1", version: "1", deleted: false, rootSeq: "1", root });
    const proven = verifyMemoryProof(body.root, keyHashOf(utf8("profile/name")), decodeProof(body.proof as string));
    expect(proven.kind).to.equal("member");
    expect(recoverRootSigner(domain, { stream: 1n, seq: 1n, root: body.root }, body.rootSignature)).to.equal(nodeKey.address);

    // An absent key: found false, and a proof of absence against the same root.
    const absent = await getJson<KeyReply>(`/v1/streams/1/keys/${hex("nobody")}?proof=1`);
    expect(absent.body).to.deep.include({ found: false, value: null, version: "0", root });
    expect(verifyMemoryProof(absent.body.root, keyHashOf(utf8("nobody")), decodeProof(absent.body.proof as string)).kind).to.equal("absent");
    // Without proof=1 there is no proof.
    expect((await getJson<KeyReply>(`/v1/streams/1/keys/${hex("profile/name")}`)).body.proof).to.equal(undefined);
  });

  it("applies a batch atomically, deletes, scans in key order and lists history", async () => {
    const batch = await write(2n, [
      { kind: "put", key: "notes/1", value: "first" },
      { kind: "put", key: "notes/2", value: "second" },
      { kind: "put", key: "notes/3", value: "" },
      { kind: "put", key: "todo", value: "x" },
    ]);
    expect(batch.seq).to.equal("1");
    expect(batch.versions).to.deep.equal(["1", "1", "1", "1"]);
    const del = await write(2n, [{ kind: "delete", key: "notes/2", expectedVersion: 1n }, { kind: "put", key: "notes/1", value: "first, edited" }]);
    expect(del.seq).to.equal("2");
    expect(del.versions).to.deep.equal(["2", "2"]);

    const deleted = await getJson<KeyReply>(`/v1/streams/2/keys/${hex("notes/2")}?proof=1`);
    expect(deleted.body).to.deep.include({ found: true, deleted: true, value: null, valueHash: TOMBSTONE_VALUE_HASH, seq: "2", version: "2" });
    const proven = verifyMemoryProof(deleted.body.root, keyHashOf(utf8("notes/2")), decodeProof(deleted.body.proof as string));
    expect(proven.kind === "member" && proven.leaf.valueHash).to.equal(TOMBSTONE_VALUE_HASH);

    type Page = { entries: { key: string; value: string; version: string }[]; next: string | null };
    const first = await getJson<Page>(`/v1/streams/2/keys?prefix=${hex("notes/")}&limit=1`);
    expect(first.body.entries.map((e) => e.key)).to.deep.equal([hex("notes/1")]);
    expect(first.body.entries[0]).to.deep.include({ value: hex("first, edited"), version: "2" });
    expect(first.body.next).to.equal(hex("notes/1"));
    const second = await getJson<Page>(`/v1/streams/2/keys?prefix=${hex("notes/")}&after=${first.body.next}&limit=5`);
    expect(second.body.entries.map((e) => [e.key, e.value])).to.deep.equal([[hex("notes/3"), "0x"]]);
    expect(second.body.next).to.equal(null);
    expect((await getJson<Page>(`/v1/streams/2/keys`)).body.entries.map((e) => e.key)).to.deep.equal([hex("notes/1"), hex("notes/3"), hex("todo")]);

    const history = await getJson<{ versions: { seq: string; version: string; kind: string; value: string | null; writer: string }[] }>(`/v1/streams/2/history/${hex("notes/2")}`);
    expect(history.body.versions.map((v) => [v.seq, v.version, v.kind, v.value, v.writer])).to.deep.equal([
      ["1", "1", "put", hex("second"), alice.address],
      ["2", "2", "delete", null, alice.address],
    ]);
    const logged = await getJson<{ seq: string; writer: string; receipt: { entriesHash: string }; receiptSignature: string }>(`/v1/streams/2/writes/2`);
    expect(logged.body).to.deep.include({ seq: "2", writer: alice.address, receiptSignature: del.signature });
    expect(logged.body.receipt.entriesHash).to.equal(del.receipt.entriesHash);
  });

  it("refuses a version conflict with 409 naming the key, expected and actual versions, and changes nothing", async () => {
    await write(3n, [{ kind: "put", key: "counter", value: "1" }]);
    const before = await getJson<KeyReply>(`/v1/streams/3/keys/${hex("counter")}`);
    const response = await post(3n, await signedBody(3n, [{ kind: "put", key: "other", value: "new" }, { kind: "put", key: "counter", value: "2", expectedVersion: 3n }]));
    const body = (await refused(response, 409, "version")) as unknown as { key: string; expected: string; actual: string };
    expect(body).to.deep.include({ key: hex("counter"), expected: "3", actual: "1" });
    const exists = await post(3n, await signedBody(3n, [{ kind: "put", key: "counter", value: "2", expectedVersion: 0n }]));
    expect(((await refused(exists, 409, "version")) as unknown as { expected: string }).expected).to.equal("0");
    const after = await getJson<KeyReply>(`/v1/streams/3/keys/${hex("counter")}`);
    expect(after.body).to.deep.equal(before.body);
    expect((await getJson<KeyReply>(`/v1/streams/3/keys/${hex("other")}`)).body.found).to.equal(false);
    // With the right version it goes through.
    expect((await write(3n, [{ kind: "put", key: "counter", value: "2", expectedVersion: 1n }])).versions).to.deep.equal(["2"]);
  });

  it("refuses malformed requests with 400 and 413 and changes nothing", async () => {
    const stream = 4n;
    await write(stream, [{ kind: "put", key: "keep", value: "me" }]);
    const head = async () => (await getJson<KeyReply>(`/v1/streams/${stream}/keys/${hex("keep")}`)).body.rootSeq;
    const before = await head();
    const good = await signedBody(stream, [{ kind: "put", key: "k", value: "v" }]);
    const cases: [string, unknown, string][] = [
      ["empty key", { ...good, ops: [{ kind: "put", key: "0x", value: "0x01" }] }, "empty"],
      ["key over the limit", { ...good, ops: [{ kind: "put", key: hex(new Uint8Array(257)), value: "0x01" }] }, "more than the limit of 256"],
      ["value over the limit", { ...good, ops: [{ kind: "put", key: "0x01", value: hex(new Uint8Array(65537)) }] }, "more than the limit of 65536"],
      ["bad hex key", { ...good, ops: [{ kind: "put", key: "0xzz", value: "0x01" }] }, "not 0x-prefixed hex"],
      ["odd hex value", { ...good, ops: [{ kind: "put", key: "0x01", value: "0x123" }] }, "not 0x-prefixed hex"],
      ["unknown kind", { ...good, ops: [{ kind: "merge", key: "0x01", value: "0x01" }] }, "kind"],
      ["put without a value", { ...good, ops: [{ kind: "put", key: "0x01" }] }, "without a value"],
      ["delete with a value", { ...good, ops: [{ kind: "delete", key: "0x01", value: "0x01" }] }, "delete with a value"],
      ["no ops", { ...good, ops: [] }, "ops must be"],
      ["same key twice", { ...good, ops: [{ kind: "put", key: "0x01", value: "0x01" }, { kind: "delete", key: "0x01" }] }, "twice"],
      ["short signature", { ...good, signature: "0x1234" }, "65-byte"],
      ["bad writer", { ...good, writer: "alice" }, "not an address"],
      ["negative nonce", { ...good, nonce: "-5" }, "nonce"],
      ["expectedVersion below -1", { ...good, ops: [{ kind: "put", key: "0x01", value: "0x01", expectedVersion: -2 }] }, "expectedVersion"],
      ["not JSON", "{ nope", "not valid JSON"],
    ];
    for (const [what, body, includes] of cases) {
      const response = await post(stream, body);
      expect(response.status, what).to.equal(400);
      const reply = (await response.json()) as { error: string; hint: string };
      expect(reply.error, what).to.include(includes);
      expect(reply.hint, what).to.be.a("string");
    }
    // A 65-byte signature that no key made (v = 0x1f).
    await refused(await post(stream, { ...good, signature: `0x${"11".repeat(64)}1f` }), 400, "signature");
    // Too large a body: 413 before the node reads it all.
    const big = await post(stream, { ...good, ops: [{ kind: "put", key: "0x01", value: hex(new Uint8Array(200 * 1024)) }] });
    await refused(big, 413, "more than the limit");
    await refused(await post("x1", good), 400, "not a stream id");
    expect(await head()).to.equal(before);
    expect((await getJson<KeyReply>(`/v1/streams/${stream}/keys/${hex("k")}`)).body.found).to.equal(false);
    // The good body itself is accepted afterwards (its nonce was never used).
    expect((await (await post(stream, good)).json()) as WriteReply).to.have.property("seq", "2");
  });

  it("refuses non-writers, impostors, revoked writers and stale nonces with 403, and unknown streams with 404", async () => {
    await refused(await post(1n, await signedBody(1n, [{ kind: "put", key: "x", value: "1" }], { signer: mallory })), 403, "is not a writer");
    // Mallory signs a write that names alice as its writer.
    await refused(await post(1n, await signedBody(1n, [{ kind: "put", key: "x", value: "1" }], { signer: mallory, writer: alice.address })), 403, "signed by");
    // Bob writes, is revoked (no restart), and is refused.
    await write(1n, [{ kind: "put", key: "bob", value: "1" }], { signer: bob });
    writers.delete(`1:${bob.address}`);
    await refused(await post(1n, await signedBody(1n, [{ kind: "put", key: "bob", value: "2" }], { signer: bob })), 403, "revoked");
    expect((await getJson<{ allowed: boolean }>(`/v1/streams/1/writers/${bob.address}`)).body.allowed).to.equal(false);
    // A nonce not above the last accepted one.
    const nonce = ++nonceCounter;
    await write(1n, [{ kind: "put", key: "n", value: "1" }], { nonce });
    const replayed = await refused(await post(1n, await signedBody(1n, [{ kind: "put", key: "n", value: "2" }], { nonce })), 403, "not above");
    expect(replayed).to.have.property("lastNonce", nonce.toString());
    const w = await getJson<{ writer: string; allowed: boolean; lastNonce: string }>(`/v1/streams/1/writers/${alice.address.toLowerCase()}`);
    expect(w.body).to.deep.equal({ writer: alice.address, allowed: true, lastNonce: nonce.toString() });
    expect((await getJson<KeyReply>(`/v1/streams/1/keys/${hex("n")}`)).body.value).to.equal(hex("1"));
    // Unknown stream, and a stream served by another node (the hint names it).
    await refused(await post(77n, await signedBody(77n, [{ kind: "put", key: "x", value: "1" }])), 404, "does not exist");
    const other = await refused(await fetch(`${endpoint}/v1/streams/9/keys/${hex("x")}`), 404, "not served by this node");
    expect(other.hint).to.include(OTHER_NODE).and.include("http://other-node:7901");
    // A closed stream is read-only.
    streams.set(1n, { node: nodeKey.address, status: "Closed" });
    await refused(await post(1n, await signedBody(1n, [{ kind: "put", key: "x", value: "1" }])), 403, "Closed");
    expect((await getJson<KeyReply>(`/v1/streams/1/keys/${hex("n")}`)).status).to.equal(200);
    streams.set(1n, { node: nodeKey.address, status: "Active" });
  });

  it("replays the log from ?from= and then streams live writes as Server-Sent Events, with keep-alives", async () => {
    const stream = 2n;
    const seqBefore = Number((await getJson<{ seq: string }>(`/v1/streams/${stream}`)).body.seq);
    const received: { id: string; data: { seq: string; ops: { key: string; valueHash: string; version: string }[] } }[] = [];
    let comments = 0;
    const request = http.get(`${endpoint}/v1/streams/${stream}/events?from=2`);
    const done = new Promise<void>((resolve, reject) => {
      request.on("error", reject);
      request.on("response", (res) => {
        expect(res.statusCode).to.equal(200);
        expect(res.headers["content-type"]).to.equal("text/event-stream");
        let buffer = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffer += chunk;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (block.startsWith(":")) {
              if (block.includes("keep-alive")) comments++;
            } else {
              const fields = Object.fromEntries(block.split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)]));
              expect(fields.event).to.equal("write");
              received.push({ id: fields.id, data: JSON.parse(fields.data) });
            }
            if (received.length === seqBefore - 1 + 2 && comments > 0) resolve();
          }
        });
      });
    });
    // Live writes while the subscription is open.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await write(stream, [{ kind: "put", key: "live/1", value: "a" }]);
    await write(stream, [{ kind: "delete", key: "live/1" }]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error(`got ${received.length} events, ${comments} keep-alives`)), 5000))]);
    request.destroy();
    expect(received.map((e) => e.id)).to.deep.equal(Array.from({ length: seqBefore - 1 + 2 }, (_, i) => String(i + 2)));
    expect(received.map((e) => e.data.seq)).to.deep.equal(received.map((e) => e.id));
    const last = received[received.length - 1].data;
    expect(last.ops).to.deep.equal([{ kind: "delete", key: hex("live/1"), valueHash: TOMBSTONE_VALUE_HASH, version: "2" }]);
    expect(received[received.length - 2].data.ops[0]).to.deep.include({ key: hex("live/1"), valueHash: valueHashOf(utf8("a")), version: "1" });
    expect(comments).to.be.greaterThan(0);
  });

  it("answers health, stream state, and 503 for checkpoints without a chain", async () => {
    const health = await getJson<{ ok: boolean; address: string; streams: number }>("/v1/health");
    expect(health.body).to.deep.include({ ok: true, address: nodeKey.address });
    expect(health.body.streams).to.be.greaterThan(0);
    const state = await getJson<{ seq: string; root: string; node: string }>("/v1/streams/3");
    expect(state.body).to.deep.include({ seq: "2", node: nodeKey.address });
    await refused(await fetch(`${endpoint}/v1/streams/3/checkpoint`, { method: "POST" }), 503, "no checkpoints");
  });

  it("loses no acknowledged write when the node is killed with SIGKILL right after acknowledging", async () => {
    const childDir = mkdtempSync(path.join(os.tmpdir(), "daios-memory-kill-"));
    const script = path.join(childDir, "node.mts");
    const url = (file: string) => JSON.stringify(pathToFileURL(file).href);
    await writeFile(
      script,
      `import { Wallet } from ${JSON.stringify(import.meta.resolve("ethers"))};\n` +
        `import { MemoryStore } from ${url(STORE_MODULE)};\n` +
        `import { createMemoryNodeApi } from ${url(API_MODULE)};\n` +
        `import { memoryDomain, signReceipt, signRoot } from ${url(SIGNING_MODULE)};\n` +
        `import { listen } from ${url(HTTP_MODULE)};\n` +
        `const domain = memoryDomain(${CHAIN_ID}n, ${JSON.stringify(REGISTRY)});\n` +
        `const key = new Wallet(${JSON.stringify(nodeKey.privateKey)});\n` +
        `const store = await MemoryStore.open(${JSON.stringify(path.join(childDir, "store"))});\n` +
        `const server = createMemoryNodeApi({ store, domain, log: { info() {}, warn() {} },\n` +
        `  authority: { stream: async () => ({ node: key.address, status: "Active" }), isWriter: async () => true },\n` +
        `  signer: { address: key.address, signReceipt: (r) => signReceipt(key, domain, r), signRoot: (r) => signRoot(key, domain, r) } });\n` +
        `console.log("port " + (await listen(server, 0)));\n`,
    );
    const child = spawn(process.execPath, ["--import", "tsx", script], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        const match = /port (\d+)/.exec(output);
        if (match) resolve(Number(match[1]));
      });
      child.on("exit", () => reject(new Error(`the node exited before listening:\n${output}`)));
    });
    const exited = new Promise((resolve) => child.on("exit", resolve));

    // Eight writers (a writer's nonces must arrive in order, so each sends one write at a time), four
    // on each of two streams; their writes are signed first, then sent; the node is killed at the 60th ack.
    const senders = Array.from({ length: 8 }, (_, k) => ({ wallet: new Wallet("0x" + (0x51 + k).toString(16).repeat(32)), stream: BigInt(1 + (k % 2)) }));
    const plans = await Promise.all(
      senders.map(async ({ wallet, stream }, k) => {
        const bodies = [];
        for (let i = 0; i < 50; i++) bodies.push(await signedBody(stream, [{ kind: "put", key: `k${(i * 8 + k) % 37}`, value: `value ${k}-${i}` }, { kind: "put", key: `w${k}-${i}`, value: hex(new Uint8Array(512).fill((k * 50 + i) % 251)) }], { signer: wallet }));
        return { stream, bodies };
      }),
    );
    type Body = (typeof plans)[number]["bodies"][number];
    const acked: { stream: bigint; body: Body; reply: WriteReply }[] = [];
    let killed = false;
    const sender = async ({ stream, bodies }: (typeof plans)[number]) => {
      for (const body of bodies) {
        if (killed) return;
        try {
          const response = await fetch(`http://127.0.0.1:${port}/v1/streams/${stream}/writes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
          if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
          const reply = (await response.json()) as WriteReply;
          if (killed) return;
          acked.push({ stream, body, reply });
          if (acked.length >= 60) {
            killed = true;
            child.kill("SIGKILL");
          }
        } catch (error) {
          if (!killed) throw error;
        }
      }
    };
    await Promise.all(plans.map(sender));
    if (!killed) child.kill("SIGKILL");
    expect(await exited).to.equal(null);
    expect(acked.length).to.be.at.least(60);

    const reopened = await MemoryStore.open(path.join(childDir, "store"));
    try {
      for (const { stream, body, reply } of acked) {
        const logged = reopened.write(stream, BigInt(reply.seq));
        expect(logged, `stream ${stream} write ${reply.seq} was acknowledged but is missing`).to.not.equal(undefined);
        expect(logged?.nonce).to.equal(body.nonce);
        expect(logged?.receiptSignature).to.equal(reply.signature);
        expect(logged?.receipt.entriesHash).to.equal(reply.receipt.entriesHash);
        const last = body.ops[1];
        const state = reopened.get(stream, Buffer.from(last.key.slice(2), "hex"));
        expect(hex(state?.value ?? new Uint8Array())).to.equal(last.value);
      }
      // Every stream's head is at least its last acknowledged seq.
      for (const stream of [1n, 2n]) {
        const head = reopened.head(stream);
        expect(head.seq).to.be.at.least(BigInt(Math.max(0, ...acked.filter((a) => a.stream === stream).map((a) => Number(a.reply.seq)))));
      }
    } finally {
      await reopened.close();
      rmSync(childDir, { recursive: true, force: true });
    }
  });
});
