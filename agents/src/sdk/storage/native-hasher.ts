/**
 * The fast data-ingest path: a `TreeHasher` over a native Poseidon (agents/native/poseidon, a
 * Node-API addon built by node-gyp at `npm install`) that splits large jobs across worker threads.
 * It agrees bit for bit with `ReferenceHasher` (test/mocha/sdk/native-hasher.test.ts checks that).
 *
 * The addon holds no constants of its own: they are read here from circomlibjs's
 * poseidon_constants_opt.json and handed to every thread that loads the addon, so the native code
 * computes exactly the function circomlibjs (and circomlib's circuits) define.
 *
 * - `createFastHasher()` needs the addon and throws `NativeHasherUnavailableError` (with the build
 *   command) when it cannot be loaded.
 * - `createTreeHasher()` is for callers that just want the best hasher available: the native one,
 *   or the `ReferenceHasher` with a one-line warning.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { DaiosError } from "../../core/errors.js";
import { STORAGE } from "../../generated/constants.js";
import { ReferenceHasher, chunkCount, fromBytes32, toBytes32, type TreeHasher } from "./format.js";
import { SNARK_FIELD, circomlibPoseidon, type PoseidonFn } from "./poseidon.js";

const require = createRequire(import.meta.url);

/** Where node-gyp puts the addon (agents/native/poseidon/build/Release). */
export const DEFAULT_ADDON_PATH = fileURLToPath(
  new URL("../../../native/poseidon/build/Release/daios_poseidon.node", import.meta.url),
);
/** The addon loaded by this process: DAIOS_POSEIDON_ADDON (a prebuilt binary) or the built one. */
export const ADDON_PATH = process.env.DAIOS_POSEIDON_ADDON || DEFAULT_ADDON_PATH;
const WORKER_URL = new URL("./native-hasher-worker.mjs", import.meta.url);

/** The command that builds the addon from a clone (what `npm install` runs). */
export const BUILD_COMMAND = "npm run build:native";

/** The functions of the Node-API addon (agents/native/poseidon/src/addon.cc). */
export interface PoseidonAddon {
  /** Installs the constants of width t (t - 1 inputs), canonical 32-byte big-endian values. */
  init(t: number, fullRounds: number, partialRounds: number, C: Uint8Array, M: Uint8Array, P: Uint8Array, S: Uint8Array): void;
  hasWidth(t: number): boolean;
  /** Poseidon of 1..16 inputs of 32 bytes big-endian (reduced modulo r like circomlibjs). */
  poseidon(inputs: readonly Uint8Array[] | Uint8Array): Uint8Array;
  /** Leaves of chunks [start, end) of `data` (last chunk zero-padded), written to `out` when given. */
  hashLeaves(data: Uint8Array, chunkSize?: number, start?: number, end?: number, out?: Uint8Array): Uint8Array;
  /** Parents [start, end) of `level`, an odd last node paired with `zero`, written to `out` when given. */
  hashPairs(level: Uint8Array, zero: Uint8Array, start?: number, end?: number, out?: Uint8Array): Uint8Array;
  /** Hashes [start, end) of `values` (count x arity 32-byte values): hash i = Poseidon(values i*arity ..). */
  hashMany(values: Uint8Array, arity: number, start?: number, end?: number, out?: Uint8Array): Uint8Array;
  /** Selects ("best" or an `Arithmetic`) or reports the field arithmetic of this thread. */
  arithmetic(name?: string): Arithmetic;
}

/**
 * The addon's field arithmetic: AVX-512 IFMA (eight hashes at once), x86-64 BMI2/ADX assembly, or
 * portable C++. "best" picks the first the CPU supports; all give the same hashes.
 */
export const ARITHMETICS = ["x86-64-avx512ifma", "x86-64-adx", "portable"] as const;
export type Arithmetic = (typeof ARITHMETICS)[number];

/** The arithmetics this CPU can run, fastest first. */
export function supportedArithmetics(): Arithmetic[] {
  const native = loadPoseidonAddon();
  const current = native.arithmetic();
  const supported = ARITHMETICS.filter((name) => {
    try {
      native.arithmetic(name);
      return true;
    } catch {
      return false;
    }
  });
  native.arithmetic(current);
  return supported;
}

/** The addon could not be loaded (not built, or built for another platform). */
export class NativeHasherUnavailableError extends DaiosError {
  constructor(cause: unknown) {
    const reason = cause instanceof Error ? cause.message.split("\n")[0] : String(cause);
    super(`The native Poseidon addon could not be loaded from ${ADDON_PATH} (${reason})`, {
      hint:
        `Build it with \`${BUILD_COMMAND}\` (node-gyp; needs python3, make and a C++ compiler), ` +
        "or use createTreeHasher(), which falls back to the slower ReferenceHasher",
      cause,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Poseidon parameters, from circomlibjs

/** circomlib's Poseidon: 8 full rounds, and partial rounds per width t = 2..17 (poseidon_opt.js). */
const FULL_ROUNDS = 8;
const PARTIAL_ROUNDS = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68];

/** The constants of one width as the addon's `init` takes them. */
export interface WidthConstants {
  t: number;
  fullRounds: number;
  partialRounds: number;
  C: Uint8Array;
  M: Uint8Array;
  P: Uint8Array;
  S: Uint8Array;
}

interface OptimizedConstants {
  C: string[][];
  M: string[][][];
  P: string[][][];
  S: string[][];
}

let optimizedConstants: OptimizedConstants | undefined;

function circomlibjsConstants(): OptimizedConstants {
  if (optimizedConstants) return optimizedConstants;
  // circomlibjs's "exports" hides its files: find the package directory from its entry point.
  let dir = path.dirname(require.resolve("circomlibjs"));
  while (!isPackageDir(dir, "circomlibjs")) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("cannot find the circomlibjs package directory");
    dir = parent;
  }
  const file = path.join(dir, "src", "poseidon_constants_opt.json");
  optimizedConstants = JSON.parse(readFileSync(file, "utf8")) as OptimizedConstants;
  return optimizedConstants;
}

function isPackageDir(dir: string, name: string): boolean {
  try {
    return (JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string }).name === name;
  } catch {
    return false;
  }
}

function packField(values: readonly string[]): Uint8Array {
  const out = new Uint8Array(values.length * 32);
  values.forEach((value, i) => {
    const v = BigInt(value);
    if (v < 0n || v >= SNARK_FIELD) throw new Error(`Poseidon constant ${value} is not a field element`);
    out.set(toBytes32(v), i * 32);
  });
  return out;
}

const widthCache = new Map<number, WidthConstants>();

/** The circomlib Poseidon constants of width t (t - 1 inputs, 2 <= t <= 17), checked for shape. */
export function poseidonConstants(t: number): WidthConstants {
  const cached = widthCache.get(t);
  if (cached) return cached;
  if (!Number.isInteger(t) || t < 2 || t > 17) throw new RangeError(`Poseidon width ${t} is not in 2..17`);
  const opt = circomlibjsConstants();
  const partialRounds = PARTIAL_ROUNDS[t - 2];
  const C = opt.C[t - 2];
  const S = opt.S[t - 2];
  const M = opt.M[t - 2];
  const P = opt.P[t - 2];
  if (
    C.length !== FULL_ROUNDS * t + partialRounds ||
    S.length !== (2 * t - 1) * partialRounds ||
    M.length !== t ||
    P.length !== t ||
    M.some((row) => row.length !== t) ||
    P.some((row) => row.length !== t)
  ) {
    throw new Error(`circomlibjs's Poseidon constants for width ${t} do not have the expected shape`);
  }
  const constants: WidthConstants = {
    t,
    fullRounds: FULL_ROUNDS,
    partialRounds,
    C: packField(C),
    M: packField(M.flat()),
    P: packField(P.flat()),
    S: packField(S),
  };
  widthCache.set(t, constants);
  return constants;
}

/** The widths a tree needs: t = 3 for nodes, t = ELEMENTS_PER_CHUNK + 1 for leaves. */
export const TREE_WIDTHS: readonly number[] = [3, STORAGE.ELEMENTS_PER_CHUNK + 1];

// ---------------------------------------------------------------------------------------------
// Loading

let addon: PoseidonAddon | undefined;
let loadError: unknown;

/** The addon of this thread with the tree widths initialised; throws NativeHasherUnavailableError. */
export function loadPoseidonAddon(): PoseidonAddon {
  if (addon) return addon;
  if (loadError === undefined) {
    try {
      const loaded = require(ADDON_PATH) as PoseidonAddon;
      for (const t of TREE_WIDTHS) initWidth(loaded, t);
      addon = loaded;
    } catch (error) {
      loadError = error;
    }
  }
  if (!addon) throw new NativeHasherUnavailableError(loadError);
  return addon;
}

/** Whether the addon can be loaded here (no exception). */
export function nativeHasherAvailable(): boolean {
  try {
    loadPoseidonAddon();
    return true;
  } catch {
    return false;
  }
}

function initWidth(target: PoseidonAddon, t: number): void {
  const c = poseidonConstants(t);
  target.init(c.t, c.fullRounds, c.partialRounds, c.C, c.M, c.P, c.S);
}

/**
 * The native Poseidon as a `PoseidonFn` (any 1..16 inputs; constants of other widths are loaded on
 * first use). It runs on the calling thread: use it for single hashes, not bulk work.
 */
export function nativePoseidon(): PoseidonFn {
  const native = loadPoseidonAddon();
  return (inputs: readonly bigint[]) => {
    const t = inputs.length + 1;
    if (!native.hasWidth(t)) initWidth(native, t);
    // Like circomlibjs, take any integer modulo r (the addon reduces 256-bit values itself).
    const bytes = inputs.map((v) => toBytes32(v >= 0n && v < 1n << 256n ? v : ((v % SNARK_FIELD) + SNARK_FIELD) % SNARK_FIELD));
    return fromBytes32(native.poseidon(bytes));
  };
}

// ---------------------------------------------------------------------------------------------
// Worker pool

/** A message to a worker: hash items [start, end) of `input` into `output` (see the worker file). */
export type HashTask =
  | { op: "leaves"; input: Uint8Array; chunkSize: number; start: number; end: number; output: Uint8Array }
  | { op: "pairs"; input: Uint8Array; zero: Uint8Array; start: number; end: number; output: Uint8Array };

interface QueuedTask {
  task: HashTask;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface PoolWorker {
  worker: Worker;
  current?: QueuedTask;
}

/** Worker threads that each load the addon; tasks go to whichever thread is free. */
class HashWorkerPool {
  private readonly workers: PoolWorker[] = [];
  private readonly queue: QueuedTask[] = [];
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly arithmetic: string,
  ) {}

  run(task: HashTask): Promise<void> {
    if (this.closed) return Promise.reject(new Error("the native hasher is closed"));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.spawnIfNeeded();
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const error = new Error("the native hasher was closed while hashing");
    for (const queued of this.queue.splice(0)) queued.reject(error);
    await Promise.all(
      this.workers.splice(0).map(async (w) => {
        w.current?.reject(error);
        await w.worker.terminate();
      }),
    );
  }

  private spawnIfNeeded(): void {
    while (this.workers.length < this.size && this.workers.length < this.queue.length + this.busyCount()) {
      this.workers.push(this.spawn());
    }
  }

  private busyCount(): number {
    return this.workers.filter((w) => w.current).length;
  }

  private spawn(): PoolWorker {
    const widths = TREE_WIDTHS.map(poseidonConstants);
    const worker = new Worker(WORKER_URL, {
      workerData: { addonPath: ADDON_PATH, widths, arithmetic: this.arithmetic },
      // The worker is plain JavaScript: skip the parent's loaders (tsx) and their start-up cost.
      execArgv: [],
    });
    const entry: PoolWorker = { worker };
    worker.unref(); // idle workers must not keep the process alive; ref() while a task runs
    worker.on("message", (message: { error?: string }) => {
      const done = entry.current;
      entry.current = undefined;
      worker.unref();
      if (done) {
        if (message.error) done.reject(new Error(`native hasher worker: ${message.error}`));
        else done.resolve();
      }
      this.dispatch();
    });
    const fail = (error: Error) => {
      const index = this.workers.indexOf(entry);
      if (index >= 0) this.workers.splice(index, 1);
      entry.current?.reject(new Error(`native hasher worker failed: ${error.message}`, { cause: error }));
      entry.current = undefined;
      // A worker that cannot start (e.g. the addon fails to load there) would fail every task.
      for (const queued of this.queue.splice(0)) queued.reject(new Error(`native hasher worker failed: ${error.message}`, { cause: error }));
    };
    worker.on("error", fail);
    worker.on("exit", (code) => {
      if (!this.closed && this.workers.includes(entry)) fail(new Error(`worker exited with code ${code}`));
    });
    return entry;
  }

  private dispatch(): void {
    for (const entry of this.workers) {
      if (entry.current) continue;
      const next = this.queue.shift();
      if (!next) return;
      entry.current = next;
      entry.worker.ref();
      entry.worker.postMessage(next.task);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The hasher

export interface FastHasherOptions {
  /** Worker threads for large inputs (default: os.availableParallelism()). */
  threads?: number;
  /** Inputs of at most this many chunks are hashed on the calling thread (default 32, ~1 ms). */
  inlineLeaves?: number;
  /** Levels of at most this many parents are hashed on the calling thread (default 128, ~1 ms). */
  inlinePairs?: number;
  /** "best" (default), or one arithmetic (the tests run each one the CPU supports). */
  arithmetic?: "best" | Arithmetic;
}

/** Smallest share of a job sent to one worker: smaller pieces cost more in messages than they save. */
const MIN_TASK_LEAVES = 256;
const MIN_TASK_PAIRS = 1024;
/** Pieces per thread, so that a thread slowed down by other load does not hold up the job. */
const TASKS_PER_THREAD = 4;

export class FastHasher implements TreeHasher {
  /** The native Poseidon on the calling thread (for zero hashes, data roots, single hashes). */
  readonly poseidon: PoseidonFn;
  readonly threads: number;
  readonly arithmetic: Arithmetic;
  private readonly native: PoseidonAddon;
  private readonly pool: HashWorkerPool;
  private readonly inlineLeaves: number;
  private readonly inlinePairs: number;

  constructor(options: FastHasherOptions = {}) {
    const threads = options.threads ?? os.availableParallelism();
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
      throw new RangeError(`threads must be an integer from 1 to 256, got ${threads}`);
    }
    this.native = loadPoseidonAddon();
    const wanted = options.arithmetic ?? "best";
    this.arithmetic = this.native.arithmetic(wanted);
    this.threads = threads;
    this.inlineLeaves = options.inlineLeaves ?? 32;
    this.inlinePairs = options.inlinePairs ?? 128;
    this.pool = new HashWorkerPool(threads, wanted);
    const poseidon = nativePoseidon();
    const arithmetic = this.arithmetic;
    // Selecting the arithmetic per call keeps hashers with different settings independent.
    this.poseidon = (inputs) => {
      this.native.arithmetic(arithmetic);
      return poseidon(inputs);
    };
  }

  async leaves(data: Uint8Array): Promise<Uint8Array> {
    const n = chunkCount(data.length); // the same size checks (and errors) as the reference
    if (n <= this.inlineLeaves) {
      this.native.arithmetic(this.arithmetic);
      return this.native.hashLeaves(data, STORAGE.CHUNK_SIZE);
    }
    const input = shared(data);
    const output = new Uint8Array(new SharedArrayBuffer(n * 32));
    await this.split(n, MIN_TASK_LEAVES, (start, end) =>
      this.pool.run({ op: "leaves", input, chunkSize: STORAGE.CHUNK_SIZE, start, end, output: output.subarray(start * 32, end * 32) }),
    );
    return output.slice(); // an ordinary (not shared) array, like the reference returns
  }

  async parents(level: Uint8Array, zero: bigint): Promise<Uint8Array> {
    if (level.length % 32 !== 0) throw new RangeError(`a tree level must be a multiple of 32 bytes, got ${level.length}`);
    if (zero < 0n || zero >= SNARK_FIELD) throw new RangeError(`zero ${zero} is not a field element`);
    const m = Math.ceil(level.length / 64);
    const zeroBytes = toBytes32(zero);
    if (m <= this.inlinePairs) {
      this.native.arithmetic(this.arithmetic);
      return this.native.hashPairs(level, zeroBytes);
    }
    const input = shared(level);
    const output = new Uint8Array(new SharedArrayBuffer(m * 32));
    await this.split(m, MIN_TASK_PAIRS, (start, end) =>
      this.pool.run({ op: "pairs", input, zero: zeroBytes, start, end, output: output.subarray(start * 32, end * 32) }),
    );
    return output.slice();
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  /** Cuts [0, count) into contiguous pieces and runs them; rejects with the first failure. */
  private async split(count: number, minPiece: number, run: (start: number, end: number) => Promise<void>): Promise<void> {
    const pieces = Math.max(1, Math.min(this.threads * TASKS_PER_THREAD, Math.floor(count / minPiece)));
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < pieces; i++) {
      const start = Math.floor((count * i) / pieces);
      const end = Math.floor((count * (i + 1)) / pieces);
      jobs.push(run(start, end));
    }
    await Promise.all(jobs);
  }
}

/** `data` itself when it already lives in shared memory, else a shared copy (one memcpy). */
function shared(data: Uint8Array): Uint8Array {
  if (data.buffer instanceof SharedArrayBuffer) return data;
  const copy = new Uint8Array(new SharedArrayBuffer(data.length));
  copy.set(data);
  return copy;
}

/** The native multi-threaded hasher; throws NativeHasherUnavailableError when the addon is not built. */
export function createFastHasher(options: FastHasherOptions = {}): FastHasher {
  return new FastHasher(options);
}

export interface TreeHasherChoice {
  hasher: TreeHasher;
  /** The PoseidonFn that goes with it (DataTree.build's third argument). */
  poseidon: PoseidonFn;
  native: boolean;
}

/**
 * The fastest hasher available: the native one, else the ReferenceHasher after a one-line warning
 * (through `warn`, default process.emitWarning) that says how to build the addon.
 */
export async function createTreeHasher(
  options: FastHasherOptions & { warn?: (message: string) => void } = {},
): Promise<TreeHasherChoice> {
  try {
    const hasher = createFastHasher(options);
    return { hasher, poseidon: hasher.poseidon, native: true };
  } catch (error) {
    if (!(error instanceof NativeHasherUnavailableError)) throw error;
    const warn = options.warn ?? ((message: string) => process.emitWarning(message, { code: "DAIOS_NATIVE_HASHER" }));
    warn(`native Poseidon hasher unavailable, using the much slower ReferenceHasher: run \`${BUILD_COMMAND}\` to build it`);
    const poseidon = await circomlibPoseidon();
    return { hasher: new ReferenceHasher(poseidon), poseidon, native: false };
  }
}
