import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile, chmod } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { expect } from "chai";

import { DaiosError } from "../../../../agents/src/core/errors.js";
import {
  createRedisConnection,
  ensureRedis,
  findExecutable,
  pingRedis,
  type RedisHandle,
} from "../../../../agents/src/core/redis.js";
import { freePort } from "../../../../agents/src/core/ports.js";

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Whether the port stops answering within `ms` (a killed process takes a moment to go). */
async function portClosesWithin(port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!(await portAnswers(port))) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

describe("core/redis", function () {
  this.timeout(30_000);

  // The server the other tests use: whatever answers REDIS_URL, or a private one (CI has none running).
  let shared: RedisHandle;
  before(async () => {
    shared = await ensureRedis();
  });
  after(async () => {
    await shared.stop();
  });

  it("pingRedis() tells a live server from a closed port", async () => {
    expect(await pingRedis(shared.url)).to.equal(true);
    expect(await pingRedis(`redis://127.0.0.1:${await freePort()}`, 300)).to.equal(false);
    expect(await pingRedis("not a url", 300)).to.equal(false);
  });

  it("ensureRedis() uses a server that answers and does not start another", async () => {
    const handle = await ensureRedis({ url: shared.url, redisServer: "/nonexistent/redis-server" });
    expect(handle).to.include({ url: shared.url, private: false });
    await handle.stop(); // a no-op for a server it did not start
    expect(await pingRedis(shared.url)).to.equal(true);
  });

  it("ensureRedis() reads REDIS_URL from the environment it is given", async () => {
    const handle = await ensureRedis({ env: { REDIS_URL: shared.url, PATH: "" } });
    expect(handle).to.include({ url: shared.url, private: false });
  });

  it("ensureRedis() starts a private server when nothing answers, and stop() ends it and frees the port", async function () {
    if ((await findExecutable("redis-server", process.env.PATH ?? "")) === undefined) this.skip();
    const unused = `redis://127.0.0.1:${await freePort()}`;
    const handle = await ensureRedis({ url: unused, pingTimeoutMs: 300 });
    expect(handle.private).to.equal(true);
    expect(handle.url).to.match(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(handle.url).to.not.equal(unused);
    const port = Number(new URL(handle.url).port);

    const client = createRedisConnection(handle.url);
    try {
      await client.set("daios:test", "1");
      expect(await client.get("daios:test")).to.equal("1");
      // Not persisted: no save points, no append-only file.
      expect(await client.config("GET", "save")).to.deep.equal(["save", ""]);
      expect(await client.config("GET", "appendonly")).to.deep.equal(["appendonly", "no"]);
      expect(await client.config("GET", "bind")).to.deep.equal(["bind", "127.0.0.1"]);
    } finally {
      await client.quit();
    }

    await handle.stop();
    await handle.stop(); // idempotent
    // stop() waits for the process to exit: the port is free at once.
    expect(await portAnswers(port)).to.equal(false);
    expect(await pingRedis(handle.url, 300)).to.equal(false);
  });

  it("ensureRedis() says how to install Redis when nothing answers and there is no redis-server", async () => {
    const unused = `redis://127.0.0.1:${await freePort()}`;
    const emptyDir = await mkdtemp(path.join(os.tmpdir(), "daios-empty-path-"));
    try {
      const err = await ensureRedis({ url: unused, searchPath: emptyDir, pingTimeoutMs: 300 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(DaiosError);
      const message = (err as DaiosError).message;
      expect(message).to.include(unused);
      expect(message).to.include("no redis-server to start a private one");
      expect(message).to.include("apt-get install redis-server");
      expect(message).to.include("brew install redis");
      expect(message).to.include("REDIS_URL");
      expect((err as DaiosError).hint).to.include("apt-get install redis-server");
    } finally {
      await rm(emptyDir, { recursive: true, force: true });
    }
  });

  it("ensureRedis() refuses to start a private server when told not to", async () => {
    const unused = `redis://127.0.0.1:${await freePort()}`;
    const err = await ensureRedis({ url: unused, allowPrivate: false, pingTimeoutMs: 300 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(DaiosError);
    expect((err as Error).message).to.equal(`Redis at ${unused} does not answer. Start it, or set REDIS_URL to a reachable server`);
  });

  it("ensureRedis() reports a redis-server that exits at start, with its output", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "daios-fake-redis-"));
    try {
      const fake = path.join(dir, "redis-server");
      await writeFile(fake, "#!/bin/sh\necho 'fatal: this is not redis' >&2\nexit 3\n");
      await chmod(fake, 0o755);
      const unused = `redis://127.0.0.1:${await freePort()}`;
      const err = await ensureRedis({ url: unused, searchPath: dir, pingTimeoutMs: 300 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(DaiosError);
      expect((err as Error).message).to.match(/redis-server on port \d+ exited at start \(code 3\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  for (const ending of ["exit", "SIGINT", "SIGTERM"] as const) {
    it(`a private server ends when its process ends (${ending}) without calling stop()`, async function () {
      if ((await findExecutable("redis-server", process.env.PATH ?? "")) === undefined) this.skip();
      const dir = await mkdtemp(path.join(os.tmpdir(), "daios-redis-owner-"));
      try {
        const redisModule = fileURLToPath(new URL("../../../../agents/src/core/redis.ts", import.meta.url));
        const script = path.join(dir, "owner.mjs");
        await writeFile(
          script,
          `import { ensureRedis } from ${JSON.stringify(redisModule)};\n` +
            `const handle = await ensureRedis({ url: "redis://127.0.0.1:${await freePort()}", pingTimeoutMs: 300 });\n` +
            `console.log(handle.url);\n` +
            (ending === "exit" ? "process.exit(0);\n" : "setInterval(() => {}, 1000);\n"),
        );
        const child = spawn(process.execPath, ["--import", "tsx", script], { stdio: ["ignore", "pipe", "inherit"] });
        const exited = once(child, "exit");
        let output = "";
        child.stdout.setEncoding("utf8");
        const url = await new Promise<string>((resolve, reject) => {
          child.stdout.on("data", (chunk: string) => {
            output += chunk;
            const match = /redis:\/\/127\.0\.0\.1:\d+/.exec(output);
            if (match) resolve(match[0]);
          });
          child.once("exit", (code) => reject(new Error(`owner exited (${code}) before printing its URL: ${output}`)));
        });
        if (ending !== "exit") {
          expect(await pingRedis(url)).to.equal(true);
          child.kill(ending);
        }
        const [code, signal] = await exited;
        expect(ending === "exit" ? code : signal).to.equal(ending === "exit" ? 0 : ending);
        expect(await portClosesWithin(Number(new URL(url).port), 2000)).to.equal(true);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  it("createRedisConnection() makes a client BullMQ accepts (maxRetriesPerRequest: null)", async () => {
    const client = createRedisConnection(shared.url);
    try {
      expect(client.options.maxRetriesPerRequest).to.equal(null);
      expect(await client.ping()).to.equal("PONG");
    } finally {
      await client.quit();
    }
  });
});
