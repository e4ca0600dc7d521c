/**
 * The daios command line. Every command reads RPC_URL / PRIVATE_KEY / DEPLOYMENT_FILE from the
 * environment or from --rpc / --key / --deployment; `daios <command> --help` documents each one.
 */
import { Command, InvalidArgumentError } from "commander";
import { SingleBar, Presets } from "cli-progress";
import { formatUnits, parseUnits } from "ethers";
import { STORAGE } from "../generated/constants.js";
import { formatError } from "../core/errors.js";
import { connect, type Connection } from "../sdk/connect.js";
import { DEFAULT_PRICE_PER_PERIOD, type StorageEvent } from "../sdk/storage/client.js";
import { DataFormatError, chunkCount } from "../sdk/storage/format.js";
import { CliExit, registerBeaconCommands } from "./beacon.js";
import { registerComputeCommands } from "./compute.js";
import { registerDaCommands } from "./da.js";
import { registerMemoryCommands } from "./memory.js";

const DEVNET_RPC = "http://127.0.0.1:8545";

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive whole number, got '${value}'`);
    return n;
  };
}

function dealIdArg(value: string): bigint {
  if (!/^\d+$/.test(value) || BigInt(value) < 1n) throw new InvalidArgumentError(`a deal id is a positive whole number, got '${value}'`);
  return BigInt(value);
}

function rootArg(value: string): bigint {
  if (!/^0x[0-9a-fA-F]{1,64}$/.test(value)) throw new InvalidArgumentError(`a data root is 0x and up to 64 hex digits, got '${value}'`);
  return BigInt(value);
}

function tokens(value: string): bigint {
  try {
    return parseUnits(value, 18);
  } catch {
    throw new InvalidArgumentError(`'${value}' is not an amount of DAIOS (e.g. 0.001)`);
  }
}

const fmt = (units: bigint) => `${formatUnits(units, 18)} DAIOS`;
const hex = (root: bigint) => `0x${root.toString(16).padStart(64, "0")}`;

interface GlobalOptions {
  rpc: string;
  key?: string;
  deployment?: string;
  json?: boolean;
}

/** A progress bar fed by the SDK's events; quiet when stdout is not a terminal. */
function progressReporter(json: boolean) {
  const bar = new SingleBar({ format: " {stage} [{bar}] {percentage}% | {value}/{total} bytes", hideCursor: true }, Presets.shades_classic);
  let stage = "";
  const interactive = process.stdout.isTTY && !json;
  const onEvent = (event: StorageEvent) => {
    const say = (line: string) => {
      if (json) return;
      if (stage) {
        bar.stop();
        stage = "";
      }
      console.log(line);
    };
    switch (event.type) {
      case "hashing":
      case "uploading":
      case "downloading": {
        const name = event.type === "uploading" ? `upload → ${event.endpoint}` : event.type;
        if (!interactive) return;
        if (stage !== name) {
          if (stage) bar.stop();
          stage = name;
          bar.start(event.total, 0, { stage: name });
        }
        bar.update(event.bytes);
        break;
      }
      case "deal-created":
        say(`deal ${event.dealId} created in ${event.txHash}, ${fmt(event.escrow)} in escrow`);
        break;
      case "uploaded":
        say(`stored by ${event.endpoint}: ${JSON.stringify(event.response)}`);
        break;
      case "upload-failed":
        say(`upload to ${event.endpoint} failed: ${event.error}`);
        break;
    }
  };
  return { onEvent, stop: () => stage && bar.stop() };
}

async function withConnection<T>(options: GlobalOptions, run: (c: Connection, onEvent: (e: StorageEvent) => void) => Promise<T>): Promise<T> {
  const progress = progressReporter(Boolean(options.json));
  const connection = await connect({ rpcUrl: options.rpc, privateKey: options.key, deploymentFile: options.deployment, onEvent: progress.onEvent });
  try {
    return await run(connection, progress.onEvent);
  } finally {
    progress.stop();
    await connection.close();
  }
}

function output(options: GlobalOptions, human: string, data: unknown): void {
  if (options.json) console.log(JSON.stringify(data, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2));
  else console.log(human);
}

export function buildCli(): Command {
  const program = new Command("daios")
    .description("daios: verifiable storage, data availability and compute (and, later, agent memory) on EVM chains")
    .option("--rpc <url>", "JSON-RPC endpoint (env RPC_URL)", process.env.RPC_URL ?? DEVNET_RPC)
    .option("--key <hex>", "private key that signs transactions (env PRIVATE_KEY)", process.env.PRIVATE_KEY)
    .option("--deployment <file>", "deployment file (env DEPLOYMENT_FILE; default deploy/deployments/<chainId>.json)", process.env.DEPLOYMENT_FILE)
    .option("--json", "print machine-readable JSON")
    .showHelpAfterError();

  const storage = program.command("storage").description("store files with replicas, collateral and Proofs of Random Access");
  const globals = () => program.opts<GlobalOptions>();

  storage
    .command("quote")
    .description("show what storing a file costs, without sending anything")
    .argument("<file>", "file to store")
    .option("--replicas <n>", "replica count", positiveInt("--replicas"), 2)
    .option("--periods <n>", `deal length in periods of ${STORAGE.PERIOD_BLOCKS} blocks`, positiveInt("--periods"), 10)
    .option("--price <daios>", "price per period per replica", tokens, DEFAULT_PRICE_PER_PERIOD)
    .action(async (file: string, opts: { replicas: number; periods: number; price: bigint }) => {
      await withConnection(globals(), async (c) => {
        const { stat } = await import("node:fs/promises");
        const size = (await stat(file)).size;
        if (size === 0) throw new DataFormatError(`${file} is empty: there is nothing to store`);
        const q = await c.storage.quote(size, opts.replicas, opts.periods, opts.price);
        output(globals(), `${file}: ${size} bytes in ${chunkCount(size)} chunks\nescrow ${fmt(q.escrow)} (${opts.replicas} replicas × ${opts.periods} periods × ${fmt(opts.price)})\nprovider collateral ${fmt(q.collateralPerReplica)} per replica`, { size, ...q });
      });
    });

  storage
    .command("upload")
    .description("create a deal for a file, upload it to providers and wait until every replica slot is taken")
    .argument("<file>", "file to store (1 byte to 256 MiB)")
    .requiredOption("--replicas <n>", "replica count", positiveInt("--replicas"))
    .requiredOption("--periods <n>", `deal length in periods of ${STORAGE.PERIOD_BLOCKS} blocks`, positiveInt("--periods"))
    .option("--price <daios>", "price per period per replica", tokens, DEFAULT_PRICE_PER_PERIOD)
    .option("--provider <url...>", "provider endpoints to use (default: active providers from the registry)")
    .action(async (file: string, opts: { replicas: number; periods: number; price: bigint; provider?: string[] }) => {
      await withConnection(globals(), async (c) => {
        const client = c.storage;
        const { stat } = await import("node:fs/promises");
        const size = (await stat(file).catch(() => ({ size: -1 }))).size;
        if (size > 0) {
          const q = await client.quote(size, opts.replicas, opts.periods, opts.price);
          if (!globals().json) console.log(`fee: ${fmt(q.escrow)} escrowed for ${opts.replicas} replicas × ${opts.periods} periods; unearned pay is refunded`);
        }
        const deal = await client.upload(file, { replicas: opts.replicas, periods: opts.periods, pricePerPeriod: opts.price, endpoints: opts.provider });
        output(globals(), `deal ${deal.dealId} is active\ndata root ${hex(deal.dataRoot)}\nsize ${deal.size} bytes\nproviders ${deal.providers.map((p) => p.endpoint).join(", ")}\ndownload with: daios storage download ${hex(deal.dataRoot)} -o <file>`, { ...deal, dataRoot: hex(deal.dataRoot) });
      });
    });

  storage
    .command("status")
    .description("show a deal, its replica slots and the current period")
    .argument("<dealId>", "deal id", dealIdArg)
    .action(async (dealId: bigint) => {
      await withConnection(globals(), async (c) => {
        const s = await c.storage.status(dealId);
        const lines = [
          `deal ${dealId}: ${s.status}`,
          `client ${s.deal.client}`,
          `data root ${hex(s.deal.dataRoot)}, ${s.deal.size} bytes`,
          `${s.deal.replicas} replicas at ${fmt(s.deal.pricePerPeriod)} per period, periods 0..${s.deal.endPeriod - 1n}, current period ${s.currentPeriod}`,
          `escrow ${fmt(s.deal.escrow)}`,
          ...s.slots.map((slot, i) => `slot ${i}: ${slot.provider === "0x0000000000000000000000000000000000000000" ? "free" : slot.provider}, next period ${slot.nextPeriod}, misses ${slot.misses}, collateral ${fmt(slot.collateral)}`),
        ];
        output(globals(), lines.join("\n"), s);
      });
    });

  storage
    .command("download")
    .description("download a file by data root, verifying every chunk against the root")
    .argument("<root>", "data root (0x…)", rootArg)
    .requiredOption("-o, --out <file>", "where to write the file")
    .option("--provider <url...>", "provider endpoints (default: registered providers that hold the root)")
    .action(async (root: bigint, opts: { out: string; provider?: string[] }) => {
      await withConnection(globals(), async (c) => {
        const started = Date.now();
        const result = await c.storage.download(root, opts.out, opts.provider);
        const seconds = (Date.now() - started) / 1000;
        output(globals(), `verified ${result.size} bytes against ${hex(root)} → ${opts.out} (${(result.size / 2 ** 20 / seconds).toFixed(1)} MiB/s${result.retries ? `, ${result.retries} range(s) refetched` : ""})`, result);
      });
    });

  storage
    .command("topup")
    .description("extend a deal by more periods, escrowing their price for every replica")
    .argument("<dealId>", "deal id", dealIdArg)
    .requiredOption("--periods <n>", "periods to add", positiveInt("--periods"))
    .action(async (dealId: bigint, opts: { periods: number }) => {
      await withConnection(globals(), async (c) => {
        const { amount, receipt, endPeriod } = await c.storage.topUp(dealId, opts.periods);
        output(globals(), `deal ${dealId} extended by ${opts.periods} periods for ${fmt(amount)} in ${receipt.hash}; it now ends before period ${endPeriod}`, { dealId, amount, endPeriod, tx: receipt.hash });
      });
    });

  storage
    .command("cancel")
    .description("cancel a deal you created: it ends after the current period and the rest of the escrow is credited back")
    .argument("<dealId>", "deal id", dealIdArg)
    .action(async (dealId: bigint) => {
      await withConnection(globals(), async (c) => {
        const receipt = await c.storage.cancel(dealId);
        output(globals(), `deal ${dealId} cancelled in ${receipt.hash}; withdraw the refund with: daios storage withdraw`, { dealId, tx: receipt.hash });
      });
    });

  storage
    .command("withdraw")
    .description("withdraw your credits from the storage market (refunds, compensation, earnings)")
    .action(async () => {
      await withConnection(globals(), async (c) => {
        const { amount, receipt } = await c.storage.withdraw();
        output(globals(), `withdrew ${fmt(amount)} in ${receipt.hash}`, { amount, tx: receipt.hash });
      });
    });

  storage
    .command("providers")
    .description("list active storage providers")
    .action(async () => {
      await withConnection(globals(), async (c) => {
        const providers = await c.storage.providers();
        output(globals(), providers.map((p) => `${p.address} ${p.endpoint} stake ${fmt(p.stake)} capacity ${p.capacity}`).join("\n") || "no active storage providers", providers);
      });
    });

  registerBeaconCommands(program);
  registerDaCommands(program);
  registerComputeCommands(program);
  registerMemoryCommands(program);

  return program;
}

export async function main(argv = process.argv): Promise<number> {
  try {
    await buildCli().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CliExit) {
      if (error.message) console.error(`error: ${error.message}`);
      return error.code;
    }
    console.error(formatError(error));
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then((code) => process.exit(code));
}
