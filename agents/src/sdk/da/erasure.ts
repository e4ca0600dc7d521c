/**
 * Systematic Reed–Solomon erasure code over GF(2^8) (gf256.ts): k data shards and n - k parity
 * shards of equal length; any k of the n shards rebuild the data. This file is the specification.
 *
 * Construction: the n x k generator matrix is G = [ I_k ; C ], the identity over a Cauchy matrix
 *
 *     C[r][j] = 1 / (x_r + y_j),   x_r = k + r (r < n - k),   y_j = j (j < k),
 *
 * with + the XOR of GF(2^8) and the inverse that of gfInv. Shard i < k is data shard i; parity shard
 * k + r is, byte by byte, the sum over j of C[r][j] * data shard j.
 *
 * Why Cauchy: the x's and y's are n distinct field elements, so every square submatrix of C is
 * invertible (a Cauchy determinant), and any k rows of G form an invertible matrix: the rows taken
 * from I fix some data shards, and the remaining square block is a submatrix of C. The code is MDS
 * for every k < n <= 256 by construction, with no setup-time matrix inversion and nothing to get
 * wrong: a Vandermonde matrix only becomes systematic after multiplying by the inverse of its top
 * block (the shortcut of stacking I on a Vandermonde matrix is not MDS), and the Cauchy definition
 * above is one line that any other implementation can reproduce.
 *
 * Decoding: take the first k available shards in index order (so data shards first), invert the
 * k x k matrix of their rows of G, and compute each missing data shard as its row of that inverse
 * times the k shards. The byte loop is a `GfKernel`: the native one (agents/native/erasure) when
 * it is built, else the TypeScript reference with one warning.
 */
import { DaiosError } from "../../core/errors.js";
import { gfInv, invertMatrix, referenceKernel, type GfKernel } from "./gf256.js";
import { nativeKernel, optionalErasureAddon } from "./native-erasure.js";

/** Most shards in all: the x's and y's of the Cauchy matrix are distinct bytes. */
export const MAX_SHARDS = 256;

/** Bad shapes, shard counts or shard lengths given to the erasure code. */
export class ErasureCodingError extends DaiosError {}

/** The fastest kernel available: native, or the TypeScript reference after a one-line warning. */
export function defaultKernel(warn?: (message: string) => void): GfKernel {
  return optionalErasureAddon(warn) ? nativeKernel() : referenceKernel;
}

function checkShape(k: number, n: number): void {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n <= k || n > MAX_SHARDS) {
    throw new ErasureCodingError(`Invalid Reed–Solomon shape k = ${k}, n = ${n}`, {
      hint: `Use integers with 1 <= k < n <= ${MAX_SHARDS} (k data shards, n shards in all)`,
    });
  }
}

/** The (n - k) x k Cauchy parity matrix C, row-major: C[r][j] = 1 / ((k + r) XOR j). */
export function parityMatrix(k: number, n: number): Uint8Array {
  checkShape(k, n);
  const m = new Uint8Array((n - k) * k);
  for (let r = 0; r < n - k; r++) {
    for (let j = 0; j < k; j++) m[r * k + j] = gfInv((k + r) ^ j);
  }
  return m;
}

/** The n x k generator matrix [I_k ; C], row-major: shard i = sum over j of G[i][j] * data shard j. */
export function generatorMatrix(k: number, n: number): Uint8Array {
  const c = parityMatrix(k, n);
  const g = new Uint8Array(n * k);
  for (let i = 0; i < k; i++) g[i * k + i] = 1;
  g.set(c, k * k);
  return g;
}

/** Shards by index: a Map, or an array of length n with the missing ones undefined or null. */
export type AvailableShards = ReadonlyMap<number, Uint8Array> | readonly (Uint8Array | undefined | null)[];

/** A Reed–Solomon code with k data shards out of n. */
export class ReedSolomon {
  readonly k: number;
  readonly n: number;
  /** The Cauchy parity matrix, (n - k) x k. */
  readonly parity: Uint8Array;
  readonly kernel: GfKernel;

  /** `kernel` defaults to `defaultKernel()` (native when built). */
  constructor(k: number, n: number, kernel?: GfKernel) {
    checkShape(k, n);
    this.k = k;
    this.n = n;
    this.parity = parityMatrix(k, n);
    this.kernel = kernel ?? defaultKernel();
  }

  /**
   * The n - k parity shards of k data shards of equal length, written into `into` when given (n - k
   * buffers of that length, not overlapping the data) and returned.
   */
  encode(data: readonly Uint8Array[], into?: readonly Uint8Array[]): Uint8Array[] {
    const length = this.checkData(data);
    const parity = into ? [...into] : Array.from({ length: this.n - this.k }, () => Buffer.allocUnsafe(length));
    if (parity.length !== this.n - this.k || parity.some((p) => p.length !== length)) {
      throw new ErasureCodingError(`Need ${this.n - this.k} parity buffers of ${length} bytes to encode into`);
    }
    this.kernel.mulMatrix(this.parity, this.n - this.k, this.k, data, parity);
    return parity;
  }

  /**
   * The k data shards from any k or more available shards (extra ones are not used; see
   * `decodeMatrix` for which). Data shards that are available are returned as given; missing ones
   * are new buffers.
   */
  reconstruct(available: AvailableShards): Uint8Array[] {
    const { indices, shards, length } = this.collect(available);
    const data: (Uint8Array | undefined)[] = Array.from({ length: this.k }, (_, i) => shards.get(i));
    const missing = data.flatMap((shard, i) => (shard ? [] : [i]));
    if (missing.length > 0) {
      const chosen = indices.slice(0, this.k);
      const inverse = this.decodeMatrix(chosen);
      const rows = new Uint8Array(missing.length * this.k);
      missing.forEach((d, row) => rows.set(inverse.subarray(d * this.k, (d + 1) * this.k), row * this.k));
      const outputs = missing.map(() => Buffer.allocUnsafe(length));
      this.kernel.mulMatrix(rows, missing.length, this.k, chosen.map((i) => shards.get(i)!), outputs);
      missing.forEach((d, row) => (data[d] = outputs[row]));
    }
    return data as Uint8Array[];
  }

  /** All n shards from any k available ones: the data, then the parity re-encoded where missing. */
  repair(available: AvailableShards): Uint8Array[] {
    const data = this.reconstruct(available);
    const { shards } = this.collect(available);
    const all: Uint8Array[] = [...data];
    const missingParity: number[] = [];
    for (let i = this.k; i < this.n; i++) {
      const shard = shards.get(i);
      if (shard) all.push(shard);
      else {
        missingParity.push(i);
        all.push(new Uint8Array(0));
      }
    }
    if (missingParity.length > 0) {
      const rows = new Uint8Array(missingParity.length * this.k);
      missingParity.forEach((i, row) => rows.set(this.parity.subarray((i - this.k) * this.k, (i - this.k + 1) * this.k), row * this.k));
      const outputs = missingParity.map(() => Buffer.allocUnsafe(data[0].length));
      this.kernel.mulMatrix(rows, missingParity.length, this.k, data, outputs);
      missingParity.forEach((i, row) => (all[i] = outputs[row]));
    }
    return all;
  }

  /**
   * The inverse of the k x k matrix of rows `indices` of the generator: data shard d = sum over j
   * of inverse[d][j] * shard indices[j]. `indices` are k distinct shard indices.
   */
  decodeMatrix(indices: readonly number[]): Uint8Array {
    const { k } = this;
    if (indices.length !== k || new Set(indices).size !== k || indices.some((i) => !Number.isInteger(i) || i < 0 || i >= this.n)) {
      throw new ErasureCodingError(`A decode matrix needs ${k} distinct shard indices in [0, ${this.n}), got [${indices.join(", ")}]`);
    }
    const sub = new Uint8Array(k * k);
    indices.forEach((index, row) => {
      if (index < k) sub[row * k + index] = 1;
      else sub.set(this.parity.subarray((index - k) * k, (index - k + 1) * k), row * k);
    });
    return invertMatrix(sub, k);
  }

  private checkData(data: readonly Uint8Array[]): number {
    if (data.length !== this.k) {
      throw new ErasureCodingError(`Need exactly ${this.k} data shards to encode, got ${data.length}`);
    }
    const length = data[0].length;
    if (data.some((d) => !(d instanceof Uint8Array) || d.length !== length)) {
      throw new ErasureCodingError(`The data shards must be Uint8Arrays of one length (the first has ${length} bytes)`);
    }
    return length;
  }

  private collect(available: AvailableShards): { indices: number[]; shards: Map<number, Uint8Array>; length: number } {
    const shards = new Map<number, Uint8Array>();
    const entries: [number, Uint8Array | undefined | null][] =
      available instanceof Map ? [...available.entries()] : (available as readonly (Uint8Array | undefined | null)[]).map((s, i) => [i, s]);
    if (!(available instanceof Map) && entries.length > this.n) {
      throw new ErasureCodingError(`Got an array of ${entries.length} shards for a code of ${this.n}`);
    }
    for (const [index, shard] of entries) {
      if (shard === undefined || shard === null) continue;
      if (!Number.isInteger(index) || index < 0 || index >= this.n) {
        throw new ErasureCodingError(`Shard index ${index} is out of range`, { hint: `Shard indices run from 0 to ${this.n - 1}` });
      }
      if (!(shard instanceof Uint8Array)) throw new ErasureCodingError(`Shard ${index} is not a Uint8Array`);
      shards.set(index, shard);
    }
    const indices = [...shards.keys()].sort((a, b) => a - b);
    if (indices.length < this.k) {
      throw new ErasureCodingError(`Only ${indices.length} of ${this.n} shards are available (${indices.join(", ") || "none"})`, {
        hint: `Any ${this.k} shards rebuild the data: fetch ${this.k - indices.length} more`,
      });
    }
    const length = shards.get(indices[0])!.length;
    for (const [index, shard] of shards) {
      if (shard.length !== length) {
        throw new ErasureCodingError(`Shard ${index} has ${shard.length} bytes, shard ${indices[0]} has ${length}`, {
          hint: "All shards of one code have the same length",
        });
      }
    }
    return { indices, shards, length };
  }
}

/** The n - k parity shards of `data` (k shards of one length). */
export function encodeShards(data: readonly Uint8Array[], n: number, kernel?: GfKernel): Uint8Array[] {
  return new ReedSolomon(data.length, n, kernel).encode(data);
}

/** The k data shards of a (k, n) code from any k available shards. */
export function reconstruct(k: number, n: number, available: AvailableShards, kernel?: GfKernel): Uint8Array[] {
  return new ReedSolomon(k, n, kernel).reconstruct(available);
}
