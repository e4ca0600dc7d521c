/**
 * The DA blob format (agents/src/sdk/da/blob.ts): layouts for every quorum size, byte-exact decoding
 * from any k shards, corrupted and missing shards, an inconsistently encoded blob, and the errors.
 *
 *   npx hardhat test mocha test/mocha/sdk/da-blob.test.ts
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { DA } from "../../../agents/src/generated/constants.js";
import {
  BlobDecodingError,
  BlobEncodingError,
  EncodedBlob,
  blobLayout,
  decodeBlob,
  decodeBlobDetailed,
  encodeBlob,
  type AvailableShard,
} from "../../../agents/src/sdk/da/blob.js";
import { CommitmentTree, openRange, referenceCommitHasher, verifyProof } from "../../../agents/src/sdk/da/commitment.js";
import { ReedSolomon } from "../../../agents/src/sdk/da/erasure.js";
import { referenceKernel } from "../../../agents/src/sdk/da/gf256.js";

const CHUNK = DA.CHUNK_SIZE;

function subsets(n: number, k: number): number[][] {
  const out: number[][] = [];
  const pick = (start: number, chosen: number[]) => {
    if (chosen.length === k) return void out.push([...chosen]);
    for (let i = start; i < n; i++) pick(i + 1, [...chosen, i]);
  };
  pick(0, []);
  return out;
}

function shardsOf(blob: EncodedBlob, indices: number[], withProofs = true): AvailableShard[] {
  return indices.map((index) => ({ index, data: blob.shards[index], ...(withProofs ? { proof: blob.shardProof(index) } : {}) }));
}

function corrupt(shard: Uint8Array, at: number): Buffer {
  const copy = Buffer.from(shard);
  copy[at] ^= 0x40;
  return copy;
}

describe("DA blob format", function () {
  this.timeout(600_000);

  it("layout: k = floor(Q/2), n = Q, shardSize = ceil(size/k) rounded up to whole chunks", function () {
    for (let q = DA.MIN_QUORUM_SIZE; q <= DA.MAX_QUORUM_SIZE; q++) {
      for (const size of [1, 511, 512, 513, 12_345, 1_000_000, DA.MAX_BLOB_SIZE]) {
        const layout = blobLayout(size, q);
        const k = Math.floor(q / 2);
        expect(layout.k).to.equal(k);
        expect(layout.n).to.equal(q);
        expect(layout.shardSize % CHUNK).to.equal(0);
        expect(layout.shardSize).to.be.at.least(CHUNK);
        expect(layout.shardSize * k).to.be.at.least(size);
        expect(layout.shardSize - CHUNK).to.be.below(Math.max(Math.ceil(size / k), 1));
        expect(layout.chunksPerShard * CHUNK).to.equal(layout.shardSize);
        expect(layout.leafCount).to.equal(q * layout.chunksPerShard);
        expect(layout.leafCount).to.be.at.most(2 ** DA.MAX_TREE_DEPTH);
      }
    }
    expect(blobLayout(1, 4)).to.deep.equal({ size: 1, k: 2, n: 4, shardSize: 512, chunksPerShard: 1, leafCount: 4 });
    expect(blobLayout(DA.MAX_BLOB_SIZE, 16)).to.include({ k: 8, shardSize: 2 * 2 ** 20, leafCount: 65_536 });
  });

  it("encodes as documented: data shards are the zero-padded blob, parity is Reed–Solomon, root over all chunks", function () {
    const data = randomBytes(7777);
    const blob = encodeBlob(data, 7);
    expect(blob).to.include({ size: 7777, k: 3, n: 7, shardSize: 3072, chunksPerShard: 6, leafCount: 42 });
    const padded = Buffer.alloc(3 * 3072);
    padded.set(data);
    expect(Buffer.concat(blob.shards.slice(0, 3)).equals(padded)).to.equal(true);
    const parity = new ReedSolomon(3, 7, referenceKernel).encode(blob.shards.slice(0, 3));
    parity.forEach((p, r) => expect(Buffer.from(p).equals(blob.shards[3 + r])).to.equal(true));
    expect(CommitmentTree.build(Buffer.concat(blob.shards), { hasher: referenceCommitHasher }).root.equals(blob.root)).to.equal(true);
    expect(blob.rootHex).to.equal(`0x${blob.root.toString("hex")}`);
    for (const c of [0, 5, 6, 41]) {
      expect(blob.shardOf(c)).to.equal(Math.floor(c / 6));
      expect(blob.chunk(c).equals(blob.shards[Math.floor(c / 6)].subarray((c % 6) * CHUNK, (c % 6 + 1) * CHUNK))).to.equal(true);
      expect(verifyProof(blob.root, c, blob.chunk(c), blob.proof(c), blob.leafCount)).to.equal(true);
    }
    expect(() => blob.chunk(42)).to.throw(BlobEncodingError, /Chunks run from 0 to 41/);
    expect(() => blob.shardProof(7)).to.throw(BlobEncodingError, /Shards run from 0 to 6/);
  });

  it("every k-subset of shards decodes byte-exact, for Q = 4..7 (with and without proofs)", function () {
    for (let q = 4; q <= 7; q++) {
      const data = randomBytes(1 + q * 611);
      const blob = encodeBlob(data, q);
      for (const rows of subsets(q, blob.k)) {
        expect(decodeBlob(blob.params, shardsOf(blob, rows)).equals(data), `Q ${q} from ${rows}`).to.equal(true);
        const map = new Map(rows.map((i) => [i, blob.shards[i]]));
        expect(decodeBlob({ size: data.length, n: q, root: blob.rootHex }, map).equals(data), `Q ${q} map ${rows}`).to.equal(true);
      }
    }
  });

  it("larger quorums decode from random k-subsets, 1 byte to 3 MiB", function () {
    const cases: [number, number][] = [
      [1, 4],
      [512, 9],
      [100_000, 16],
      [3 * 2 ** 20 + 5, 31],
      [2 ** 20, 32],
    ];
    for (const [size, q] of cases) {
      const data = randomBytes(size);
      const blob = encodeBlob(data, q);
      const order = [...Array(q).keys()].sort(() => Math.random() - 0.5);
      const result = decodeBlobDetailed(blob.params, shardsOf(blob, order.slice(0, blob.k + 1)));
      expect(result.data.equals(data), `size ${size} Q ${q}`).to.equal(true);
      expect(result.used).to.have.length(blob.k);
      expect(result.rejected).to.deep.equal([]);
    }
  });

  it("a corrupted shard fails its proof and is skipped when k good shards remain", function () {
    const data = randomBytes(50_000);
    const blob = encodeBlob(data, 8); // k = 4
    for (const bad of [0, 3, 4, 7]) {
      const shards = shardsOf(blob, [0, 3, 4, 6, 7]);
      const target = shards.find((s) => s.index === bad)!;
      target.data = corrupt(target.data, blob.shardSize - 1);
      const result = decodeBlobDetailed(blob.params, shards);
      expect(result.data.equals(data), `bad shard ${bad}`).to.equal(true);
      expect(result.rejected).to.deep.equal([{ index: bad, reason: "its range proof does not match the root" }]);
      expect(result.used).to.not.include(bad);
      // With only k shards left in all, one of them bad: not enough.
      const tooFew = [target, ...shards.filter((s) => s !== target).slice(0, 3)];
      const error = (() => {
        try {
          decodeBlob(blob.params, tooFew);
        } catch (e) {
          return e;
        }
      })();
      expect(error, `bad shard ${bad}`).to.be.instanceOf(BlobDecodingError);
      expect((error as BlobDecodingError).message).to.match(/3 usable shard\(s\) of the 4 needed \(4 given\).*rejected: shard \d: its range proof does not match the root.*Fetch 1 more shard/);
    }
  });

  it("a shard with a wrong proof (another shard's) is rejected", function () {
    const data = randomBytes(9000);
    const blob = encodeBlob(data, 6);
    const shards = shardsOf(blob, [0, 1, 2, 5]);
    shards[1].proof = blob.shardProof(4);
    const result = decodeBlobDetailed(blob.params, shards);
    expect(result.data.equals(data)).to.equal(true);
    expect(result.rejected.map((r) => r.index)).to.deep.equal([1]);
  });

  it("without proofs: a bad shard among the k used is detected by the root check; an extra bad one is reported", function () {
    const data = randomBytes(20_000);
    const blob = encodeBlob(data, 6); // k = 3
    const shards = shardsOf(blob, [0, 2, 4, 5], false);
    shards[3].data = corrupt(shards[3].data, 17); // shard 5 is not among the first 3: reported, not used
    const result = decodeBlobDetailed(blob.params, shards);
    expect(result.data.equals(data)).to.equal(true);
    expect(result.rejected).to.deep.equal([{ index: 5, reason: "it differs from the re-encoded blob" }]);
    shards[0].data = corrupt(shards[0].data, 3);
    expect(() => decodeBlob(blob.params, shards)).to.throw(BlobDecodingError, /do not re-encode to the blob's root; shard\(s\) 0, 2, 4 came without a proof.*shardProof/);
    // The same bad shard with its proof is skipped instead.
    const proven = shardsOf(blob, [0, 2, 4, 5]);
    proven[0].data = corrupt(proven[0].data, 3);
    expect(decodeBlob(blob.params, proven).equals(data)).to.equal(true);
  });

  it("an inconsistently encoded blob (a root over a non-codeword) is detected from any k shards", function () {
    const data = randomBytes(6000);
    const honest = encodeBlob(data, 6, { kernel: referenceKernel, hasher: referenceCommitHasher });
    // A disperser that commits to a wrong parity shard: every shard matches the root one by one.
    const coded = Buffer.from(honest.coded);
    coded[4 * honest.shardSize + 100] ^= 1;
    const tree = CommitmentTree.build(coded, { hasher: referenceCommitHasher });
    const layout = blobLayout(6000, 6);
    const bad = new EncodedBlob(layout, coded, tree);
    for (const rows of subsets(6, 3)) {
      const shards = shardsOf(bad, rows);
      shards.forEach((s) => expect(openRange(bad.root, bad.leafCount, s.index * bad.chunksPerShard, s.data, s.proof!), `shard ${s.index}`).to.not.equal(undefined));
      expect(() => decodeBlob(bad.params, shards), `from ${rows}`).to.throw(BlobDecodingError, /encoded inconsistently.*treat the blob as unavailable/);
    }
  });

  it("rejects bad blobs and parameters with errors that say what to do", function () {
    expect(() => encodeBlob(new Uint8Array(0), 4)).to.throw(BlobEncodingError, /Invalid blob size 0.*at least one byte/);
    expect(() => encodeBlob(new Uint8Array(DA.MAX_BLOB_SIZE + 1), 4)).to.throw(BlobEncodingError, /more than DA.MAX_BLOB_SIZE = 16777216.*Split the data/);
    for (const q of [3, 33, 4.5, 0, Number.NaN]) {
      expect(() => encodeBlob(new Uint8Array(10), q), `Q ${q}`).to.throw(BlobEncodingError, /Invalid quorum size.*between DA.MIN_QUORUM_SIZE = 4 and DA.MAX_QUORUM_SIZE = 32/);
    }
    expect(() => encodeBlob("abc" as unknown as Uint8Array, 4)).to.throw(BlobEncodingError, /Uint8Array/);

    const data = randomBytes(3000);
    const blob = encodeBlob(data, 4);
    const two = shardsOf(blob, [0, 3]);
    expect(() => decodeBlob({ ...blob.params, k: 3 }, two)).to.throw(BlobEncodingError, /k = 3.*has 2/);
    expect(() => decodeBlob({ ...blob.params, root: "0x1234" }, two)).to.throw(BlobEncodingError, /Invalid blob root 0x1234.*64 digits/);
    expect(() => decodeBlob({ ...blob.params, root: new Uint8Array(31) }, two)).to.throw(BlobEncodingError, /31 bytes/);
    expect(() => decodeBlob(blob.params, shardsOf(blob, [1]))).to.throw(BlobDecodingError, /1 usable shard\(s\) of the 2 needed \(1 given\).*Fetch 1 more/);
    expect(() => decodeBlob(blob.params, [...two, two[0]])).to.throw(BlobDecodingError, /Shard 0 was given twice/);
    expect(() => decodeBlob(blob.params, [{ index: 4, data: blob.shards[0] }, ...two])).to.throw(BlobDecodingError, /Shard index 4 is out of range.*0 to 3/);
    const short = decodeBlobDetailed(blob.params, [{ index: 1, data: blob.shards[1].subarray(1) }, ...two]);
    expect(short.data.equals(data)).to.equal(true);
    expect(short.rejected).to.deep.equal([{ index: 1, reason: `it has ${blob.shardSize - 1} bytes, not shardSize = ${blob.shardSize}` }]);
  });
});
