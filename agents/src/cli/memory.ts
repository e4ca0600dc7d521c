/**
 * `daios memory …`: agent memory streams from the command line — a key-value map kept by a staked
 * memory node, written with the agent's key and read back checked against the root the node
 * checkpointed on chain.
 *
 *   daios memory create-stream --node <address> [--writer <address>…] [--deposit <DAIOS>] [--rate <DAIOS/s>]
 *                                      creates a stream on a memory node (you own it; writers default to you),
 *                                      escrowing the deposit the node earns at the rate; prints the stream id
 *   daios memory put <key> [value] [--file <f>] [--expect-version <n>]
 *                                      writes a value (text, or a file's bytes); prints the seq and version
 *                                      and keeps the node's signed receipt (--receipts <file> appends it)
 *   daios memory get <key> [--no-verify]
 *                                      prints the value, then how it was verified: against checkpoint #i
 *                                      (seq s) on chain, or the node's signed root newer than it
 *   daios memory delete <key> [--expect-version <n>]
 *   daios memory scan [prefix] [--limit <n>]
 *                                      the keys under a prefix, in key order (deleted keys skipped)
 *   daios memory history <key>         every version of a key: seq, value hash, writer, time
 *   daios memory checkpoint            asks the node to post its root now, waits for the transaction
 *   daios memory grant <writer>        lets an address write to your stream
 *   daios memory revoke <writer>       stops an address writing to your stream
 *   daios memory close                 closes the stream (the owner at any time, the node once the deposit is
 *                                      spent): the node is paid what it earned, the owner refunded the rest
 *   daios memory release               gives a closed stream's collateral back to the node's free stake once
 *                                      its slashing window (two checkpoint windows after the close) is over
 *
 * Every command but create-stream takes --stream <id> (or MEMORY_STREAM). The node is found from the
 * endpoint its operator registered in the ProviderRegistry for the memory role; --node-url (or
 * MEMORY_NODE_URL) overrides it. RPC_URL / PRIVATE_KEY / DEPLOYMENT_FILE (or --rpc / --key /
 * --deployment) as for every command; the key is the writer's.
 *
 * Exit codes: 0 done, 1 failed (the network, the node, a version conflict, an answer that does not
 * verify), 2 bad input (what was wrong is printed; nothing was sent).
 */
import { readFile, stat } from "node:fs/promises";
import type { Command } from "commander";
import { formatUnits, getAddress, parseUnits, type ContractTransactionReceipt, type ContractTransactionResponse } from "ethers";
import { DaiosError, errorMessage } from "../core/errors.js";
import { connectChain } from "../sdk/chain.js";
import { eventsIn } from "../sdk/contracts.js";
import {
  MemoryConflictError,
  MemoryInputError,
  connectMemory,
  connectMemoryContracts,
  displayKey,
  memoryBytes,
  memoryRevertText,
  memoryStream,
  type MemoryClient,
  type MemoryContracts,
  type MemoryGetResult,
  type MemoryStreamInfo,
} from "../sdk/memory/client.js";
import { MAX_KEY_BYTES, MAX_VALUE_BYTES, checkKey, checkValue } from "../sdk/memory/signing.js";
import { CliExit } from "./beacon.js";

interface GlobalOptions {
  rpc: string;
  key?: string;
  deployment?: string;
  json?: boolean;
}

interface StreamOptions {
  stream?: string;
  nodeUrl?: string;
  receipts?: string;
}

/** Deposit of a new stream when --deposit is not given. */
const DEFAULT_DEPOSIT = "1";
/** When --rate is not given the deposit is spread over this many seconds (30 days). */
const DEFAULT_TERM_SEC = 30n * 24n * 3600n;

const fmt = (units: bigint) => `${formatUnits(units, 18)} DAIOS`;

function toJson(data: unknown): string {
  return JSON.stringify(data, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? `0x${Buffer.from(v).toString("hex")}` : v), 2);
}

function streamId(value: string | undefined): bigint {
  if (value === undefined || value === "") throw new CliExit(2, "no stream given: pass --stream <id> or set MEMORY_STREAM (daios memory create-stream prints the id)");
  if (!/^\d{1,30}$/.test(value) || BigInt(value) < 1n) throw new CliExit(2, `--stream must be a positive whole number, got '${value}'`);
  return BigInt(value);
}

function address(value: string, what: string): string {
  try {
    if (!/^0x[0-9a-fA-F]{40}$/.test(value)) throw new Error("not an address");
    return getAddress(value.toLowerCase());
  } catch {
    throw new CliExit(2, `${what} must be an address (0x and 40 hex digits), got '${value}'`);
  }
}

function amount(value: string, what: string): bigint {
  try {
    const units = parseUnits(value, 18);
    if (units <= 0n) throw new Error("not positive");
    return units;
  } catch {
    throw new CliExit(2, `${what} must be a positive amount of DAIOS such as 0.5, got '${value}'`);
  }
}

function version(value: string | undefined): bigint | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,19}$/.test(value)) throw new CliExit(2, `--expect-version must be a whole number (0: the key must not exist yet), got '${value}'`);
  return BigInt(value);
}

function limit(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d{1,9}$/.test(value) || n < 1) throw new CliExit(2, `--limit must be a positive whole number, got '${value}'`);
  return n;
}

/** The bytes of a key argument, checked (1..MAX_KEY_BYTES bytes of UTF-8). */
function keyArg(text: string): Uint8Array {
  const key = memoryBytes(text);
  try {
    checkKey(key);
  } catch (error) {
    if (error instanceof MemoryInputError) throw new CliExit(2, error.message);
    throw error;
  }
  return key;
}

/** A value shown to a person: its text when it is printable UTF-8, its hex otherwise. */
function showValue(value: Uint8Array): string {
  return value.length === 0 ? "(empty value)" : displayKey(value);
}

function verification(r: MemoryGetResult): string {
  const v = r.verified;
  if (!v) return "not verified (--no-verify)";
  if (v.against === "checkpoint") {
    if (v.seq === 0n) return "verified against the empty stream (no checkpoint on chain yet)";
    return `verified against checkpoint #${v.index} (seq ${v.seq}, root ${v.root})`;
  }
  const behind = v.checkpoint.seq === 0n ? "no checkpoint on chain yet" : `checkpoint #${v.checkpoint.index} is at seq ${v.checkpoint.seq}`;
  return `verified against the node's signed root at seq ${v.seq} (${v.root}), newer than the chain's (${behind}); signed by ${v.node}`;
}

export function registerMemoryCommands(program: Command): void {
  const globals = () => program.opts<GlobalOptions>();
  // Usage errors (a missing argument, an unknown option) exit 2 like other bad input.
  const usageExit = (error: { exitCode: number }) => {
    throw new CliExit(error.exitCode === 0 ? 0 : 2);
  };
  const memory = program
    .command("memory")
    .description("agent memory: key-value streams kept by a staked memory node, written with your key and read back checked against the root it checkpointed on chain")
    .exitOverride(usageExit);

  function output(human: string, data: unknown): void {
    console.log(globals().json ? toJson(data) : human);
  }

  /** Bad input from the SDK exits 2; everything else goes to main's handler (exit 1). */
  function inputExit(error: unknown): never {
    if (error instanceof MemoryInputError) throw new CliExit(2, error.message);
    throw error;
  }

  /** Runs `body` with a client of the stream named by --stream / MEMORY_STREAM. */
  async function withStream<T>(opts: StreamOptions, body: (client: MemoryClient, info: MemoryStreamInfo, contracts: MemoryContracts, wait: (txHash: string) => Promise<number>) => Promise<T>): Promise<T> {
    const stream = streamId(opts.stream);
    const options = globals();
    const connected = await connectMemory({
      rpcUrl: options.rpc,
      privateKey: options.key,
      deploymentFile: options.deployment,
      stream,
      // An empty MEMORY_NODE_URL / MEMORY_RECEIPTS means unset.
      nodeUrl: opts.nodeUrl || undefined,
      receiptsFile: opts.receipts || undefined,
    }).catch(inputExit);
    const wait = async (txHash: string) => {
      const receipt = await connected.provider.waitForTransaction(txHash);
      if (!receipt || receipt.status !== 1) throw new DaiosError(`the transaction ${txHash} failed`, { hint: "look it up on the chain for the reason" });
      return receipt.blockNumber;
    };
    try {
      return await body(connected.client, connected.stream, connected.contracts, wait);
    } catch (error) {
      return inputExit(error);
    } finally {
      connected.close();
    }
  }

  /** Runs `body` with the memory contracts and a signer (transactions: create-stream, grant, revoke). */
  async function withContracts<T>(body: (contracts: MemoryContracts, me: string) => Promise<T>): Promise<T> {
    const options = globals();
    const chain = await connectChain({ rpcUrl: options.rpc, privateKey: options.key, deploymentFile: options.deployment });
    try {
      if (!chain.signer) throw new CliExit(2, "this command sends transactions and needs a key: set PRIVATE_KEY or pass --key");
      const contracts = connectMemoryContracts(chain.deployment, chain.signer);
      return await body(contracts, chain.signer.address);
    } catch (error) {
      return inputExit(error);
    } finally {
      chain.close();
    }
  }

  async function send(contracts: MemoryContracts, what: string, tx: () => Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
    try {
      const receipt = await (await tx()).wait();
      if (!receipt) throw new Error("the transaction was dropped");
      return receipt;
    } catch (error) {
      throw new DaiosError(`${what} failed: ${memoryRevertText(contracts, error) ?? errorMessage(error).split("\n")[0]}`, { cause: error });
    }
  }

  /** The stream options every stream command takes. */
  const streamCommand = (name: string) =>
    memory
      .command(name)
      .option("--stream <id>", "the stream (env MEMORY_STREAM)", process.env.MEMORY_STREAM)
      .option("--node-url <url>", "the memory node's URL (env MEMORY_NODE_URL; default: the endpoint the stream's node registered)", process.env.MEMORY_NODE_URL)
      .exitOverride(usageExit);

  memory
    .command("create-stream")
    .description("create a memory stream on a node: you own it, the writers may write, the node earns the deposit at the rate and locks collateral for it")
    .requiredOption("--node <address>", "the memory node's operator address (an active provider of the memory role)")
    .option("--writer <address...>", "addresses that may write (default: your own)")
    .option("--deposit <DAIOS>", "tokens escrowed for the node", DEFAULT_DEPOSIT)
    .option("--rate <DAIOS>", "tokens per second the node earns (default: the deposit over 30 days)")
    .exitOverride(usageExit)
    .action(async (opts: { node: string; writer?: string[]; deposit: string; rate?: string }) => {
      const node = address(opts.node, "--node");
      const writers = (opts.writer ?? []).map((w) => address(w, "--writer"));
      const deposit = amount(opts.deposit, "--deposit");
      const rate = opts.rate === undefined ? (deposit + DEFAULT_TERM_SEC - 1n) / DEFAULT_TERM_SEC : amount(opts.rate, "--rate");
      if (rate >= 1n << 128n) throw new CliExit(2, `--rate ${opts.rate} is too large`);
      await withContracts(async (contracts, me) => {
        const { memoryRegistry, registry, token } = contracts;
        const role = await registry.MEMORY_ROLE();
        if (!(await registry.isActive(node, role))) {
          throw new CliExit(2, `${node} is not an active memory node: it must be registered in the ProviderRegistry for the memory role with enough stake`);
        }
        const list = writers.length > 0 ? writers : [me];
        const max = await memoryRegistry.MAX_WRITERS();
        if (BigInt(list.length) > max) throw new CliExit(2, `${list.length} writers are more than the ${max} a stream may list at creation; grant the rest later`);
        const balance = await token.balanceOf(me);
        if (balance < deposit) throw new CliExit(2, `the deposit ${fmt(deposit)} is more than your balance of ${fmt(balance)}`);
        const spender = await memoryRegistry.getAddress();
        if ((await token.allowance(me, spender)) < deposit) {
          const approved = await send(contracts, "approving the deposit", () => token.approve(spender, deposit));
          if (!globals().json) process.stderr.write(`approved ${fmt(deposit)} for the memory registry in ${approved.hash}\n`);
        }
        const receipt = await send(contracts, "createStream", () => memoryRegistry.createStream(node, list, deposit, rate));
        const [created] = eventsIn(memoryRegistry, receipt, "StreamCreated");
        if (!created) throw new DaiosError(`createStream in ${receipt.hash} emitted no StreamCreated event`);
        const stream = created.args.stream as bigint;
        const collateral = created.args.collateral as bigint;
        const window = created.args.checkpointWindow as bigint;
        output(
          [
            `stream ${stream} created in ${receipt.hash}`,
            `node ${node}, collateral ${fmt(collateral)} of its stake locked; checkpoints due within ${window} s of a write`,
            `writers ${list.join(", ")}`,
            `deposit ${fmt(deposit)} paid to the node at ${fmt(rate)} per second`,
            `use it with: export MEMORY_STREAM=${stream}`,
          ].join("\n"),
          { stream, txHash: receipt.hash, node, writers: list, deposit, ratePerSecond: rate, collateral, checkpointWindow: window },
        );
      });
    });

  streamCommand("put")
    .description("write a value under a key (one signed write; the node's signed receipt is kept)")
    .argument("<key>", `the key: 1 to ${MAX_KEY_BYTES} bytes of UTF-8`)
    .argument("[value]", "the value as text (or --file)")
    .option("--file <file>", `read the value from a file (at most ${MAX_VALUE_BYTES} bytes)`)
    .option("--expect-version <n>", "write only if the key is at this version (0: only if it was never written)")
    .option("--receipts <file>", "append the node's receipt to this file (JSON lines), the evidence to slash a node that drops the write (env MEMORY_RECEIPTS)", process.env.MEMORY_RECEIPTS)
    .action(async (keyText: string, valueText: string | undefined, opts: StreamOptions & { file?: string; expectVersion?: string }) => {
      const key = keyArg(keyText);
      if ((valueText === undefined) === (opts.file === undefined)) throw new CliExit(2, "give the value either as an argument or with --file <file>, not both and not neither");
      let value: Uint8Array;
      if (opts.file !== undefined) {
        const info = await stat(opts.file).catch(() => undefined);
        if (!info) throw new CliExit(2, `cannot read ${opts.file}: no such file`);
        if (!info.isFile()) throw new CliExit(2, `${opts.file} is not a regular file`);
        if (info.size > MAX_VALUE_BYTES) throw new CliExit(2, `${opts.file} has ${info.size} bytes, more than the limit of ${MAX_VALUE_BYTES} for a memory value: store large data with \`daios storage upload\` and keep its root in memory`);
        value = new Uint8Array(await readFile(opts.file));
      } else {
        value = memoryBytes(valueText as string);
      }
      try {
        checkValue(value);
      } catch (error) {
        inputExit(error);
      }
      const expectedVersion = version(opts.expectVersion);
      await withStream(opts, async (client) => {
        const r = await client.put(key, value, { expectedVersion });
        output(
          `put ${displayKey(key)} (${value.length} bytes): version ${r.version}, seq ${r.seq}\nreceipt signed by node ${r.receipt.node} at ${r.receipt.issuedAt}${opts.receipts ? `, appended to ${opts.receipts}` : ""}`,
          { key: displayKey(key), bytes: value.length, seq: r.seq, version: r.version, nonce: r.nonce, receipt: r.receipt },
        );
      }).catch(conflictExit);
    });

  /** A version conflict is a refusal, not a network failure: exit 1 with what to do. */
  function conflictExit(error: unknown): never {
    if (error instanceof MemoryConflictError) throw new CliExit(1, error.message);
    throw error;
  }

  streamCommand("get")
    .description("read a key; by default its proof is checked against the checkpoint on chain (or the node's signed newer root)")
    .argument("<key>", "the key")
    .option("--no-verify", "skip the proof check (trust the node)")
    .action(async (keyText: string, opts: StreamOptions & { verify: boolean }) => {
      const key = keyArg(keyText);
      await withStream(opts, async (client) => {
        const r = await client.get(key, { verify: opts.verify });
        const state = r.value !== null ? showValue(r.value) : r.deleted ? `(deleted at version ${r.version}, seq ${r.seq})` : "(not set)";
        const about = r.value !== null ? `version ${r.version}, seq ${r.seq}, ${r.value.length} bytes` : undefined;
        output([state, ...(about ? [about] : []), verification(r)].join("\n"), {
          key: displayKey(key),
          value: r.value === null ? null : showValue(r.value),
          valueHex: r.value === null ? null : r.value,
          valueHash: r.valueHash,
          seq: r.seq,
          version: r.version,
          deleted: r.deleted,
          root: r.root,
          rootSeq: r.rootSeq,
          verified: r.verified ?? null,
        });
      });
    });

  streamCommand("delete")
    .description("delete a key (a tombstone: the key's version goes up, it reads as deleted)")
    .argument("<key>", "the key")
    .option("--expect-version <n>", "delete only if the key is at this version")
    .option("--receipts <file>", "append the node's receipt to this file (JSON lines) (env MEMORY_RECEIPTS)", process.env.MEMORY_RECEIPTS)
    .action(async (keyText: string, opts: StreamOptions & { expectVersion?: string }) => {
      const key = keyArg(keyText);
      const expectedVersion = version(opts.expectVersion);
      await withStream(opts, async (client) => {
        const r = await client.delete(key, { expectedVersion });
        output(`deleted ${displayKey(key)}: version ${r.version}, seq ${r.seq}\nreceipt signed by node ${r.receipt.node}`, { key: displayKey(key), seq: r.seq, version: r.version, receipt: r.receipt });
      }).catch(conflictExit);
    });

  streamCommand("scan")
    .description("list the keys under a prefix in key order, with their values (deleted keys are skipped)")
    .argument("[prefix]", "key prefix (default: every key)", "")
    .option("--limit <n>", "list at most this many keys")
    .action(async (prefixText: string, opts: StreamOptions & { limit?: string }) => {
      const prefix = prefixText === "" ? new Uint8Array() : keyArg(prefixText);
      const max = limit(opts.limit);
      await withStream(opts, async (client) => {
        const lines: string[] = [];
        const rows: unknown[] = [];
        for await (const page of client.scan(prefix, { limit: max })) {
          for (const e of page) {
            lines.push(`${displayKey(e.key)} = ${e.value === null ? "(value not sent)" : showValue(e.value)}  (version ${e.version}, seq ${e.seq})`);
            rows.push({ key: displayKey(e.key), value: e.value === null ? null : showValue(e.value), valueHash: e.valueHash, seq: e.seq, version: e.version });
          }
        }
        output(lines.join("\n") || `no key${prefixText ? ` starts with ${prefixText}` : " is set"}`, rows);
      });
    });

  streamCommand("history")
    .description("every version of a key, oldest first: seq, value hash (or deleted), writer, time")
    .argument("<key>", "the key")
    .action(async (keyText: string, opts: StreamOptions) => {
      const key = keyArg(keyText);
      await withStream(opts, async (client) => {
        const versions = await client.history(key);
        const lines = versions.map((v) => {
          const what = v.deleted ? "deleted" : v.value ? `${showValue(v.value)} (${v.valueHash})` : v.valueHash;
          const when = v.time === undefined ? "" : ` at ${new Date(v.time).toISOString()}`;
          return `version ${v.version}, seq ${v.seq}: ${what}${v.writer ? ` by ${v.writer}` : ""}${when}`;
        });
        output(lines.join("\n") || `${displayKey(key)} was never written`, versions);
      });
    });

  streamCommand("checkpoint")
    .description("ask the node to post its current root on chain now; waits for the transaction and prints the checkpoint")
    .action(async (opts: StreamOptions) => {
      await withStream(opts, async (client, info, contracts, wait) => {
        const r = await client.checkpoint();
        if (r.txHash === null) {
          const c = await contracts.memoryRegistry.latestCheckpoint(info.stream);
          output(`nothing new to checkpoint: checkpoint #${c.index} of stream ${info.stream} already covers seq ${c.seq} (root ${c.root})`, { stream: info.stream, index: c.index, seq: c.seq, root: c.root, timestamp: c.timestamp, txHash: null, skipped: true });
          return;
        }
        if (!globals().json) process.stderr.write(`the node posted seq ${r.seq} in ${r.txHash}; waiting for it to be mined…\n`);
        const block = await wait(r.txHash);
        const c = await contracts.memoryRegistry.latestCheckpoint(info.stream);
        output(`checkpoint #${c.index} of stream ${info.stream}: seq ${c.seq}, root ${c.root}\nposted by ${info.node} in ${r.txHash} (block ${block})`, {
          stream: info.stream,
          index: c.index,
          seq: c.seq,
          root: c.root,
          timestamp: c.timestamp,
          txHash: r.txHash,
          block,
        });
      });
    });

  for (const [name, grant] of [["grant", true], ["revoke", false]] as const) {
    memory
      .command(name)
      .description(grant ? "let an address write to your stream (owner only)" : "stop an address writing to your stream (owner only); the node refuses its later writes")
      .argument("<writer>", "the writer's address")
      .option("--stream <id>", "the stream (env MEMORY_STREAM)", process.env.MEMORY_STREAM)
      .exitOverride(usageExit)
      .action(async (writerText: string, opts: { stream?: string }) => {
        const writer = address(writerText, "the writer");
        const stream = streamId(opts.stream);
        await withContracts(async (contracts, me) => {
          const info = await memoryStream(contracts.memoryRegistry, stream);
          if (info.owner !== me) throw new CliExit(2, `stream ${stream} is owned by ${info.owner}, not by you (${me}): only its owner ${grant ? "grants" : "revokes"} writers`);
          if (info.status !== "Active") throw new CliExit(2, `stream ${stream} is ${info.status}: writers can only change on an Active stream`);
          const listed = await contracts.memoryRegistry.isWriter(stream, writer);
          if (grant && listed) throw new CliExit(2, `${writer} may already write to stream ${stream}`);
          if (!grant && !listed) throw new CliExit(2, `${writer} is not a writer of stream ${stream}`);
          const receipt = await send(contracts, grant ? "grantWriter" : "revokeWriter", () =>
            grant ? contracts.memoryRegistry.grantWriter(stream, writer) : contracts.memoryRegistry.revokeWriter(stream, writer),
          );
          output(`${writer} ${grant ? "may now write to" : "may no longer write to"} stream ${stream} (${receipt.hash})`, { stream, writer, granted: grant, txHash: receipt.hash });
        });
      });
  }

  memory
    .command("close")
    .description("close a stream: the owner at any time, the node once the deposit is spent; the node is paid what it earned, the owner refunded the rest, and the node's collateral stays slashable for two checkpoint windows")
    .option("--stream <id>", "the stream (env MEMORY_STREAM)", process.env.MEMORY_STREAM)
    .exitOverride(usageExit)
    .action(async (opts: { stream?: string }) => {
      const stream = streamId(opts.stream);
      await withContracts(async (contracts, me) => {
        const registry = contracts.memoryRegistry;
        const info = await memoryStream(registry, stream);
        if (info.status !== "Active") throw new CliExit(2, `stream ${stream} is ${info.status} already`);
        if (me !== info.owner && me !== info.node) throw new CliExit(2, `stream ${stream} is owned by ${info.owner} and served by ${info.node}: you (${me}) are neither, so you cannot close it`);
        if (me !== info.owner) {
          const unearned = info.balance - (await registry.earned(stream));
          if (unearned > 0n) throw new CliExit(2, `the node can close stream ${stream} once its deposit is spent: ${formatUnits(unearned, 18)} DAIOS are still to be earned`);
        }
        const receipt = await send(contracts, "closeStream", () => registry.closeStream(stream));
        const [closed] = eventsIn(registry, receipt, "StreamClosed");
        if (!closed) throw new DaiosError(`closeStream was mined in ${receipt.hash} but emitted no StreamClosed event`, { hint: "check the deployment file: it may name another contract" });
        const refund = closed.args.refund as bigint;
        const releasableAt = await registry.releasableAt(stream);
        const when = releasableAt === 0n ? "no collateral is locked" : `the node may still checkpoint for one window, and its collateral can be released (daios memory release) from ${new Date(Number(releasableAt) * 1000).toISOString()}`;
        output(`stream ${stream} closed (${receipt.hash}): the owner is refunded ${formatUnits(refund, 18)} DAIOS; ${when}`, { stream, refund, releasableAt, txHash: receipt.hash });
      });
    });

  memory
    .command("release")
    .description("give a closed stream's collateral back to the node's free stake, once its slashing window is over (anyone may)")
    .option("--stream <id>", "the stream (env MEMORY_STREAM)", process.env.MEMORY_STREAM)
    .exitOverride(usageExit)
    .action(async (opts: { stream?: string }) => {
      const stream = streamId(opts.stream);
      await withContracts(async (contracts) => {
        const registry = contracts.memoryRegistry;
        const info = await memoryStream(registry, stream);
        if (info.status !== "Closed") throw new CliExit(2, `stream ${stream} is ${info.status}: only a Closed stream's collateral is released${info.status === "Active" ? " (close it first: daios memory close)" : ""}`);
        const releasableAt = await registry.releasableAt(stream);
        if (releasableAt === 0n) throw new CliExit(2, `stream ${stream} holds no collateral: it was released already, or none was locked`);
        const now = BigInt((await registry.runner!.provider!.getBlock("latest"))!.timestamp);
        if (now < releasableAt) {
          throw new CliExit(2, `stream ${stream}'s slashing window is open until ${new Date(Number(releasableAt) * 1000).toISOString()} (${releasableAt - now} s from the chain's time): try again then`);
        }
        const receipt = await send(contracts, "releaseCollateral", () => registry.releaseCollateral(stream));
        const [released] = eventsIn(registry, receipt, "CollateralReleased");
        if (!released) throw new DaiosError(`releaseCollateral was mined in ${receipt.hash} but emitted no CollateralReleased event`, { hint: "check the deployment file: it may name another contract" });
        const amount = released.args.collateral as bigint;
        output(`released ${formatUnits(amount, 18)} DAIOS of collateral of stream ${stream} to node ${info.node} (${receipt.hash})`, { stream, node: info.node, collateral: amount, txHash: receipt.hash });
      });
    });

}
