/**
 * Commitments to a model's weights and to an input: the public inputs `weightsCommitment` and
 * `inputCommitment` of circuits/digits.circom, which computes exactly the same (with a range check on
 * every packed limb, so that one commitment opens to one set of numbers only). This file is the
 * specification; the circuit, test/vectors/compute.json and the ModelRegistry entries follow it.
 *
 * Poseidon is circomlib's (agents/src/sdk/storage/poseidon.ts). All packing is little-endian: limb t
 * of an element sits at bits [t·bits, (t+1)·bits); a last element that is not full has zero limbs.
 *
 * Weights commitment of a model with shape (I inputs, H hidden, O outputs, inputMax M):
 *   1. Weights: W1 row by row ([j][i], j < H, i < I), then W2 row by row ([k][j]): H·I + O·H int8
 *      values w, each as the 8-bit limb w + 128, packed 31 per field element (248 bits).
 *   2. Biases: b1 (H values), then b2 (O values), int32 values b, each as the 32-bit limb b + 2^31,
 *      packed 7 per field element (224 bits).
 *   3. E = weight elements ++ bias elements (digits model: 39 + 4 = 43 elements).
 *   4. acc = WEIGHTS_TAG = 1·2^128 + I·2^96 + H·2^64 + O·2^32 + M (the shape, so that models of other
 *      shapes never share a commitment); then for each group of 15 consecutive elements of E (the
 *      last group padded with zeros to 15): acc = Poseidon(acc, e_0, …, e_14) (Poseidon with 16 inputs).
 *   5. weightsCommitment = acc (digits model: 3 Poseidon(16) calls).
 *
 * Input commitment of an input x (I values, each 0..M, M ≤ 31):
 *   e_m = Σ_t x[50m + t] · 2^(5t) for t < 50 (5-bit limbs, 50 per element; digits: e_0, e_1),
 *   inputCommitment = Poseidon(INPUT_TAG, e_0, …), INPUT_TAG = 2·2^128 + I·2^96 + M.
 */
import { SNARK_FIELD, circomlibPoseidon, type PoseidonFn } from "../storage/poseidon.js";
import { ComputeInputError, DIGITS_SHAPE, checkModel, validateInput, type MlpShape, type Model } from "./model.js";

export const WEIGHT_BITS = 8;
export const WEIGHTS_PER_ELEMENT = 31;
/** Added to an int8 weight to make its limb (0..255). */
export const WEIGHT_OFFSET = 128n;
export const BIAS_BITS = 32;
export const BIASES_PER_ELEMENT = 7;
/** Added to an int32 bias to make its limb (0..2^32 - 1). */
export const BIAS_OFFSET = 1n << 31n;
export const INPUT_BITS = 5;
export const INPUTS_PER_ELEMENT = 50;
/** Elements absorbed per Poseidon call of the weights chain (Poseidon(16) = accumulator + 15). */
export const CHAIN_WIDTH = 15;

export const WEIGHTS_TAG_KIND = 1n;
export const INPUT_TAG_KIND = 2n;

/** The first accumulator of the weights chain: the kind and the shape. */
export function weightsTag(shape: MlpShape): bigint {
  return (WEIGHTS_TAG_KIND << 128n) + (BigInt(shape.inputs) << 96n) + (BigInt(shape.hidden) << 64n) + (BigInt(shape.outputs) << 32n) + BigInt(shape.inputMax);
}

/** The first Poseidon input of the input commitment. */
export function inputTag(shape: MlpShape): bigint {
  return (INPUT_TAG_KIND << 128n) + (BigInt(shape.inputs) << 96n) + BigInt(shape.inputMax);
}

/** Packs non-negative limbs of `bits` bits, `perElement` per field element (little-endian). */
function pack(limbs: readonly bigint[], bits: number, perElement: number): bigint[] {
  const elements: bigint[] = [];
  for (let at = 0; at < limbs.length; at += perElement) {
    let element = 0n;
    const group = limbs.slice(at, at + perElement);
    for (let t = group.length - 1; t >= 0; t--) element = (element << BigInt(bits)) + group[t];
    elements.push(element);
  }
  return elements;
}

/** Step 3 of the weights commitment: the field elements E (weights first, then biases). */
export function packWeights(model: Model): bigint[] {
  checkModel(model);
  const weights = [...model.w1.flat(), ...model.w2.flat()].map((w) => BigInt(w) + WEIGHT_OFFSET);
  const biases = [...model.b1, ...model.b2].map((b) => BigInt(b) + BIAS_OFFSET);
  return [...pack(weights, WEIGHT_BITS, WEIGHTS_PER_ELEMENT), ...pack(biases, BIAS_BITS, BIASES_PER_ELEMENT)];
}

/** The elements e_m of an input (validated against `shape`). */
export function packInput(input: readonly number[], shape: MlpShape = DIGITS_SHAPE): bigint[] {
  checkInputShape(shape);
  const x = [...input];
  validateInput(shape, x);
  return pack(x.map(BigInt), INPUT_BITS, INPUTS_PER_ELEMENT);
}

function checkInputShape(shape: MlpShape): void {
  if (shape.inputMax >= 1 << INPUT_BITS) {
    throw new ComputeInputError(`Input values up to ${shape.inputMax} do not fit the ${INPUT_BITS}-bit limbs of the input commitment`, {
      hint: `Use a model whose inputMax is at most ${(1 << INPUT_BITS) - 1}`,
    });
  }
  if (Math.ceil(shape.inputs / INPUTS_PER_ELEMENT) + 1 > 16) {
    throw new ComputeInputError(`${shape.inputs} input values are more than one Poseidon call of the input commitment takes`, {
      hint: `Use a model with at most ${15 * INPUTS_PER_ELEMENT} inputs`,
    });
  }
}

/** The weights commitment with a given Poseidon (synchronous). */
export function weightsCommitmentWith(poseidon: PoseidonFn, model: Model): bigint {
  const elements = packWeights(model);
  let acc = weightsTag(model);
  for (let at = 0; at < elements.length; at += CHAIN_WIDTH) {
    const group = elements.slice(at, at + CHAIN_WIDTH);
    while (group.length < CHAIN_WIDTH) group.push(0n);
    acc = poseidon([acc, ...group]);
  }
  return acc;
}

/** The input commitment with a given Poseidon (synchronous). */
export function inputCommitmentWith(poseidon: PoseidonFn, input: readonly number[], shape: MlpShape = DIGITS_SHAPE): bigint {
  return poseidon([inputTag(shape), ...packInput(input, shape)]);
}

/** Poseidon commitment to a model's quantised weights and biases (ModelRegistry's weightsCommitment). */
export async function weightsCommitment(model: Model): Promise<bigint> {
  return weightsCommitmentWith(await circomlibPoseidon(), model);
}

/**
 * Poseidon commitment to an input (ComputeMarket's inputCommitment). `shape` is the model's (default:
 * the digits model); the input is validated against it.
 */
export async function inputCommitment(input: readonly number[], shape: MlpShape = DIGITS_SHAPE): Promise<bigint> {
  return inputCommitmentWith(await circomlibPoseidon(), input, shape);
}

/** Whether a value read from a chain or a file is a possible commitment (a field element, not 0). */
export function isFieldElement(value: bigint): boolean {
  return value > 0n && value < SNARK_FIELD;
}
