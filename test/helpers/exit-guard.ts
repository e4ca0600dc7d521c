/**
 * Mocha's `--exit`, for `hardhat test`: Hardhat waits for the event loop to drain after the last
 * test, so one handle a test forgot (a socket, a timer, a child process) keeps `npm test` running
 * forever after every test passed. This root hook gives the process a grace period after the last
 * test and then ends it with the exit code Hardhat set, naming what was still open so that the leak
 * can be found and fixed.
 */
const GRACE_MS = 60_000;

export const exitGuard = {
  afterAll(): void {
    const timer = setTimeout(() => {
      // Counted by kind, less this timer; stdout and stderr show up as TTYWrap or PipeWrap.
      const counts = new Map<string, number>();
      for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
      counts.set("Timeout", (counts.get("Timeout") ?? 1) - 1);
      const open = [...counts].filter(([, n]) => n > 0).map(([kind, n]) => `${n} ${kind}`);
      console.error(
        `test: the test process was still running ${GRACE_MS / 1000} s after the last test` +
          ` (open: ${open.join(", ")}); ending it. A test leaves a handle open.`,
      );
      process.exit(process.exitCode ?? 0);
    }, GRACE_MS);
    timer.unref();
  },
};
