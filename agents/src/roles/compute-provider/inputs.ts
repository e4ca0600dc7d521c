/**
 * A job's input, as the provider will run it, checked against the job before the provider claims it:
 * the inline bytes of the JobPosted event (one value per byte), or the file with the job's input root
 * fetched from storage (verified against the root, kept on disk) and parsed like `daios compute run`
 * reads an input file. Either way the values must fit the model (validateInput) and their Poseidon
 * commitment must equal the job's inputCommitment: that is what the proof or the enclave signature is
 * bound to, so a provider that ran anything else could never submit, and would lose its collateral.
 */
import { mkdir, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { UnrecoverableError } from "bullmq";
import { errorMessage } from "../../core/errors.js";
import { inputFromBytes, parseInputFile, type Model } from "../../sdk/compute/model.js";
import { inputCommitmentWith } from "../../sdk/compute/commitment.js";
import type { PoseidonFn } from "../../sdk/storage/poseidon.js";
import { rootHex, type FetchFile } from "./weights.js";

/** The input of a job does not match it, or the model cannot take it: the job is never claimed. */
export class InputRefusedError extends UnrecoverableError {
  constructor(message: string) {
    super(message);
    this.name = "InputRefusedError";
  }
}

/** Where a job's input comes from (the JobPosted event's fields). */
export interface JobInputSource {
  jobId: bigint;
  /** The inline input, 0x-hex ("0x" when the input is a storage file). */
  input: string;
  /** Storage root of the input file; 0 for an inline input. */
  inputRoot: bigint;
  /** The job's Poseidon commitment to its input. */
  inputCommitment: bigint;
}

export interface InputLoaderOptions {
  /** Where fetched input files are kept. */
  dir: string;
  fetch: FetchFile;
  poseidon: PoseidonFn;
}

export class InputLoader {
  constructor(private readonly options: InputLoaderOptions) {}

  /** The input values of a job, checked against the model and the job's commitment. */
  async load(model: Model, job: JobInputSource): Promise<number[]> {
    const values = job.inputRoot === 0n ? this.#inline(model, job) : this.#parse(model, job, await this.#fetch(job));
    const commitment = inputCommitmentWith(this.options.poseidon, values, model);
    if (commitment !== job.inputCommitment) {
      throw new InputRefusedError(
        `job ${job.jobId}: the input ${job.inputRoot === 0n ? "given inline" : `file ${rootHex(job.inputRoot)}`} has commitment ${commitment}, ` +
          `but the job commits to ${job.inputCommitment}; no result for it could be accepted, so the job is not claimed`,
      );
    }
    return values;
  }

  #inline(model: Model, job: JobInputSource): number[] {
    if (!/^0x([0-9a-fA-F]{2})*$/.test(job.input)) throw new InputRefusedError(`job ${job.jobId}: the inline input ${job.input.slice(0, 20)}… is not hex bytes`);
    try {
      return inputFromBytes(model, Buffer.from(job.input.slice(2), "hex"));
    } catch (error) {
      throw new InputRefusedError(`job ${job.jobId}: the inline input does not fit the model: ${errorMessage(error)}`);
    }
  }

  #parse(model: Model, job: JobInputSource, bytes: Uint8Array): number[] {
    try {
      return parseInputFile(bytes, model);
    } catch (error) {
      throw new InputRefusedError(`job ${job.jobId}: the input file ${rootHex(job.inputRoot)} is not an input of the model: ${errorMessage(error)}`);
    }
  }

  /** The input file's bytes, from disk or fetched from storage (a failed fetch is retried by the queue). */
  async #fetch(job: JobInputSource): Promise<Uint8Array> {
    const file = path.join(this.options.dir, `${rootHex(job.inputRoot)}.input`);
    const cached = await readFile(file).catch(() => undefined);
    if (cached) return cached;
    await mkdir(this.options.dir, { recursive: true });
    const partial = `${file}.download`;
    try {
      await this.options.fetch(job.inputRoot, partial);
      await rename(partial, file);
    } finally {
      await rm(partial, { force: true });
    }
    return readFile(file);
  }
}
