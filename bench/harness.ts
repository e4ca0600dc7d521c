/** The benchmark result format of ../shared/BENCH.md, a table printer and helpers for medians. */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  better: "lower" | "higher";
  target?: number;
  detail?: Record<string, unknown>;
}

export interface LayerReport {
  layer: string;
  at: string;
  machine: { cpus: number; node: string };
  results: BenchResult[];
}

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

export function missesTarget(result: BenchResult): boolean {
  if (result.target === undefined) return false;
  return result.better === "lower" ? result.value > result.target : result.value < result.target;
}

/** Median, min and max of timings (the median of an even count is the mean of the middle two). */
export function stats(values: number[]): { median: number; min: number; max: number; runs: number } {
  if (values.length === 0) throw new Error("no measurements");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], runs: values.length };
}

export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The number after `--name` on a bench script's command line, or `fallback` when the option is absent. */
export function numberArgument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isFinite(value)) throw new RangeError(`--${name} needs a number`);
  return value;
}

export function writeReport(layer: string, results: BenchResult[]): LayerReport {
  const report: LayerReport = {
    layer,
    at: new Date().toISOString(),
    machine: { cpus: os.availableParallelism(), node: process.version },
    results,
  };
  const dir = path.join(BENCH_DIR, "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${layer}.json`), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

export function printTable(report: LayerReport): void {
  const rows = report.results.map((r) => [
    r.name,
    String(r.value),
    r.unit,
    r.target === undefined ? "" : `${r.better === "lower" ? "<=" : ">="} ${r.target}`,
    r.target === undefined ? "" : missesTarget(r) ? "MISSES" : "ok",
  ]);
  const header = ["metric", "value", "unit", "target", ""];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  console.log(`\n${report.layer} — ${report.at} — ${report.machine.cpus} cpus, node ${report.machine.node}`);
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of rows) console.log(line(row));
  const missed = report.results.filter(missesTarget);
  if (missed.length > 0) console.log(`\n${missed.length} result(s) miss their target: ${missed.map((r) => r.name).join(", ")}`);
}
