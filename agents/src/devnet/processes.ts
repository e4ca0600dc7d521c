/**
 * Child processes of the devnet (the JSON-RPC node and one process per agent role): each runs in its
 * own process group with its output in a log file, and the whole group is killed on stop, on
 * Ctrl-C and when the parent exits.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, openSync, closeSync } from "node:fs";
import path from "node:path";

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Kills the process group (SIGTERM, then SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
  /** Kills the process group at once, as a crash would (used to test failure handling). */
  kill(): void;
}

const running = new Set<ManagedProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

let hooksInstalled = false;
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", () => {
    for (const p of running) killGroup(p.child, "SIGKILL");
  });
}

export function startProcess(options: {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logDir: string;
}): ManagedProcess {
  installExitHooks();
  mkdirSync(options.logDir, { recursive: true });
  const logFile = path.join(options.logDir, `${options.name}.log`);
  const fd = openSync(logFile, "a");
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", fd, fd],
    detached: true,
  });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const managed: ManagedProcess = {
    name: options.name,
    child,
    logFile,
    async stop(graceMs = 5000) {
      running.delete(managed);
      if (child.exitCode !== null || child.signalCode !== null) return;
      killGroup(child, "SIGTERM");
      const timer = setTimeout(() => killGroup(child, "SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
    kill() {
      running.delete(managed);
      killGroup(child, "SIGKILL");
    },
  };
  running.add(managed);
  return managed;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].reverse().map((p) => p.stop()));
}
