// Redis for queues and cursors: find one that answers, or start a private, throw-away redis-server
// for this process (development and tests), and create ioredis connections set up for BullMQ.

import { spawn, type ChildProcess } from "node:child_process";
import { constants as fsConstants } from "node:fs";
import { access, mkdtemp, readFile, rm } from "node:fs/promises";
import { rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { Redis, type RedisOptions } from "ioredis";

import { DaiosError, errorMessage, redactUrl } from "./errors.js";
import type { Logger } from "./log.js";
import { freePort } from "./ports.js";

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

export interface EnsureRedisOptions {
  /** The server to try first (default: REDIS_URL from `env`, else redis://127.0.0.1:6379). */
  url?: string;
  log?: Logger;
  /** Start a private server when nothing answers (default true). */
  allowPrivate?: boolean;
  /** The redis-server program: a name looked up on `searchPath`, or a path (default "redis-server"). */
  redisServer?: string;
  /** Directories to look for redis-server in, separated by ":" (default: PATH from `env`). */
  searchPath?: string;
  /** Environment to read REDIS_URL and PATH from (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** How long to wait for a PING answer (default 1000 ms). */
  pingTimeoutMs?: number;
  /** How long a private server may take to answer after it was started (default 10 s). */
  startTimeoutMs?: number;
}

export interface RedisHandle {
  /** The URL to connect to. */
  readonly url: string;
  /** True when this process started the server (and stop() ends it). */
  readonly private: boolean;
  /** Ends a private server and removes its directory; does nothing for a server this process did not start. */
  stop(): Promise<void>;
}

/** Connection options BullMQ needs: its blocking commands must never give up retrying. */
export function bullmqRedisOptions(): RedisOptions {
  return { maxRetriesPerRequest: null, enableReadyCheck: true };
}

/**
 * An ioredis client for BullMQ (maxRetriesPerRequest: null). Connection errors are logged (when
 * a logger is given) instead of being printed as unhandled; the client reconnects by itself.
 */
export function createRedisConnection(url: string, options: { log?: Logger; name?: string } = {}): Redis {
  const client = new Redis(url, { ...bullmqRedisOptions(), connectionName: options.name });
  let lastLogged = "";
  client.on("error", (err: Error) => {
    // ioredis repeats the same error at every reconnection attempt: log each distinct one once.
    if (err.message === lastLogged) return;
    lastLogged = err.message;
    options.log?.warn({ err, redisUrl: redactUrl(url) }, "redis connection error");
  });
  client.on("ready", () => {
    lastLogged = "";
  });
  return client;
}

/** Whether a Redis server answers PING at `url` within `timeoutMs`. Never throws. */
export async function pingRedis(url: string, timeoutMs = 1000): Promise<boolean> {
  let client: Redis;
  try {
    client = new Redis(url, {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
  } catch {
    return false;
  }
  client.on("error", () => {
    // Reported through the failed connect() or ping() below.
  });
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * Returns a Redis to use: the given (or REDIS_URL, or default) server when it answers PING;
 * otherwise a private redis-server started for this process on a free 127.0.0.1 port, with no
 * persistence, ended by stop() or when the process exits. Throws a DaiosError saying how to
 * install Redis when nothing answers and there is no redis-server to start.
 */
export async function ensureRedis(options: EnsureRedisOptions = {}): Promise<RedisHandle> {
  const env = options.env ?? process.env;
  const url = options.url ?? (env.REDIS_URL?.trim() || DEFAULT_REDIS_URL);
  const log = options.log;

  if (await pingRedis(url, options.pingTimeoutMs ?? 1000)) {
    log?.debug({ redisUrl: redactUrl(url) }, "using redis");
    return { url, private: false, stop: async () => {} };
  }
  if (options.allowPrivate === false) {
    throw new DaiosError(`Redis at ${redactUrl(url)} does not answer`, {
      hint: "Start it, or set REDIS_URL to a reachable server",
    });
  }

  const program = options.redisServer ?? "redis-server";
  const executable = await findExecutable(program, options.searchPath ?? env.PATH ?? "");
  if (executable === undefined) {
    throw new DaiosError(`Redis at ${redactUrl(url)} does not answer and there is no ${program} to start a private one`, {
      hint:
        "Install Redis (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`) " +
        "or set REDIS_URL to a reachable server",
    });
  }
  log?.warn({ redisUrl: redactUrl(url), redisServer: executable }, "redis does not answer: starting a private redis-server");
  return startPrivateRedis(executable, options.startTimeoutMs ?? 10_000, log);
}

/** The absolute path of `program` (a name searched on `searchPath`, or a path), or undefined. */
export async function findExecutable(program: string, searchPath: string): Promise<string | undefined> {
  const candidates = program.includes("/")
    ? [path.resolve(program)]
    : searchPath
        .split(path.delimiter)
        .filter((dir) => dir !== "")
        .map((dir) => path.join(dir, program));
  for (const candidate of candidates) {
    try {
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Private servers

interface PrivateServer {
  child: ChildProcess;
  dir: string;
}

/** Private servers still running, ended synchronously when the process exits. */
const running = new Set<PrivateServer>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", killAllNow);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const onSignal = () => {
      // A role that handles the signal itself shuts down gracefully and calls stop() (its queues
      // still need Redis until then); the exit hook catches anything left. When nobody else
      // handles it, do what Node would have done: end the servers and die by the signal.
      if (process.listenerCount(signal) > 1) return;
      killAllNow();
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function killAllNow(): void {
  for (const server of running) {
    server.child.kill("SIGKILL");
    rmSync(server.dir, { recursive: true, force: true });
  }
  running.clear();
}

async function startPrivateRedis(executable: string, startTimeoutMs: number, log: Logger | undefined): Promise<RedisHandle> {
  // Another process may take the free port before redis-server binds it: try a few ports.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await startOn(executable, port, startTimeoutMs, log);
    } catch (err) {
      lastError = err;
      if (!(err instanceof PortTakenError)) throw err;
    }
  }
  throw lastError;
}

class PortTakenError extends DaiosError {}

async function startOn(executable: string, port: number, startTimeoutMs: number, log: Logger | undefined): Promise<RedisHandle> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "daios-redis-"));
  const logFile = path.join(dir, "redis.log");
  const args = [
    "--port", String(port),
    "--bind", "127.0.0.1",
    "--save", "",
    "--appendonly", "no",
    "--dir", dir,
    "--logfile", logFile,
    "--daemonize", "no",
  ];
  // Own process group: a Ctrl-C at the terminal reaches this process, which decides when Redis
  // ends (after its queues are closed), instead of killing Redis under in-flight jobs.
  const child = spawn(executable, args, { stdio: "ignore", detached: true });
  const server: PrivateServer = { child, dir };
  running.add(server);
  installExitHooks();
  child.unref();

  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `redis://127.0.0.1:${port}`;

  const fail = async (problem: string, cause?: unknown): Promise<never> => {
    const output = await readFile(logFile, "utf8").catch(() => "");
    running.delete(server);
    child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
    const tail = output.trim().split("\n").slice(-5).join("\n");
    const ErrorType = /Address already in use/i.test(output) ? PortTakenError : DaiosError;
    throw new ErrorType(`${problem}${tail ? `; its log ends with:\n${tail}\n` : ""}`, {
      hint: `Run \`${executable} --port ${port}\` by hand to see why, or set REDIS_URL to a running server`,
      cause,
    });
  };

  type Outcome =
    | { kind: "up" }
    | { kind: "timeout" }
    | { kind: "exited"; code: number | null; signal: NodeJS.Signals | null }
    | { kind: "error"; err: Error };
  const early = new Promise<Outcome>((resolve) => {
    child.once("exit", (code, signal) => resolve({ kind: "exited", code, signal }));
    child.once("error", (err) => resolve({ kind: "error", err }));
  });
  let waiting = true;
  const polling = (async (): Promise<Outcome> => {
    const deadline = Date.now() + startTimeoutMs;
    while (waiting && Date.now() < deadline) {
      if (await pingRedis(url, 200)) return { kind: "up" };
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { kind: "timeout" };
  })();
  const outcome = await Promise.race([early, polling]);
  waiting = false;

  if (outcome.kind === "error") return fail(`Cannot start ${executable}: ${errorMessage(outcome.err)}`, outcome.err);
  if (outcome.kind === "exited") {
    return fail(`${executable} on port ${port} exited at start (${outcome.signal ?? `code ${outcome.code}`})`);
  }
  if (outcome.kind === "timeout") return fail(`${executable} on port ${port} did not answer within ${startTimeoutMs} ms`);

  log?.info({ redisUrl: url, pid: child.pid, dir }, "private redis-server started");

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
      }
      running.delete(server);
      await rm(dir, { recursive: true, force: true });
      log?.info({ redisUrl: url }, "private redis-server stopped");
    })();
    return stopping;
  };
  return { url, private: true, stop };
}
