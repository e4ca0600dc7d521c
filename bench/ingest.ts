/**
 * Ingest throughput: chunking, leaf hashing, the Merkle tree and the data root of a deterministic
 * pseudo-random file, with the native multi-threaded hasher (all cores) against the baseline, the
 * ReferenceHasher over circomlibjs's wasm Poseidon on one core, on the same data in the same run.
 *
 *   npx tsx bench/ingest.ts [--mib 64] [--runs 5] [--arithmetic x86-64-avx512ifma|x86-64-adx|portable]
 *
 * MB/s are 10^6 bytes per second. Ours: one warm-up, then `runs` timed builds (median, min, max);
 * half of them before the baseline and half after, so that load from other processes hits both.
 * The baseline (~2 minutes for 64 MiB) is timed once. Both must give the same data root.
 */
import { createCipheriv } from "node:crypto";
import os from "node:os";
import { pathToFileURL } from "node:url";
import { DataTree, ReferenceHasher } from "../agents/src/sdk/storage/format.js";
import { ARITHMETICS, createFastHasher, type Arithmetic } from "../agents/src/sdk/storage/native-hasher.js";
import { circomlibPoseidon } from "../agents/src/sdk/storage/poseidon.js";
import { numberArgument, round, stats, type BenchResult } from "./harness.js";

export interface IngestBenchOptions {
  /** File size in MiB (default 64). */
  fileMiB?: number;
  /** Timed runs of our hasher (default 5, at least 1). */
  runs?: number;
  /** Worker threads for our hasher (default os.availableParallelism()). */
  threads?: number;
  /** Field arithmetic of our hasher (default "best": what the CPU does fastest). */
  arithmetic?: "best" | Arithmetic;
  /** Progress lines go here (default: none). */
  log?: (line: string) => void;
}

export interface IngestBenchResult {
  /** Median throughput of ours, MB/s. */
  ours_MBps: number;
  baseline_MBps: number;
  /** ours_MBps / baseline_MBps. */
  speedup: number;
  file_MiB: number;
  runs: number;
  /** Slowest and fastest of our runs, MB/s. */
  min: number;
  max: number;
  /** Median time of ours and the baseline's time, ms. */
  ours_ms: number;
  baseline_ms: number;
  threads: number;
  arithmetic: string;
  cpus: number;
  dataRoot: string;
}

/** `size` deterministic pseudo-random bytes: AES-256-CTR under a fixed key over zeros. */
export function benchFile(size: number, seed = 1): Uint8Array {
  const key = Buffer.alloc(32, seed);
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16, 0));
  const out = new Uint8Array(size);
  const block = 1 << 20;
  const zeros = Buffer.alloc(block);
  for (let offset = 0; offset < size; offset += block) {
    const n = Math.min(block, size - offset);
    out.set(cipher.update(zeros.subarray(0, n)), offset);
  }
  return out;
}

export async function benchIngest(options: IngestBenchOptions = {}): Promise<IngestBenchResult> {
  const fileMiB = options.fileMiB ?? 64;
  const runs = options.runs ?? 5;
  const log = options.log ?? (() => {});
  if (!(fileMiB > 0) || !Number.isInteger(runs) || runs < 1) {
    throw new RangeError(`need fileMiB > 0 and runs >= 1, got fileMiB ${fileMiB}, runs ${runs}`);
  }
  const size = Math.round(fileMiB * 2 ** 20);
  const data = benchFile(size);
  const mbps = (ms: number) => size / 1e6 / (ms / 1000);

  const fast = createFastHasher({ threads: options.threads, arithmetic: options.arithmetic });
  try {
    const timeOurs = async () => {
      const start = performance.now();
      const tree = await DataTree.build(data, fast, fast.poseidon);
      return { ms: performance.now() - start, root: tree.dataRoot };
    };
    const warm = await timeOurs();
    log(`ours warm-up: ${warm.ms.toFixed(0)} ms`);
    const times: number[] = [];
    const before = Math.ceil(runs / 2);
    for (let i = 0; i < before; i++) {
      const run = await timeOurs();
      if (run.root !== warm.root) throw new Error("the native hasher gave two different data roots for the same file");
      times.push(run.ms);
      log(`ours run ${times.length}/${runs}: ${run.ms.toFixed(0)} ms (${mbps(run.ms).toFixed(2)} MB/s)`);
    }

    const poseidon = await circomlibPoseidon();
    log(`baseline (ReferenceHasher, circomlibjs, one core) on ${fileMiB} MiB...`);
    const baseStart = performance.now();
    const baseTree = await DataTree.build(data, new ReferenceHasher(poseidon), poseidon);
    const baselineMs = performance.now() - baseStart;
    log(`baseline: ${baselineMs.toFixed(0)} ms (${mbps(baselineMs).toFixed(3)} MB/s)`);
    if (baseTree.dataRoot !== warm.root) {
      throw new Error(`data roots differ: native ${warm.root}, reference ${baseTree.dataRoot}`);
    }

    for (let i = before; i < runs; i++) {
      const run = await timeOurs();
      if (run.root !== warm.root) throw new Error("the native hasher gave two different data roots for the same file");
      times.push(run.ms);
      log(`ours run ${times.length}/${runs}: ${run.ms.toFixed(0)} ms (${mbps(run.ms).toFixed(2)} MB/s)`);
    }

    const t = stats(times);
    const ours = mbps(t.median);
    const baseline = mbps(baselineMs);
    return {
      ours_MBps: round(ours, 3),
      baseline_MBps: round(baseline, 4),
      speedup: round(ours / baseline, 2),
      file_MiB: fileMiB,
      runs,
      min: round(mbps(t.max), 3),
      max: round(mbps(t.min), 3),
      ours_ms: round(t.median, 1),
      baseline_ms: round(baselineMs, 1),
      threads: fast.threads,
      arithmetic: fast.arithmetic,
      cpus: os.availableParallelism(),
      dataRoot: warm.root.toString(),
    };
  } finally {
    await fast.close();
  }
}

/** The result in the harness format (../shared/BENCH.md), for a layer's bench list. */
export function ingestBenchResults(result: IngestBenchResult): BenchResult[] {
  const { speedup, ours_MBps, baseline_MBps, ...detail } = result;
  return [
    {
      name: "storage.ingest.speedup_vs_circomlibjs",
      value: speedup,
      unit: "x",
      better: "higher",
      target: 5,
      detail: { ours_MBps, baseline_MBps, ...detail },
    },
    { name: "storage.ingest.native_MBps", value: ours_MBps, unit: "MB/s", better: "higher" },
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const index = process.argv.indexOf("--arithmetic");
  const arithmetic = index < 0 ? "best" : process.argv[index + 1];
  if (arithmetic !== "best" && !(ARITHMETICS as readonly string[]).includes(arithmetic)) {
    throw new RangeError(`--arithmetic must be best or one of ${ARITHMETICS.join(", ")}, got ${arithmetic}`);
  }
  const result = await benchIngest({
    fileMiB: numberArgument("mib", 64),
    runs: numberArgument("runs", 5),
    arithmetic: arithmetic as "best" | Arithmetic,
    log: (line) => console.log(line),
  });
  console.log(JSON.stringify(result, null, 2));
  console.log(
    `\ningest ${result.file_MiB} MiB: ours ${result.ours_MBps} MB/s (min ${result.min}, max ${result.max}, ${result.runs} runs, ` +
      `${result.threads} threads, ${result.arithmetic}) vs baseline ${result.baseline_MBps} MB/s -> ${result.speedup}x ` +
      `(target 5x: ${result.speedup >= 5 ? "ok" : "MISSES"})`,
  );
}
