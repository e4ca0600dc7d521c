/**
 * The models a compute provider runs, fetched from storage and checked before any job is claimed:
 *
 *   1. the weights file is downloaded by its storage root from the providers that hold it, every chunk
 *      verified against the root (sdk/storage/download.ts), and kept on disk under
 *      `<dir>/<root>.weights`, so a restart does not fetch it again;
 *   2. its size must be the registered `weightsSize`, it must decode as a canonical weights file
 *      (decodeWeights), and the Poseidon commitment of the decoded model must equal the registered
 *      `weightsCommitment` — the value every zk proof and every TEE result is bound to.
 *
 * A file that fails 2 is never used: a cached copy is fetched again, a fetched one makes the model
 * unservable (WeightsMismatchError, remembered so that its jobs are refused without a new download).
 */
import { mkdir, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { DaiosError, errorMessage } from "../../core/errors.js";
import { decodeWeights, type Model } from "../../sdk/compute/model.js";
import { weightsCommitmentWith } from "../../sdk/compute/commitment.js";
import type { PoseidonFn } from "../../sdk/storage/poseidon.js";

/** What the registry says about a model's weights. */
export interface RegisteredWeights {
  modelId: bigint;
  weightsRoot: bigint;
  weightsSize: bigint;
  weightsCommitment: bigint;
}

/** The registered weights cannot be served: the file does not match the registry (permanent). */
export class WeightsMismatchError extends DaiosError {}

/** Downloads the file with storage root `root` to `out`, verified against the root. */
export type FetchFile = (root: bigint, out: string) => Promise<void>;

export interface WeightsStoreOptions {
  /** Where weights files are kept. */
  dir: string;
  fetch: FetchFile;
  poseidon: PoseidonFn;
  /** Called once per model loaded, with where its weights came from. */
  onLoaded?: (source: "storage" | "disk", weights: RegisteredWeights) => void;
}

export const rootHex = (root: bigint) => `0x${root.toString(16).padStart(64, "0")}`;

export class WeightsStore {
  readonly #options: WeightsStoreOptions;
  /** Checked models by `${root}-${commitment}`; a pending load is shared by every job that needs it. */
  readonly #loaded = new Map<string, Promise<Model>>();
  /** Weights found not to match the registry, with the reason. */
  readonly #bad = new Map<string, WeightsMismatchError>();

  constructor(options: WeightsStoreOptions) {
    this.#options = options;
  }

  /** The on-disk path of the weights file with storage root `root`. */
  pathOf(root: bigint): string {
    return path.join(this.#options.dir, `${rootHex(root)}.weights`);
  }

  /** The model with the registered weights: from memory, disk or storage, always checked. */
  load(weights: RegisteredWeights): Promise<Model> {
    const key = `${weights.weightsRoot}-${weights.weightsCommitment}`;
    const bad = this.#bad.get(key);
    if (bad) return Promise.reject(bad);
    let pending = this.#loaded.get(key);
    if (!pending) {
      pending = this.#load(weights);
      this.#loaded.set(key, pending);
      pending.catch((error: unknown) => {
        this.#loaded.delete(key);
        if (error instanceof WeightsMismatchError) this.#bad.set(key, error);
      });
    }
    return pending;
  }

  async #load(weights: RegisteredWeights): Promise<Model> {
    const file = this.pathOf(weights.weightsRoot);
    const cached = await readFile(file).catch(() => undefined);
    if (cached) {
      try {
        const model = this.#check(weights, cached, "the cached copy");
        this.#options.onLoaded?.("disk", weights);
        return model;
      } catch {
        // A damaged or stale copy: fetch it again below.
        await rm(file, { force: true });
      }
    }
    await mkdir(this.#options.dir, { recursive: true });
    const partial = `${file}.download`;
    try {
      await this.#options.fetch(weights.weightsRoot, partial);
    } catch (error) {
      await rm(partial, { force: true });
      throw new DaiosError(`cannot fetch the weights of model ${weights.modelId} (storage root ${rootHex(weights.weightsRoot)}): ${errorMessage(error)}`, {
        hint: "the storage providers holding the weights file must be reachable; the job is retried",
        cause: error,
      });
    }
    const bytes = await readFile(partial);
    try {
      const model = this.#check(weights, bytes, "the file fetched from storage");
      await rename(partial, file);
      this.#options.onLoaded?.("storage", weights);
      return model;
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }

  #check(weights: RegisteredWeights, bytes: Uint8Array, what: string): Model {
    const where = `model ${weights.modelId}: ${what} (storage root ${rootHex(weights.weightsRoot)})`;
    if (BigInt(bytes.length) !== weights.weightsSize) {
      throw new WeightsMismatchError(`${where} has ${bytes.length} bytes, but the registry records ${weights.weightsSize}`, {
        hint: "the model's owner registered a wrong size or root; its jobs are not served",
      });
    }
    let model: Model;
    try {
      model = decodeWeights(bytes);
    } catch (error) {
      throw new WeightsMismatchError(`${where} is not a valid weights file: ${errorMessage(error)}`, { hint: "its jobs are not served", cause: error });
    }
    const commitment = weightsCommitmentWith(this.#options.poseidon, model);
    if (commitment !== weights.weightsCommitment) {
      throw new WeightsMismatchError(`${where} has weights commitment ${commitment}, but the registry records ${weights.weightsCommitment}`, {
        hint: "no proof or enclave signature over these weights would be accepted; its jobs are not served",
      });
    }
    return model;
  }
}
