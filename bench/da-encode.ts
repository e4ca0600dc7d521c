/**
 * DA blob encoding throughput on one thread: Reed–Solomon encoding of a blob for a quorum plus the
 * SHA-256 commitment tree over all coded chunks (encodeBlob), with the native addon (the fastest
 * kernel and SHA-256 this CPU has) against the TypeScript reference (GF(2^8) loop in TypeScript,
 * node:crypto one hash at a time), on the same data in the same run.
 *
 *   npx tsx bench/da-encode.ts [--mib 16] [--quorum 16] [--runs 7] [--reference-runs 3]
 *
 * MB/s are 10^6 blob bytes (before coding) per second. Native: one warm-up, then `runs` timed
 * encodings (median, min, max), half before the reference and half after, so that load from other
 * processes hits both. Both must give the same root. The detail also times the two halves of the
 * native path on their own: the parity (RS) and the tree (commit).
 */
import { pathToFileURL } from "node:url";
import { encodeBlob } from "../agents/src/sdk/da/blob.js";
import { CommitmentTree, nativeCommitHasher, referenceCommitHasher } from "../agents/src/sdk/da/commitment.js";
import { ReedSolomon } from "../agents/src/sdk/da/erasure.js";
import { referenceKernel } from "../agents/src/sdk/da/gf256.js";
import { loadErasureAddon, nativeKernel } from "../agents/src/sdk/da/native-erasure.js";
import { numberArgument, round, stats, type BenchResult } from "./harness.js";
import { benchFile } from "./ingest.js";

export interface DaEncodeBenchOptions {
  /** Blob size in MiB (default 16, the largest blob). */
  blobMiB?: number;
  /** Quorum size (default 16: k = 8 data shards, n = 16). */
  quorumSize?: number;
  /** Timed native runs (default 7). */
  runs?: number;
  /** Timed reference runs (default 3). */
  referenceRuns?: number;
  /** Progress lines go here (default: none). */
  log?: (line: string) => void;
}

export interface DaEncodeBenchResult {
  /** Median throughput of the native encode + commit, MB/s. */
  native_MBps: number;
  /** Median throughput of the TypeScript reference, MB/s. */
  reference_MBps: number;
  /** native_MBps / reference_MBps. */
  speedup: number;
  blob_MiB: number;
  quorumSize: number;
  k: number;
  n: number;
  runs: number;
  referenceRuns: number;
  /** Slowest and fastest native runs, MB/s. */
  min: number;
  max: number;
  native_ms: number;
  reference_ms: number;
  /** Median native time of the parity alone and of the tree alone, ms. */
  rs_ms: number;
  commit_ms: number;
  kernel: string;
  sha: string;
  root: string;
}

export function benchDaEncode(options: DaEncodeBenchOptions = {}): DaEncodeBenchResult {
  const blobMiB = options.blobMiB ?? 16;
  const quorumSize = options.quorumSize ?? 16;
  const runs = options.runs ?? 7;
  const referenceRuns = options.referenceRuns ?? 3;
  const log = options.log ?? (() => {});
  if (!(blobMiB > 0) || !Number.isInteger(runs) || runs < 1 || !Number.isInteger(referenceRuns) || referenceRuns < 1) {
    throw new RangeError(`need blobMiB > 0, runs >= 1 and referenceRuns >= 1, got ${blobMiB}, ${runs}, ${referenceRuns}`);
  }
  const size = Math.round(blobMiB * 2 ** 20);
  const data = benchFile(size, 3);
  const mbps = (ms: number) => size / 1e6 / (ms / 1000);

  const addon = loadErasureAddon(); // the bench needs the native code: say how to build it otherwise
  const kernel = nativeKernel();
  const hasher = nativeCommitHasher(addon);
  const timeNative = () => {
    const start = performance.now();
    const blob = encodeBlob(data, quorumSize, { kernel, hasher });
    return { ms: performance.now() - start, root: blob.rootHex, blob };
  };
  const warm = timeNative();
  log(`native warm-up: ${warm.ms.toFixed(1)} ms (kernel ${kernel.name}, SHA-256 ${hasher.name})`);
  const { k, n } = warm.blob;

  const times: number[] = [];
  const nativeRun = () => {
    const run = timeNative();
    if (run.root !== warm.root) throw new Error("the native encoder gave two different roots for the same blob");
    times.push(run.ms);
    log(`native run ${times.length}/${runs}: ${run.ms.toFixed(1)} ms (${mbps(run.ms).toFixed(1)} MB/s)`);
  };
  const before = Math.ceil(runs / 2);
  for (let i = 0; i < before; i++) nativeRun();

  const referenceTimes: number[] = [];
  for (let i = 0; i < referenceRuns; i++) {
    const start = performance.now();
    const blob = encodeBlob(data, quorumSize, { kernel: referenceKernel, hasher: referenceCommitHasher });
    const ms = performance.now() - start;
    if (blob.rootHex !== warm.root) throw new Error(`roots differ: native ${warm.root}, reference ${blob.rootHex}`);
    referenceTimes.push(ms);
    log(`reference run ${i + 1}/${referenceRuns}: ${ms.toFixed(1)} ms (${mbps(ms).toFixed(2)} MB/s)`);
  }

  for (let i = before; i < runs; i++) nativeRun();

  // The two halves on their own, on the warm-up's buffers (no allocation).
  const rs = new ReedSolomon(k, n, kernel);
  const dataShards = warm.blob.shards.slice(0, k);
  const parityShards = warm.blob.shards.slice(k);
  const rsTimes: number[] = [];
  const commitTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    let start = performance.now();
    rs.encode(dataShards, parityShards);
    rsTimes.push(performance.now() - start);
    start = performance.now();
    CommitmentTree.build(warm.blob.coded, { hasher });
    commitTimes.push(performance.now() - start);
  }

  const t = stats(times);
  const r = stats(referenceTimes);
  const native = mbps(t.median);
  const reference = mbps(r.median);
  return {
    native_MBps: round(native, 1),
    reference_MBps: round(reference, 2),
    speedup: round(native / reference, 1),
    blob_MiB: blobMiB,
    quorumSize,
    k,
    n,
    runs,
    referenceRuns,
    min: round(mbps(t.max), 1),
    max: round(mbps(t.min), 1),
    native_ms: round(t.median, 1),
    reference_ms: round(r.median, 1),
    rs_ms: round(stats(rsTimes).median, 2),
    commit_ms: round(stats(commitTimes).median, 2),
    kernel: kernel.name,
    sha: hasher.name,
    root: warm.root,
  };
}

/** The result in the harness format (../shared/BENCH.md), for a layer's bench list. */
export function daEncodeBenchResults(result: DaEncodeBenchResult): BenchResult[] {
  const { native_MBps, reference_MBps, speedup, ...detail } = result;
  return [
    {
      name: "da.encode_commit.native_MBps",
      value: native_MBps,
      unit: "MB/s",
      better: "higher",
      target: 200,
      detail: { reference_MBps, speedup, ...detail },
    },
    { name: "da.encode_commit.reference_MBps", value: reference_MBps, unit: "MB/s", better: "higher" },
    { name: "da.encode_commit.speedup_vs_reference", value: speedup, unit: "x", better: "higher" },
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = benchDaEncode({
    blobMiB: numberArgument("mib", 16),
    quorumSize: numberArgument("quorum", 16),
    runs: numberArgument("runs", 7),
    referenceRuns: numberArgument("reference-runs", 3),
    log: (line) => console.log(line),
  });
  console.log(JSON.stringify(result, null, 2));
  console.log(
    `\nDA encode + commit, ${result.blob_MiB} MiB at Q = ${result.quorumSize} (k = ${result.k}), one thread: ` +
      `native ${result.native_MBps} MB/s (min ${result.min}, max ${result.max}, ${result.runs} runs, ${result.kernel}, ${result.sha}; ` +
      `RS ${result.rs_ms} ms + tree ${result.commit_ms} ms) vs reference ${result.reference_MBps} MB/s -> ${result.speedup}x ` +
      `(target 200 MB/s: ${result.native_MBps >= 200 ? "ok" : "MISSES"})`,
  );
}
