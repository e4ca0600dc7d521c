/**
 * Agent role dispatcher: one process runs one role.
 *
 *   tsx agents/src/index.ts --role storage-provider
 *   tsx agents/src/index.ts --role keeper
 *   tsx agents/src/index.ts --role beacon
 *   tsx agents/src/index.ts --role da-node
 *   tsx agents/src/index.ts --role compute-provider
 *   tsx agents/src/index.ts --role memory-node
 *
 * Each role reads its configuration from the environment (see its module's header) and logs one
 * JSON line per event to standard output.
 */
import { Command, Option } from "commander";
import { formatError } from "./core/errors.js";

const ROLES = {
  "storage-provider": async () => (await import("./roles/storage-provider/index.js")).runStorageProvider(),
  keeper: async () => (await import("./roles/keeper/index.js")).runKeeper(),
  beacon: async () => (await import("./roles/beacon/index.js")).runBeacon(),
  "da-node": async () => (await import("./roles/da-node/index.js")).runDaNode(),
  "compute-provider": async () => (await import("./roles/compute-provider/index.js")).runComputeProvider(),
  "memory-node": async () => (await import("./roles/memory-node/index.js")).runMemoryNode(),
} as const;

const program = new Command("daios-agent")
  .description("runs one daios agent role")
  .addOption(new Option("--role <role>", "the role to run").choices(Object.keys(ROLES)).makeOptionMandatory())
  .action(async (options: { role: keyof typeof ROLES }) => {
    await ROLES[options.role]();
  });

program.parseAsync().catch((error: unknown) => {
  console.error(JSON.stringify({ level: "fatal", msg: formatError(error) }));
  process.exit(1);
});
