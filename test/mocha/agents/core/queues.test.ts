import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";

import type { Job } from "bullmq";
import { expect } from "chai";
import type { Redis } from "ioredis";

import { DaiosError } from "../../../../agents/src/core/errors.js";
import { createLogger } from "../../../../agents/src/core/log.js";
import { createRegistry, queueMetrics } from "../../../../agents/src/core/metrics.js";
import {
  addOrRetry,
  backoffDelay,
  closeAll,
  createQueue,
  createWorker,
  DEFAULT_JOB_OPTIONS,
  JITTER_BACKOFF,
  jobIdFor,
  QueueScope,
  UnrecoverableError,
} from "../../../../agents/src/core/queues.js";
import { createRedisConnection, ensureRedis, type RedisHandle } from "../../../../agents/src/core/redis.js";

const TX = "0x" + "ab".repeat(32);

/** A logger whose JSON lines are collected in `lines`. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { log: createLogger("test", "debug", { destination }), lines };
}

/** Resolves when `predicate` holds, polling; rejects after `ms`. */
async function until(predicate: () => boolean | Promise<boolean>, ms = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("core/queues", function () {
  this.timeout(30_000);

  let redis: RedisHandle;
  let scope: QueueScope;
  let queueName: string;

  before(async () => {
    redis = await ensureRedis();
  });
  after(async () => {
    await redis.stop();
  });
  beforeEach(() => {
    scope = new QueueScope();
    queueName = `test-${randomUUID()}`;
  });
  afterEach(async () => {
    // Remove the test queue's keys so runs do not see each other.
    const client = createRedisConnection(redis.url);
    const queue = scope.createQueue(queueName, client);
    await queue.obliterate({ force: true }).catch(() => {});
    await scope.closeAll({ timeoutMs: 2000 });
    await client.quit();
  });

  describe("jobIdFor()", () => {
    it("joins chain id, lower-cased tx hash and log index with '-' and no ':'", () => {
      const id = jobIdFor(31337n, "0x" + "AB".repeat(32), 7);
      expect(id).to.equal(`31337-${TX}-7`);
      expect(id).to.not.include(":");
      expect(jobIdFor(1, TX, 0n)).to.equal(`1-${TX}-0`);
    });

    it("rejects a bad chain id, hash or log index with a message naming the value", () => {
      expect(() => jobIdFor(0, TX, 1)).to.throw(DaiosError, "Invalid chain id 0 for a job id");
      expect(() => jobIdFor(1, "0x1234", 1)).to.throw(DaiosError, 'Invalid transaction hash "0x1234"');
      expect(() => jobIdFor(1, TX, -1)).to.throw(DaiosError, "Invalid log index -1");
      expect(() => jobIdFor(1, TX, 1.5)).to.throw(DaiosError, "Invalid log index 1.5");
    });
  });

  describe("backoffDelay()", () => {
    it("doubles per attempt, keeps between half and all of it, and is capped", () => {
      expect(backoffDelay(1, 1000, () => 0)).to.equal(500);
      expect(backoffDelay(1, 1000, () => 1)).to.equal(1000);
      expect(backoffDelay(2, 1000, () => 1)).to.equal(2000);
      expect(backoffDelay(4, 1000, () => 0.5)).to.equal(6000);
      expect(backoffDelay(40, 1000, () => 1, 60_000)).to.equal(60_000);
      for (let i = 0; i < 100; i++) {
        const d = backoffDelay(3, 100);
        expect(d).to.be.within(200, 400);
      }
    });

    it("is the default for every job, with bounded history", () => {
      expect(DEFAULT_JOB_OPTIONS.backoff).to.deep.equal({ type: JITTER_BACKOFF, delay: 1000 });
      expect(DEFAULT_JOB_OPTIONS.attempts).to.equal(5);
      expect(DEFAULT_JOB_OPTIONS.removeOnComplete).to.deep.include({ count: 1000 });
      expect(DEFAULT_JOB_OPTIONS.removeOnFail).to.deep.include({ count: 5000 });
    });
  });

  it("rejects a queue name with ':'", () => {
    expect(() => scope.createQueue("a:b", redis.url)).to.throw(DaiosError, 'Invalid queue name "a:b"');
  });

  it("runs a job added twice under the same id once, also after it completed", async () => {
    const queue = scope.createQueue<{ n: number }>(queueName, redis.url);
    const id = jobIdFor(31337, TX, 3);
    const runs: number[] = [];
    const first = await queue.add("event", { n: 1 }, { jobId: id });
    const second = await queue.add("event", { n: 2 }, { jobId: id });
    expect(second.id).to.equal(first.id);

    scope.createWorker<{ n: number }>(queueName, async (job) => {
      runs.push(job.data.n);
    }, { connection: redis.url });
    await until(async () => (await queue.getJobCounts("completed")).completed === 1, 10_000, "the job to complete");

    await queue.add("event", { n: 3 }, { jobId: id });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runs).to.deep.equal([1]);
    expect((await queue.getJobCounts("completed", "waiting")).waiting).to.equal(0);
  });

  it("retries a failing job with backoff and then succeeds, logging every attempt with the job id", async () => {
    const { log, lines } = capturingLogger();
    const registry = createRegistry({ defaultMetrics: false });
    const metrics = queueMetrics(registry);
    const queue = scope.createQueue<string>(queueName, redis.url, { metrics });
    const attempts: number[] = [];
    scope.createWorker<string, string>(
      queueName,
      async (job) => {
        attempts.push(Date.now());
        if (attempts.length < 3) throw new Error(`transient failure ${attempts.length}`);
        return `done ${job.data}`;
      },
      { connection: redis.url, log, metrics },
    );
    const job = await queue.add("flaky", "x", { jobId: "flaky-1", backoff: { type: JITTER_BACKOFF, delay: 200 } });
    await until(async () => (await queue.getJobState("flaky-1")) === "completed", 15_000, "the job to complete");

    expect(attempts).to.have.length(3);
    // Waits of 200·2^(n−1) with equal jitter: at least 100 ms, then at least 200 ms.
    expect(attempts[1]! - attempts[0]!).to.be.at.least(100 - 20);
    expect(attempts[2]! - attempts[1]!).to.be.at.least(200 - 20);
    const done = await queue.getJob(job.id!);
    expect(done?.returnvalue).to.equal("done x");
    expect(done?.attemptsMade).to.equal(3);

    const events = lines.filter((l) => l.jobId === "flaky-1").map((l) => `${l.level} ${l.msg} ${l.attempt}`);
    expect(events).to.deep.equal([
      "info job started 1",
      "warn job failed, will retry 1",
      "info job started 2",
      "warn job failed, will retry 2",
      "info job started 3",
      "info job completed 3",
    ]);
    const failure = lines.find((l) => l.msg === "job failed, will retry");
    expect(failure).to.deep.include({ queue: queueName, role: "test", final: false, attemptsLeft: 4 });
    expect((failure?.err as { message: string }).message).to.equal("transient failure 1");

    const text = await registry.metrics();
    expect(text).to.include(`daios_queue_jobs_completed_total{queue="${queueName}"} 1`);
    expect(text).to.include(`daios_queue_jobs_failed_total{queue="${queueName}",final="false"} 2`);
    expect(text).to.include(`daios_queue_job_duration_seconds_count{queue="${queueName}",outcome="failed"} 2`);
    expect(text).to.include(`daios_queue_jobs{queue="${queueName}",state="completed"} 1`);
  });

  it("does not retry a job that throws UnrecoverableError", async () => {
    const { log, lines } = capturingLogger();
    const queue = scope.createQueue(queueName, redis.url);
    let runs = 0;
    scope.createWorker(
      queueName,
      async () => {
        runs++;
        throw new UnrecoverableError("deal 7 does not exist");
      },
      { connection: redis.url, log },
    );
    await queue.add("doomed", {}, { jobId: "doomed-1", backoff: { type: JITTER_BACKOFF, delay: 10 } });
    await until(async () => (await queue.getJobState("doomed-1")) === "failed", 10_000, "the job to fail");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runs).to.equal(1);
    const failed = await queue.getJob("doomed-1");
    expect(failed?.failedReason).to.equal("deal 7 does not exist");
    const line = lines.find((l) => l.jobId === "doomed-1" && l.level === "error");
    expect(line).to.deep.include({ msg: "job failed permanently", final: true });
  });

  it("fails a job for good after its last attempt", async () => {
    const queue = scope.createQueue(queueName, redis.url);
    let runs = 0;
    scope.createWorker(queueName, async () => {
      runs++;
      throw new Error("always");
    }, { connection: redis.url });
    await queue.add("hopeless", {}, { jobId: "hopeless-1", attempts: 2, backoff: { type: JITTER_BACKOFF, delay: 10 } });
    await until(async () => (await queue.getJobState("hopeless-1")) === "failed", 10_000, "the job to fail");
    expect(runs).to.equal(2);
  });

  it("addOrRetry() runs a failed fixed-id job again (queue.add would not), and leaves a completed one alone", async () => {
    const queue = scope.createQueue<{ n: number }>(queueName, redis.url);
    let runs = 0;
    let fail = true;
    scope.createWorker<{ n: number }>(queueName, async () => {
      runs++;
      if (fail) throw new Error("node down");
    }, { connection: redis.url });
    await queue.add("expire", { n: 1 }, { jobId: "expire-7", attempts: 1 });
    await until(async () => (await queue.getJobState("expire-7")) === "failed", 10_000, "the job to fail");
    await queue.add("expire", { n: 1 }, { jobId: "expire-7", attempts: 1 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runs, "queue.add ignores a failed id").to.equal(1);
    fail = false;
    expect(await addOrRetry(queue, "expire", { n: 1 }, "expire-7")).to.equal(true);
    await until(async () => (await queue.getJobState("expire-7")) === "completed", 10_000, "the retried job to complete");
    expect(runs).to.equal(2);
    expect(await addOrRetry(queue, "expire", { n: 1 }, "expire-7")).to.equal(false);
    expect(await addOrRetry(queue, "expire", { n: 2 }, "expire-8")).to.equal(true);
    await until(async () => (await queue.getJobState("expire-8")) === "completed", 10_000, "a new id to run");
    expect(runs).to.equal(3);
  });

  it("closeAll() lets an in-flight job finish, then closes workers, queues and its connections", async () => {
    const queue = scope.createQueue(queueName, redis.url);
    let finished = false;
    let started = false;
    const worker = scope.createWorker(queueName, async () => {
      started = true;
      await new Promise((resolve) => setTimeout(resolve, 500));
      finished = true;
      return "ok";
    }, { connection: redis.url });
    await queue.add("slow", {}, { jobId: "slow-1" });
    await until(() => started, 10_000, "the job to start");

    const report = await scope.closeAll({ timeoutMs: 5000 });
    expect(finished).to.equal(true);
    expect(report.abandonedJobs).to.deep.equal([]);
    expect(worker.closing).to.not.equal(undefined);
    expect(await worker.isRunning()).to.equal(false);
    expect(() => scope.createQueue("another", redis.url)).to.throw(DaiosError, "The queue scope is closed");

    // The job is recorded as completed.
    const client = createRedisConnection(redis.url);
    try {
      const other = new QueueScope();
      const q = other.createQueue(queueName, client);
      expect(await q.getJobState("slow-1")).to.equal("completed");
      await other.closeAll();
    } finally {
      await client.quit();
    }
    scope = new QueueScope(); // for afterEach
  });

  it("closeAll() cancels jobs that outlive the timeout, and they run again later", async () => {
    const queue = scope.createQueue(queueName, redis.url);
    let aborted = false;
    let started = false;
    scope.createWorker(
      queueName,
      (_job: Job, _token?: string, signal?: AbortSignal) =>
        new Promise((_resolve, reject) => {
          started = true;
          signal?.addEventListener("abort", () => {
            aborted = true;
            reject(new Error("cancelled"));
          });
        }),
      { connection: redis.url },
    );
    await queue.add("endless", {}, { jobId: "endless-1", backoff: { type: JITTER_BACKOFF, delay: 60_000 } });
    await until(() => started, 10_000, "the job to start");
    const report = await scope.closeAll({ timeoutMs: 300 });
    expect(aborted).to.equal(true);
    expect(report.abandonedJobs).to.deep.equal([]);
    scope = new QueueScope();
    const state = await scope.createQueue(queueName, redis.url).getJobState("endless-1");
    expect(state).to.equal("delayed"); // will be retried
  });

  it("closeAll() releases jobs whose processors ignore cancellation, so the workers still close", async () => {
    const { log, lines } = capturingLogger();
    const queue = scope.createQueue(queueName, redis.url);
    let started = false;
    scope.createWorker(
      queueName,
      () => {
        started = true;
        return new Promise(() => {}); // never settles, ignores the abort signal
      },
      { connection: redis.url, log },
    );
    await queue.add("stuck", {}, { jobId: "stuck-1", backoff: { type: JITTER_BACKOFF, delay: 60_000 } });
    await until(() => started, 10_000, "the job to start");
    const report = await scope.closeAll({ timeoutMs: 200, log });
    expect(report.abandonedJobs).to.deep.equal(["stuck-1"]);
    expect(lines.map((l) => l.msg)).to.include.members([
      "in-flight jobs did not finish in time: cancelling them",
      "jobs ignored cancellation: released them for a later retry",
      "job failed, will retry",
    ]);
    scope = new QueueScope();
    expect(await scope.createQueue(queueName, redis.url).getJobState("stuck-1")).to.equal("delayed");
  });

  it("closeAll() leaves connections it was given open for their owner", async () => {
    const client: Redis = createRedisConnection(redis.url);
    try {
      scope.createQueue(queueName, client);
      scope.createWorker(queueName, async () => {}, { connection: client });
      await scope.closeAll();
      expect(await client.ping()).to.equal("PONG");
    } finally {
      await client.quit();
    }
    scope = new QueueScope();
  });

  it("the module-level createQueue/createWorker/closeAll share a default scope", async () => {
    const queue = createQueue<number>(queueName, redis.url);
    const seen: number[] = [];
    createWorker<number>(queueName, async (job) => {
      seen.push(job.data);
    }, { connection: redis.url, concurrency: 2 });
    await queue.add("n", 42, { jobId: "n-1" });
    await until(() => seen.length === 1, 10_000, "the job to run");
    await closeAll();
    expect(seen).to.deep.equal([42]);
    // A fresh default scope takes over.
    const again = createQueue(queueName, redis.url);
    expect(await again.getJobState("n-1")).to.equal("completed");
    await closeAll();
  });
});
