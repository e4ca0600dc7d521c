/**
 * GF(2^8), the field of the DA erasure code: bytes are polynomials over GF(2) modulo
 * x^8 + x^4 + x^3 + x^2 + 1 (0x11d), addition is XOR, and x (= 2) generates the multiplicative
 * group. This module is the reference: tables, matrix inversion and the byte loop that multiplies a
 * coefficient matrix by shard buffers. The native kernels (agents/native/erasure) must give the
 * same bytes; test/mocha/sdk/da-erasure.test.ts checks every one of them against this code.
 */

/** The reduction polynomial x^8 + x^4 + x^3 + x^2 + 1. */
export const GF_POLYNOMIAL = 0x11d;

/** GF_EXP[i] = 2^i for i in [0, 510) (doubled so that a sum of two logarithms needs no reduction). */
export const GF_EXP = new Uint8Array(510);
/** GF_LOG[a] = i with 2^i = a, for a != 0 (GF_LOG[0] is unused). */
export const GF_LOG = new Uint8Array(256);
/** GF_MUL[a * 256 + b] = a * b: the 64 KiB product table, one 256-byte row per multiplier. */
export const GF_MUL = new Uint8Array(256 * 256);

{
  let v = 1;
  for (let i = 0; i < 255; i++) {
    GF_EXP[i] = v;
    GF_EXP[i + 255] = v;
    GF_LOG[v] = i;
    v <<= 1;
    if (v & 0x100) v ^= GF_POLYNOMIAL;
  }
  for (let a = 1; a < 256; a++) {
    for (let b = 1; b < 256; b++) GF_MUL[a * 256 + b] = GF_EXP[GF_LOG[a] + GF_LOG[b]];
  }
}

export function gfMul(a: number, b: number): number {
  return GF_MUL[(a << 8) | b];
}

/** The multiplicative inverse of a != 0. */
export function gfInv(a: number): number {
  if (a === 0) throw new RangeError("0 has no inverse in GF(2^8)");
  return GF_EXP[255 - GF_LOG[a]];
}

/**
 * Something that computes outputs[r] = XOR over c of matrix[r * cols + c] * inputs[c], byte by
 * byte over the whole length of the outputs (all of one length, every input at least as long),
 * overwriting the outputs. Outputs must not overlap inputs.
 */
export interface GfKernel {
  /** "reference" for this module's loop, else the native kernel's name ("avx2", ...). */
  readonly name: string;
  mulMatrix(matrix: Uint8Array, rows: number, cols: number, inputs: readonly Uint8Array[], outputs: readonly Uint8Array[]): void;
}

/** The matrix-times-shards loop in TypeScript, one 256-byte product row per coefficient. */
export function referenceMulMatrix(
  matrix: Uint8Array,
  rows: number,
  cols: number,
  inputs: readonly Uint8Array[],
  outputs: readonly Uint8Array[],
): void {
  checkMulArguments(matrix, rows, cols, inputs, outputs);
  for (let r = 0; r < rows; r++) {
    const out = outputs[r];
    const length = out.length;
    out.fill(0);
    for (let c = 0; c < cols; c++) {
      const coefficient = matrix[r * cols + c];
      if (coefficient === 0) continue;
      const input = inputs[c];
      if (coefficient === 1) {
        for (let i = 0; i < length; i++) out[i] ^= input[i];
      } else {
        const products = GF_MUL.subarray(coefficient << 8, (coefficient << 8) + 256);
        for (let i = 0; i < length; i++) out[i] ^= products[input[i]];
      }
    }
  }
}

/** The argument checks every kernel shares (a wrong call is a programming error: RangeError). */
export function checkMulArguments(
  matrix: Uint8Array,
  rows: number,
  cols: number,
  inputs: readonly Uint8Array[],
  outputs: readonly Uint8Array[],
): void {
  if (matrix.length !== rows * cols) {
    throw new RangeError(`the matrix has ${matrix.length} coefficients, not rows x cols = ${rows} x ${cols}`);
  }
  if (inputs.length !== cols || outputs.length !== rows) {
    throw new RangeError(`need ${cols} inputs and ${rows} outputs, got ${inputs.length} and ${outputs.length}`);
  }
  for (const out of outputs) {
    if (out.length !== outputs[0].length) throw new RangeError("the output shards differ in length");
    for (const input of inputs) {
      if (input.length < out.length) throw new RangeError(`an input shard (${input.length} bytes) is shorter than an output (${out.length})`);
      if (input.buffer === out.buffer && overlaps(input, out)) throw new RangeError("an output shard overlaps an input shard");
    }
  }
}

function overlaps(a: Uint8Array, b: Uint8Array): boolean {
  return a.length > 0 && b.length > 0 && a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length;
}

/** The TypeScript kernel. */
export const referenceKernel: GfKernel = { name: "reference", mulMatrix: referenceMulMatrix };

/**
 * The inverse of a size x size matrix (row-major) by Gauss–Jordan elimination; throws a RangeError
 * when it is singular.
 */
export function invertMatrix(matrix: Uint8Array, size: number): Uint8Array {
  if (matrix.length !== size * size) throw new RangeError(`a ${size} x ${size} matrix has ${size * size} entries, not ${matrix.length}`);
  const a = Uint8Array.from(matrix);
  const inv = new Uint8Array(size * size);
  for (let i = 0; i < size; i++) inv[i * size + i] = 1;
  for (let col = 0; col < size; col++) {
    let pivot = col;
    while (pivot < size && a[pivot * size + col] === 0) pivot++;
    if (pivot === size) throw new RangeError("the matrix is singular");
    if (pivot !== col) {
      swapRows(a, size, pivot, col);
      swapRows(inv, size, pivot, col);
    }
    const scale = gfInv(a[col * size + col]);
    scaleRow(a, size, col, scale);
    scaleRow(inv, size, col, scale);
    for (let row = 0; row < size; row++) {
      const factor = a[row * size + col];
      if (row === col || factor === 0) continue;
      addScaledRow(a, size, row, col, factor);
      addScaledRow(inv, size, row, col, factor);
    }
  }
  return inv;
}

/** The product of a (n x m) and b (m x p), row-major. */
export function multiplyMatrices(a: Uint8Array, b: Uint8Array, n: number, m: number, p: number): Uint8Array {
  const out = new Uint8Array(n * p);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) {
      let sum = 0;
      for (let k = 0; k < m; k++) sum ^= gfMul(a[i * m + k], b[k * p + j]);
      out[i * p + j] = sum;
    }
  }
  return out;
}

function swapRows(m: Uint8Array, size: number, i: number, j: number): void {
  for (let c = 0; c < size; c++) {
    const t = m[i * size + c];
    m[i * size + c] = m[j * size + c];
    m[j * size + c] = t;
  }
}

function scaleRow(m: Uint8Array, size: number, row: number, factor: number): void {
  for (let c = 0; c < size; c++) m[row * size + c] = gfMul(m[row * size + c], factor);
}

/** row += factor * source */
function addScaledRow(m: Uint8Array, size: number, row: number, source: number, factor: number): void {
  for (let c = 0; c < size; c++) m[row * size + c] ^= gfMul(m[source * size + c], factor);
}
