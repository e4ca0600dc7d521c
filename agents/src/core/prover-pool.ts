// Groth16 proving off the event loop: a pool of worker threads running snarkjs (prover-worker.ts).
//
//   const pool = new ProverPool({ size: 1, log, metrics: proofMetrics(registry) });
//   const { calldata } = await pool.prove({ wasmPath, zkeyPath, input });
//   await verifier.verifyProof(calldata.pA, calldata.pB, calldata.pC, calldata.pubSignals);
//   await pool.close();
//
// Requests wait in order when every thread is busy. A thread that dies fails only the request it
// was working on and is replaced on demand. Each thread runs snarkjs's own multi-threaded prover
// (one helper thread per core) unless `singleThread` is set, so one thread already uses every
// core for large circuits; more threads help when many small proofs are due at once.
//
// Worker threads do not inherit a TypeScript loader set up by `tsx` in the parent, so when this
// module runs from its .ts source the thread starts with a small bootstrap that loads
// prover-worker.ts through tsx's API; from compiled JavaScript it loads prover-worker.js.

import { accessSync, constants as fsConstants } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

import type { Groth16Proof, PublicSignals } from "snarkjs";

import { DaiosError, errorMessage } from "./errors.js";
import { silentLogger, type Logger } from "./log.js";
import type { ProofMetrics } from "./metrics.js";
import type { FromWorker, ToWorker } from "./prover-worker.js";

export type { Groth16Proof, PublicSignals } from "snarkjs";

/** A proof as the generated Solidity verifier takes it: verifyProof(pA, pB, pC, pubSignals). */
export interface Groth16Calldata {
  pA: [bigint, bigint];
  /** G2 point with each coordinate pair as (imaginary, real), the order of the EVM pairing precompile. */
  pB: [[bigint, bigint], [bigint, bigint]];
  pC: [bigint, bigint];
  pubSignals: bigint[];
}

export interface ProveRequest {
  /** The circuit's witness generator (…_js/<circuit>.wasm). */
  wasmPath: string;
  /** The circuit's Groth16 proving key. */
  zkeyPath: string;
  /** Signal name → value (numbers, bigints, decimal strings, or nested arrays of them). */
  input: object;
  /** Name for logs and metrics (default: the wasm file name without .wasm). */
  circuit?: string;
  /**
   * Give up (and stop the thread working on it) after this long, counted from when a thread takes
   * the request (a new thread's start-up included); default: the pool's timeoutMs.
   */
  timeoutMs?: number;
  /** Give up when aborted: a waiting request is dropped, a running one has its thread stopped. */
  signal?: AbortSignal;
}

export interface ProveResult {
  proof: Groth16Proof;
  publicSignals: PublicSignals;
  calldata: Groth16Calldata;
  circuit: string;
  /** Time to compute the witness and the proof, inside the thread. */
  durationMs: number;
}

export interface ProverPoolOptions {
  /** Number of prover threads (default 1). */
  size?: number;
  log?: Logger;
  metrics?: ProofMetrics;
  /** Run snarkjs single-threaded inside each thread (no helper threads). Default false. */
  singleThread?: boolean;
  /** Default time limit for one proof, in milliseconds (default: none). */
  timeoutMs?: number;
  /** The thread's script, for tests that need a thread that misbehaves (default: prover-worker). */
  workerScript?: URL;
}

/** A proof could not be made. `permanent` is true when trying the same request again cannot help. */
export class ProofError extends DaiosError {
  readonly circuit: string;
  readonly permanent: boolean;

  constructor(circuit: string, problem: string, options: { hint?: string; cause?: unknown; permanent: boolean }) {
    super(problem, options);
    this.circuit = circuit;
    this.permanent = options.permanent;
  }
}

/** Converts a snarkjs proof to the verifier's argument order (as snarkjs's exportSolidityCallData does). */
export function toSolidityCalldata(proof: Groth16Proof, publicSignals: PublicSignals): Groth16Calldata {
  const n = (value: string | undefined, what: string): bigint => {
    if (value === undefined) throw new DaiosError(`Malformed Groth16 proof: ${what} is missing`);
    return BigInt(value);
  };
  const [a, b, c] = [proof.pi_a, proof.pi_b, proof.pi_c];
  return {
    pA: [n(a[0], "pi_a[0]"), n(a[1], "pi_a[1]")],
    pB: [
      [n(b[0]?.[1], "pi_b[0][1]"), n(b[0]?.[0], "pi_b[0][0]")],
      [n(b[1]?.[1], "pi_b[1][1]"), n(b[1]?.[0], "pi_b[1][0]")],
    ],
    pC: [n(c[0], "pi_c[0]"), n(c[1], "pi_c[1]")],
    pubSignals: publicSignals.map((s) => BigInt(s)),
  };
}

interface Task {
  id: number;
  request: ProveRequest;
  circuit: string;
  resolve(result: ProveResult): void;
  reject(err: Error): void;
  timer?: NodeJS.Timeout;
  onAbort?: () => void;
}

interface Thread {
  worker: Worker;
  index: number;
  current: Task | undefined;
  /** The last uncaught error of the thread, reported when it exits. */
  lastError: Error | undefined;
  /** Set when the pool stopped the thread itself (time limit, abort, close). */
  stopping: boolean;
  exited: Promise<void>;
}

const selfUrl = import.meta.url;

function defaultWorkerScript(): URL {
  return new URL(selfUrl.endsWith(".ts") ? "./prover-worker.ts" : "./prover-worker.js", selfUrl);
}

/** Starts a thread on `script`; TypeScript goes through tsx's loader (see the note at the top). */
export function startThread(script: URL, name = "daios-prover", workerData?: unknown): Worker {
  if (!/\.[cm]?ts$/.test(script.pathname)) return new Worker(script, { name, workerData });
  // (tsx may run this module as CommonJS, where import.meta.resolve is missing: use require.)
  const tsxDir = path.dirname(createRequire(selfUrl).resolve("tsx/package.json"));
  const tsxApi = pathToFileURL(path.join(tsxDir, "dist", "esm", "api", "index.mjs")).href;
  const bootstrap =
    `import(${JSON.stringify(tsxApi)})` +
    `.then(({ tsImport }) => tsImport(${JSON.stringify(script.href)}, ${JSON.stringify(script.href)}))` +
    `.catch((err) => setImmediate(() => { throw err; }));`;
  return new Worker(bootstrap, { eval: true, name, workerData });
}

function inputProblemHint(message: string): string {
  if (/assert failed/i.test(message)) return "The input does not satisfy the circuit's constraints: check the values";
  if (/signal not found|too many values|not enough values|not all inputs|invalid input/i.test(message)) {
    return "The input's signal names or sizes do not match the circuit: check them against the .circom file";
  }
  if (/to a bigint|cannot convert/i.test(message)) {
    return "Every signal value must be a whole number (number, bigint or decimal string)";
  }
  return "Check the input and that the wasm and zkey files belong to the same circuit build";
}

/** A pool of threads computing Groth16 proofs with snarkjs. */
export class ProverPool {
  readonly #size: number;
  readonly #log: Logger;
  readonly #metrics: ProofMetrics | undefined;
  readonly #singleThread: boolean;
  readonly #timeoutMs: number | undefined;
  readonly #script: URL;
  readonly #threads = new Set<Thread>();
  readonly #waiting: Task[] = [];
  #nextTaskId = 1;
  #nextThreadIndex = 0;
  #closing: Promise<void> | undefined;

  constructor(options: ProverPoolOptions = {}) {
    const size = options.size ?? 1;
    if (!Number.isSafeInteger(size) || size < 1 || size > 64) {
      throw new DaiosError(`Invalid prover pool size ${size}`, { hint: "Use a whole number of threads from 1 to 64" });
    }
    this.#size = size;
    this.#log = (options.log ?? silentLogger()).child({ component: "prover" });
    this.#metrics = options.metrics;
    this.#singleThread = options.singleThread ?? false;
    this.#timeoutMs = options.timeoutMs;
    this.#script = options.workerScript ?? defaultWorkerScript();
  }

  /** The most threads this pool runs. */
  get size(): number {
    return this.#size;
  }

  /** Threads working on a proof right now. */
  get busy(): number {
    return [...this.#threads].filter((t) => t.current !== undefined).length;
  }

  /** Requests waiting for a free thread. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Computes a proof in a thread. Requests are served in the order of the calls. Rejects with a
   * ProofError naming the circuit and the problem.
   */
  async prove(request: ProveRequest): Promise<ProveResult> {
    const circuit = request.circuit ?? path.basename(request.wasmPath, ".wasm");
    if (this.#closing) {
      throw new ProofError(circuit, `Cannot prove ${circuit}: the prover pool is closed`, {
        hint: "Create a new ProverPool, or prove before close()",
        permanent: false,
      });
    }
    for (const [file, what] of [
      [request.wasmPath, "witness generator (.wasm)"],
      [request.zkeyPath, "proving key (.zkey)"],
    ] as const) {
      // Checked synchronously (a cheap stat) so that requests queue in the order prove() was called.
      try {
        accessSync(file, fsConstants.R_OK);
      } catch {
        throw new ProofError(circuit, `Cannot prove ${circuit}: its ${what} ${file} cannot be read`, {
          hint: "Build the circuit artifacts (npm run circuits:setup) or fix the path",
          permanent: true,
        });
      }
    }
    request.signal?.throwIfAborted();

    return new Promise<ProveResult>((resolve, reject) => {
      const task: Task = { id: this.#nextTaskId++, request, circuit, resolve, reject };
      if (request.signal) {
        const signal = request.signal;
        task.onAbort = () => this.#abort(task, signal.reason);
        signal.addEventListener("abort", task.onAbort, { once: true });
      }
      this.#waiting.push(task);
      this.#metrics?.waiting.set(this.#waiting.length);
      this.#dispatch();
    });
  }

  /**
   * Stops every thread (and snarkjs's helper threads in them) so the process can exit. Waiting
   * and running requests are rejected. Safe to call more than once.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const task of this.#waiting.splice(0)) {
        this.#settle(task, new ProofError(task.circuit, `Proof of ${task.circuit} cancelled: the prover pool was closed before it started`, { permanent: false }));
      }
      this.#metrics?.waiting.set(0);
      await Promise.all([...this.#threads].map((thread) => this.#stopThread(thread, "the prover pool was closed")));
      this.#log.debug("prover pool closed");
    })();
    return this.#closing;
  }

  #dispatch(): void {
    while (this.#waiting.length > 0 && !this.#closing) {
      let thread = [...this.#threads].find((t) => t.current === undefined && !t.stopping);
      if (!thread) {
        if (this.#threads.size >= this.#size) return;
        thread = this.#spawn();
      }
      const task = this.#waiting.shift() as Task;
      this.#metrics?.waiting.set(this.#waiting.length);
      this.#run(thread, task);
    }
  }

  #run(thread: Thread, task: Task): void {
    thread.current = task;
    thread.worker.ref();
    const timeoutMs = task.request.timeoutMs ?? this.#timeoutMs;
    if (timeoutMs !== undefined) {
      task.timer = setTimeout(() => {
        const err = new ProofError(task.circuit, `Proof of ${task.circuit} took longer than ${timeoutMs} ms; its thread was stopped`, {
          hint: "Raise the time limit, or check the machine's load",
          permanent: false,
        });
        this.#failRunning(thread, task, err);
      }, timeoutMs);
    }
    this.#log.debug({ circuit: task.circuit, thread: thread.index, task: task.id }, "proof started");
    const message: ToWorker = {
      type: "prove",
      id: task.id,
      wasmPath: task.request.wasmPath,
      zkeyPath: task.request.zkeyPath,
      input: task.request.input,
      singleThread: this.#singleThread,
    };
    try {
      thread.worker.postMessage(message);
    } catch (err) {
      // The input cannot be copied to the thread (functions, symbols, …).
      thread.current = undefined;
      thread.worker.unref();
      this.#settle(
        task,
        new ProofError(task.circuit, `Cannot prove ${task.circuit}: the input cannot be sent to a thread (${errorMessage(err)})`, {
          hint: "Pass plain numbers, bigints, strings and arrays",
          permanent: true,
          cause: err,
        }),
      );
      this.#dispatch();
    }
  }

  #spawn(): Thread {
    const worker = startThread(this.#script);
    const index = this.#nextThreadIndex++;
    let markExited!: () => void;
    const thread: Thread = {
      worker,
      index,
      current: undefined,
      lastError: undefined,
      stopping: false,
      exited: new Promise<void>((resolve) => (markExited = resolve)),
    };
    this.#threads.add(thread);
    worker.unref(); // an idle thread does not keep the process alive; #run() refs it while busy

    worker.on("message", (message: FromWorker) => {
      if (message.type === "ready") {
        this.#log.debug({ thread: index }, "prover thread ready");
        return;
      }
      const task = thread.current;
      if (!task || task.id !== message.id) return; // a request given up on (time limit, abort)
      thread.current = undefined;
      worker.unref();
      if (message.ok) {
        const seconds = message.durationMs / 1000;
        this.#metrics?.proofs.inc({ circuit: task.circuit, outcome: "ok" });
        this.#metrics?.duration.observe({ circuit: task.circuit, outcome: "ok" }, seconds);
        this.#log.info({ circuit: task.circuit, durationMs: Math.round(message.durationMs), thread: index }, "proof computed");
        let calldata: Groth16Calldata;
        try {
          calldata = toSolidityCalldata(message.proof, message.publicSignals);
        } catch (err) {
          this.#settle(task, new ProofError(task.circuit, errorMessage(err), { permanent: false, cause: err }));
          this.#dispatch();
          return;
        }
        this.#settle(task, undefined, {
          proof: message.proof,
          publicSignals: message.publicSignals,
          calldata,
          circuit: task.circuit,
          durationMs: message.durationMs,
        });
      } else {
        const cause = Object.assign(new Error(message.error.message), { name: message.error.name, stack: message.error.stack });
        const transient = message.error.name === "RangeError" || /memory|allocation/i.test(message.error.message);
        const err = new ProofError(task.circuit, `Proof of ${task.circuit} failed: ${message.error.message.trim()}`, {
          hint: transient ? "The machine ran short of memory: try again with fewer prover threads" : inputProblemHint(message.error.message),
          permanent: !transient,
          cause,
        });
        this.#record(task, err, message.durationMs);
        this.#settle(task, err);
      }
      this.#dispatch();
    });

    worker.on("error", (err) => {
      thread.lastError = err;
    });

    worker.on("exit", (code) => {
      this.#threads.delete(thread);
      markExited();
      const task = thread.current;
      thread.current = undefined;
      if (thread.stopping) return;
      const why = thread.lastError ? errorMessage(thread.lastError) : `exit code ${code}`;
      this.#metrics?.crashes.inc();
      if (task) {
        const err = new ProofError(task.circuit, `The prover thread died while proving ${task.circuit} (${why})`, {
          hint: "Try again; if it keeps happening, give the process more memory or use fewer prover threads",
          permanent: false,
          cause: thread.lastError,
        });
        this.#record(task, err);
        this.#settle(task, err);
      } else {
        this.#log.warn({ thread: index, err: thread.lastError, exitCode: code }, "idle prover thread exited; it will be replaced when needed");
      }
      this.#dispatch();
    });
    return thread;
  }

  /** Gives up on a running task: stops its thread (the only way to stop snarkjs) and rejects. */
  #failRunning(thread: Thread, task: Task, err: ProofError): void {
    if (thread.current !== task) return;
    thread.current = undefined;
    this.#record(task, err);
    this.#settle(task, err);
    void this.#stopThread(thread, err.message, true).then(() => this.#dispatch());
  }

  #abort(task: Task, reason: unknown): void {
    const err = new ProofError(task.circuit, `Proof of ${task.circuit} aborted: ${errorMessage(reason ?? "aborted")}`, {
      permanent: false,
      cause: reason,
    });
    const waitingAt = this.#waiting.indexOf(task);
    if (waitingAt >= 0) {
      this.#waiting.splice(waitingAt, 1);
      this.#metrics?.waiting.set(this.#waiting.length);
      this.#settle(task, err);
      return;
    }
    const thread = [...this.#threads].find((t) => t.current === task);
    if (thread) this.#failRunning(thread, task, err);
  }

  /**
   * Ends a thread. A busy one (or any, when `immediate`) is terminated at once; an idle one is
   * asked to end snarkjs's helper threads and exit, and terminated if it has not within 2 s.
   */
  async #stopThread(thread: Thread, reason: string, immediate = false): Promise<void> {
    thread.stopping = true;
    const task = thread.current;
    if (task) {
      thread.current = undefined;
      this.#settle(task, new ProofError(task.circuit, `Proof of ${task.circuit} cancelled: ${reason}`, { permanent: false }));
    }
    if (task || immediate) {
      await thread.worker.terminate();
    } else {
      thread.worker.postMessage({ type: "close" } satisfies ToWorker);
      const timer = setTimeout(() => void thread.worker.terminate(), 2000);
      await thread.exited;
      clearTimeout(timer);
    }
    await thread.exited;
  }

  /** Counts and logs a failed proof (`durationMs` when the thread reported it). */
  #record(task: Task, err: ProofError, durationMs?: number): void {
    this.#metrics?.proofs.inc({ circuit: task.circuit, outcome: "failed" });
    if (durationMs !== undefined) this.#metrics?.duration.observe({ circuit: task.circuit, outcome: "failed" }, durationMs / 1000);
    const fields = { circuit: task.circuit, err, durationMs: durationMs === undefined ? undefined : Math.round(durationMs) };
    if (err.permanent) this.#log.warn(fields, "proof failed");
    else this.#log.error(fields, "proof failed");
  }

  #settle(task: Task, err: Error | undefined, result?: ProveResult): void {
    if (task.timer) clearTimeout(task.timer);
    if (task.onAbort) task.request.signal?.removeEventListener("abort", task.onAbort);
    if (err) task.reject(err);
    else task.resolve(result as ProveResult);
  }
}
