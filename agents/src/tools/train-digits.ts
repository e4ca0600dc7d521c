/**
 * Trains the compute layer's model: the MLP 64 → 16 (ReLU) → 10 on the 8×8 digits dataset
 * (agents/models/digits/digits.csv), quantises it to the integers of agents/src/sdk/compute/model.ts,
 * and writes agents/models/digits/model.json and agents/models/digits/digits.weights.
 *
 *   npm run train             train, print the accuracies, write both files
 *   npm run train -- --check  train and compare with the committed files instead (exit 1 if they differ)
 *
 * Everything is deterministic: a seeded generator (below) makes the split, the initial weights and the
 * batch order, and the arithmetic is plain IEEE doubles in a fixed order, so the same dataset gives the
 * same files bit for bit (test/mocha/sdk/compute/model.test.ts checks it). Plain TypeScript: a network
 * this small needs a few hundred lines, and no npm package would make the result more reproducible.
 *
 * Steps:
 *   1. Split: per class, the rows are shuffled with the split seed and the first 20 % (rounded) are
 *      held back; the rest is the training split. The held-back rows are never used for any choice.
 *   2. Float training: inputs x/16, He-uniform initial weights, softmax cross-entropy, Adam with L2
 *      weight decay on the weights, mini-batches in a seeded order, a fixed number of epochs.
 *   3. Quantisation: layer 1 acts on raw pixels (0..16), so its float weights are W1/16. Each layer's
 *      weights are scaled by s = 127 / (c · max|W|) and rounded (half away from zero), clamped to
 *      ±127; the clip factor c per layer is the one among CLIP_FACTORS that gives the best accuracy on
 *      the TRAINING split. b1 is scaled by s1, b2 by s1 · s2: then every integer pre-activation is the
 *      float one times a positive constant, ReLU and argmax keep their meaning, and inference needs no
 *      rescaling at all.
 *   4. The held-back accuracy of the float and of the integer network is printed and recorded in
 *      model.json; the integer one is computed with the SDK's own `infer` (the circuit's arithmetic).
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { weightsCommitment } from "../sdk/compute/commitment.js";
import {
  DIGITS_DATASET_FILE,
  DIGITS_MODEL_FILE,
  DIGITS_SHAPE,
  DIGITS_WEIGHTS_FILE,
  MODEL_FORMAT,
  encodeWeights,
  infer,
  type Model,
  type ModelFile,
} from "../sdk/compute/model.js";

export const SPLIT_SEED = 20260401;
export const INIT_SEED = 7;
export const HELD_BACK_FRACTION = 0.2;
export const HYPERPARAMETERS = Object.freeze({
  epochs: 150,
  batchSize: 32,
  learningRate: 0.004,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  weightDecay: 1e-4,
});
/** Candidate clip factors per layer (a fraction of the largest absolute weight mapped to ±127). */
export const CLIP_FACTORS = [1, 0.9, 0.8, 0.7, 0.6, 0.5] as const;
export const MODEL_NAME = "digits-mlp-64-16-10";

const { inputs: IN, hidden: HID, outputs: OUT, inputMax: XMAX } = DIGITS_SHAPE;

export interface Dataset {
  /** Rows of 64 pixel values, 0..16. */
  x: number[][];
  /** Labels 0..9. */
  y: number[];
  sha256: string;
}

/** Reads the digits CSV: 1797 lines of 64 pixel values and the label. */
export function loadDataset(file: string = DIGITS_DATASET_FILE): Dataset {
  const bytes = readFileSync(file);
  const x: number[][] = [];
  const y: number[] = [];
  const lines = bytes.toString("utf8").split("\n").filter((line) => line.length > 0);
  lines.forEach((line, n) => {
    const values = line.split(",").map(Number);
    if (values.length !== IN + 1 || values.some((v) => !Number.isInteger(v))) {
      throw new Error(`${file} line ${n + 1}: expected ${IN + 1} whole numbers, got "${line.slice(0, 40)}…"`);
    }
    const label = values.pop() as number;
    if (label < 0 || label >= OUT || values.some((v) => v < 0 || v > XMAX)) throw new Error(`${file} line ${n + 1}: value out of range`);
    x.push(values);
    y.push(label);
  });
  return { x, y, sha256: createHash("sha256").update(bytes).digest("hex") };
}

/** A small seeded generator (mulberry32): uniform doubles in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** Row indices of the training and held-back splits (stratified by label, both sorted). */
export function stratifiedSplit(labels: readonly number[], seed: number = SPLIT_SEED, fraction: number = HELD_BACK_FRACTION): { train: number[]; heldBack: number[] } {
  const random = seededRandom(seed);
  const train: number[] = [];
  const heldBack: number[] = [];
  for (let label = 0; label < OUT; label++) {
    const rows = shuffle(labels.flatMap((l, i) => (l === label ? [i] : [])), random);
    const held = Math.round(rows.length * fraction);
    heldBack.push(...rows.slice(0, held));
    train.push(...rows.slice(held));
  }
  return { train: train.sort((a, b) => a - b), heldBack: heldBack.sort((a, b) => a - b) };
}

// ---------------------------------------------------------------------------------------------
// Float network

interface FloatNet {
  w1: Float64Array; // [HID][IN]
  b1: Float64Array;
  w2: Float64Array; // [OUT][HID]
  b2: Float64Array;
}

function initNet(random: () => number): FloatNet {
  const uniform = (n: number, limit: number) => Float64Array.from({ length: n }, () => (2 * random() - 1) * limit);
  return {
    w1: uniform(HID * IN, Math.sqrt(6 / IN)),
    b1: new Float64Array(HID),
    w2: uniform(OUT * HID, Math.sqrt(6 / HID)),
    b2: new Float64Array(OUT),
  };
}

function forward(net: FloatNet, x: Float64Array, h: Float64Array, z: Float64Array): void {
  for (let j = 0; j < HID; j++) {
    let acc = net.b1[j];
    for (let i = 0; i < IN; i++) acc += net.w1[j * IN + i] * x[i];
    h[j] = acc > 0 ? acc : 0;
  }
  for (let k = 0; k < OUT; k++) {
    let acc = net.b2[k];
    for (let j = 0; j < HID; j++) acc += net.w2[k * HID + j] * h[j];
    z[k] = acc;
  }
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < values.length; k++) if (values[k] > values[best]) best = k;
  return best;
}

function trainFloat(data: Dataset, rows: readonly number[], random: () => number): FloatNet {
  const p = HYPERPARAMETERS;
  const net = initNet(random);
  const params = [net.w1, net.b1, net.w2, net.b2];
  const decays = [p.weightDecay, 0, p.weightDecay, 0];
  const grads = params.map((a) => new Float64Array(a.length));
  const m = params.map((a) => new Float64Array(a.length));
  const v = params.map((a) => new Float64Array(a.length));
  const inputs = data.x.map((row) => Float64Array.from(row, (value) => value / XMAX));
  const h = new Float64Array(HID);
  const z = new Float64Array(OUT);
  const dz = new Float64Array(OUT);
  const dh = new Float64Array(HID);
  const order = [...rows];
  let step = 0;
  for (let epoch = 0; epoch < p.epochs; epoch++) {
    shuffle(order, random);
    for (let start = 0; start < order.length; start += p.batchSize) {
      const batch = order.slice(start, start + p.batchSize);
      grads.forEach((g) => g.fill(0));
      const [gw1, gb1, gw2, gb2] = grads;
      for (const row of batch) {
        const x = inputs[row];
        forward(net, x, h, z);
        // softmax cross-entropy: dL/dz = softmax(z) - onehot(y)
        const top = z[argmax(z)];
        let sum = 0;
        for (let k = 0; k < OUT; k++) sum += (dz[k] = Math.exp(z[k] - top));
        for (let k = 0; k < OUT; k++) dz[k] = dz[k] / sum - (k === data.y[row] ? 1 : 0);
        dh.fill(0);
        for (let k = 0; k < OUT; k++) {
          gb2[k] += dz[k];
          for (let j = 0; j < HID; j++) {
            gw2[k * HID + j] += dz[k] * h[j];
            dh[j] += dz[k] * net.w2[k * HID + j];
          }
        }
        for (let j = 0; j < HID; j++) {
          if (h[j] <= 0) continue;
          gb1[j] += dh[j];
          for (let i = 0; i < IN; i++) gw1[j * IN + i] += dh[j] * x[i];
        }
      }
      step++;
      const correction1 = 1 - p.beta1 ** step;
      const correction2 = 1 - p.beta2 ** step;
      params.forEach((param, n) => {
        const g = grads[n];
        for (let i = 0; i < param.length; i++) {
          const grad = g[i] / batch.length + decays[n] * param[i];
          m[n][i] = p.beta1 * m[n][i] + (1 - p.beta1) * grad;
          v[n][i] = p.beta2 * v[n][i] + (1 - p.beta2) * grad * grad;
          param[i] -= (p.learningRate * (m[n][i] / correction1)) / (Math.sqrt(v[n][i] / correction2) + p.epsilon);
        }
      });
    }
  }
  return net;
}

function floatAccuracy(net: FloatNet, data: Dataset, rows: readonly number[]): number {
  const h = new Float64Array(HID);
  const z = new Float64Array(OUT);
  let correct = 0;
  for (const row of rows) {
    forward(net, Float64Array.from(data.x[row], (value) => value / XMAX), h, z);
    if (argmax(z) === data.y[row]) correct++;
  }
  return correct / rows.length;
}

// ---------------------------------------------------------------------------------------------
// Quantisation

const roundHalfAway = (value: number) => Math.sign(value) * Math.round(Math.abs(value));
const clamp = (value: number, limit: number) => Math.max(-limit, Math.min(limit, value));
const maxAbs = (values: Float64Array) => values.reduce((best, value) => Math.max(best, Math.abs(value)), 0);

export interface Quantisation {
  layer1Clip: number;
  layer2Clip: number;
  /** Integer layer-1 value per float unit (on raw pixels). */
  layer1Scale: number;
  layer2Scale: number;
}

function quantise(net: FloatNet, layer1Clip: number, layer2Clip: number): { model: Model; q: Quantisation } {
  // Layer 1 on raw pixels: W1 · (x / 16) = (W1 / 16) · x.
  const raw1 = net.w1.map((w) => w / XMAX);
  const s1 = 127 / (layer1Clip * maxAbs(raw1));
  const s2 = 127 / (layer2Clip * maxAbs(net.w2));
  const rows = (values: Float64Array, count: number, width: number, scale: number) =>
    Array.from({ length: count }, (_, r) => Array.from(values.subarray(r * width, (r + 1) * width), (w) => clamp(roundHalfAway(w * scale), 127)));
  const model: Model = {
    ...DIGITS_SHAPE,
    w1: rows(raw1, HID, IN, s1),
    b1: Array.from(net.b1, (b) => roundHalfAway(b * s1)),
    w2: rows(net.w2, OUT, HID, s2),
    b2: Array.from(net.b2, (b) => roundHalfAway(b * s1 * s2)),
  };
  return { model, q: { layer1Clip, layer2Clip, layer1Scale: s1, layer2Scale: s2 } };
}

/** Integer accuracy with plain numbers (exact: every value stays below 2^53), for the clip search. */
function fastIntegerAccuracy(model: Model, data: Dataset, rows: readonly number[]): number {
  let correct = 0;
  const h = new Array<number>(HID);
  const z = new Array<number>(OUT);
  for (const row of rows) {
    const x = data.x[row];
    for (let j = 0; j < HID; j++) {
      let acc = model.b1[j];
      for (let i = 0; i < IN; i++) acc += model.w1[j][i] * x[i];
      h[j] = acc > 0 ? acc : 0;
    }
    for (let k = 0; k < OUT; k++) {
      let acc = model.b2[k];
      for (let j = 0; j < HID; j++) acc += model.w2[k][j] * h[j];
      z[k] = acc;
    }
    if (argmax(z) === data.y[row]) correct++;
  }
  return correct / rows.length;
}

/** Accuracy of the SDK's integer inference (the circuit's arithmetic). */
export function integerAccuracy(model: Model, data: Dataset, rows: readonly number[]): number {
  return rows.filter((row) => infer(model, data.x[row]).output === data.y[row]).length / rows.length;
}

// ---------------------------------------------------------------------------------------------

export interface TrainingResult {
  model: ModelFile;
  weights: Uint8Array;
  json: string;
}

const round6 = (value: number) => Math.round(value * 1e6) / 1e6;

/** Trains and quantises the digits model; returns model.json's text and the weights file. */
export async function trainDigits(datasetFile: string = DIGITS_DATASET_FILE): Promise<TrainingResult> {
  const data = loadDataset(datasetFile);
  const split = stratifiedSplit(data.y);
  const net = trainFloat(data, split.train, seededRandom(INIT_SEED));

  let best: { model: Model; q: Quantisation; accuracy: number } | undefined;
  for (const c1 of CLIP_FACTORS) {
    for (const c2 of CLIP_FACTORS) {
      const candidate = quantise(net, c1, c2);
      const accuracy = fastIntegerAccuracy(candidate.model, data, split.train);
      if (!best || accuracy > best.accuracy) best = { ...candidate, accuracy };
    }
  }
  const { model: quantised, q } = best as NonNullable<typeof best>;
  const weights = encodeWeights(quantised);
  const accuracy = {
    float: { train: round6(floatAccuracy(net, data, split.train)), heldBack: round6(floatAccuracy(net, data, split.heldBack)) },
    quantised: { train: round6(integerAccuracy(quantised, data, split.train)), heldBack: round6(integerAccuracy(quantised, data, split.heldBack)) },
  };
  const model: ModelFile = {
    format: MODEL_FORMAT,
    name: MODEL_NAME,
    ...quantised,
    meta: {
      description: "MLP 64 → 16 (ReLU) → 10, integer weights; classifies 8×8 images of handwritten digits (pixels 0..16)",
      dataset: {
        file: "digits.csv",
        sha256: data.sha256,
        rows: data.y.length,
        source: "UCI ML Optical Recognition of Handwritten Digits, test set (optdigits.tes) as shipped by scikit-learn's load_digits",
        url: "https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits",
        licence: "CC BY 4.0",
      },
      split: { seed: SPLIT_SEED, stratified: true, heldBackFraction: HELD_BACK_FRACTION, trainRows: split.train.length, heldBackRows: split.heldBack.length },
      training: { initSeed: INIT_SEED, optimizer: "adam", loss: "softmax cross-entropy", inputScaling: "x / 16", ...HYPERPARAMETERS },
      quantisation: { ...q, layer1Scale: round6(q.layer1Scale), layer2Scale: round6(q.layer2Scale), chosenOn: "train split" },
      accuracy,
      weightsFile: path.basename(DIGITS_WEIGHTS_FILE),
      weightsSha256: createHash("sha256").update(weights).digest("hex"),
      weightsCommitment: (await weightsCommitment(quantised)).toString(),
    },
  };
  return { model, weights, json: formatModelJson(model) };
}

/** JSON with two-space indentation and every array of numbers on one line. */
export function formatModelJson(model: ModelFile): string {
  return `${JSON.stringify(model, null, 2).replace(/\[\s+(-?[\d.e+-]+(?:,\s+-?[\d.e+-]+)*)\s+\]/g, (_, body: string) => `[${body.split(/,\s+/).join(", ")}]`)}\n`;
}

async function main(): Promise<void> {
  const check = process.argv.includes("--check");
  const started = performance.now();
  const { model, weights, json } = await trainDigits();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const { accuracy, split } = model.meta as { accuracy: { float: { heldBack: number; train: number }; quantised: { heldBack: number; train: number } }; split: { trainRows: number; heldBackRows: number } };
  const pct = (value: number) => `${(100 * value).toFixed(2)} %`;
  console.log(`digits MLP 64→16→10: ${split.trainRows} training rows, ${split.heldBackRows} held back (${seconds} s)`);
  console.log(`  float      accuracy: held back ${pct(accuracy.float.heldBack)} (train ${pct(accuracy.float.train)})`);
  console.log(`  quantised  accuracy: held back ${pct(accuracy.quantised.heldBack)} (train ${pct(accuracy.quantised.train)})`);
  console.log(`  weights commitment ${String(model.meta.weightsCommitment)}`);
  const rel = (file: string) => path.relative(process.cwd(), file);
  if (check) {
    const same = readFileSync(DIGITS_MODEL_FILE, "utf8") === json && Buffer.from(weights).equals(readFileSync(DIGITS_WEIGHTS_FILE));
    console.log(same ? `  ${rel(DIGITS_MODEL_FILE)} and ${rel(DIGITS_WEIGHTS_FILE)} are up to date` : `  the committed model differs: run \`npm run train\``);
    process.exit(same ? 0 : 1);
  }
  writeFileSync(DIGITS_MODEL_FILE, json);
  writeFileSync(DIGITS_WEIGHTS_FILE, weights);
  console.log(`  wrote ${rel(DIGITS_MODEL_FILE)} and ${rel(DIGITS_WEIGHTS_FILE)} (${weights.length} bytes)`);
  // circomlibjs's curve keeps worker threads alive.
  process.exit(0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
