/**
 * `npm run bench` runs every layer's benchmarks; `npm run bench -- storage` runs one layer.
 * Each layer prints a table and writes bench/results/<layer>.json (format: ../shared/BENCH.md).
 */
import { printTable, writeReport, type BenchResult } from "./harness.js";

type LayerBench = () => Promise<BenchResult[]>;

const LAYERS: Record<string, () => Promise<LayerBench>> = {
  storage: async () => (await import("./storage.js")).benchStorage,
  da: async () => (await import("./da.js")).benchDa,
  compute: async () => (await import("./compute.js")).benchCompute,
  memory: async () => (await import("./memory.js")).benchMemory,
};

async function main(): Promise<void> {
  const requested = process.argv.slice(2).filter((a) => !a.startsWith("-"));
  const unknown = requested.filter((layer) => !LAYERS[layer]);
  if (unknown.length > 0) {
    console.error(`unknown bench layer(s): ${unknown.join(", ")}; known: ${Object.keys(LAYERS).join(", ")}`);
    process.exit(2);
  }
  for (const layer of requested.length > 0 ? requested : Object.keys(LAYERS)) {
    const bench = await LAYERS[layer]();
    printTable(writeReport(layer, await bench()));
  }
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
