/**
 * What every agent role process shares: validated configuration, JSON logs, the chain connection and
 * deployment, typed contracts, Redis, the transaction sender, a metrics endpoint and an orderly
 * shutdown on SIGINT/SIGTERM (stop taking work, finish in-flight work, then close connections).
 */
import { JsonRpcProvider, parseUnits } from "ethers";
import type { Redis } from "ioredis";
import { confirmationsFor, deploymentFileFor, loadConfig, type Config, type Infer, type Schema } from "../core/config.js";
import { createLogger, type Logger } from "../core/log.js";
import { createRegistry, startMetricsServer, type MetricsServer, type Registry } from "../core/metrics.js";
import { createRedisConnection } from "../core/redis.js";
import { CursorStore } from "../core/cursor-store.js";
import { ChainWatcher, type EventHandler } from "../core/chain-watcher.js";
import { TxSender } from "../core/tx-sender.js";
import { DaiosError } from "../core/errors.js";
import { connectContracts, type DaiosContracts } from "../sdk/contracts.js";
import { readDeployment, type Deployment } from "../sdk/deployment.js";

export interface RoleRuntime<S extends Schema> {
  role: string;
  config: Config<Infer<S>>;
  log: Logger;
  provider: JsonRpcProvider;
  chainId: bigint;
  deployment: Deployment;
  contracts: DaiosContracts;
  confirmations: number;
  redis: Redis;
  /** Prefix of this deployment's Redis keys: `daios.<chainId>.<deployment id>`. */
  namespace: string;
  /** BullMQ options that keep this deployment's queues apart from any other's. */
  queuePrefix: string;
  cursors: CursorStore;
  tx: TxSender;
  metrics: Registry;
  metricsServer?: MetricsServer;
  /** Registers cleanup, run in reverse order at shutdown. */
  onShutdown(step: () => Promise<void> | void): void;
  /**
   * Starts a chain watcher over the storage market's `events` under this role's cursor `name`;
   * stopped at shutdown.
   */
  watchMarket(name: string, events: string[], handler: EventHandler): Promise<ChainWatcher>;
  /** Runs `task` every `ms` (never two at once; a failure is logged and the next run goes on). */
  every(ms: number, what: string, task: () => Promise<void>): void;
  /** Withdraws this key's market credits once they reach `threshold` (DAIOS, decimal). */
  withdrawCredits(label: string, threshold: string): Promise<void>;
  shutdown(reason: string): Promise<void>;
}

export async function startRuntime<S extends Schema>(role: string, schema: S): Promise<RoleRuntime<S>> {
  const config = loadConfig({ role: schema });
  const log = createLogger(role, config.logLevel);
  // batchMaxCount 1: no 10 ms wait to batch calls (every call goes out at once).
  const provider = new JsonRpcProvider(config.rpcUrl, undefined, { staticNetwork: true, pollingInterval: config.pollIntervalMs, batchMaxCount: 1 });
  let chainId: bigint;
  try {
    chainId = (await provider.getNetwork()).chainId;
  } catch (error) {
    provider.destroy();
    throw new DaiosError(`no JSON-RPC node answers at ${config.rpcUrl} (${(error as Error).message})`, { hint: "start one (npm start does) or set RPC_URL" });
  }
  const deployment = readDeployment(chainId, deploymentFileFor(config, chainId));
  const contracts = connectContracts(deployment, provider);
  const namespace = `daios.${chainId}.${deployment.id}`;
  const redis = createRedisConnection(config.redisUrl, { log, name: `daios-${role}` });
  const metrics = createRegistry({ role });
  const tx = new TxSender({
    provider,
    privateKey: config.privateKey,
    log,
    interfaces: [contracts.market.interface, contracts.registry.interface, contracts.token.interface, contracts.beacon.interface],
    confirmTimeoutMs: 30_000,
  });

  const steps: (() => Promise<void> | void)[] = [];
  let shuttingDown: Promise<void> | undefined;

  const runtime: RoleRuntime<S> = {
    role,
    config,
    log,
    provider,
    chainId,
    deployment,
    contracts,
    confirmations: confirmationsFor(config, chainId),
    redis,
    namespace,
    queuePrefix: `bull.${chainId}.${deployment.id}`,
    cursors: new CursorStore(redis, { prefix: namespace }),
    tx,
    metrics,
    onShutdown: (step) => steps.push(step),
    async watchMarket(name, events, handler) {
      const market = contracts.market;
      const watcher = new ChainWatcher({
        name,
        provider,
        cursors: runtime.cursors,
        contracts: [{ address: market.target as string, abi: market.interface, events }],
        startBlock: deployment.contracts.StorageMarket.block,
        handler,
        confirmations: runtime.confirmations,
        maxBlockRange: config.maxBlockRange,
        pollIntervalMs: config.pollIntervalMs,
        log,
      });
      await watcher.start();
      steps.push(() => watcher.stop());
      return watcher;
    },
    every(ms, what, task) {
      let running = false;
      const timer = setInterval(() => {
        if (running) return;
        running = true;
        task()
          .catch((error: unknown) => log.warn({ err: error }, `${what} failed`))
          .finally(() => (running = false));
      }, ms);
      steps.push(() => clearInterval(timer));
    },
    async withdrawCredits(label, threshold) {
      const market = contracts.market;
      const credit = await market.credits(tx.address);
      if (credit === 0n || credit < parseUnits(threshold, 18)) return;
      const result = await tx.send({
        label,
        isDone: async () => (await market.credits(tx.address)) === 0n,
        build: () => ({ to: market.target as string, data: market.interface.encodeFunctionData("withdraw") }),
      });
      if (!result.skipped) log.info({ amount: credit.toString(), txHash: result.txHash }, "credits withdrawn");
    },
    shutdown(reason: string) {
      shuttingDown ??= (async () => {
        log.info({ reason }, "shutting down");
        for (const step of steps.reverse()) {
          try {
            await step();
          } catch (error) {
            log.warn({ err: error }, "shutdown step failed");
          }
        }
        await redis.quit().catch(() => redis.disconnect());
        provider.destroy();
        log.info("stopped");
      })();
      return shuttingDown;
    },
  };

  if (config.metricsPort > 0) {
    runtime.metricsServer = await startMetricsServer(config.metricsPort, metrics, { host: config.metricsHost, log });
    steps.push(() => runtime.metricsServer?.close());
    log.info({ url: `${runtime.metricsServer.url}/metrics` }, "metrics served");
  }
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void runtime.shutdown(signal).then(() => process.exit(0));
    });
  }
  log.info({ chainId: chainId.toString(), address: tx.address, deployment: deploymentFileFor(config, chainId), config }, `${role} starting`);
  return runtime;
}
