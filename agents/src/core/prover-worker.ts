// The body of one prover thread (started by ProverPool; see prover-pool.ts). It computes Groth16
// proofs with snarkjs one at a time, off the main event loop, and answers over the parent port.
//
// Messages in:  { type: "prove", id, wasmPath, zkeyPath, input, singleThread }  |  { type: "close" }
// Messages out: { type: "ready" }  |  { type: "result", id, ok: true, proof, publicSignals, durationMs }
//               |  { type: "result", id, ok: false, durationMs, error: { name, message, stack } }
//
// snarkjs keeps a multi-threaded curve (its own worker threads) per thread that proves; "close"
// terminates it before this thread exits, so nothing is left running.

import { createRequire } from "node:module";
import { parentPort } from "node:worker_threads";

import type * as Snarkjs from "snarkjs";

// snarkjs's helper threads come from the `web-worker` package, which decides when it is loaded
// whether it runs in a page's main thread (and creates workers) or inside a worker it created
// (and expects that worker's data). Loaded in this thread it would take the second branch and
// crash, so it is loaded while worker_threads reports a main thread, then the flag is restored.
// Its helper threads, started from its own file with their data, take the right branch.
async function loadSnarkjs(): Promise<typeof Snarkjs> {
  const workerThreads = createRequire(import.meta.url)("node:worker_threads") as { isMainThread: boolean };
  const wasMainThread = workerThreads.isMainThread;
  workerThreads.isMainThread = true;
  try {
    return await import("snarkjs");
  } finally {
    workerThreads.isMainThread = wasMainThread;
  }
}

export interface ProveMessage {
  type: "prove";
  id: number;
  wasmPath: string;
  zkeyPath: string;
  input: object;
  singleThread: boolean;
}

export interface CloseMessage {
  type: "close";
}

export type ToWorker = ProveMessage | CloseMessage;

export type FromWorker =
  | { type: "ready" }
  | {
      type: "result";
      id: number;
      ok: true;
      proof: Snarkjs.Groth16Proof;
      publicSignals: Snarkjs.PublicSignals;
      durationMs: number;
    }
  | { type: "result"; id: number; ok: false; durationMs: number; error: { name: string; message: string; stack?: string } };

interface TerminableCurve {
  terminate(): Promise<void>;
}

/** fullProve with the trailing parameters snarkjs 0.7 takes (the shared declaration lists three). */
type FullProve = (
  input: object,
  wasmFile: string,
  zkeyFile: string,
  logger?: unknown,
  wtnsCalcOptions?: unknown,
  proverOptions?: { singleThread?: boolean },
) => Promise<{ proof: Snarkjs.Groth16Proof; publicSignals: Snarkjs.PublicSignals }>;

/**
 * Runs `fn` with console output collected instead of printed: circom's witness calculator prints
 * a failed constraint's template and line, which belong in the error instead.
 */
async function quietly<T>(fn: () => Promise<T>): Promise<{ value?: T; error?: unknown; output: string[] }> {
  const output: string[] = [];
  const saved = { log: console.log, error: console.error, warn: console.warn };
  const collect = (...args: unknown[]) => void output.push(args.map(String).join(" ").trim());
  console.log = console.error = console.warn = collect;
  try {
    return { value: await fn(), output };
  } catch (error) {
    return { error, output };
  } finally {
    Object.assign(console, saved);
  }
}

async function prove(snarkjs: typeof Snarkjs, message: ProveMessage): Promise<FromWorker> {
  const started = performance.now();
  const fullProve = snarkjs.groth16.fullProve as unknown as FullProve;
  const { value, error, output } = await quietly(() =>
    fullProve(message.input, message.wasmPath, message.zkeyPath, undefined, undefined, { singleThread: message.singleThread }),
  );
  const durationMs = performance.now() - started;
  if (value) return { type: "result", id: message.id, ok: true, ...value, durationMs };
  const err = error instanceof Error ? error : new Error(String(error));
  // snarkjs rethrows witness errors as "Error: …"; keep the text once.
  const text = err.message.replace(/^(Error: )+/, "").trim();
  const details = output.filter((line) => line !== "" && !text.includes(line.replace(/^ERROR:\s*\d*\s*/, "")));
  const messageText = details.length > 0 ? `${text} (${details.join("; ")})` : text;
  return { type: "result", id: message.id, ok: false, durationMs, error: { name: err.name, message: messageText, stack: err.stack } };
}

async function close(): Promise<void> {
  const curve = (globalThis as { curve_bn128?: TerminableCurve | null }).curve_bn128;
  if (curve) await curve.terminate();
  process.exit(0); // in a worker thread this ends the thread only
}

if (parentPort) {
  const port = parentPort;
  const snarkjs = loadSnarkjs();
  // Proofs run one at a time (the pool sends the next only after a result); the chain keeps that
  // true even if a caller did not.
  let queue: Promise<unknown> = Promise.resolve();
  port.on("message", (message: ToWorker) => {
    if (message.type === "prove") {
      queue = queue.then(async () => port.postMessage(await prove(await snarkjs, message)));
    } else if (message.type === "close") {
      void queue.then(close);
    }
  });
  // Report a failure to load snarkjs as this thread's death, with its reason.
  snarkjs.then(
    () => port.postMessage({ type: "ready" } satisfies FromWorker),
    (err: unknown) => setImmediate(() => {
      throw err;
    }),
  );
}
