/**
 * The DA node's shard store and HTTP API over real HTTP, with the chain replaced by a table: every
 * bad upload is refused with a 4xx that says what was wrong and stores nothing; a good one is stored
 * durably and answered with a signature that verifies; shards and chunks are served with proofs
 * that check against the root, also after a restart.
 */
import { expect } from "chai";
import http from "node:http";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DA } from "../../../../agents/src/generated/constants.js";
import { encodeBlob, type EncodedBlob } from "../../../../agents/src/sdk/da/blob.js";
import { referenceCommitHasher, verifyProof, verifyRange } from "../../../../agents/src/sdk/da/commitment.js";
import { blsKeypair, certificatePoint, signCertificate, signatureFromHex, signatureToHex, verifyCertificateSignature } from "../../../../agents/src/sdk/da/certificate.js";
import { PROOF_HEADER, decodeProofHeader, encodeProofHeader, type ChunkOpening, type ShardReceipt } from "../../../../agents/src/sdk/da/wire.js";
import { ShardStore } from "../../../../agents/src/roles/da-node/shard-store.js";
import { listen } from "../../../../agents/src/core/http.js";
import { createDaNodeApi, type BlobView } from "../../../../agents/src/roles/da-node/http-api.js";
import { silentLogger } from "../../../../agents/src/core/log.js";
import { deterministicBytes } from "../../../helpers/data.js";

const CHAIN_ID = 31337n;
const BLOBS = "0x00000000000000000000000000000000000000b1";
const ME = 7n;
const MY_POSITION = 2;

describe("da-node: shard store and HTTP API", function () {
  this.timeout(120_000);
  let dir: string;
  let store: ShardStore;
  let server: http.Server;
  let endpoint: string;
  let ready = false;
  let block = 100;
  let encoded: EncodedBlob;
  const keys = blsKeypair("0x" + "11".repeat(32));
  const blobs = new Map<bigint, BlobView>();

  const put = (blobId: string, position: number, body: Uint8Array, proof: string | null = encodeProofHeader(encoded.shardProof(position)), length?: number) =>
    fetch(`${endpoint}/v1/blobs/${blobId}/shards/${position}`, {
      method: "PUT",
      headers: { ...(proof === null ? {} : { [PROOF_HEADER]: proof }), ...(length === undefined ? {} : { "content-length": String(length) }) },
      body: Buffer.from(body),
    });
  const errorOf = async (response: Response) => ((await response.json()) as { error: string }).error;
  const nothingStored = () => {
    expect(store.list()).to.deep.equal([]);
    expect(readdirSync(path.join(dir, "store", "blobs"))).to.deep.equal([]);
    expect(readdirSync(path.join(dir, "store", "tmp"))).to.deep.equal([]);
  };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "daios-da-node-"));
    encoded = encodeBlob(deterministicBytes(3 * DA.CHUNK_SIZE * 7 + 99, 3), 6);
    const view: BlobView = { root: encoded.rootHex, size: encoded.size, epoch: 4n, quorum: 0, quorumSize: 6, status: "Pending", submittedAt: 90, certifiedAt: 0 };
    blobs.set(1n, view);
    blobs.set(2n, { ...view, submittedAt: 10 }); // its certify window closed at block 60
    blobs.set(3n, { ...view, status: "Reclaimed" });
    store = new ShardStore(path.join(dir, "store"), referenceCommitHasher);
    await store.open();
    server = createDaNodeApi({
      store,
      hasher: referenceCommitHasher,
      address: "0x00000000000000000000000000000000000000aa",
      nodeId: () => ME,
      lookupBlob: async (blobId) => blobs.get(blobId),
      memberAt: async (_epoch, _quorum, position) => (position === MY_POSITION ? ME : BigInt(position + 20)),
      blockNumber: async () => block,
      sign: (blobId, blob) => signatureToHex(signCertificate(keys, { chainId: CHAIN_ID, blobs: BLOBS, blobId, root: blob.root, epoch: blob.epoch })),
      log: silentLogger(),
      isReady: () => ready,
    });
    endpoint = `http://127.0.0.1:${await listen(server, 0)}`;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers 503 until the node is registered", async () => {
    const health = await fetch(`${endpoint}/v1/health`);
    expect(health.status).to.equal(503);
    expect(await health.json()).to.include({ ok: false, nodeId: "7" });
    expect((await put("1", MY_POSITION, encoded.shards[MY_POSITION])).status).to.equal(503);
    ready = true;
    expect((await fetch(`${endpoint}/v1/health`)).status).to.equal(200);
  });

  it("refuses every bad upload with a 4xx saying what was wrong, and stores nothing", async () => {
    const mine = encoded.shards[MY_POSITION];
    const cases: [Promise<Response>, number, RegExp][] = [
      [put("abc", MY_POSITION, mine), 400, /'abc' is not a blob id/],
      [put("1", 40, mine, encodeProofHeader(encoded.shardProof(MY_POSITION))), 400, /'40' is not a quorum position/],
      [put("9", MY_POSITION, mine), 404, /blob 9 does not exist on-chain/],
      [put("2", MY_POSITION, mine), 410, /certify window of blob 2 closed at block 60/],
      [put("3", MY_POSITION, mine), 410, /reclaimed/],
      [put("1", 1, encoded.shards[1]), 403, /position 1 of quorum 0 of epoch 4 is node 21, not this node \(node 7\)/],
      [put("1", MY_POSITION, mine, null), 400, /x-daios-proof header is missing/],
      [put("1", MY_POSITION, mine, "0x1234"), 400, /not 0x followed by whole 32-byte nodes/],
      [put("1", MY_POSITION, mine.subarray(0, mine.length - DA.CHUNK_SIZE)), 400, new RegExp(`shards are ${encoded.shardSize} bytes`)],
      // Another member's shard under this position's proof, and this shard with one byte flipped.
      [put("1", MY_POSITION, encoded.shards[MY_POSITION + 1]), 422, /do not give blob 1's root/],
      [put("1", MY_POSITION, Uint8Array.from(mine, (b, i) => (i === 777 ? b ^ 1 : b))), 422, /do not give blob 1's root/],
      // The right shard with the proof of another position.
      [put("1", MY_POSITION, mine, encodeProofHeader(encoded.shardProof(0))), 422, /do not give blob 1's root/],
    ];
    for (const [request, status, message] of cases) {
      const response = await request;
      expect(response.status, String(message)).to.equal(status);
      expect(await errorOf(response)).to.match(message);
    }
    nothingStored();
  });

  it("stores a shard that matches the on-chain root durably and signs the blob's certificate message", async () => {
    const response = await put("1", MY_POSITION, encoded.shards[MY_POSITION]);
    expect(response.status).to.equal(200);
    const receipt = (await response.json()) as ShardReceipt;
    expect(receipt).to.include({ blobId: "1", position: MY_POSITION, nodeId: "7" });
    const point = certificatePoint({ chainId: CHAIN_ID, blobs: BLOBS, blobId: 1n, root: encoded.rootHex, epoch: 4n });
    expect(verifyCertificateSignature(signatureFromHex(receipt.signature), keys.publicKeyG2, point)).to.equal(true);
    // The same signature does not certify another blob id.
    const other = certificatePoint({ chainId: CHAIN_ID, blobs: BLOBS, blobId: 2n, root: encoded.rootHex, epoch: 4n });
    expect(verifyCertificateSignature(signatureFromHex(receipt.signature), keys.publicKeyG2, other)).to.equal(false);
    const stored = store.get(1n);
    expect(stored?.meta).to.include({ position: MY_POSITION, root: encoded.rootHex, signed: true, settled: false, leafCount: encoded.leafCount });
    expect(existsSync(path.join(stored?.dir as string, "shard.bin"))).to.equal(true);
    expect(readdirSync(path.join(dir, "store", "tmp"))).to.deep.equal([]);
    // Sending it again gives the same answer and leaves one copy.
    expect((await put("1", MY_POSITION, encoded.shards[MY_POSITION])).status).to.equal(200);
    expect(store.list()).to.have.length(1);
    expect(await (await fetch(`${endpoint}/v1/blobs`)).json()).to.deep.equal([{ blobId: "1", position: MY_POSITION, root: encoded.rootHex, size: encoded.size }]);
  });

  it("serves the shard with its range proof and every chunk of it with a chunk proof", async () => {
    const response = await fetch(`${endpoint}/v1/blobs/1/shards/${MY_POSITION}`);
    expect(response.status).to.equal(200);
    const data = Buffer.from(await response.arrayBuffer());
    const proof = decodeProofHeader(response.headers.get(PROOF_HEADER) ?? undefined);
    expect(data.equals(encoded.shards[MY_POSITION])).to.equal(true);
    expect(verifyRange(encoded.root, encoded.leafCount, MY_POSITION * encoded.chunksPerShard, data, proof, referenceCommitHasher)).to.equal(true);
    const first = MY_POSITION * encoded.chunksPerShard;
    for (const index of [first, first + 3, first + encoded.chunksPerShard - 1]) {
      const opening = (await (await fetch(`${endpoint}/v1/blobs/1/chunks/${index}`)).json()) as ChunkOpening;
      expect(opening.index).to.equal(index);
      const chunk = Buffer.from(opening.chunk.slice(2), "hex");
      expect(chunk.equals(encoded.chunk(index))).to.equal(true);
      expect(verifyProof(encoded.root, index, chunk, opening.proof.map((p) => Buffer.from(p.slice(2), "hex")), encoded.leafCount)).to.equal(true);
    }
    const outside = await fetch(`${endpoint}/v1/blobs/1/chunks/${first - 1}`);
    expect(outside.status).to.equal(404);
    expect(await errorOf(outside)).to.match(/not in this node's shard/);
    expect((await fetch(`${endpoint}/v1/blobs/1/shards/0`)).status).to.equal(404);
    expect((await fetch(`${endpoint}/v1/blobs/5/chunks/0`)).status).to.equal(404);
  });

  it("reopens its shards after a restart, and reports a deleted shard as missing instead of serving it", async () => {
    const reopened = new ShardStore(path.join(dir, "store"), referenceCommitHasher);
    await reopened.open();
    const index = MY_POSITION * encoded.chunksPerShard + 1;
    const { chunk, proof } = await reopened.readChunk(1n, index);
    expect(verifyProof(encoded.root, index, chunk, proof, encoded.leafCount)).to.equal(true);
    rmSync(path.join(store.get(1n)?.dir as string, "shard.bin"));
    const response = await fetch(`${endpoint}/v1/blobs/1/chunks/${index}`);
    expect(response.status).to.equal(404);
    expect(await errorOf(response)).to.match(/no longer on disk/);
  });
});
