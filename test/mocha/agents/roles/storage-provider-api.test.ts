/**
 * The storage provider's file store and HTTP API over real HTTP, and the SDK's verified download
 * against honest, lying and dead providers.
 */
import { expect } from "chai";
import http from "node:http";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import type { AddressInfo } from "node:net";
import { STORAGE } from "../../../../agents/src/generated/constants.js";
import { DataTree, ReferenceHasher } from "../../../../agents/src/sdk/storage/format.js";
import { circomlibPoseidon, type PoseidonFn } from "../../../../agents/src/sdk/storage/poseidon.js";
import { downloadVerified } from "../../../../agents/src/sdk/storage/download.js";
import { FileStore, rootHex } from "../../../../agents/src/roles/storage-provider/file-store.js";
import { listen } from "../../../../agents/src/core/http.js";
import { createProviderApi } from "../../../../agents/src/roles/storage-provider/http-api.js";
import { silentLogger } from "../../../../agents/src/core/log.js";
import { deterministicBytes } from "../../../helpers/data.js";
import { expectRejects } from "../../../helpers/expect.js";

describe("storage provider: file store, HTTP API, verified download", function () {
  this.timeout(120_000);
  let dir: string;
  let poseidon: PoseidonFn;
  let hasher: ReferenceHasher;
  let data: Uint8Array;
  let tree: DataTree;
  let store: FileStore;
  let server: http.Server;
  let endpoint: string;
  const joined: bigint[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "daios-provider-"));
    poseidon = await circomlibPoseidon();
    hasher = new ReferenceHasher(poseidon);
    data = deterministicBytes(5 * STORAGE.CHUNK_SIZE * 100 + 77, 5);
    tree = await DataTree.build(data, hasher, poseidon);
    store = new FileStore(path.join(dir, "a"), hasher, poseidon);
    await store.open();
    server = createProviderApi({
      store,
      address: "0x00000000000000000000000000000000000000aa",
      log: silentLogger(),
      lookupDeal: async (dealId) => (dealId === 1n ? { dataRoot: tree.dataRoot, size: data.length } : undefined),
      onStored: async (dealId) => {
        joined.push(dealId);
        return { slot: "0" };
      },
    });
    endpoint = `http://127.0.0.1:${await listen(server, 0)}`;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const put = (dealId: string, body: Uint8Array, length = body.length) =>
    fetch(`${endpoint}/v1/deals/${dealId}/data`, { method: "PUT", headers: { "content-length": String(length) }, body: Buffer.from(body) });

  it("refuses an unknown deal, a size mismatch and data with another root, storing nothing", async () => {
    expect((await put("7", data)).status).to.equal(404);
    expect((await put("abc", data)).status).to.equal(400);
    expect((await put("1", data.subarray(1))).status).to.equal(400);
    const wrong = Uint8Array.from(data);
    wrong[1000] ^= 1;
    const response = await put("1", wrong);
    expect(response.status).to.equal(422);
    expect(((await response.json()) as { error: string }).error).to.match(/not the deal's root/);
    expect(store.list()).to.deep.equal([]);
    expect(readdirSync(path.join(dir, "a", "tmp"))).to.deep.equal([]);
    expect(joined).to.deep.equal([]);
  });

  it("stores a streamed upload whose root matches, then joins", async () => {
    const response = await put("1", data);
    expect(response.status).to.equal(201);
    expect(await response.json()).to.include({ dataRoot: rootHex(tree.dataRoot), size: data.length, slot: "0" });
    expect(joined).to.deep.equal([1n]);
    expect(store.get(tree.dataRoot)?.tree.dataRoot).to.equal(tree.dataRoot);
  });

  it("serves byte ranges, the whole file, the leaves and the meta", async () => {
    const root = rootHex(tree.dataRoot);
    const ranged = await fetch(`${endpoint}/v1/files/${root}`, { headers: { range: "bytes=100-299" } });
    expect(ranged.status).to.equal(206);
    expect(ranged.headers.get("content-range")).to.equal(`bytes 100-299/${data.length}`);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(Buffer.from(data.subarray(100, 300)))).to.equal(true);
    const whole = Buffer.from(await (await fetch(`${endpoint}/v1/files/${root}`)).arrayBuffer());
    expect(whole.equals(Buffer.from(data))).to.equal(true);
    const leaves = Buffer.from(await (await fetch(`${endpoint}/v1/files/${root}/leaves`)).arrayBuffer());
    expect(leaves.equals(Buffer.from(tree.levels[0]))).to.equal(true);
    expect(await (await fetch(`${endpoint}/v1/files/${root}/meta`)).json()).to.include({ size: data.length, chunkCount: tree.chunkCount });
    expect((await fetch(`${endpoint}/v1/files/${root}`, { headers: { range: `bytes=${data.length}-` } })).status).to.equal(416);
    expect((await fetch(`${endpoint}/v1/files/0x1234`)).status).to.equal(404);
    expect((await fetch(`${endpoint}/v1/files/nothex`)).status).to.equal(400);
  });

  it("reopens its files after a restart and reads challenged chunks from disk", async () => {
    const reopened = new FileStore(path.join(dir, "a"), hasher, poseidon);
    await reopened.open();
    expect(reopened.get(tree.dataRoot)?.tree.treeRoot).to.equal(tree.treeRoot);
    const last = tree.chunkCount - 1;
    const chunk = await reopened.readChunk(tree.dataRoot, last);
    const expected = new Uint8Array(STORAGE.CHUNK_SIZE);
    expected.set(data.subarray(last * STORAGE.CHUNK_SIZE));
    expect(Buffer.from(chunk).equals(Buffer.from(expected))).to.equal(true);
  });

  it("refuses to load a stored file whose tree was tampered with", async () => {
    const copy = path.join(dir, "tampered");
    mkdirSync(path.join(copy, "files"), { recursive: true });
    const src = store.get(tree.dataRoot)?.dir as string;
    const dst = path.join(copy, "files", path.basename(src));
    mkdirSync(dst);
    for (const f of ["data.bin", "meta.json"]) writeFileSync(path.join(dst, f), readFileSync(path.join(src, f)));
    const treeBytes = readFileSync(path.join(src, "tree.bin"));
    treeBytes[treeBytes.length - 1] ^= 1;
    writeFileSync(path.join(dst, "tree.bin"), treeBytes);
    await expectRejects(new FileStore(copy, hasher, poseidon).open(), /corrupt/);
  });

  it("downloads verified, refetching what a lying provider sends from an honest one", async () => {
    // A provider that flips one byte of every range it serves.
    const liar = http.createServer(async (req, res) => {
      const upstream = await fetch(`${endpoint}${req.url}`, { headers: req.headers.range ? { range: req.headers.range } : {} });
      const body = Buffer.from(await upstream.arrayBuffer());
      if (!req.url?.endsWith("/meta") && !req.url?.endsWith("/leaves") && body.length > 0) body[0] ^= 0xff;
      res.writeHead(upstream.status, { "content-length": body.length });
      res.end(body);
    });
    await new Promise<void>((resolve) => liar.listen(0, "127.0.0.1", () => resolve()));
    const liarUrl = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
    try {
      const out = path.join(dir, "out.bin");
      const result = await downloadVerified({ dataRoot: tree.dataRoot, endpoints: [liarUrl, "http://127.0.0.1:9", endpoint], out, hasher, poseidon });
      expect(Buffer.from(readFileSync(out)).equals(Buffer.from(data))).to.equal(true);
      expect(result.served[liarUrl] ?? 0).to.equal(0);
      expect(result.retries).to.be.greaterThan(0);

      const onlyLiar = path.join(dir, "bad.bin");
      await expectRejects(downloadVerified({ dataRoot: tree.dataRoot, endpoints: [liarUrl], out: onlyLiar, hasher, poseidon }), /do not match the verified leaves/);
      expect(existsSync(onlyLiar) || existsSync(`${onlyLiar}.partial`), "nothing unverified is left behind").to.equal(false);
      await expectRejects(downloadVerified({ dataRoot: tree.dataRoot + 1n, endpoints: [endpoint], out: onlyLiar, hasher, poseidon }), /no provider served verifiable leaves/);
    } finally {
      await new Promise<void>((resolve) => liar.close(() => resolve()));
    }
  });

  it("answers 503 to health and uploads while the provider is still starting", async () => {
    const starting = createProviderApi({ store, address: "0x00", log: silentLogger(), isReady: () => false, lookupDeal: async () => undefined, onStored: async () => ({}) });
    const url = `http://127.0.0.1:${await listen(starting, 0)}`;
    try {
      expect((await fetch(`${url}/v1/health`)).status).to.equal(503);
      const response = await fetch(`${url}/v1/deals/1/data`, { method: "PUT", body: Buffer.from(data) });
      expect(response.status).to.equal(503);
      expect(((await response.json()) as { error: string }).error).to.match(/starting/);
    } finally {
      await new Promise<void>((resolve) => starting.close(() => resolve()));
    }
  });

  it("stores a file sent in many small pieces exactly like one sent whole", async () => {
    const other = new FileStore(path.join(dir, "b"), hasher, poseidon);
    await other.open();
    const pieces = Array.from({ length: Math.ceil(data.length / 1000) }, (_, i) => data.subarray(i * 1000, (i + 1) * 1000));
    const stored = await other.put(Readable.from(pieces), data.length, tree.dataRoot);
    expect(stored.tree.dataRoot).to.equal(tree.dataRoot);
    await expectRejects(other.put(Readable.from([data]), data.length + 1, tree.dataRoot + 5n), /ended after/);
  });
});
