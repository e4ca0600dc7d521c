/**
 * The Reed–Solomon reference (agents/src/sdk/da/gf256.ts, erasure.ts): field arithmetic against a
 * bit-by-bit definition, the MDS property of the Cauchy construction, and round trips from every
 * k-subset of shards for small codes and random subsets for large ones.
 *
 *   npx hardhat test mocha test/mocha/sdk/da-erasure.test.ts
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import {
  ErasureCodingError,
  MAX_SHARDS,
  ReedSolomon,
  encodeShards,
  generatorMatrix,
  parityMatrix,
  reconstruct,
} from "../../../agents/src/sdk/da/erasure.js";
import {
  GF_EXP,
  GF_LOG,
  gfInv,
  gfMul,
  invertMatrix,
  multiplyMatrices,
  referenceKernel,
  referenceMulMatrix,
} from "../../../agents/src/sdk/da/gf256.js";

/** Carry-less multiplication reduced by 0x11d, one bit at a time: the definition of the field. */
function slowMul(a: number, b: number): number {
  let product = 0;
  for (let i = 0; i < 8; i++) if ((b >> i) & 1) product ^= a << i;
  for (let bit = 15; bit >= 8; bit--) if ((product >> bit) & 1) product ^= 0x11d << (bit - 8);
  return product;
}

/** All k-element subsets of [0, n). */
function subsets(n: number, k: number): number[][] {
  const out: number[][] = [];
  const pick = (start: number, chosen: number[]) => {
    if (chosen.length === k) return void out.push([...chosen]);
    for (let i = start; i < n; i++) pick(i + 1, [...chosen, i]);
  };
  pick(0, []);
  return out;
}

/** A deterministic pseudo-random generator (xorshift) for reproducible choices. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function dataShards(k: number, length: number): Buffer[] {
  return Array.from({ length: k }, () => randomBytes(length));
}

describe("DA erasure code (TypeScript reference)", function () {
  this.timeout(300_000);

  describe("GF(2^8) modulo 0x11d", function () {
    it("the product table equals carry-less multiplication reduced by 0x11d, for all 65,536 pairs", function () {
      const wrong: string[] = [];
      for (let a = 0; a < 256; a++) {
        for (let b = 0; b < 256; b++) if (gfMul(a, b) !== slowMul(a, b)) wrong.push(`${a} * ${b}`);
      }
      expect(wrong).to.deep.equal([]);
      expect(gfMul(0x80, 2)).to.equal(0x1d);
    });

    it("2 generates the multiplicative group and every non-zero element has an inverse", function () {
      expect(new Set(GF_EXP.subarray(0, 255)).size).to.equal(255);
      for (let a = 1; a < 256; a++) {
        expect(GF_EXP[GF_LOG[a]]).to.equal(a);
        expect(gfMul(a, gfInv(a)), `${a}`).to.equal(1);
      }
      expect(() => gfInv(0)).to.throw(RangeError);
    });

    it("invertMatrix gives the inverse and rejects a singular matrix", function () {
      const random = rng(7);
      for (const size of [1, 2, 5, 16, 32]) {
        for (let trial = 0; trial < 5; trial++) {
          const m = Uint8Array.from({ length: size * size }, () => Math.floor(random() * 256));
          let inverse: Uint8Array;
          try {
            inverse = invertMatrix(m, size);
          } catch {
            continue; // a random singular matrix: rare, skip
          }
          const identity = multiplyMatrices(m, inverse, size, size, size);
          identity.forEach((v, i) => expect(v, `size ${size} entry ${i}`).to.equal(Math.floor(i / size) === i % size ? 1 : 0));
        }
      }
      expect(() => invertMatrix(Uint8Array.of(1, 2, 2, 4), 2)).to.throw(RangeError, /singular/);
    });

    it("referenceMulMatrix computes sums of products and checks its arguments", function () {
      const inputs = [Buffer.from([1, 2, 3]), Buffer.from([4, 5, 6])];
      const outputs = [Buffer.alloc(3, 0xff), Buffer.alloc(3)];
      referenceMulMatrix(Uint8Array.of(3, 7, 0, 1), 2, 2, inputs, outputs);
      for (let i = 0; i < 3; i++) {
        expect(outputs[0][i]).to.equal(gfMul(3, inputs[0][i]) ^ gfMul(7, inputs[1][i]));
        expect(outputs[1][i]).to.equal(inputs[1][i]);
      }
      expect(() => referenceMulMatrix(Uint8Array.of(1), 2, 2, inputs, outputs)).to.throw(RangeError, /coefficients/);
      expect(() => referenceMulMatrix(Uint8Array.of(1, 1), 1, 2, inputs, [Buffer.alloc(4)])).to.throw(RangeError, /shorter/);
      const shared = Buffer.alloc(8);
      expect(() => referenceMulMatrix(Uint8Array.of(1), 1, 1, [shared.subarray(0, 4)], [shared.subarray(2, 6)])).to.throw(RangeError, /overlaps/);
    });
  });

  describe("the Cauchy construction", function () {
    it("C[r][j] = 1 / ((k + r) xor j) and G = [I; C]", function () {
      const c = parityMatrix(3, 7);
      expect(c.length).to.equal(12);
      for (let r = 0; r < 4; r++) for (let j = 0; j < 3; j++) expect(gfMul(c[r * 3 + j], (3 + r) ^ j)).to.equal(1);
      const g = generatorMatrix(3, 7);
      expect([...g.subarray(0, 9)]).to.deep.equal([1, 0, 0, 0, 1, 0, 0, 0, 1]);
      expect([...g.subarray(9)]).to.deep.equal([...c]);
    });

    it("is MDS: every k rows of G are invertible, for every k < n <= 9", function () {
      for (let n = 2; n <= 9; n++) {
        for (let k = 1; k < n; k++) {
          const rs = new ReedSolomon(k, n, referenceKernel);
          for (const rows of subsets(n, k)) expect(() => rs.decodeMatrix(rows), `k ${k} n ${n} rows ${rows}`).to.not.throw();
        }
      }
    });

    it("at the largest shape, k = 128 of n = 256, random row sets are invertible", function () {
      const rs = new ReedSolomon(128, 256, referenceKernel);
      const random = rng(11);
      for (let trial = 0; trial < 3; trial++) {
        const rows = shuffle([...Array(256).keys()], random).slice(0, 128);
        expect(() => rs.decodeMatrix(rows)).to.not.throw();
      }
    });

    it("rejects shapes outside 1 <= k < n <= 256", function () {
      for (const [k, n] of [
        [0, 4],
        [4, 4],
        [5, 4],
        [1, MAX_SHARDS + 1],
        [1.5, 4],
        [2, Number.NaN],
      ]) {
        expect(() => parityMatrix(k, n), `k ${k} n ${n}`).to.throw(ErasureCodingError, /Reed–Solomon shape/);
      }
      expect(() => parityMatrix(255, 256)).to.not.throw();
    });
  });

  describe("encode and reconstruct", function () {
    it("every k-subset of shards rebuilds the data, for every k < n <= 8 (random data, odd lengths)", function () {
      for (let n = 2; n <= 8; n++) {
        for (let k = 1; k < n; k++) {
          const rs = new ReedSolomon(k, n, referenceKernel);
          const data = dataShards(k, 1 + ((n * 7 + k * 13) % 61));
          const all = [...data, ...rs.encode(data)];
          for (const rows of subsets(n, k)) {
            const available = new Map(rows.map((i) => [i, all[i]]));
            const rebuilt = rs.reconstruct(available);
            rebuilt.forEach((shard, i) => expect(Buffer.from(shard).equals(data[i]), `k ${k} n ${n} from ${rows}: shard ${i}`).to.equal(true));
            const repaired = rs.repair(available);
            repaired.forEach((shard, i) => expect(Buffer.from(shard).equals(all[i]), `repair k ${k} n ${n} from ${rows}: shard ${i}`).to.equal(true));
          }
        }
      }
    });

    it("larger codes (the quorum shapes and beyond) from random k-subsets, given as arrays with holes", function () {
      const random = rng(3);
      for (const [k, n] of [
        [2, 4],
        [8, 16],
        [15, 31],
        [16, 32],
        [10, 40],
        [64, 100],
        [100, 255],
        [200, 256],
      ]) {
        const rs = new ReedSolomon(k, n, referenceKernel);
        const data = dataShards(k, 97);
        const all = [...data, ...rs.encode(data)];
        for (let trial = 0; trial < 3; trial++) {
          const keep = new Set(shuffle([...Array(n).keys()], random).slice(0, k + trial));
          const holes = all.map((shard, i) => (keep.has(i) ? shard : undefined));
          const rebuilt = rs.reconstruct(holes);
          rebuilt.forEach((shard, i) => expect(Buffer.from(shard).equals(data[i]), `k ${k} n ${n} shard ${i}`).to.equal(true));
        }
      }
    });

    it("parity is linear: encode(a xor b) = encode(a) xor encode(b)", function () {
      const a = dataShards(5, 40);
      const b = dataShards(5, 40);
      const sum = a.map((shard, i) => Buffer.from(shard.map((v, j) => v ^ b[i][j])));
      const [pa, pb, ps] = [a, b, sum].map((d) => encodeShards(d, 9, referenceKernel));
      ps.forEach((shard, r) => expect(Buffer.from(shard).equals(Buffer.from(pa[r].map((v, j) => v ^ pb[r][j])))).to.equal(true));
    });

    it("encodes into given buffers and handles zero-length shards", function () {
      const rs = new ReedSolomon(2, 3, referenceKernel);
      const into = [Buffer.alloc(4, 0xaa)];
      const parity = rs.encode([Buffer.from([1, 2, 3, 4]), Buffer.from([5, 6, 7, 8])], into);
      expect(parity[0]).to.equal(into[0]);
      expect([...into[0]]).to.deep.equal([0, 1, 2, 3].map((i) => gfMul(gfInv(2), i + 1) ^ gfMul(gfInv(3), i + 5)));
      expect(rs.encode([Buffer.alloc(0), Buffer.alloc(0)])[0].length).to.equal(0);
      expect(() => rs.encode([Buffer.alloc(4), Buffer.alloc(4)], [Buffer.alloc(3)])).to.throw(ErasureCodingError, /parity buffers/);
    });

    it("the module functions agree with the class", function () {
      const data = dataShards(3, 33);
      const parity = encodeShards(data, 6, referenceKernel);
      const rebuilt = reconstruct(3, 6, new Map([[3, parity[0]], [4, parity[1]], [5, parity[2]]]), referenceKernel);
      rebuilt.forEach((shard, i) => expect(Buffer.from(shard).equals(data[i])).to.equal(true));
    });

    it("errors: too few shards, unequal lengths, bad indices, wrong data count", function () {
      const rs = new ReedSolomon(3, 5, referenceKernel);
      const data = dataShards(3, 8);
      const all = [...data, ...rs.encode(data)];
      expect(() => rs.reconstruct(new Map([[0, all[0]], [4, all[4]]]))).to.throw(ErasureCodingError, /Only 2 of 5 shards are available \(0, 4\).*fetch 1 more/);
      expect(() => rs.reconstruct([])).to.throw(ErasureCodingError, /none/);
      expect(() => rs.reconstruct(new Map([[0, all[0]], [1, all[1]], [2, Buffer.alloc(7)]]))).to.throw(ErasureCodingError, /Shard 2 has 7 bytes/);
      expect(() => rs.reconstruct(new Map([[0, all[0]], [1, all[1]], [5, all[2]]]))).to.throw(ErasureCodingError, /index 5 is out of range/);
      expect(() => rs.reconstruct([...all, all[0]])).to.throw(ErasureCodingError, /array of 6 shards/);
      expect(() => rs.encode(data.slice(0, 2))).to.throw(ErasureCodingError, /exactly 3 data shards/);
      expect(() => rs.encode([data[0], data[1], Buffer.alloc(9)])).to.throw(ErasureCodingError, /one length/);
      expect(() => rs.decodeMatrix([0, 0, 1])).to.throw(ErasureCodingError, /distinct/);
    });
  });
});
