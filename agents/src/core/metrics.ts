// Prometheus metrics: one registry per process (with Node's default metrics), an HTTP server for
// GET /metrics and /healthz, and the metric families every role shares: queue jobs and proofs.

import http from "node:http";
import type { AddressInfo } from "node:net";

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

import { DaiosError, errorMessage } from "./errors.js";
import type { Logger } from "./log.js";

export { Registry } from "prom-client";

export interface CreateRegistryOptions {
  /** Added as a `role` label on every metric. */
  role?: string;
  /** Collect Node's process metrics (CPU, memory, event-loop lag, GC). Default true. */
  defaultMetrics?: boolean;
}

/** A registry for this process, with Node's default metrics unless turned off. */
export function createRegistry(options: CreateRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (options.role !== undefined) registry.setDefaultLabels({ role: options.role });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

// ---------------------------------------------------------------------------------------------
// HTTP server

export interface MetricsServer {
  /** The port actually bound (useful when 0 was asked for). */
  readonly port: number;
  /** e.g. http://127.0.0.1:9464 */
  readonly url: string;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  /** Interface to bind (default 127.0.0.1; use 0.0.0.0 for a Prometheus on another host). */
  host?: string;
  /** Answers /healthz: 200 when it returns true, 503 otherwise. Default: always healthy. */
  health?: () => boolean | Promise<boolean>;
  log?: Logger;
}

/**
 * Serves GET /metrics (Prometheus text format) and GET /healthz. Port 0 binds a free port, which
 * the result reports; a role whose METRICS_PORT is 0 (off) should not call this at all.
 */
export async function startMetricsServer(
  port: number,
  registry: Registry,
  options: MetricsServerOptions = {},
): Promise<MetricsServer> {
  const host = options.host ?? "127.0.0.1";
  const health = options.health ?? (() => true);

  const server = http.createServer((req, res) => {
    void respond(req, res).catch((err: unknown) => {
      options.log?.error({ err, path: req.url }, "metrics request failed");
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
      res.end(`error: ${errorMessage(err)}\n`);
    });
  });

  async function respond(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }).end("method not allowed\n");
      return;
    }
    if (path === "/metrics") {
      const body = await registry.metrics();
      res.writeHead(200, { "content-type": registry.contentType }).end(req.method === "HEAD" ? undefined : body);
    } else if (path === "/healthz") {
      const healthy = await health();
      res.writeHead(healthy ? 200 : 503, { "content-type": "text/plain; charset=utf-8" }).end(healthy ? "ok\n" : "unhealthy\n");
    } else {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found: try /metrics or /healthz\n");
    }
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const hint =
        err.code === "EADDRINUSE"
          ? "Set METRICS_PORT to a free port, or to 0 to turn the metrics server off"
          : "Check METRICS_HOST and METRICS_PORT";
      reject(new DaiosError(`Cannot serve metrics on ${host}:${port}: ${err.message}`, { hint, cause: err }));
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  server.on("error", (err) => options.log?.error({ err }, "metrics server error"));

  const bound = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  options.log?.info({ port: bound, host }, "metrics server listening");

  let closing: Promise<void> | undefined;
  return {
    port: bound,
    url: `http://${urlHost}:${bound}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Shared metric families

/** Seconds; from a few milliseconds (trivial jobs) to ten minutes (large proofs). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** The part of a BullMQ queue the depth gauge needs. */
export interface CountableQueue {
  readonly name: string;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

export interface QueueMetrics {
  /** Jobs that finished successfully, by queue. */
  readonly completed: Counter<"queue">;
  /** Failed attempts, by queue; `final` is "true" when the job will not be retried. */
  readonly failed: Counter<"queue" | "final">;
  /** Attempt duration in seconds, by queue and outcome (completed | failed). */
  readonly duration: Histogram<"queue" | "outcome">;
  /** Jobs being processed right now by this process, by queue. */
  readonly active: Gauge<"queue">;
  /** Reports the queue's job counts by state (waiting, active, delayed, failed, …) at every scrape. */
  watch(queue: CountableQueue): void;
  /** Stops reporting the queue's job counts. */
  unwatch(queue: CountableQueue): void;
}

const DEPTH_STATES = ["waiting", "active", "delayed", "prioritized", "waiting-children", "completed", "failed"];

const queueMetricsByRegistry = new WeakMap<Registry, QueueMetrics>();

/** The queue metric families of a registry (created on first use, then shared). */
export function queueMetrics(registry: Registry): QueueMetrics {
  const existing = queueMetricsByRegistry.get(registry);
  if (existing) return existing;

  const watched = new Map<string, CountableQueue>();
  const metrics: QueueMetrics = {
    completed: new Counter({
      name: "daios_queue_jobs_completed_total",
      help: "Jobs completed successfully",
      labelNames: ["queue"],
      registers: [registry],
    }),
    failed: new Counter({
      name: "daios_queue_jobs_failed_total",
      help: "Failed job attempts; final=true when the job is not retried",
      labelNames: ["queue", "final"],
      registers: [registry],
    }),
    duration: new Histogram({
      name: "daios_queue_job_duration_seconds",
      help: "Duration of job attempts",
      labelNames: ["queue", "outcome"],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
    active: new Gauge({
      name: "daios_queue_jobs_active",
      help: "Jobs being processed by this process",
      labelNames: ["queue"],
      registers: [registry],
    }),
    watch(queue) {
      watched.set(queue.name, queue);
    },
    unwatch(queue) {
      if (watched.get(queue.name) === queue) watched.delete(queue.name);
    },
  };
  new Gauge({
    name: "daios_queue_jobs",
    help: "Jobs in the queue (all processes) by state",
    labelNames: ["queue", "state"],
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        [...watched.values()].map(async (queue) => {
          try {
            const counts = await queue.getJobCounts(...DEPTH_STATES);
            for (const state of DEPTH_STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
          } catch {
            // Redis unreachable or the queue closed: leave this queue out of the scrape.
          }
        }),
      );
    },
  });
  queueMetricsByRegistry.set(registry, metrics);
  return metrics;
}

export interface ProofMetrics {
  /** Proofs by circuit and outcome (ok | failed). */
  readonly proofs: Counter<"circuit" | "outcome">;
  /** Proving time in seconds (witness + proof, inside the worker), by circuit and outcome. */
  readonly duration: Histogram<"circuit" | "outcome">;
  /** Proof requests waiting for a free prover thread. */
  readonly waiting: Gauge;
  /** Prover threads that crashed and were replaced. */
  readonly crashes: Counter;
  /**
   * Records one proof made outside a ProverPool given these metrics (a pool given them records
   * its proofs itself: do not record those twice).
   */
  observe(circuit: string, seconds: number, outcome?: "ok" | "failed"): void;
}

const proofMetricsByRegistry = new WeakMap<Registry, ProofMetrics>();

/** The proof metric families of a registry (created on first use, then shared). */
export function proofMetrics(registry: Registry): ProofMetrics {
  const existing = proofMetricsByRegistry.get(registry);
  if (existing) return existing;
  const metrics: ProofMetrics = {
    proofs: new Counter({
      name: "daios_proofs_total",
      help: "Proofs attempted, by circuit and outcome",
      labelNames: ["circuit", "outcome"],
      registers: [registry],
    }),
    duration: new Histogram({
      name: "daios_proof_duration_seconds",
      help: "Time to compute a proof (witness and Groth16 prover)",
      labelNames: ["circuit", "outcome"],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
    waiting: new Gauge({
      name: "daios_prover_requests_waiting",
      help: "Proof requests waiting for a free prover thread",
      registers: [registry],
    }),
    crashes: new Counter({
      name: "daios_prover_thread_crashes_total",
      help: "Prover threads that died and were replaced",
      registers: [registry],
    }),
    observe(circuit, seconds, outcome = "ok") {
      metrics.proofs.inc({ circuit, outcome });
      metrics.duration.observe({ circuit, outcome }, seconds);
    },
  };
  proofMetricsByRegistry.set(registry, metrics);
  return metrics;
}
