/**
 * `npm start`: a local devnet with every layer deployed and every agent role running, and the digits
 * model servable (its dataset and weights stored through storage deals, registered with zk and TEE
 * modes, the devnet enclave key acknowledged); then a demo that stores a real file with two replicas,
 * shows challenges answered with proofs and payments, downloads the file and verifies it; runs a zk job
 * and a TEE job on held-back digits end to end and prints each output's lineage; then publishes the
 * same file as a DA blob, certified by a BLS quorum sampled from the beacon, samples it, and rebuilds
 * it from half of the nodes; finally opens an agent-memory stream, writes to it, reads back with proofs
 * checked against the node's signed root and the on-chain checkpoint, and waits for the stream's
 * snapshot to be stored as a storage deal. Keeps running until Ctrl-C.
 *
 *   npm start                      devnet + demo, then keeps running
 *   npm start -- --no-demo         devnet only
 *   npm start -- --exit-after-demo stop once the demo has passed (exit code 1 if it failed)
 *
 * The beacon role starts first: storage seeds come from its rounds (a few blocks after each challenge block).
 *
 * RPC_URL: use an existing node instead of starting one; REDIS_URL: Redis to use (a private
 * redis-server is started when none answers).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { Wallet, formatUnits } from "ethers";
import { PROJECT_ROOT } from "../core/config.js";
import { formatError } from "../core/errors.js";
import { BEACON, DA, STORAGE } from "../generated/constants.js";
import { connect } from "../sdk/connect.js";
import { connectDaContracts } from "../sdk/contracts.js";
import { connectDa } from "../sdk/da/client.js";
import { DEVNET_ACCOUNTS, DEVNET_DA_NODES, standardAgents, startDevnet, type Devnet } from "./devnet.js";
import { computeDemo, setupDevnetCompute, type DevnetModel } from "./compute.js";
import { memoryDemo } from "./memory.js";

const args = new Set(process.argv.slice(2));
const DEMO_FILE = path.join(PROJECT_ROOT, "circuits", "artifacts", "pora", "pora.wasm");
const DEMO_PERIODS_TO_WATCH = 2;

const say = (line: string) => console.log(`[daios] ${line}`);
const fmt = (units: bigint) => `${formatUnits(units, 18)} DAIOS`;
const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

function checkNode(): void {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 22 || (major === 22 && minor < 13)) {
    console.error(`daios needs Node.js 22.13 or later (this is ${process.version}). Install it with \`npm install --prefix ~/.daios-node22 node@22\` and put ~/.daios-node22/node_modules/.bin first on PATH, or use nvm (\`nvm use\` reads .nvmrc).`);
    process.exit(1);
  }
}

async function demo(devnet: Devnet): Promise<void> {
  const out = path.join(PROJECT_ROOT, ".daios", "devnet", "downloaded.bin");
  const client = await connect({ rpcUrl: devnet.rpcUrl, privateKey: DEVNET_ACCOUNTS.client.privateKey, deploymentFile: devnet.deploymentFile });
  try {
    const storage = client.storage;
    const size = readFileSync(DEMO_FILE).length;
    say(`demo: storing ${path.relative(PROJECT_ROOT, DEMO_FILE)} (${size} bytes, the PoRA circuit's own witness generator) with 2 replicas for 30 periods`);
    const quote = await storage.quote(size, 2, 30);
    say(`demo: quote ${fmt(quote.escrow)} in escrow, ${fmt(quote.collateralPerReplica)} collateral per replica`);
    const started = Date.now();
    const firstBlock = await client.provider.getBlockNumber();
    const deal = await storage.upload(DEMO_FILE, { replicas: 2, periods: 30 });
    say(`demo: deal ${deal.dealId} active after ${((Date.now() - started) / 1000).toFixed(1)} s; data root 0x${deal.dataRoot.toString(16).padStart(64, "0")}`);
    for (const p of deal.providers) say(`demo:   stored by ${p.endpoint}, slot ${String(p.response.slot)}`);

    const market = client.contracts.market;
    const beacon = client.contracts.beacon;
    const latestRound = await beacon.latestRound();
    if (latestRound > 0n) say(`demo: beacon at round ${latestRound} (randomness ${await beacon.randomnessOf(latestRound)}), a round every ${await beacon.period()} s from the devnet signer`);
    /** The beacon round that decided a challenge block's seed and the block it was relayed in. */
    const seedRound = async (challengeBlock: bigint) => {
      const first = challengeBlock / BigInt(BEACON.BUCKET_BLOCKS) + BigInt(BEACON.SEED_DELAY_BUCKETS);
      for (let bucket = first; bucket <= first + BigInt(BEACON.MAX_EMPTY_BUCKETS); bucket++) {
        const [round, knownAt] = await beacon.anchorOf(bucket);
        if (round !== 0n) return { round, knownAt };
      }
      return undefined;
    };
    const seen = new Set<string>();
    let from = firstBlock;
    const periodsSeen = new Set<bigint>();
    say(`demo: waiting for Proofs of Random Access (a period is ${STORAGE.PERIOD_BLOCKS} blocks, ${STORAGE.CHALLENGES_PER_PROOF} random chunks per proof)`);
    const until = Date.now() + 180_000;
    while (periodsSeen.size < DEMO_PERIODS_TO_WATCH) {
      if (Date.now() > until) throw new Error("no proofs were accepted within 3 minutes: see the providers' logs");
      const head = await client.provider.getBlockNumber();
      for (const event of await market.queryFilter(market.filters.ProofAccepted(deal.dealId), from, head)) {
        const key = `${event.transactionHash}-${event.index}`;
        if (seen.has(key)) continue;
        seen.add(key);
        periodsSeen.add(event.args.period);
        const [, challengeBlock] = await market.periodWindow(deal.dealId, event.args.period);
        const decided = await seedRound(challengeBlock);
        const seedNote = decided ? `seed from beacon round ${decided.round}, relayed in block ${decided.knownAt} (${decided.knownAt - challengeBlock} blocks after the challenge block ${challengeBlock}); ` : "";
        say(`demo:   period ${event.args.period} slot ${event.args.slot}: ${seedNote}proof by ${event.args.provider} accepted ${event.args.latencyBlocks} blocks after the seed was public, paid ${fmt(event.args.pay)} (tx ${event.transactionHash})`);
      }
      from = head + 1;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const result = await storage.download(deal.dataRoot, out);
    const same = sha256(out) === sha256(DEMO_FILE);
    say(`demo: downloaded ${result.size} bytes from ${Object.keys(result.served).join(", ")}, every chunk verified against the root; byte-exact: ${same}`);
    if (!same) throw new Error("the downloaded file differs from the original");
    say("demo: passed");
  } finally {
    await client.close();
  }
}

/** Waits for the first epoch whose quorums include the devnet's DA nodes (they register at start). */
async function waitForQuorum(devnet: Devnet): Promise<bigint> {
  const { daRegistry } = connectDaContracts(devnet.deployment, devnet.provider);
  const until = Date.now() + 240_000;
  let said = false;
  for (;;) {
    const epoch = await daRegistry.currentEpoch();
    const info = await daRegistry.epochInfo(epoch);
    if (info.sampled && info.quorumCount > 0n) return epoch;
    if (!said) {
      say(`demo: waiting for a DA epoch whose quorum includes the ${DEVNET_DA_NODES} new nodes (epochs are ${DA.EPOCH_BLOCKS} blocks; a node is eligible from the epoch after the next one)`);
      said = true;
    }
    if (Date.now() > until) throw new Error(`no DA epoch with a quorum within 4 minutes (epoch ${epoch}: ${info.candidates} candidates); see the da-node logs`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function daDemo(devnet: Devnet): Promise<void> {
  const epoch = await waitForQuorum(devnet);
  const { client, close } = await connectDa({ rpcUrl: devnet.rpcUrl, privateKey: DEVNET_ACCOUNTS.client.privateKey, deploymentFile: devnet.deploymentFile });
  try {
    const bytes = readFileSync(DEMO_FILE);
    const members = await client.members(epoch, 0);
    say(`demo: DA epoch ${epoch}, quorum 0 sampled from the beacon: nodes ${members.map((m) => m.nodeId).join(", ")}`);
    say(`demo: publishing ${path.relative(PROJECT_ROOT, DEMO_FILE)} (${bytes.length} bytes) as a DA blob`);
    const started = Date.now();
    const result = await client.submit(bytes, {
      onProgress: (event) => {
        if (event.type === "encoded") say(`demo:   Reed–Solomon coded into ${event.n} shards (any ${event.k} rebuild it), root ${event.root}`);
      },
    });
    say(
      `demo: blob ${result.blobId} certified in ${((Date.now() - started) / 1000).toFixed(1)} s by ${result.signers.length} of ${result.quorumSize} members ` +
        `(${fmt(result.signedWeight)} of ${fmt(result.totalWeight)} stake; certify ${result.gasUsed.certify} gas, tx ${result.certifyTx})`,
    );
    const sampled = await client.verify(result.blobId, 16);
    say(`demo: sampled 16 random chunks from the quorum: ${sampled.passed} verified against the root, confidence ${(sampled.confidence * 100).toFixed(4)} %`);
    const stopped = [...devnet.agents.values()].filter((a) => a.spec.role === "da-node").slice(0, Math.floor(DEVNET_DA_NODES / 2));
    say(`demo: stopping ${stopped.map((a) => a.spec.name).join(", ")} to show that half of the quorum is enough`);
    await Promise.all(stopped.map((a) => a.process.stop()));
    const got = await client.get(result.blobId);
    const same = Buffer.compare(got.data, bytes) === 0;
    say(`demo: rebuilt blob ${result.blobId} from shards ${got.used.join(", ")}; byte-exact: ${same}`);
    if (!same) throw new Error("the rebuilt blob differs from the original");
    // Same port (the endpoint registered on chain) and data directory: they come back with their shards.
    for (const agent of stopped) await devnet.startAgent({ ...agent.spec, env: { ...agent.spec.env, DA_NODE_PORT: new URL(agent.endpoint ?? "").port } });
    say(`demo: restarted ${stopped.map((a) => a.spec.name).join(", ")}; DA demo passed`);
  } finally {
    close();
  }
}

async function main(): Promise<void> {
  checkNode();
  const devnet = await startDevnet({ dir: path.join(PROJECT_ROOT, ".daios", "devnet"), rpcUrl: process.env.RPC_URL, say });
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say("stopping agents, node and Redis");
    await devnet.stop();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  let model: DevnetModel;
  try {
    for (const spec of standardAgents()) {
      const agent = await devnet.startAgent(spec);
      say(`${spec.name} (${spec.role}) running${agent.endpoint ? ` at ${agent.endpoint}` : ""}, metrics ${agent.metricsUrl}`);
    }
    model = await setupDevnetCompute(devnet, say);
    if (!args.has("--no-demo")) {
      await demo(devnet);
      await computeDemo(devnet, model, say);
      await daDemo(devnet);
      await memoryDemo(devnet, say);
    }
  } catch (error) {
    console.error(`[daios] failed: ${formatError(error)}`);
    console.error(`[daios] logs: ${devnet.logDir}`);
    await stop(1);
    return;
  }
  if (args.has("--exit-after-demo")) {
    await stop(0);
    return;
  }
  const queues = [...devnet.agents.values()]
    .filter((a) => a.spec.role === "storage-provider")
    .map((a) => `storage-proofs-${new Wallet(a.spec.privateKey).address.toLowerCase()}`);
  console.log(`
daios devnet is running (Ctrl-C stops it)
  RPC        ${devnet.rpcUrl} (chain ${devnet.deployment.chainId}, a block every second)
  deployment ${devnet.deploymentFile}
  Redis      ${devnet.redis.url}${devnet.redis.private ? " (private, stops with the devnet)" : ""}
  beacon     ${devnet.deployment.contracts.RandomnessBeacon.address} (devnet signer: a published, insecure key; rounds every ${devnet.deployment.beacon?.period ?? 3} s)
  queues     BullMQ prefix bull.${devnet.deployment.chainId}.${devnet.deployment.id}: storage-keeper, compute-keeper, ${queues.join(", ")}, compute-jobs-${DEVNET_ACCOUNTS.computeProvider.address.toLowerCase()}
  model      ${model.modelId} (${model.name}): weights root 0x${model.weightsRoot.toString(16).padStart(64, "0")}, training data root 0x${model.datasetRoot.toString(16).padStart(64, "0")}; zk and TEE (devnet software enclave ${model.enclave})
  metrics    ${[...devnet.agents.values()].map((a) => `${a.spec.name} ${a.metricsUrl}`).join("\n             ")}
  logs       ${devnet.logDir}

Try the CLI with the funded client account:
  export RPC_URL=${devnet.rpcUrl} PRIVATE_KEY=${DEVNET_ACCOUNTS.client.privateKey}
  npm run daios -- storage upload README.md --replicas 2 --periods 10
  npm run daios -- storage status 1
  npm run daios -- storage download <root> -o /tmp/out
  npm run daios -- beacon latest
  npm run daios -- da submit README.md
  npm run daios -- da verify 1 --samples 16
  npm run daios -- da get 1 -o /tmp/blob
  head -1 agents/models/digits/digits.csv | cut -d, -f1-64 > /tmp/digit.csv
  npm run daios -- compute models
  npm run daios -- compute run --model ${model.modelId} --input /tmp/digit.csv --mode zk
  npm run daios -- compute run --model ${model.modelId} --input /tmp/digit.csv --mode tee
  npm run daios -- lineage <the output root printed by compute status>
  npm run daios -- memory create-stream --node ${DEVNET_ACCOUNTS.memoryNode.address}
  npm run daios -- memory put notes/today "buy milk" --stream <id>
  npm run daios -- memory get notes/today --stream <id>
  npm run daios -- memory scan notes/ --stream <id>
  npm run daios -- memory checkpoint --stream <id>
  npm run daios -- memory history notes/today --stream <id>
`);
}

main().catch((error: unknown) => {
  console.error(`[daios] failed: ${formatError(error)}`);
  process.exit(1);
});
