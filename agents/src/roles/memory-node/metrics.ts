/** Prometheus metrics of the memory-node role (served with the shared ones on METRICS_PORT). */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface MemoryNodeMetrics {
  /** Write requests by outcome: accepted, malformed, forbidden, conflict, unknown-stream, too-large, error. */
  readonly writes: Counter<"outcome">;
  /** Ops of accepted writes, by kind (put | delete). */
  readonly ops: Counter<"kind">;
  /** From the end of a write's body to its durable acknowledgement, seconds. */
  readonly writeSeconds: Histogram;
  /** Reads served, by kind (key, proof, scan, history, events). */
  readonly reads: Counter<"kind">;
  /** Open Server-Sent Events subscriptions. */
  readonly subscribers: Gauge;
  /** Checkpoints, by outcome (posted, skipped, failed). */
  readonly checkpoints: Counter<"outcome">;
  /** Gas used by each posted checkpoint. */
  readonly checkpointGas: Histogram;
  /** Snapshots, by outcome (recorded, failed). */
  readonly snapshots: Counter<"outcome">;
  /** Streams held by the store. */
  readonly streams: Gauge;
  /** Time to rebuild the maps at start-up, seconds. */
  readonly rebuildSeconds: Gauge;
}

export function memoryNodeMetrics(registry: Registry): MemoryNodeMetrics {
  const registers = [registry];
  return {
    writes: new Counter({ name: "daios_memory_writes_total", help: "Memory write requests by outcome", labelNames: ["outcome"], registers }),
    ops: new Counter({ name: "daios_memory_ops_total", help: "Ops of accepted memory writes, by kind", labelNames: ["kind"], registers }),
    writeSeconds: new Histogram({
      name: "daios_memory_write_seconds",
      help: "Time to check, apply durably and sign a memory write",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    reads: new Counter({ name: "daios_memory_reads_total", help: "Memory reads served, by kind", labelNames: ["kind"], registers }),
    subscribers: new Gauge({ name: "daios_memory_subscribers", help: "Open memory event subscriptions (SSE)", registers }),
    checkpoints: new Counter({ name: "daios_memory_checkpoints_total", help: "Memory checkpoints, by outcome", labelNames: ["outcome"], registers }),
    checkpointGas: new Histogram({
      name: "daios_memory_checkpoint_gas",
      help: "Gas used by a memory checkpoint transaction",
      buckets: [40_000, 50_000, 60_000, 70_000, 80_000, 90_000, 100_000, 150_000],
      registers,
    }),
    snapshots: new Counter({ name: "daios_memory_snapshots_total", help: "Memory snapshots, by outcome", labelNames: ["outcome"], registers }),
    streams: new Gauge({ name: "daios_memory_streams", help: "Memory streams held by this node", registers }),
    rebuildSeconds: new Gauge({ name: "daios_memory_rebuild_seconds", help: "Time to rebuild the stream maps at start-up", registers }),
  };
}
