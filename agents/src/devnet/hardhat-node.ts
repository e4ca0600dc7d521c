// A real Hardhat JSON-RPC node in a child process (the devnet of `npm start` and the end-to-end tests).
//
//   const node = await startHardhatNode();           // free port, waits until eth_chainId answers
//   const provider = node.provider();                // ethers JsonRpcProvider, no request cache
//   await node.rpc("evm_mine");
//   await node.stop();                               // kills the node's whole process group
//
// Robustness:
// - The node runs in its own process group (detached) and is stopped with a signal to the group.
// - All output goes to a log file (node.logFile), whose tail is quoted when start-up fails.
// - By default the node loads a minimal generated config, not the project's hardhat.config.ts, so
//   it neither compiles contracts/ nor breaks while someone else is editing the config.
// - Nodes still running when the test process exits (normally, by an uncaught error, SIGINT or
//   SIGTERM) are killed; a tiny watchdog process also kills the group if the test process is
//   SIGKILLed, because it sees its stdin pipe from the test process close.
// - Port races (the free port got taken before the node bound it) are retried on a new port.

import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { HDNodeWallet, JsonRpcProvider, Mnemonic } from "ethers";
import { freePort } from "../core/ports.js";

const require = createRequire(import.meta.url);
const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** The mnemonic Hardhat funds its default accounts from (public test keys, never for real funds). */
export const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

export interface HardhatNodeOptions {
  /** Port to bind; default: a free port chosen at random (retried if it gets taken). */
  port?: number;
  /** Chain id; default: Hardhat's 31337. */
  chainId?: number;
  /** Where the node's stdout/stderr go; default: cache/hardhat-node/node-<port>-<time>.log. */
  logFile?: string;
  /** How long to wait for the node to answer eth_chainId. Default 60 s. */
  readyTimeoutMs?: number;
  /**
   * Hardhat config to load. Default: a minimal generated config (no compilation, independent of
   * the project's config). Pass "project" for the project's hardhat.config.ts, or a path.
   */
  config?: "minimal" | "project" | string;
  /** Extra environment variables for the node process. */
  env?: Record<string, string>;
}

export interface HardhatNode {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly chainId: bigint;
  readonly logFile: string;
  /** Sends one JSON-RPC request and returns its result (throws with the node's error message). */
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  /** A new ethers provider for this node (static network, request cache off, batching off). */
  provider(): JsonRpcProvider;
  /** Mines `blocks` empty blocks (default 1). */
  mine(blocks?: number): Promise<void>;
  /** evm_snapshot; returns the snapshot id for `revert`. */
  snapshot(): Promise<string>;
  /** evm_revert to a snapshot id; throws if the node refuses. */
  revert(id: string): Promise<void>;
  /** Turns automine on or off. */
  setAutomine(enabled: boolean): Promise<void>;
  /** Stops the node and waits until its process group is gone. Idempotent. */
  stop(): Promise<void>;
}

/** A Hardhat default account (index 0–19 are funded with 10,000 ETH on a fresh node). */
export function hardhatAccount(index: number): { address: string; privateKey: string } {
  const wallet = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(HARDHAT_MNEMONIC), `m/44'/60'/0'/0/${index}`);
  return { address: wallet.address, privateKey: wallet.privateKey };
}

// ---------------------------------------------------------------------------------------------
// Process bookkeeping: every live node, so that nothing survives the test process.

const live = new Map<number, { child: ChildProcess; watchdog: ChildProcess | null }>();
let exitHooksInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on("exit", () => {
    for (const pid of live.keys()) killGroup(pid, "SIGKILL");
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      for (const pid of live.keys()) killGroup(pid, "SIGKILL");
      live.clear();
      // If nobody else handles this signal, behave as if we had not been here: die by it.
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

// Runs in its own process: kills the node's group when the test process's pipe closes, unless
// it was told "disarm" first (normal stop).
const WATCHDOG_SOURCE = `
const pgid = Number(process.argv[1]);
let armed = true;
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => { if (d.includes("disarm")) { armed = false; process.exit(0); } });
const fire = () => { if (armed) { try { process.kill(-pgid, "SIGKILL"); } catch {} } process.exit(0); };
process.stdin.on("end", fire);
process.stdin.on("close", fire);
process.stdin.on("error", fire);
`;

function startWatchdog(pgid: number): ChildProcess | null {
  try {
    const watchdog = spawn(process.execPath, ["-e", WATCHDOG_SOURCE, String(pgid)], {
      detached: true,
      stdio: ["pipe", "ignore", "ignore"],
    });
    watchdog.on("error", () => undefined);
    watchdog.stdin?.on("error", () => undefined);
    watchdog.unref();
    // The pipe must not keep the test process alive.
    (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return watchdog;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------

function hardhatCli(): string {
  const pkgPath = require.resolve("hardhat/package.json");
  const pkg = JSON.parse(readFileSync(pkgPath, "utf8")) as { bin: string | Record<string, string> };
  const bin = typeof pkg.bin === "string" ? pkg.bin : pkg.bin.hardhat;
  return path.join(path.dirname(pkgPath), bin);
}

function minimalConfig(): string {
  // Hardhat refuses configs outside the project (it must resolve its local install), so the
  // generated config lives in the git-ignored cache/ directory of the project.
  const dir = path.join(PROJECT_ROOT, "cache", "hardhat-node");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "hardhat.node.config.mjs");
  const content =
    "// Generated by agents/src/devnet/hardhat-node.ts: a node without project contracts or plugins.\n" +
    "export default {};\n";
  if (!existsSync(file) || readFileSync(file, "utf8") !== content) writeFileSync(file, content);
  return file;
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

async function rpcCall<T>(url: string, method: string, params: unknown[], timeoutMs = 30_000): Promise<T> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await response.json()) as { result?: T; error?: { code: number; message: string } };
  if (body.error) throw new Error(`${method} failed on ${url}: ${body.error.message} (code ${body.error.code})`);
  return body.result as T;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class StartError extends Error {
  constructor(
    message: string,
    readonly portTaken: boolean,
  ) {
    super(message);
  }
}

async function startOnce(port: number, options: HardhatNodeOptions): Promise<HardhatNode> {
  const config =
    options.config === undefined || options.config === "minimal"
      ? minimalConfig()
      : options.config === "project"
        ? path.join(PROJECT_ROOT, "hardhat.config.ts")
        : path.resolve(options.config);
  const logFile =
    options.logFile ?? path.join(PROJECT_ROOT, "cache", "hardhat-node", `node-${port}-${Date.now()}.log`);
  mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = openSync(logFile, "a");
  const args = [hardhatCli(), "--config", config, "node", "--hostname", "127.0.0.1", "--port", String(port)];
  if (options.chainId !== undefined) args.push("--chain-id", String(options.chainId));
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, args, {
      cwd: PROJECT_ROOT,
      detached: true,
      stdio: ["ignore", fd, fd],
      env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1", ...options.env },
    });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not spawn the Hardhat node (${args.join(" ")}); see ${logFile}`);
  installExitHooks();
  const watchdog = startWatchdog(pid);
  live.set(pid, { child, watchdog });

  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exitPromise = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });
  child.once("error", () => undefined);

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (exited === null) {
        killGroup(pid, "SIGTERM");
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<"timeout">((resolve) => {
          timer = setTimeout(() => resolve("timeout"), 5_000);
        });
        const outcome = await Promise.race([exitPromise.then(() => "exited" as const), timedOut]);
        clearTimeout(timer);
        if (outcome === "timeout") {
          killGroup(pid, "SIGKILL");
          await exitPromise;
        }
      }
      // Anything else left in the group (there should be nothing) goes too.
      killGroup(pid, "SIGKILL");
      live.delete(pid);
      if (watchdog?.stdin && !watchdog.stdin.destroyed) {
        watchdog.stdin.end("disarm\n");
      }
    })();
    return stopped;
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  let chainIdHex: string | null = null;
  while (chainIdHex === null) {
    if (exited !== null) {
      const log = tail(logFile);
      await stop();
      const portTaken = /EADDRINUSE|address already in use/i.test(log);
      throw new StartError(
        `the Hardhat node exited during start-up (${JSON.stringify(exited)}); last lines of ${logFile}:\n${log}`,
        portTaken,
      );
    }
    if (Date.now() > deadline) {
      await stop();
      throw new StartError(
        `the Hardhat node on ${url} did not answer eth_chainId within ${options.readyTimeoutMs ?? 60_000} ms; ` +
          `last lines of ${logFile}:\n${tail(logFile)}`,
        false,
      );
    }
    try {
      chainIdHex = await rpcCall<string>(url, "eth_chainId", [], 2_000);
    } catch {
      await sleep(100);
    }
  }

  const chainId = BigInt(chainIdHex);
  const node: HardhatNode = {
    url,
    port,
    pid,
    chainId,
    logFile,
    rpc: <T>(method: string, params: unknown[] = []) => rpcCall<T>(url, method, params),
    provider: () =>
      new JsonRpcProvider(url, Number(chainId), {
        staticNetwork: true,
        cacheTimeout: -1,
        batchMaxCount: 1,
        pollingInterval: 100,
      }),
    mine: async (blocks = 1) => {
      for (let i = 0; i < blocks; i++) await rpcCall(url, "evm_mine", []);
    },
    snapshot: () => rpcCall<string>(url, "evm_snapshot", []),
    revert: async (id: string) => {
      const ok = await rpcCall<boolean>(url, "evm_revert", [id]);
      if (!ok) throw new Error(`evm_revert(${id}) returned false: the snapshot is unknown or was already used`);
    },
    setAutomine: async (enabled: boolean) => {
      await rpcCall(url, "evm_setAutomine", [enabled]);
    },
    stop,
  };
  return node;
}

/** Starts a Hardhat node and resolves once it answers JSON-RPC. Always `stop()` it in an `after` hook. */
export async function startHardhatNode(options: HardhatNodeOptions = {}): Promise<HardhatNode> {
  const attempts = options.port === undefined ? 4 : 1;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    const port = options.port ?? (await freePort());
    try {
      return await startOnce(port, options);
    } catch (error) {
      lastError = error;
      if (!(error instanceof StartError && error.portTaken)) throw error;
    }
  }
  throw lastError;
}
