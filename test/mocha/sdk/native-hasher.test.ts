/**
 * The native, multi-threaded tree hasher against the reference: circomlibjs's Poseidon and
 * ReferenceHasher must agree with it bit for bit, on both field arithmetics the addon has.
 *
 *   npx mocha --import=tsx --timeout 600000 test/mocha/sdk/native-hasher.test.ts
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import {
  DataFormatError,
  DataTree,
  ReferenceHasher,
  fromBytes32,
  packChunk,
  chunkBytes,
  toBytes32,
  zeroHashes,
} from "../../../agents/src/sdk/storage/format.js";
import {
  BUILD_COMMAND,
  FastHasher,
  NativeHasherUnavailableError,
  createFastHasher,
  loadPoseidonAddon,
  nativePoseidon,
  supportedArithmetics,
  type Arithmetic,
  type PoseidonAddon,
} from "../../../agents/src/sdk/storage/native-hasher.js";
import { SNARK_FIELD, circomlibPoseidon, type PoseidonFn } from "../../../agents/src/sdk/storage/poseidon.js";
import { STORAGE } from "../../../agents/src/generated/constants.js";
import { deterministicBytes } from "../../helpers/data.js";

const root = path.resolve(import.meta.dirname, "../../..");
const R = SNARK_FIELD;

function randomField(): bigint {
  return fromBytes32(randomBytes(32)) % R;
}

/** Edge values first, then random ones. */
function fieldInputs(n: number, round: number): bigint[] {
  const edges = [0n, 1n, R - 1n, R - 2n, 2n ** 248n - 1n];
  return Array.from({ length: n }, (_, i) => (round < edges.length ? edges[(round + i) % edges.length] : randomField()));
}

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  expect.fail("expected the promise to reject");
}

function expectSameLevels(actual: DataTree, expected: DataTree, label: string): void {
  expect(actual.levels.length, label).to.equal(expected.levels.length);
  actual.levels.forEach((level, h) => {
    expect(Buffer.from(level).equals(Buffer.from(expected.levels[h])), `${label}: level ${h} differs`).to.equal(true);
  });
  expect(actual.dataRoot, `${label}: data root`).to.equal(expected.dataRoot);
}

describe("native Poseidon tree hasher", function () {
  let reference: PoseidonFn;
  let referenceHasher: ReferenceHasher;
  let addon: PoseidonAddon;
  const hashers: FastHasher[] = [];
  const arithmetics: Arithmetic[] = [];

  before(async function () {
    reference = await circomlibPoseidon();
    referenceHasher = new ReferenceHasher(reference);
    addon = loadPoseidonAddon();
    // Every arithmetic this machine can run: the portable C++ always, the x86-64 ones where present.
    arithmetics.push(...supportedArithmetics());
    expect(arithmetics).to.include("portable");
    console.log(`      (arithmetics on this CPU: ${arithmetics.join(", ")})`);
  });

  after(async function () {
    await Promise.all(hashers.map((h) => h.close()));
    addon.arithmetic("best");
  });

  function hasher(options: Parameters<typeof createFastHasher>[0] = {}): FastHasher {
    const h = createFastHasher(options);
    hashers.push(h);
    return h;
  }

  describe("poseidon() equals circomlibjs", function () {
    for (const n of [2, 9]) {
      it(`${n} inputs: edge values 0, 1, r - 1 and 200 random inputs, every arithmetic`, function () {
        const poseidon = nativePoseidon();
        const hashes = Array.from({ length: 205 }, (_, round) => fieldInputs(n, round));
        const expected = hashes.map((inputs) => reference(inputs));
        const values = new Uint8Array(hashes.length * n * 32);
        hashes.flat().forEach((v, i) => values.set(toBytes32(v), i * 32));
        for (const arithmetic of arithmetics) {
          addon.arithmetic(arithmetic);
          hashes.forEach((inputs, i) => expect(poseidon(inputs), `${arithmetic} ${inputs.join(",")}`).to.equal(expected[i]));
          // In batches too (the 8-lane kernel in IFMA mode).
          const many = addon.hashMany(values, n);
          expected.forEach((h, i) => expect(fromBytes32(many, i * 32), `${arithmetic} batch, hash ${i}`).to.equal(h));
        }
        addon.arithmetic("best");
      });
    }

    it("the published vector poseidon([1, 2])", function () {
      expect(nativePoseidon()([1n, 2n])).to.equal(
        7853200120776062878684798364095072458815029376092732009249414926327459813530n,
      );
    });

    it("every width from 1 to 16 inputs (constants loaded on demand), every arithmetic", function () {
      const poseidon = nativePoseidon();
      for (const arithmetic of arithmetics) {
        addon.arithmetic(arithmetic);
        for (let n = 1; n <= 16; n++) {
          // 11 hashes: a full batch of the 8-lane kernel and a partial one; the first has edge values.
          const hashes = Array.from({ length: 11 }, (_, round) => fieldInputs(n, round === 0 ? 0 : 10));
          const expected = hashes.map((inputs) => reference(inputs));
          expect(poseidon(hashes[0]), `${arithmetic}, ${n} inputs`).to.equal(expected[0]);
          const values = new Uint8Array(11 * n * 32);
          hashes.flat().forEach((v, i) => values.set(toBytes32(v), i * 32));
          const many = addon.hashMany(values, n);
          expected.forEach((h, i) => expect(fromBytes32(many, i * 32), `${arithmetic}, ${n} inputs, hash ${i}`).to.equal(h));
          const tail = addon.hashMany(values, n, 9, 11);
          expect(fromBytes32(tail, 32), `${arithmetic}, ${n} inputs, range`).to.equal(expected[10]);
        }
      }
      addon.arithmetic("best");
    });

    it("reduces inputs at or above r like circomlibjs does, every arithmetic", function () {
      const big = [R, R + 5n, 2n ** 256n - 1n];
      const bytes = big.map(toBytes32);
      for (const arithmetic of arithmetics) {
        addon.arithmetic(arithmetic);
        expect(fromBytes32(addon.poseidon([bytes[0], bytes[1]])), arithmetic).to.equal(reference([0n, 5n]));
        expect(fromBytes32(addon.poseidon([bytes[2], bytes[1]])), arithmetic).to.equal(reference([(2n ** 256n - 1n) % R, 5n]));
        // As bigints through nativePoseidon, including negative and wider-than-256-bit ones.
        const poseidon = nativePoseidon();
        for (const inputs of [[-1n, 2n ** 300n + 7n], [R, -R - 3n]]) {
          expect(poseidon(inputs), `${arithmetic} ${inputs.join(",")}`).to.equal(reference(inputs));
        }
        // Through hashPairs too (the batched kernel takes a different entry).
        const level = new Uint8Array([...bytes[2], ...bytes[0], ...bytes[1]]);
        const parents = addon.hashPairs(level, bytes[1]);
        expect(fromBytes32(parents, 0), arithmetic).to.equal(reference([(2n ** 256n - 1n) % R, 0n]));
        expect(fromBytes32(parents, 32), arithmetic).to.equal(reference([5n, 5n]));
      }
      addon.arithmetic("best");
    });

    it("rejects malformed input with a clear error", function () {
      expect(() => addon.poseidon([new Uint8Array(31)])).to.throw(RangeError, /32 bytes/);
      expect(() => addon.poseidon([])).to.throw(RangeError, /1 to 16 inputs/);
      expect(() => addon.hashPairs(new Uint8Array(33), new Uint8Array(32))).to.throw(RangeError, /multiple of 32/);
      expect(() => addon.hashLeaves(new Uint8Array(10), 256, 0, 2)).to.throw(RangeError, /start <= end/);
      expect(() => addon.hashLeaves(new Uint8Array(512), 256, 0, 2, new Uint8Array(63))).to.throw(RangeError, /too small/);
    });
  });

  describe("addon ranges", function () {
    it("hashLeaves packs chunks like packChunk, pads the last one, and ranges write into `out`", function () {
      // 21 chunks: more than two batches of the 8-lane kernel, and a short last one.
      const data = deterministicBytes(20 * 256 + 77, 1);
      const expected = Array.from({ length: 21 }, (_, i) => reference(packChunk(chunkBytes(data, i))));
      for (const arithmetic of arithmetics) {
        addon.arithmetic(arithmetic);
        const whole = addon.hashLeaves(data, 256);
        expect(whole.length).to.equal(21 * 32);
        expected.forEach((leaf, i) => expect(fromBytes32(whole, i * 32), `${arithmetic} leaf ${i}`).to.equal(leaf));
        const out = new Uint8Array(new SharedArrayBuffer(21 * 32));
        for (const [start, end] of [[0, 2], [2, 3], [3, 13], [13, 21]]) {
          addon.hashLeaves(data, 256, start, end, out.subarray(start * 32, end * 32));
        }
        expect(Buffer.from(out).equals(Buffer.from(whole)), arithmetic).to.equal(true);
      }
      addon.arithmetic("best");
    });

    it("hashPairs with an odd count pairs the last node with `zero`, in ranges too", async function () {
      const level = new Uint8Array(7 * 32);
      for (let i = 0; i < 7; i++) level.set(toBytes32(randomField()), i * 32);
      const zero = zeroHashes(reference)[3];
      const expected = await referenceHasher.parents(level, zero);
      expect(expected.length).to.equal(4 * 32);
      for (const arithmetic of arithmetics) {
        addon.arithmetic(arithmetic);
        const whole = addon.hashPairs(level, toBytes32(zero));
        expect(Buffer.from(whole).equals(Buffer.from(expected)), arithmetic).to.equal(true);
        const last = addon.hashPairs(level, toBytes32(zero), 3, 4);
        expect(fromBytes32(last), arithmetic).to.equal(reference([fromBytes32(level, 6 * 32), zero]));
        // Without an odd node, nothing is paired with zero.
        const even = addon.hashPairs(level.subarray(0, 6 * 32), toBytes32(zero));
        expect(Buffer.from(even).equals(Buffer.from(expected.subarray(0, 3 * 32))), arithmetic).to.equal(true);
      }
      addon.arithmetic("best");
      // A level of 2 * 8 + 3 nodes: the odd node falls in a partial batch of the 8-lane kernel.
      const long = new Uint8Array(19 * 32);
      for (let i = 0; i < 19; i++) long.set(toBytes32(randomField()), i * 32);
      const longExpected = await referenceHasher.parents(long, zero);
      for (const arithmetic of arithmetics) {
        addon.arithmetic(arithmetic);
        expect(Buffer.from(addon.hashPairs(long, toBytes32(zero))).equals(Buffer.from(longExpected)), arithmetic).to.equal(true);
      }
      addon.arithmetic("best");
    });
  });

  describe("DataTree.build equals the ReferenceHasher", function () {
    const sizes: [string, number][] = [
      ["1 byte", 1],
      ["255 bytes", 255],
      ["256 bytes (one full chunk)", 256],
      ["257 bytes", 257],
      ["an odd number of chunks (7, the last partial)", 6 * 256 + 100],
      ["1 MiB + 3 bytes", 2 ** 20 + 3],
    ];
    const expectedTrees = new Map<number, DataTree>();

    async function referenceTree(data: Uint8Array): Promise<DataTree> {
      const cached = expectedTrees.get(data.length);
      if (cached) return cached;
      const tree = await DataTree.build(data, referenceHasher, reference);
      expectedTrees.set(data.length, tree);
      return tree;
    }

    for (const [label, size] of sizes) {
      it(`${label}: inline, worker threads, and every arithmetic`, async function () {
        const data = deterministicBytes(size, size);
        const expected = await referenceTree(data);
        expect(expected.chunkCount).to.equal(Math.ceil(size / STORAGE.CHUNK_SIZE));
        // Defaults: small levels inline, large ones on worker threads.
        const fast = hasher({ threads: 2 });
        expectSameLevels(await DataTree.build(data, fast, fast.poseidon), expected, `${label} default`);
        // Every level on the workers, in many small pieces.
        const threaded = hasher({ threads: 3, inlineLeaves: 0, inlinePairs: 0 });
        expectSameLevels(await DataTree.build(data, threaded, reference), expected, `${label} threaded`);
        for (const arithmetic of arithmetics) {
          const h = hasher({ threads: 2, arithmetic });
          expect(h.arithmetic).to.equal(arithmetic);
          expectSameLevels(await DataTree.build(data, h, h.poseidon), expected, `${label} ${arithmetic}`);
        }
      });
    }

    it("random data of random sizes", async function () {
      const fast = hasher({ threads: 2, inlineLeaves: 4, inlinePairs: 4 });
      for (let round = 0; round < 6; round++) {
        const size = 1 + Math.floor(Math.random() * 40_000);
        const data = new Uint8Array(randomBytes(size));
        const expected = await DataTree.build(data, referenceHasher, reference);
        expectSameLevels(await DataTree.build(data, fast, fast.poseidon), expected, `random ${size} bytes`);
      }
    });

    it("concurrent jobs on one hasher each get their own result", async function () {
      const fast = hasher({ threads: 2, inlineLeaves: 0, inlinePairs: 0 });
      const inputs = [3000, 70_000, 257, 12_345].map((size, i) => deterministicBytes(size, 100 + i));
      const results = await Promise.all(inputs.map((data) => fast.leaves(data)));
      for (const [i, data] of inputs.entries()) {
        const expected = await referenceHasher.leaves(data);
        expect(Buffer.from(results[i]).equals(Buffer.from(expected)), `job ${i}`).to.equal(true);
      }
    });

    it("takes input already in shared memory and returns ordinary arrays", async function () {
      const fast = hasher({ threads: 2, inlineLeaves: 0 });
      const data = deterministicBytes(50_000, 7);
      const sharedData = new Uint8Array(new SharedArrayBuffer(data.length));
      sharedData.set(data);
      const leaves = await fast.leaves(sharedData);
      expect(leaves.buffer).to.be.instanceOf(ArrayBuffer);
      expect(Buffer.from(leaves).equals(Buffer.from(await referenceHasher.leaves(data)))).to.equal(true);
    });
  });

  describe("errors", function () {
    it("rejects the sizes the reference rejects, with the same error", async function () {
      const fast = hasher();
      for (const size of [0, STORAGE.MAX_FILE_SIZE + 1]) {
        // A view that claims the length is enough: neither hasher reads the bytes before checking.
        const data = size === 0 ? new Uint8Array(0) : ({ length: size } as Uint8Array);
        const ours = await rejection(fast.leaves(data));
        const theirs = await rejection(referenceHasher.leaves(data));
        expect(ours).to.be.instanceOf(DataFormatError);
        expect((ours as Error).message).to.equal((theirs as Error).message);
      }
    });

    it("rejects a bad thread count and a zero outside the field", async function () {
      expect(() => createFastHasher({ threads: 0 })).to.throw(RangeError, /threads/);
      const fast = hasher();
      expect(await rejection(fast.parents(new Uint8Array(64), R))).to.be.instanceOf(RangeError);
    });

    it("a closed hasher refuses work instead of hanging", async function () {
      const fast = createFastHasher({ threads: 1, inlineLeaves: 0 });
      await fast.close();
      expect(String(await rejection(fast.leaves(deterministicBytes(10_000, 3))))).to.match(/closed/);
    });

    it("without the addon: createFastHasher says how to build it, createTreeHasher falls back with one warning", async function () {
      // A fresh process that points DAIOS_POSEIDON_ADDON at a file that does not exist.
      const script = `
        import { createFastHasher, createTreeHasher, NativeHasherUnavailableError } from "./agents/src/sdk/storage/native-hasher.ts";
        import { ReferenceHasher, DataTree } from "./agents/src/sdk/storage/format.ts";
        const out = {};
        try { createFastHasher(); out.threw = "no"; } catch (e) { out.threw = e.name; out.isClass = e instanceof NativeHasherUnavailableError; out.message = e.message; }
        const warnings = [];
        const choice = await createTreeHasher({ warn: (m) => warnings.push(m) });
        out.native = choice.native;
        out.reference = choice.hasher instanceof ReferenceHasher;
        out.warnings = warnings;
        out.root = String((await DataTree.build(new Uint8Array([1, 2, 3]), choice.hasher, choice.poseidon)).dataRoot);
        console.log(JSON.stringify(out));
      `;
      const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        cwd: root,
        env: { ...process.env, DAIOS_POSEIDON_ADDON: path.join(root, "agents/native/poseidon/build/missing.node") },
      });
      const out = JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, unknown>;
      expect(out.threw).to.equal("NativeHasherUnavailableError");
      expect(out.isClass).to.equal(true);
      expect(out.message).to.contain("missing.node").and.to.contain(BUILD_COMMAND);
      expect(out.native).to.equal(false);
      expect(out.reference).to.equal(true);
      expect(out.warnings).to.have.length(1);
      const [warning] = out.warnings as string[];
      expect(warning).to.contain(BUILD_COMMAND);
      expect(warning).to.not.contain("\n");
      const fast = hasher();
      const expected = await DataTree.build(new Uint8Array([1, 2, 3]), fast, fast.poseidon);
      expect(out.root).to.equal(String(expected.dataRoot));
    });

    it("the error names the path, the cause and the build command", function () {
      const error = new NativeHasherUnavailableError(new Error("Cannot find module 'x.node'\nRequire stack: ..."));
      expect(error.name).to.equal("NativeHasherUnavailableError");
      expect(error.message).to.contain("Cannot find module 'x.node'");
      expect(error.message).to.contain(BUILD_COMMAND);
      expect(error.message).to.not.contain("Require stack");
    });

    it("idle worker threads do not keep the process alive when close() is forgotten", async function () {
      const script = `
        import { createFastHasher } from "./agents/src/sdk/storage/native-hasher.ts";
        const h = createFastHasher({ threads: 2, inlineLeaves: 0 });
        const leaves = await h.leaves(new Uint8Array(100000).fill(7));
        console.log(leaves.length);
      `;
      const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        cwd: root,
        timeout: 60_000,
      });
      expect(stdout.trim()).to.equal(String(Math.ceil(100000 / 256) * 32));
    });
  });
});
