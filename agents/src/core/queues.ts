// A thin layer over BullMQ shared by every role: queues with safe default job options, workers
// that log and measure every job, de-duplicating job ids for chain events, retries with
// exponential backoff plus jitter, and an orderly shutdown.
//
//   const queue = createQueue("storage-proofs", redisUrl, { metrics });
//   await queue.add("prove", data, { jobId: jobIdFor(chainId, log.transactionHash, log.index) });
//   createWorker("storage-proofs", async (job) => prove(job.data), { connection: redisUrl, concurrency: 2, log, metrics });
//   process.once("SIGTERM", () => void closeAll({ timeoutMs: 30_000 }));
//
// A job that can never succeed (bad input, a deal that no longer exists) should throw BullMQ's
// UnrecoverableError: it fails at once instead of being retried.

import {
  Queue,
  UnrecoverableError,
  Worker,
  type BackoffStrategy,
  type Job,
  type JobsOptions,
  type Processor,
  type QueueOptions,
  type WorkerOptions,
} from "bullmq";
import type { Redis } from "ioredis";

import { DaiosError } from "./errors.js";
import { silentLogger, type Logger } from "./log.js";
import type { QueueMetrics } from "./metrics.js";
import { createRedisConnection } from "./redis.js";

export { UnrecoverableError } from "bullmq";

/** A Redis connection to use, or a URL for which the queue layer opens (and later closes) one. */
export type Connection = Redis | string;

/** The name of the custom backoff strategy every worker created here knows. */
export const JITTER_BACKOFF = "exponential-jitter";

/** The longest wait between two attempts. */
export const MAX_BACKOFF_MS = 10 * 60 * 1000;

/**
 * Default options for every job: 5 attempts, waits of about 1 s, 2 s, 4 s, 8 s between them
 * (exponential with jitter), and bounded history: finished jobs are kept (and their ids keep
 * de-duplicating) for a day or the last 1,000; failed ones for a week or the last 5,000.
 */
export const DEFAULT_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  attempts: 5,
  backoff: { type: JITTER_BACKOFF, delay: 1000 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
});

/**
 * The wait before retry number `attemptsMade` (1 for the first retry): base × 2^(attempts − 1),
 * capped, of which a random half is kept ("equal jitter"), so that jobs that failed together
 * do not all come back at the same moment.
 */
export function backoffDelay(
  attemptsMade: number,
  baseMs: number,
  random: () => number = Math.random,
  capMs: number = MAX_BACKOFF_MS,
): number {
  const exponent = Math.max(0, Math.min(attemptsMade - 1, 30));
  const ceiling = Math.min(capMs, baseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** BullMQ backoff strategy for JITTER_BACKOFF; the base delay is the job's `backoff.delay`. */
export const jitterBackoff: BackoffStrategy = (attemptsMade, _type, _err, job) => {
  const backoff = job?.opts.backoff;
  const base = typeof backoff === "number" ? backoff : (backoff?.delay ?? 1000);
  return backoffDelay(attemptsMade, base);
};

/**
 * The job id for a chain event: `${chainId}-${txHash}-${logIndex}`. Adding a job with an id the
 * queue still remembers does nothing, so an event seen twice (a re-scan after a restart, a
 * duplicate delivery) is processed once. The hash is lower-cased so that both spellings agree.
 */
export function jobIdFor(chainId: bigint | number, txHash: string, logIndex: bigint | number): string {
  if (!(typeof chainId === "bigint" ? chainId > 0n : Number.isSafeInteger(chainId) && chainId > 0)) {
    throw new DaiosError(`Invalid chain id ${String(chainId)} for a job id`, { hint: "Pass the chain id as a positive integer" });
  }
  if (!/^0x[0-9a-fA-F]{64}$/.test(txHash)) {
    throw new DaiosError(`Invalid transaction hash ${JSON.stringify(txHash)} for a job id`, {
      hint: "Pass the 0x-prefixed 32-byte hash of the transaction that emitted the event",
    });
  }
  if (!(typeof logIndex === "bigint" ? logIndex >= 0n : Number.isSafeInteger(logIndex) && logIndex >= 0)) {
    throw new DaiosError(`Invalid log index ${String(logIndex)} for a job id`, { hint: "Pass the log's index in its block (0 or more)" });
  }
  return `${chainId}-${txHash.toLowerCase()}-${logIndex}`;
}

/**
 * Adds a job under a fixed id, or gives it another run. `queue.add` ignores an id the queue still
 * remembers, and a failed job is remembered for days (removeOnFail): a fixed id that failed once would
 * never run again. Here a failed job is retried (with all its attempts again); a job waiting, delayed,
 * running or completed is left as it is (returns false then), so a completed job is still run once.
 */
export async function addOrRetry<Data>(queue: Queue<Data>, name: string, data: Data, jobId: string, options?: JobsOptions): Promise<boolean> {
  const existing = await queue.getJob(jobId);
  if (existing) {
    const state = await existing.getState();
    if (state === "failed") {
      await existing.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
      return true;
    }
    if (state !== "unknown") return false;
  }
  await (queue as Queue).add(name, data, { ...options, jobId });
  return true;
}

/** Whether an error tells BullMQ not to retry. */
export function isUnrecoverable(err: unknown): boolean {
  return err instanceof UnrecoverableError || (err instanceof Error && err.name === "UnrecoverableError");
}

export interface CreateQueueOptions {
  /** Options merged over DEFAULT_JOB_OPTIONS. */
  defaultJobOptions?: JobsOptions;
  /** When given, the queue's job counts by state are reported at every scrape. */
  metrics?: QueueMetrics;
  /** Receives the errors of a connection opened for a URL. */
  log?: Logger;
  /** Further BullMQ queue options. */
  queue?: Omit<QueueOptions, "connection" | "defaultJobOptions">;
}

export interface CreateWorkerOptions {
  connection: Connection;
  /** Jobs processed at the same time by this worker (default 1). */
  concurrency?: number;
  log?: Logger;
  metrics?: QueueMetrics;
  /** Further BullMQ worker options (the backoff strategy is always set). */
  worker?: Omit<WorkerOptions, "connection" | "concurrency" | "settings" | "autorun">;
  /** Start taking jobs at once (default true). */
  autorun?: boolean;
}

export interface CloseOptions {
  /** How long in-flight jobs may take to finish before they are cancelled (default 30 s). */
  timeoutMs?: number;
  log?: Logger;
}

export interface CloseReport {
  /** Ids of jobs whose processors ignored cancellation and whose attempts were failed to release them. */
  abandonedJobs: string[];
}

interface TrackedWorker {
  worker: Worker;
  name: string;
  /** Jobs being processed, with a function that gives up on each (see closeAll()). */
  inFlight: Map<string, (reason: Error) => void>;
}

function checkQueueName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new DaiosError(`Invalid queue name ${JSON.stringify(name)}`, {
      hint: "Use letters, digits, '.', '_' and '-' only (no ':', which Redis keys use as a separator)",
    });
  }
}

/** Resolves with the promise's value, or with `timedOut` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof timedOut> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof timedOut>((resolve) => {
    timer = setTimeout(() => resolve(timedOut), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
const timedOut = Symbol("timed out");

/**
 * Queues, workers and the connections opened for them, closed together by closeAll(). The
 * module-level createQueue/createWorker/closeAll use one default scope; tests and embedders may
 * make their own.
 */
export class QueueScope {
  readonly #workers = new Set<TrackedWorker>();
  readonly #queues = new Set<{ queue: Queue; metrics?: QueueMetrics }>();
  /** Connections this scope opened from URLs, one per URL. */
  readonly #owned = new Map<string, Redis>();
  #closing: Promise<CloseReport> | undefined;

  /** The connection to use: the one given, or the scope's own for a URL (its errors go to `log`). */
  connection(connection: Connection, log?: Logger): Redis {
    if (typeof connection !== "string") return connection;
    this.#assertOpen();
    let client = this.#owned.get(connection);
    if (!client) {
      client = createRedisConnection(connection, { log, name: "daios-queues" });
      this.#owned.set(connection, client);
    }
    return client;
  }

  createQueue<Data = unknown, Result = unknown>(
    name: string,
    connection: Connection,
    options: CreateQueueOptions = {},
  ): Queue<Data, Result> {
    checkQueueName(name);
    this.#assertOpen();
    const queue = new Queue<Data, Result>(name, {
      ...options.queue,
      connection: this.connection(connection, options.log),
      defaultJobOptions: { ...DEFAULT_JOB_OPTIONS, ...options.defaultJobOptions },
    });
    this.#queues.add({ queue: queue as Queue, metrics: options.metrics });
    options.metrics?.watch(queue);
    return queue;
  }

  createWorker<Data = unknown, Result = unknown>(
    name: string,
    processor: Processor<Data, Result>,
    options: CreateWorkerOptions,
  ): Worker<Data, Result> {
    checkQueueName(name);
    this.#assertOpen();
    const log = (options.log ?? silentLogger()).child({ queue: name });
    const metrics = options.metrics;
    const inFlight = new Map<string, (reason: Error) => void>();

    // Three declared parameters: BullMQ hands the abort signal only to processors that take it.
    const run = async (job: Job<Data, Result>, token?: string, signal?: AbortSignal): Promise<Result> => {
      const jobId = job.id ?? "";
      const attempt = job.attemptsMade + 1;
      const jobLog = log.child({ jobId, attempt });
      // closeAll() may give up on a job whose processor ignores cancellation: the attempt then
      // fails (and is retried later) although the processor's promise is still pending.
      const abandoned = new Promise<never>((_resolve, reject) => inFlight.set(jobId, reject));
      metrics?.active.inc({ queue: name });
      jobLog.info({ jobName: job.name }, "job started");
      const started = performance.now();
      try {
        const result = await Promise.race([processor(job, token, signal), abandoned]);
        const seconds = (performance.now() - started) / 1000;
        metrics?.completed.inc({ queue: name });
        metrics?.duration.observe({ queue: name, outcome: "completed" }, seconds);
        jobLog.info({ durationMs: Math.round(seconds * 1000) }, "job completed");
        return result;
      } catch (err) {
        const seconds = (performance.now() - started) / 1000;
        const final = isUnrecoverable(err) || attempt >= (job.opts.attempts ?? 1);
        metrics?.failed.inc({ queue: name, final: String(final) });
        metrics?.duration.observe({ queue: name, outcome: "failed" }, seconds);
        const fields = { err, durationMs: Math.round(seconds * 1000), final };
        if (final) jobLog.error(fields, isUnrecoverable(err) ? "job failed permanently" : "job failed, no attempts left");
        else jobLog.warn({ ...fields, attemptsLeft: (job.opts.attempts ?? 1) - attempt }, "job failed, will retry");
        throw err;
      } finally {
        inFlight.delete(jobId);
        metrics?.active.dec({ queue: name });
      }
    };

    const worker = new Worker<Data, Result>(name, run, {
      ...options.worker,
      connection: this.connection(options.connection, log),
      concurrency: options.concurrency ?? 1,
      autorun: options.autorun ?? true,
      settings: { backoffStrategy: jitterBackoff },
    });
    worker.on("error", (err) => log.error({ err }, "worker error"));
    worker.on("stalled", (jobId) => log.warn({ jobId }, "job stalled: its worker stopped renewing the lock; it will run again"));
    worker.on("failed", (job, err) => {
      // Failures inside the processor are logged above; this catches those decided by BullMQ alone.
      if (job === undefined) log.error({ err }, "job failed after stalling too often");
    });
    this.#workers.add({ worker, name, inFlight });
    return worker;
  }

  /**
   * Orderly shutdown: workers stop taking jobs and in-flight jobs may finish until `timeoutMs`;
   * then they are cancelled (processors that take the abort signal get it) and, after a short
   * grace, those still running are abandoned: their attempts fail, so they are retried later
   * (their processors' promises are left behind: the process should exit soon). Then the
   * queues close, and last the connections this scope opened. Connections passed in as clients
   * stay open: their owner closes them. Safe to call more than once.
   */
  closeAll(options: CloseOptions = {}): Promise<CloseReport> {
    this.#closing ??= this.#close(options);
    return this.#closing;
  }

  async #close(options: CloseOptions): Promise<CloseReport> {
    const log = options.log ?? silentLogger();
    const timeoutMs = options.timeoutMs ?? 30_000;
    const workers = [...this.#workers];

    for (const w of workers) {
      if (w.inFlight.size > 0) log.info({ queue: w.name, inFlight: [...w.inFlight.keys()] }, "closing worker: waiting for in-flight jobs");
    }
    const closed = Promise.all(
      workers.map((w) => w.worker.close().catch((err: unknown) => log.warn({ err, queue: w.name }, "worker close failed"))),
    );
    const abandonedJobs: string[] = [];
    if ((await within(closed, timeoutMs)) === timedOut) {
      for (const w of workers) {
        if (w.inFlight.size === 0) continue;
        log.warn({ queue: w.name, inFlight: [...w.inFlight.keys()], timeoutMs }, "in-flight jobs did not finish in time: cancelling them");
        w.worker.cancelAllJobs("the agent is shutting down");
      }
      const grace = Math.min(5000, Math.max(100, timeoutMs / 10));
      if ((await within(closed, grace)) === timedOut) {
        // Processors that ignore the abort signal: fail their attempts so that BullMQ releases the
        // jobs (they are retried later, here or elsewhere) and the workers can close.
        for (const w of workers) {
          for (const [jobId, abandon] of w.inFlight) {
            abandonedJobs.push(jobId);
            abandon(new DaiosError(`Job ${jobId} of queue ${w.name} ignored cancellation at shutdown and was released`, {
              hint: "Its processor should stop when the abort signal (third argument) fires",
            }));
          }
        }
        log.error({ abandonedJobs }, "jobs ignored cancellation: released them for a later retry");
        if ((await within(closed, 5000)) === timedOut) {
          log.error("workers did not close: disconnecting them");
          await Promise.all(workers.map((w) => w.worker.disconnect().catch(() => {})));
        }
      }
    }
    this.#workers.clear();

    for (const { queue, metrics } of this.#queues) metrics?.unwatch(queue);
    await within(
      Promise.all([...this.#queues].map(({ queue }) => queue.close().catch((err: unknown) => log.warn({ err, queue: queue.name }, "queue close failed")))),
      5000,
    );
    this.#queues.clear();

    await Promise.all(
      [...this.#owned.values()].map(async (client) => {
        // quit() waits for replies still due; a dead server would make it wait for ever.
        if ((await within(client.quit().catch(() => "failed"), 2000)) !== "OK") client.disconnect();
      }),
    );
    this.#owned.clear();
    log.info({ abandonedJobs: abandonedJobs.length }, "queues closed");
    return { abandonedJobs };
  }

  #assertOpen(): void {
    if (this.#closing) {
      throw new DaiosError("The queue scope is closed", { hint: "Create queues and workers before closeAll(), or use a new QueueScope" });
    }
  }
}

let defaultScope = new QueueScope();

/** A queue in the default scope, with DEFAULT_JOB_OPTIONS. */
export function createQueue<Data = unknown, Result = unknown>(
  name: string,
  connection: Connection,
  options?: CreateQueueOptions,
): Queue<Data, Result> {
  return defaultScope.createQueue<Data, Result>(name, connection, options);
}

/** A worker in the default scope that logs and measures every job; see QueueScope.createWorker(). */
export function createWorker<Data = unknown, Result = unknown>(
  name: string,
  processor: Processor<Data, Result>,
  options: CreateWorkerOptions,
): Worker<Data, Result> {
  return defaultScope.createWorker<Data, Result>(name, processor, options);
}

/**
 * Closes the default scope: workers, then queues, then its connections (see QueueScope.closeAll(),
 * which also reports abandoned jobs; they are logged here). Queues and workers created afterwards
 * belong to a fresh default scope.
 */
export async function closeAll(options?: CloseOptions): Promise<void> {
  const scope = defaultScope;
  defaultScope = new QueueScope();
  await scope.closeAll(options);
}
