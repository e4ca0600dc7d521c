/** Prometheus metrics of the compute-provider role (served with the shared ones on METRICS_PORT). */
import { Counter, Histogram, type Registry } from "prom-client";

export interface ComputeProviderMetrics {
  /** Jobs by what happened to them: claimed, proved (zk), signed (TEE), accepted, recorded, failed, refused. */
  readonly jobs: Counter<"outcome" | "mode">;
  /** Jobs passed over without a claim, by reason (model, mode, time, taken, input, weights, verifier). */
  readonly skipped: Counter<"reason">;
  /** Time to prove one inference (witness and Groth16), milliseconds. */
  readonly proveMs: Histogram;
  /** From seeing JobPosted to the accepted result being mined, seconds. */
  readonly jobLatency: Histogram<"mode">;
  /** Weights files fetched from storage (verified against root and commitment), by source (storage | disk). */
  readonly weightsLoaded: Counter<"source">;
}

export function computeProviderMetrics(registry: Registry): ComputeProviderMetrics {
  const registers = [registry];
  return {
    jobs: new Counter({ name: "daios_compute_jobs_total", help: "Compute jobs by outcome and mode", labelNames: ["outcome", "mode"], registers }),
    skipped: new Counter({ name: "daios_compute_jobs_skipped_total", help: "Compute jobs not claimed, by reason", labelNames: ["reason"], registers }),
    proveMs: new Histogram({
      name: "daios_compute_prove_ms",
      help: "Time to prove one inference (witness and Groth16), milliseconds",
      buckets: [100, 250, 500, 750, 1000, 1500, 2000, 3000, 5000, 10_000, 30_000],
      registers,
    }),
    jobLatency: new Histogram({
      name: "daios_compute_job_latency_seconds",
      help: "From seeing JobPosted to the accepted result being mined",
      labelNames: ["mode"],
      buckets: [1, 2, 3, 5, 7.5, 10, 15, 20, 30, 60, 120],
      registers,
    }),
    weightsLoaded: new Counter({ name: "daios_compute_weights_loaded_total", help: "Weights files loaded and checked, by source", labelNames: ["source"], registers }),
  };
}
