import net from "node:net";
import { Writable } from "node:stream";

import { expect } from "chai";

import { DaiosError } from "../../../../agents/src/core/errors.js";
import { createLogger, jobLogger, txLogger } from "../../../../agents/src/core/log.js";
import {
  createRegistry,
  proofMetrics,
  queueMetrics,
  startMetricsServer,
  type CountableQueue,
  type MetricsServer,
} from "../../../../agents/src/core/metrics.js";

describe("core/metrics", () => {
  const servers: MetricsServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it("serves Prometheus text with default, queue and proof metrics on GET /metrics", async () => {
    const registry = createRegistry({ role: "keeper" });
    const queues = queueMetrics(registry);
    queues.completed.inc({ queue: "storage-keeper" });
    queues.failed.inc({ queue: "storage-keeper", final: "false" });
    queues.duration.observe({ queue: "storage-keeper", outcome: "completed" }, 0.2);
    const fake: CountableQueue = {
      name: "storage-keeper",
      getJobCounts: async () => ({ waiting: 4, active: 1, delayed: 2, failed: 0 }),
    };
    queues.watch(fake);
    proofMetrics(registry).observe("pora", 0.8);

    const server = await startMetricsServer(0, registry);
    servers.push(server);
    expect(server.port).to.be.greaterThan(0);
    expect(server.url).to.equal(`http://127.0.0.1:${server.port}`);

    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).to.include("# TYPE daios_queue_jobs_completed_total counter");
    expect(text).to.include('daios_queue_jobs_completed_total{queue="storage-keeper",role="keeper"} 1');
    expect(text).to.include('daios_queue_jobs_failed_total{queue="storage-keeper",final="false",role="keeper"} 1');
    expect(text).to.include('daios_queue_job_duration_seconds_bucket{le="0.25",role="keeper",queue="storage-keeper",outcome="completed"} 1');
    expect(text).to.include('daios_queue_jobs{queue="storage-keeper",state="waiting",role="keeper"} 4');
    expect(text).to.include('daios_queue_jobs{queue="storage-keeper",state="delayed",role="keeper"} 2');
    expect(text).to.include('daios_proofs_total{circuit="pora",outcome="ok",role="keeper"} 1');
    expect(text).to.include('daios_proof_duration_seconds_sum{role="keeper",circuit="pora",outcome="ok"} 0.8');
    expect(text).to.match(/^process_cpu_user_seconds_total\{role="keeper"\} /m);
    expect(text).to.match(/^nodejs_eventloop_lag_seconds\{role="keeper"\} /m);

    queues.unwatch(fake);
    expect(await (await fetch(`${server.url}/metrics`)).text()).to.not.include("daios_queue_jobs{");
  });

  it("shares one set of queue and proof metrics per registry", () => {
    const registry = createRegistry({ defaultMetrics: false });
    expect(queueMetrics(registry)).to.equal(queueMetrics(registry));
    expect(proofMetrics(registry)).to.equal(proofMetrics(registry));
    expect(queueMetrics(createRegistry({ defaultMetrics: false }))).to.not.equal(queueMetrics(registry));
  });

  it("answers /healthz from the health check, and 404 elsewhere", async () => {
    let healthy = true;
    const server = await startMetricsServer(0, createRegistry({ defaultMetrics: false }), { health: () => healthy });
    servers.push(server);
    expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);
    healthy = false;
    const down = await fetch(`${server.url}/healthz`);
    expect(down.status).to.equal(503);
    expect(await down.text()).to.equal("unhealthy\n");
    expect((await fetch(`${server.url}/other`)).status).to.equal(404);
    expect((await fetch(`${server.url}/metrics`, { method: "POST" })).status).to.equal(405);
  });

  it("says which port is taken and what to do", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const err = await startMetricsServer(port, createRegistry({ defaultMetrics: false })).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(DaiosError);
      expect((err as Error).message).to.match(new RegExp(`^Cannot serve metrics on 127\\.0\\.0\\.1:${port}: listen EADDRINUSE`));
      expect((err as DaiosError).hint).to.equal("Set METRICS_PORT to a free port, or to 0 to turn the metrics server off");
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it("close() frees the port even with a keep-alive connection open", async () => {
    const server = await startMetricsServer(0, createRegistry({ defaultMetrics: false }));
    await fetch(`${server.url}/metrics`, { headers: { connection: "keep-alive" } });
    await server.close();
    await server.close(); // idempotent
    const again = net.createServer();
    await new Promise<void>((resolve, reject) => {
      again.once("error", reject);
      again.listen(server.port, "127.0.0.1", resolve);
    });
    await new Promise((resolve) => again.close(resolve));
  });
});

describe("core/log", () => {
  function capture() {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) lines.push(JSON.parse(line));
        callback();
      },
    });
    return { destination, lines };
  }

  it("writes one JSON line per event with role, level word, ISO time, and child fields", () => {
    const { destination, lines } = capture();
    const log = createLogger("storage-provider", "info", { destination });
    log.debug("hidden at info level");
    jobLogger(log, "31337-0xab-1", { queue: "storage-proofs" }).info({ dealId: "7" }, "job started");
    txLogger(log, "0xfeed").warn("tx replaced");
    log.error({ err: new DaiosError("Redis at redis://x does not answer", { hint: "Start it" }) }, "fatal");

    expect(lines).to.have.length(3);
    expect(lines[0]).to.deep.include({
      level: "info",
      role: "storage-provider",
      pid: process.pid,
      jobId: "31337-0xab-1",
      queue: "storage-proofs",
      dealId: "7",
      msg: "job started",
    });
    expect(new Date(lines[0]!.time as string).toISOString()).to.equal(lines[0]!.time);
    expect(lines[1]).to.deep.include({ level: "warn", txHash: "0xfeed", msg: "tx replaced" });
    const err = lines[2]!.err as Record<string, unknown>;
    expect(err).to.deep.include({ type: "DaiosError", message: "Redis at redis://x does not answer. Start it", hint: "Start it" });
  });
});
