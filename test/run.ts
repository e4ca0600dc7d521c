/**
 * `npm test`: every test — Solidity (unit, fuzz, invariant) and TypeScript (contracts, circuits, agent
 * core, SDK, end-to-end on a real node and a real Redis). Uses REDIS_URL (default
 * redis://127.0.0.1:6379); when nothing answers there it starts a private redis-server from PATH
 * for the run and stops it afterwards.
 *
 *   npm test                      everything
 *   npm test -- solidity          one runner (solidity | mocha), extra arguments go to `hardhat test`
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { ensureRedis } from "../agents/src/core/redis.js";
import { formatError } from "../agents/src/core/errors.js";

const require = createRequire(import.meta.url);

async function main(): Promise<number> {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 22 || (major === 22 && minor < 13)) {
    console.error(`the tests need Node.js 22.13 or later (this is ${process.version}); see README.md, "Quick start"`);
    return 1;
  }
  const redis = await ensureRedis();
  console.log(redis.private ? `test: started a private redis-server at ${redis.url}` : `test: using Redis at ${redis.url}`);
  const cli = path.join(path.dirname(require.resolve("hardhat/package.json")), "dist", "src", "cli.js");
  try {
    return await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, [cli, "test", ...process.argv.slice(2)], {
        stdio: "inherit",
        env: { ...process.env, REDIS_URL: redis.url },
      });
      const forward = (signal: NodeJS.Signals) => child.kill(signal);
      process.on("SIGINT", forward);
      process.on("SIGTERM", forward);
      child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } finally {
    await redis.stop();
  }
}

main()
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    console.error(`test: ${formatError(error)}`);
    process.exit(1);
  });
