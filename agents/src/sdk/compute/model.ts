/**
 * The compute layer's model: a quantised multilayer perceptron with integer-only inference, exactly
 * as circuits/lib/mlp.circom computes it (test/mocha/sdk/compute/circuit.test.ts checks the two agree
 * bit for bit).
 *
 *   x_i  ∈ [0, inputMax]                         whole numbers (the digits model: 8×8 pixels, 0..16)
 *   h_j  = max(0, b1_j + Σ_i W1[j][i] · x_i)      W1 int8 [hidden][inputs], b1 int32 [hidden]
 *   z_k  = b2_k + Σ_j W2[k][j] · h_j              W2 int8 [outputs][hidden], b2 int32 [outputs]
 *   output = argmax_k z_k                        the lowest index wins a tie
 *
 * No rescaling, no division, no rounding: the float network's scales are folded into the integers at
 * training time (agents/src/tools/train-digits.ts), and argmax does not care about a positive scale.
 * Every intermediate value stays far below 2^53 (|h| < 2^32, |z| < 2^44), but the logits are returned
 * as bigints so that callers never have to think about it.
 *
 * The weights file (what goes to storage, `encodeWeights`/`decodeWeights`) is, byte by byte:
 *
 *   offset  size  field
 *   0       4     magic "DMLP" (0x44 0x4d 0x4c 0x50)
 *   4       1     version = 1
 *   5       2     inputs     uint16 little-endian
 *   7       2     hidden     uint16 little-endian
 *   9       2     outputs    uint16 little-endian
 *   11      2     inputMax   uint16 little-endian
 *   13      H·I   W1 row by row, int8 (two's complement)
 *   ..      4·H   b1, int32 little-endian
 *   ..      O·H   W2 row by row, int8
 *   ..      4·O   b2, int32 little-endian
 *
 * and nothing else: one model has exactly one encoding (the digits model: 1,301 bytes).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DaiosError } from "../../core/errors.js";

/** The sizes of a model: the circuit is compiled for one shape. */
export interface MlpShape {
  inputs: number;
  hidden: number;
  outputs: number;
  /** The largest input value (inputs are whole numbers from 0 to inputMax). */
  inputMax: number;
}

/** A quantised MLP: what inference, the commitment and the circuit use. */
export interface Model extends MlpShape {
  /** [hidden][inputs], int8. */
  w1: number[][];
  /** [hidden], int32. */
  b1: number[];
  /** [outputs][hidden], int8. */
  w2: number[][];
  /** [outputs], int32. */
  b2: number[];
}

/** model.json: the model plus what it is and how it was made (written by `npm run train`). */
export interface ModelFile extends Model {
  format: typeof MODEL_FORMAT;
  name: string;
  /** Training record: dataset hash, split, scales, accuracy, the weights file's hash and commitment. */
  meta: Record<string, unknown>;
}

export interface Inference {
  /** One integer score per class. */
  logits: bigint[];
  /** The predicted class: index of the largest logit (the lowest index on a tie). */
  output: number;
}

/** The shape of the shipped digits model (and of circuits/digits.circom). */
export const DIGITS_SHAPE: Readonly<MlpShape> = Object.freeze({ inputs: 64, hidden: 16, outputs: 10, inputMax: 16 });

export const MODEL_FORMAT = "daios-mlp-v1";
export const WEIGHTS_MAGIC = "DMLP";
export const WEIGHTS_VERSION = 1;
const HEADER_BYTES = 13;

export const INT8_MIN = -128;
export const INT8_MAX = 127;
export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;

/** agents/models/digits: the dataset, model.json and digits.weights. */
export const DIGITS_MODEL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../models/digits");
export const DIGITS_MODEL_FILE = path.join(DIGITS_MODEL_DIR, "model.json");
export const DIGITS_WEIGHTS_FILE = path.join(DIGITS_MODEL_DIR, "digits.weights");
export const DIGITS_DATASET_FILE = path.join(DIGITS_MODEL_DIR, "digits.csv");

/** An input the model cannot take: wrong shape, a value out of range or not a whole number. */
export class ComputeInputError extends DaiosError {
  /** Position (0-based) of the offending value, when one value is to blame. */
  readonly position: number | undefined;

  constructor(problem: string, options: { hint?: string; position?: number; cause?: unknown } = {}) {
    super(problem, { hint: options.hint, cause: options.cause });
    this.position = options.position;
  }
}

/** A model file or weights file that is malformed (bad magic, size, shape or a value out of range). */
export class ModelFormatError extends DaiosError {}

// ---------------------------------------------------------------------------------------------
// Inference

/** Checks that `input` is a list of `inputs` whole numbers in [0, inputMax]; says what is wrong if not. */
export function validateInput(shape: MlpShape, input: unknown): asserts input is number[] {
  const layout = describeLayout(shape);
  if (!Array.isArray(input)) {
    throw new ComputeInputError(`The input must be a list of ${shape.inputs} whole numbers, not ${describeValue(input)}`, {
      hint: `Give ${layout}, each from 0 to ${shape.inputMax}`,
    });
  }
  if (input.length !== shape.inputs) {
    const label = input.length === shape.inputs + 1 ? " (a dataset row has the label as its last value: drop it)" : "";
    throw new ComputeInputError(`The input has ${input.length} values; the model takes ${shape.inputs}${label}`, {
      hint: `Give ${layout}, each from 0 to ${shape.inputMax}`,
    });
  }
  for (let i = 0; i < input.length; i++) {
    const value: unknown = input[i];
    const where = describePosition(shape, i);
    if (typeof value !== "number") {
      throw new ComputeInputError(`Input value ${where} is ${describeValue(value)}, not a whole number`, {
        hint: `Every value must be a whole number from 0 to ${shape.inputMax}`,
        position: i,
      });
    }
    if (typeof value === "number" && !Number.isInteger(value)) {
      throw new ComputeInputError(`Input value ${where} is ${value}, not a whole number`, {
        hint: `Every value must be a whole number from 0 to ${shape.inputMax}: round it`,
        position: i,
      });
    }
    if (value < 0 || value > shape.inputMax) {
      throw new ComputeInputError(`Input value ${where} is ${value}, out of range`, {
        hint: `Every value must be from 0 to ${shape.inputMax}` +
          (shape === DIGITS_SHAPE || sameShape(shape, DIGITS_SHAPE) ? " (pixel intensities of an 8×8 image, 0 = blank, 16 = full)" : ""),
        position: i,
      });
    }
  }
}

/**
 * Runs the integer network on `input` (validated first): the logits and the predicted class,
 * bit for bit what the circuit computes.
 */
export function infer(model: Model, input: readonly number[]): Inference {
  const x = [...input];
  validateInput(model, x);
  const hidden: bigint[] = [];
  for (let j = 0; j < model.hidden; j++) {
    let acc = BigInt(model.b1[j]);
    const row = model.w1[j];
    for (let i = 0; i < model.inputs; i++) acc += BigInt(row[i] * x[i]);
    hidden.push(acc > 0n ? acc : 0n);
  }
  const logits: bigint[] = [];
  for (let k = 0; k < model.outputs; k++) {
    let acc = BigInt(model.b2[k]);
    const row = model.w2[k];
    for (let j = 0; j < model.hidden; j++) acc += BigInt(row[j]) * hidden[j];
    logits.push(acc);
  }
  let output = 0;
  for (let k = 1; k < logits.length; k++) if (logits[k] > logits[output]) output = k;
  return { logits, output };
}

// ---------------------------------------------------------------------------------------------
// Input files

/**
 * Reads an input file: a JSON array of the input values (also 8 arrays of 8 for the digits
 * shape), or text with the values separated by commas and/or white space, either all on one line
 * (a CSV line) or as a grid (8 lines of 8 for the digits shape). Validates the values.
 */
export function parseInputFile(data: string | Uint8Array, shape: MlpShape = DIGITS_SHAPE): number[] {
  let text: string;
  if (typeof data === "string") {
    text = data;
  } else {
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(data);
    } catch (cause) {
      throw new ComputeInputError("The input file is not UTF-8 text", {
        hint: `Write the ${shape.inputs} values as text: a JSON array, one comma-separated line, or ${describeGrid(shape)}`,
        cause,
      });
    }
  }
  text = text.replace(/^\uFEFF/, "").trim();
  if (text.length === 0) {
    throw new ComputeInputError("The input file is empty", { hint: `Give ${describeLayout(shape)}` });
  }
  const values = text.startsWith("[") ? parseJsonInput(text, shape) : parseTextInput(text, shape);
  validateInput(shape, values);
  return values;
}

function parseJsonInput(text: string, shape: MlpShape): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ComputeInputError(`The input file starts with "[" but is not valid JSON (${(cause as Error).message})`, {
      hint: `Write a JSON array of ${shape.inputs} whole numbers, e.g. [0, 3, 16, …]`,
      cause,
    });
  }
  if (Array.isArray(parsed) && parsed.length > 0 && parsed.every(Array.isArray)) {
    const rows = parsed as unknown[][];
    const grid = gridOf(shape);
    if (!grid || rows.length !== grid.rows || rows.some((row) => row.length !== grid.columns)) {
      throw new ComputeInputError(`The input is a JSON array of ${rows.length} arrays of [${rows.map((r) => r.length).join(", ")}] values`, {
        hint: `Give ${describeLayout(shape)}`,
      });
    }
    return rows.flat();
  }
  return parsed as unknown[];
}

function parseTextInput(text: string, shape: MlpShape): number[] {
  const lines = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line.length > 0);
  const rows = lines.map((line) => line.split(/[\s,;]+/).filter((token) => token.length > 0));
  const grid = gridOf(shape);
  const count = rows.reduce((n, row) => n + row.length, 0);
  const oneLine = rows.length === 1;
  const isGrid = grid !== undefined && rows.length === grid.rows && rows.every((row) => row.length === grid.columns);
  if (!oneLine && !isGrid) {
    throw new ComputeInputError(
      `The input file has ${rows.length} lines with [${rows.map((r) => r.length).join(", ")}] values (${count} in all)`,
      { hint: `Give ${describeLayout(shape)}` },
    );
  }
  const values: number[] = [];
  for (const token of rows.flat()) {
    if (!/^[+-]?\d+$/.test(token)) {
      throw new ComputeInputError(`Input value ${describePosition(shape, values.length)} is "${token}", not a whole number`, {
        hint: `Every value must be a whole number from 0 to ${shape.inputMax}`,
        position: values.length,
      });
    }
    values.push(Number(token));
  }
  return values;
}

/** The input as the bytes of an inline job input (ComputeMarket.postJob's `input`): one byte per value. */
export function inputBytes(shape: MlpShape, input: readonly number[]): Uint8Array {
  const x = [...input];
  validateInput(shape, x);
  if (shape.inputMax > 255) throw new ComputeInputError(`Values up to ${shape.inputMax} do not fit in one byte each`, { hint: "Store the input as a file instead" });
  return Uint8Array.from(x);
}

/** The inverse of inputBytes (validated). */
export function inputFromBytes(shape: MlpShape, bytes: Uint8Array): number[] {
  const x = Array.from(bytes);
  validateInput(shape, x);
  return x;
}

// ---------------------------------------------------------------------------------------------
// Model files

/**
 * Loads a model: model.json (default: the shipped digits model) or a weights file (recognised by
 * its magic bytes). Checks the shape and every value's range.
 */
export function loadModel(file: string = DIGITS_MODEL_FILE): Model | ModelFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (cause) {
    throw new ModelFormatError(`Cannot read the model file ${file}`, { hint: "Check the path (model.json or a .weights file)", cause });
  }
  if (bytes.subarray(0, 4).toString("latin1") === WEIGHTS_MAGIC) return decodeWeights(bytes);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch (cause) {
    throw new ModelFormatError(`The model file ${file} is neither JSON nor a weights file`, { hint: "Give model.json or a .weights file written by `npm run train`", cause });
  }
  return parseModelJson(parsed, file);
}

/** Checks a parsed model.json and returns it typed. */
export function parseModelJson(parsed: unknown, source = "model.json"): ModelFile {
  if (typeof parsed !== "object" || parsed === null) throw new ModelFormatError(`${source} is not a JSON object`);
  const m = parsed as Partial<ModelFile>;
  if (m.format !== MODEL_FORMAT) {
    throw new ModelFormatError(`${source} has format ${JSON.stringify(m.format)}, expected "${MODEL_FORMAT}"`, { hint: "Regenerate it with `npm run train`" });
  }
  if (typeof m.name !== "string") throw new ModelFormatError(`${source} has no name`);
  checkModel(m as Model, source);
  return { ...(m as ModelFile), meta: (m.meta ?? {}) as Record<string, unknown> };
}

/** Checks the shape and the ranges of a model's numbers. */
export function checkModel(model: Model, source = "the model"): void {
  for (const key of ["inputs", "hidden", "outputs", "inputMax"] as const) {
    const value = model[key];
    if (!Number.isSafeInteger(value) || value < 1 || value > 0xffff) {
      throw new ModelFormatError(`${source}: ${key} is ${String(value)}, expected a whole number from 1 to 65535`);
    }
  }
  const matrix = (name: string, rows: unknown, count: number, width: number) => {
    if (!Array.isArray(rows) || rows.length !== count) throw new ModelFormatError(`${source}: ${name} must have ${count} rows`);
    rows.forEach((row: unknown, r) => vector(`${name}[${r}]`, row, width, INT8_MIN, INT8_MAX, "int8"));
  };
  const vector = (name: string, values: unknown, count: number, min: number, max: number, type: string) => {
    if (!Array.isArray(values) || values.length !== count) throw new ModelFormatError(`${source}: ${name} must have ${count} values`);
    values.forEach((v: unknown, i) => {
      if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
        throw new ModelFormatError(`${source}: ${name}[${i}] is ${String(v)}, not an ${type} (${min}..${max})`);
      }
    });
  };
  matrix("w1", model.w1, model.hidden, model.inputs);
  vector("b1", model.b1, model.hidden, INT32_MIN, INT32_MAX, "int32");
  matrix("w2", model.w2, model.outputs, model.hidden);
  vector("b2", model.b2, model.outputs, INT32_MIN, INT32_MAX, "int32");
}

/** The size of the weights file of a model of this shape. */
export function weightsFileSize(shape: MlpShape): number {
  return HEADER_BYTES + shape.hidden * shape.inputs + 4 * shape.hidden + shape.outputs * shape.hidden + 4 * shape.outputs;
}

/** The canonical weights file of a model (see the table at the top of this file). */
export function encodeWeights(model: Model): Uint8Array {
  checkModel(model);
  const out = Buffer.alloc(weightsFileSize(model));
  out.write(WEIGHTS_MAGIC, 0, "latin1");
  out.writeUInt8(WEIGHTS_VERSION, 4);
  out.writeUInt16LE(model.inputs, 5);
  out.writeUInt16LE(model.hidden, 7);
  out.writeUInt16LE(model.outputs, 9);
  out.writeUInt16LE(model.inputMax, 11);
  let at = HEADER_BYTES;
  for (const row of model.w1) for (const w of row) at = out.writeInt8(w, at);
  for (const b of model.b1) at = out.writeInt32LE(b, at);
  for (const row of model.w2) for (const w of row) at = out.writeInt8(w, at);
  for (const b of model.b2) at = out.writeInt32LE(b, at);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** Reads a weights file; rejects anything that is not exactly a canonical encoding. */
export function decodeWeights(bytes: Uint8Array): Model {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HEADER_BYTES || buf.subarray(0, 4).toString("latin1") !== WEIGHTS_MAGIC) {
    throw new ModelFormatError(`Not a daios weights file: it does not start with "${WEIGHTS_MAGIC}"`, {
      hint: "Give the .weights file written by `npm run train` (or by encodeWeights)",
    });
  }
  const version = buf.readUInt8(4);
  if (version !== WEIGHTS_VERSION) {
    throw new ModelFormatError(`Weights file version ${version} is not supported (this code reads version ${WEIGHTS_VERSION})`, { hint: "Update daios" });
  }
  const shape: MlpShape = { inputs: buf.readUInt16LE(5), hidden: buf.readUInt16LE(7), outputs: buf.readUInt16LE(9), inputMax: buf.readUInt16LE(11) };
  const expected = weightsFileSize(shape);
  if (buf.length !== expected) {
    throw new ModelFormatError(
      `Weights file of ${buf.length} bytes; its header (${shape.inputs}→${shape.hidden}→${shape.outputs}) needs exactly ${expected}`,
      { hint: "The file is truncated or has extra bytes: fetch it again" },
    );
  }
  let at = HEADER_BYTES;
  const int8Rows = (rows: number, columns: number) =>
    Array.from({ length: rows }, () => Array.from({ length: columns }, () => buf.readInt8(at++)));
  const int32s = (count: number) => Array.from({ length: count }, () => ((at += 4), buf.readInt32LE(at - 4)));
  const w1 = int8Rows(shape.hidden, shape.inputs);
  const b1 = int32s(shape.hidden);
  const w2 = int8Rows(shape.outputs, shape.hidden);
  const b2 = int32s(shape.outputs);
  const model: Model = { ...shape, w1, b1, w2, b2 };
  checkModel(model, "the weights file");
  return model;
}

/** Just the model (shape + numbers) of a model file, e.g. to compare with a decoded weights file. */
export function modelParameters(model: Model): Model {
  const { inputs, hidden, outputs, inputMax, w1, b1, w2, b2 } = model;
  return { inputs, hidden, outputs, inputMax, w1, b1, w2, b2 };
}

export function sameShape(a: MlpShape, b: MlpShape): boolean {
  return a.inputs === b.inputs && a.hidden === b.hidden && a.outputs === b.outputs && a.inputMax === b.inputMax;
}

// ---------------------------------------------------------------------------------------------
// Messages

function gridOf(shape: MlpShape): { rows: number; columns: number } | undefined {
  const side = Math.round(Math.sqrt(shape.inputs));
  return side * side === shape.inputs && side > 1 ? { rows: side, columns: side } : undefined;
}

function describeGrid(shape: MlpShape): string {
  const grid = gridOf(shape);
  return grid ? `${grid.rows} lines of ${grid.columns}` : `${shape.inputs} values on one line`;
}

function describeLayout(shape: MlpShape): string {
  return `${shape.inputs} whole numbers (a JSON array, one comma-separated line, or ${describeGrid(shape)})`;
}

function describePosition(shape: MlpShape, i: number): string {
  const grid = gridOf(shape);
  return grid ? `${i} (row ${Math.floor(i / grid.columns) + 1}, column ${(i % grid.columns) + 1})` : `${i}`;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the text ${JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…` : value)}`;
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value)}`;
}
