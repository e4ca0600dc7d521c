/**
 * The native DA coding addon (agents/native/erasure) against the TypeScript references: every
 * GF(2^8) kernel this CPU supports (AVX-512 GFNI, AVX2 GFNI, AVX2 PSHUFB, portable) against
 * referenceMulMatrix, every SHA-256 implementation (SHA-NI, portable) against node:crypto, and the
 * fallback to the references when the addon is missing.
 *
 *   npx hardhat test mocha test/mocha/sdk/da-native.test.ts
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import { encodeBlob } from "../../../agents/src/sdk/da/blob.js";
import { CommitmentTree, ZERO_HASHES, nativeCommitHasher, referenceCommitHasher } from "../../../agents/src/sdk/da/commitment.js";
import { ReedSolomon } from "../../../agents/src/sdk/da/erasure.js";
import { referenceKernel, referenceMulMatrix } from "../../../agents/src/sdk/da/gf256.js";
import {
  BUILD_COMMAND,
  NATIVE_KERNELS,
  NATIVE_SHAS,
  NativeErasureUnavailableError,
  loadErasureAddon,
  nativeKernel,
  type ErasureAddon,
  type NativeKernel,
  type NativeSha,
} from "../../../agents/src/sdk/da/native-erasure.js";

const root = path.resolve(import.meta.dirname, "../../..");

function randomMatrix(rows: number, cols: number, special: boolean): Uint8Array {
  const m = randomBytes(rows * cols);
  // Zeros and ones take their own paths in the portable kernel.
  if (special) for (let i = 0; i < m.length; i += 3) m[i] = i % 2;
  return m;
}

describe("native DA coding addon", function () {
  this.timeout(300_000);
  let addon: ErasureAddon;
  let kernels: NativeKernel[];
  let shas: NativeSha[];

  before(function () {
    addon = loadErasureAddon();
    kernels = addon.kernels();
    shas = addon.shas();
    expect(kernels).to.include("portable");
    expect(shas).to.include("portable");
    kernels.forEach((k) => expect(NATIVE_KERNELS).to.include(k));
    shas.forEach((s) => expect(NATIVE_SHAS).to.include(s));
    console.log(`      (kernels on this CPU: ${kernels.join(", ")}; SHA-256: ${shas.join(", ")})`);
  });

  after(function () {
    addon.kernel("best");
    addon.sha("best");
  });

  describe("GF(2^8) kernels equal the TypeScript reference", function () {
    const shapes: [number, number][] = [
      [1, 1],
      [1, 2],
      [2, 2],
      [3, 5],
      [4, 8],
      [5, 3],
      [8, 8],
      [9, 7],
      [16, 16],
      [17, 15],
      [3, 64],
    ];
    // Around the vector widths (32, 64), the group sizes and the 4096-byte blocks.
    const lengths = [0, 1, 15, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 1000, 4095, 4096, 4097, 8192 + 77];

    it("random matrices (with zeros and ones), shard lengths around every vector and block boundary", function () {
      for (const kernel of kernels) {
        expect(addon.kernel(kernel)).to.equal(kernel);
        for (const [rows, cols] of shapes) {
          for (const length of lengths) {
            const matrix = randomMatrix(rows, cols, (rows + length) % 2 === 0);
            const inputs = Array.from({ length: cols }, () => randomBytes(length));
            const expected = Array.from({ length: rows }, () => Buffer.alloc(length));
            referenceMulMatrix(matrix, rows, cols, inputs, expected);
            const outputs = Array.from({ length: rows }, () => randomBytes(length));
            addon.mulMatrix(matrix, rows, cols, inputs, outputs);
            outputs.forEach((out, r) => expect(out.equals(expected[r]), `${kernel} ${rows}x${cols} length ${length} row ${r}`).to.equal(true));
          }
        }
      }
    });

    it("every coefficient 0..255 against every byte value, on every kernel", function () {
      const input = Buffer.from(Array.from({ length: 256 * 3 }, (_, i) => i % 256));
      const matrix = Uint8Array.from({ length: 256 }, (_, c) => c);
      const expected = Array.from({ length: 256 }, () => Buffer.alloc(input.length));
      referenceMulMatrix(matrix, 256, 1, [input], expected);
      for (const kernel of kernels) {
        addon.kernel(kernel);
        const outputs = Array.from({ length: 256 }, () => Buffer.alloc(input.length));
        addon.mulMatrix(matrix, 256, 1, [input], outputs);
        outputs.forEach((out, c) => expect(out.equals(expected[c]), `${kernel} coefficient ${c}`).to.equal(true));
      }
    });

    it("ranges and unaligned views: only bytes [start, end) of the outputs change", function () {
      const backing = randomBytes(4 * 5000 + 7);
      const inputs = [0, 1, 2].map((i) => backing.subarray(1 + i * 5000, 1 + i * 5000 + 4999));
      const matrix = randomMatrix(2, 3, false);
      for (const kernel of kernels) {
        addon.kernel(kernel);
        const outputs = [randomBytes(5003).subarray(3), randomBytes(5000)];
        const before = outputs.map((o) => Buffer.from(o));
        addon.mulMatrix(matrix, 2, 3, inputs, outputs, 333, 4321);
        const expected = [Buffer.alloc(4321 - 333), Buffer.alloc(4321 - 333)];
        referenceMulMatrix(matrix, 2, 3, inputs.map((x) => x.subarray(333, 4321)), expected);
        outputs.forEach((out, r) => {
          expect(out.subarray(333, 4321).equals(expected[r]), `${kernel} row ${r}`).to.equal(true);
          expect(out.subarray(0, 333).equals(before[r].subarray(0, 333))).to.equal(true);
          expect(out.subarray(4321).equals(before[r].subarray(4321))).to.equal(true);
        });
      }
    });

    it("Reed–Solomon encode and reconstruct through each kernel equal the reference", function () {
      const k = 8;
      const n = 16;
      const data = Array.from({ length: k }, () => randomBytes(64 * 1024 + 512));
      const reference = new ReedSolomon(k, n, referenceKernel);
      const parity = reference.encode(data);
      for (const kernel of kernels) {
        addon.kernel(kernel);
        const rs = new ReedSolomon(k, n, nativeKernel());
        rs.encode(data).forEach((p, r) => expect(Buffer.from(p).equals(Buffer.from(parity[r])), `${kernel} parity ${r}`).to.equal(true));
        const available = new Map([1, 3, 8, 9, 10, 12, 14, 15].map((i) => [i, i < k ? data[i] : parity[i - k]]));
        rs.reconstruct(available).forEach((d, i) => expect(Buffer.from(d).equals(data[i]), `${kernel} data ${i}`).to.equal(true));
      }
    });

    it("rejects bad arguments with a clear error", function () {
      addon.kernel("best");
      const a = Buffer.alloc(64);
      expect(() => addon.mulMatrix(Uint8Array.of(1), 1, 2, [a, a], [Buffer.alloc(64)])).to.throw(RangeError, /rows x cols/);
      expect(() => addon.mulMatrix(Uint8Array.of(1, 1), 1, 2, [a], [Buffer.alloc(64)])).to.throw(RangeError, /cols shards/);
      expect(() => addon.mulMatrix(Uint8Array.of(1), 1, 1, [a], [a.subarray(16)])).to.throw(RangeError, /overlaps an input/);
      const out = Buffer.alloc(64);
      expect(() => addon.mulMatrix(Uint8Array.of(1, 1), 2, 1, [a], [out, out.subarray(8)])).to.throw(RangeError, /two output shards overlap/);
      expect(() => addon.mulMatrix(Uint8Array.of(1), 1, 1, [a], [Buffer.alloc(64)], 10, 65)).to.throw(RangeError, /start <= end/);
      expect(() => addon.mulMatrix(Uint8Array.of(1), 1, 1, ["x" as unknown as Uint8Array], [Buffer.alloc(64)])).to.throw(TypeError, /Uint8Array/);
      expect(() => addon.kernel("sse9" as NativeKernel)).to.throw(RangeError, /kernel must be/);
      expect(() => nativeKernel().mulMatrix(Uint8Array.of(1), 1, 1, [Buffer.alloc(3)], [Buffer.alloc(4)])).to.throw(RangeError, /shorter/);
    });
  });

  describe("SHA-256 implementations equal node:crypto", function () {
    it("sha256 of every length 0..300 and a few large ones", function () {
      const lengths = [...Array(301).keys(), 1000, 4096, 65_536 + 13, 1_000_003];
      for (const sha of shas) {
        expect(addon.sha(sha)).to.equal(sha);
        for (const length of lengths) {
          const data = randomBytes(length);
          const expected = createHash("sha256").update(data).digest();
          expect(Buffer.from(addon.sha256(data)).equals(expected), `${sha} length ${length}`).to.equal(true);
        }
      }
    });

    it("hashLeaves and hashNodes equal the node:crypto hasher (short last chunk, odd levels, ranges, out)", function () {
      for (const sha of shas) {
        addon.sha(sha);
        for (const [size, chunkSize] of [
          [1, 512],
          [512, 512],
          [513, 512],
          [512 * 7 + 100, 512],
          [512 * 64, 512],
          [1000, 55],
          [300, 300],
        ]) {
          const data = randomBytes(size);
          const expected = referenceCommitHasher.hashLeaves(data, chunkSize);
          expect(Buffer.from(addon.hashLeaves(data, chunkSize)).equals(Buffer.from(expected)), `${sha} leaves ${size}/${chunkSize}`).to.equal(true);
          for (const count of [1, 2, 3, 7, 8]) {
            const level = randomBytes(32 * count);
            const parents = referenceCommitHasher.hashNodes(level, ZERO_HASHES[3]);
            expect(Buffer.from(addon.hashNodes(level, ZERO_HASHES[3])).equals(Buffer.from(parents)), `${sha} nodes ${count}`).to.equal(true);
          }
        }
        const data = randomBytes(512 * 9);
        const all = addon.hashLeaves(data, 512);
        const out = Buffer.alloc(32 * 4);
        expect(addon.hashLeaves(data, 512, 3, 7, out)).to.equal(out);
        expect(out.equals(Buffer.from(all.subarray(3 * 32, 7 * 32)))).to.equal(true);
        const level = randomBytes(32 * 9);
        const parents = addon.hashNodes(level, ZERO_HASHES[0]);
        expect(Buffer.from(addon.hashNodes(level, ZERO_HASHES[0], 2, 5)).equals(Buffer.from(parents.subarray(64, 160)))).to.equal(true);
      }
    });

    it("a tree built natively equals the reference tree", function () {
      const data = randomBytes(512 * 1000 + 3);
      const expected = CommitmentTree.build(data, { hasher: referenceCommitHasher });
      for (const sha of shas) {
        addon.sha(sha);
        const tree = CommitmentTree.build(data, { hasher: nativeCommitHasher(addon) });
        expect(tree.root.equals(expected.root), sha).to.equal(true);
        tree.levels.forEach((level, l) => expect(Buffer.from(level).equals(Buffer.from(expected.levels[l])), `${sha} level ${l}`).to.equal(true));
      }
    });

    it("rejects bad arguments", function () {
      expect(() => addon.hashLeaves(Buffer.alloc(10), 0)).to.throw(RangeError, /chunkSize/);
      expect(() => addon.hashLeaves(Buffer.alloc(10), 4, 0, 4)).to.throw(RangeError, /start <= end/);
      expect(() => addon.hashLeaves(Buffer.alloc(10), 4, 0, 3, Buffer.alloc(95))).to.throw(RangeError, /too small/);
      expect(() => addon.hashNodes(Buffer.alloc(33), ZERO_HASHES[0])).to.throw(RangeError, /multiple of 32/);
      expect(() => addon.hashNodes(Buffer.alloc(64), Buffer.alloc(31))).to.throw(RangeError, /32 bytes/);
      expect(() => addon.sha("sha-3" as NativeSha)).to.throw(RangeError, /sha must be/);
    });
  });

  describe("loading and fallback", function () {
    it("a blob encoded with the native code equals the reference encoding", function () {
      const data = randomBytes(300_001);
      const native = encodeBlob(data, 11);
      const reference = encodeBlob(data, 11, { kernel: referenceKernel, hasher: referenceCommitHasher });
      expect(native.coded.equals(reference.coded)).to.equal(true);
      expect(native.root.equals(reference.root)).to.equal(true);
    });

    it("the error names the path, the cause and the build command", function () {
      const error = new NativeErasureUnavailableError(new Error("Cannot find module 'x.node'\nRequire stack: ..."));
      expect(error.name).to.equal("NativeErasureUnavailableError");
      expect(error.message).to.contain("Cannot find module 'x.node'").and.to.contain(BUILD_COMMAND);
      expect(error.message).to.not.contain("Require stack");
    });

    it("without the addon: loadErasureAddon says how to build it, encoding falls back with one warning", async function () {
      // A fresh process that points DAIOS_ERASURE_ADDON at a file that does not exist.
      const script = `
        import { loadErasureAddon, optionalErasureAddon } from "./agents/src/sdk/da/native-erasure.ts";
        import { encodeBlob, decodeBlob } from "./agents/src/sdk/da/blob.ts";
        import { defaultKernel } from "./agents/src/sdk/da/erasure.ts";
        import { defaultCommitHasher } from "./agents/src/sdk/da/commitment.ts";
        const out = { warnings: [] };
        process.on("warning", (w) => out.warnings.push(w.code + ": " + w.message));
        try { loadErasureAddon(); out.threw = "no"; } catch (e) { out.threw = e.name; out.message = e.message; }
        out.kernel = defaultKernel().name;
        out.hasher = defaultCommitHasher().name;
        out.addon = optionalErasureAddon() === undefined ? "none" : "loaded";
        const data = new Uint8Array(5000).map((_, i) => (i * 7) % 251);
        const blob = encodeBlob(data, 6);
        out.root = blob.rootHex;
        const back = decodeBlob(blob.params, [3, 4, 5].map((i) => ({ index: i, data: blob.shards[i], proof: blob.shardProof(i) })));
        out.decoded = Buffer.from(back).equals(Buffer.from(data));
        await new Promise((resolve) => setTimeout(resolve, 50));
        console.log(JSON.stringify(out));
      `;
      const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        cwd: root,
        env: { ...process.env, DAIOS_ERASURE_ADDON: path.join(root, "agents/native/erasure/build/missing.node") },
      });
      const out = JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, unknown>;
      expect(out.threw).to.equal("NativeErasureUnavailableError");
      expect(out.message).to.contain("missing.node").and.to.contain(BUILD_COMMAND);
      expect(out.kernel).to.equal("reference");
      expect(out.hasher).to.equal("node:crypto");
      expect(out.addon).to.equal("none");
      expect(out.decoded).to.equal(true);
      expect(out.warnings).to.have.length(1);
      const [warning] = out.warnings as string[];
      expect(warning).to.match(/^DAIOS_NATIVE_ERASURE: /).and.to.contain(BUILD_COMMAND);
      expect(warning).to.not.contain("\n");
      const data = new Uint8Array(5000).map((_, i) => (i * 7) % 251);
      expect(out.root).to.equal(encodeBlob(data, 6).rootHex);
    });
  });
});
