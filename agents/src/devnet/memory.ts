/**
 * The agent-memory layer on the devnet: a stream created on chain and the demo of `npm start`.
 *
 * createDevnetStream opens a stream served by the devnet memory node (the client account owns it and
 * pays for it; the devnet's memory-writer account may write). memoryDemo then writes as an agent would
 * (single puts, an atomic batch under one signature, a delete, an optimistic-concurrency conflict),
 * reads back with proofs checked against the node's signed root, asks for a checkpoint and reads again
 * against the checkpoint on chain, shows a key's history, and waits for the node to store a snapshot
 * of the stream as a storage deal (so the memory is covered by storage proofs).
 */
import { Wallet, formatUnits, parseUnits } from "ethers";
import { DaiosError } from "../core/errors.js";
import { connectMemory, connectMemoryContracts, MemoryConflictError, type MemoryVerification } from "../sdk/memory/client.js";
import { eventsIn } from "../sdk/contracts.js";
import { DEVNET_ACCOUNTS, type Devnet } from "./devnet.js";

/** What a devnet stream's owner deposits, and pays its node per second from it. */
export const DEVNET_STREAM_DEPOSIT = parseUnits("10", 18);
export const DEVNET_STREAM_RATE = parseUnits("0.0001", 18);

/**
 * Creates a stream served by the devnet memory node, owned by `ownerKey` (default: the devnet client)
 * with `writers` (default: the devnet memory writer). Returns its id.
 */
export async function createDevnetStream(devnet: Devnet, options: { ownerKey?: string; writers?: string[]; deposit?: bigint } = {}): Promise<bigint> {
  const owner = new Wallet(options.ownerKey ?? DEVNET_ACCOUNTS.client.privateKey, devnet.provider);
  const { memoryRegistry, token } = connectMemoryContracts(devnet.deployment, owner);
  const deposit = options.deposit ?? DEVNET_STREAM_DEPOSIT;
  await (await token.approve(await memoryRegistry.getAddress(), deposit)).wait();
  const writers = options.writers ?? [DEVNET_ACCOUNTS.memoryWriter.address];
  const receipt = await (await memoryRegistry.createStream(DEVNET_ACCOUNTS.memoryNode.address, writers, deposit, DEVNET_STREAM_RATE)).wait();
  if (!receipt) throw new DaiosError("createStream was not mined");
  const [created] = eventsIn(memoryRegistry, receipt, "StreamCreated");
  return BigInt(created.args.stream);
}

const describe = (v: MemoryVerification | undefined) =>
  v === undefined ? "not verified" : v.against === "checkpoint" ? `verified against on-chain checkpoint #${v.index} (seq ${v.seq})` : `verified against the node's signed root at seq ${v.seq} (newer than checkpoint seq ${v.checkpoint.seq})`;

export async function memoryDemo(devnet: Devnet, say: (line: string) => void): Promise<void> {
  const stream = await createDevnetStream(devnet);
  const agent = await connectMemory({ rpcUrl: devnet.rpcUrl, privateKey: DEVNET_ACCOUNTS.memoryWriter.privateKey, deploymentFile: devnet.deploymentFile, stream });
  const { client, contracts } = agent;
  try {
    say(`memory demo: stream ${stream} on node ${agent.stream.node} (${client.nodeUrl}), ${formatUnits(DEVNET_STREAM_DEPOSIT, 18)} DAIOS deposited; writer ${DEVNET_ACCOUNTS.memoryWriter.address}`);
    const first = await client.put("agent/goal", "summarise the digits dataset");
    say(`memory demo: put agent/goal → seq ${first.seq}, version ${first.version}, receipt signed by the node`);
    const batch = await client.batch(Array.from({ length: 50 }, (_, i) => ({ kind: "put" as const, key: `agent/notes/${String(i).padStart(3, "0")}`, value: `observation ${i}: class ${i % 10}` })));
    say(`memory demo: an atomic batch of 50 puts under one signature → seq ${batch.seq}`);
    await client.delete("agent/notes/007");
    try {
      await client.put("agent/goal", "a stale overwrite", { expectedVersion: 0n });
      throw new DaiosError("the node accepted a write with a stale expected version");
    } catch (error) {
      if (!(error instanceof MemoryConflictError)) throw error;
      say(`memory demo: a write expecting version 0 of agent/goal was refused: ${error.message}`);
    }
    const read = await client.get("agent/goal", { verify: true });
    say(`memory demo: get agent/goal = "${Buffer.from(read.value ?? new Uint8Array()).toString()}" (version ${read.version}), ${describe(read.verified)}`);

    const asked = await client.checkpoint();
    say(`memory demo: checkpoint of seq ${asked.seq} asked for${asked.txHash ? ` (tx ${asked.txHash})` : ""}`);
    const deadline = Date.now() + 60_000;
    while ((await contracts.memoryRegistry.latestCheckpoint(stream)).seq < asked.seq) {
      if (Date.now() > deadline) throw new DaiosError(`the checkpoint of seq ${asked.seq} was not mined within 60 s`, { hint: `see ${devnet.logDir}/memory-node.log` });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const deleted = await client.get("agent/notes/007", { verify: true });
    const note = await client.get("agent/notes/042", { verify: true });
    say(`memory demo: agent/notes/042 = "${Buffer.from(note.value ?? new Uint8Array()).toString()}", ${describe(note.verified)}`);
    say(`memory demo: agent/notes/007 is ${deleted.deleted ? "deleted (a tombstone at version " + deleted.version + ")" : "present"}, ${describe(deleted.verified)}`);
    let scanned = 0;
    for await (const page of client.scan("agent/notes/", { limit: 20 })) scanned += page.length;
    say(`memory demo: scan agent/notes/ → ${scanned} live entries`);
    const history = await client.history("agent/notes/007");
    say(`memory demo: history of agent/notes/007: ${history.map((h) => `v${h.version}@seq ${h.seq}${h.deleted ? " (delete)" : ""}`).join(", ")}`);

    say("memory demo: waiting for the node to store a snapshot of the stream as a storage deal …");
    const snapshotDeadline = Date.now() + 120_000;
    for (;;) {
      const logs = await contracts.memoryRegistry.queryFilter(contracts.memoryRegistry.filters.SnapshotRecorded(stream));
      const last = logs.at(-1);
      if (last) {
        const deal = await devnet.contracts.market.deal(last.args.dealId);
        say(`memory demo: snapshot of seq ${last.args.seq} stored as deal ${last.args.dealId} (root 0x${last.args.storageRoot.toString(16).padStart(64, "0")}, ${deal.replicas} replica(s)); storage challenges now cover the memory`);
        break;
      }
      if (Date.now() > snapshotDeadline) throw new DaiosError("no snapshot was recorded within 120 s", { hint: `see ${devnet.logDir}/memory-node.log` });
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    agent.close();
  }
}
