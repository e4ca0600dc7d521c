/**
 * Provenance of a data root, read from contract state.
 *
 *   const graph = await lineage({ provider, computeMarket, modelRegistry }, root, { fetchRoot });
 *   console.log(renderLineage(graph));
 *
 * The walk starts at a storage root and goes back through what produced it:
 *
 *   root R ── ComputeMarket.producerOf(R) = job J (0: R is source data, not a recorded output)
 *   job J  ── ComputeMarket.job(J): its model M, its input (storage root, or inline bytes from its
 *             JobPosted event) and ComputeMarket.jobDataRoots(J): the roots the input was derived from
 *   model M ─ ModelRegistry.model(M): the weights file's root and the training data's root
 *
 * and again from every root it reaches, so a chain of jobs (an output used as the input or data of a
 * later job, a model whose weights are a job's output) is followed to its sources. Every read is made
 * at one block, so the graph is a consistent snapshot. Edges point from ancestor to descendant
 * (inputs → job → output, model → job, weights → model). A root reached twice is one node; records can
 * form a cycle (a job may name as data a root that a later job produces from the first job's output):
 * the edge that closes one is listed in `cycles` and the walk does not loop. The walk stops after
 * `maxNodes` nodes (`truncated`).
 *
 * What the records are worth: the market checked a job's model, input commitment and output (the zk
 * proof or the enclave's signature) before paying it, so the model, input and output of an Accepted
 * job are checked facts; an inline input is recomputed here against the job's input commitment. The
 * rest are claims the contracts record without checking content: "produced" (producerOf) is the
 * provider's claim that the file at the root is the job's result; "data" roots are the job client's
 * claim, "weights" and "training-data" roots the model owner's. A produced edge's file is checked here
 * when `fetchRoot` is given (it must be a daios-compute-result-v1 file naming this chain, market, job,
 * output and input commitment); edges carry `claimedBy` and `check` to say which is which.
 */
import type { BlockTag, Provider } from "ethers";
import { DaiosError } from "../../core/errors.js";
import type { ComputeMarket, ModelRegistry } from "../../../../types/ethers-contracts/index.js";
import { COMPUTE_MODES, JOB_STATUS, type ComputeMode, type JobStatusName } from "./client.js";
import { inputCommitment } from "./commitment.js";

/** The result file format of compute providers (agents/src/roles/compute-provider/result-file.ts). */
export const RESULT_FILE_FORMAT = "daios-compute-result-v1";

export interface DataNode {
  id: string;
  kind: "data";
  root: bigint;
  /** The job that recorded this root as its output (ComputeMarket.producerOf), or undefined for source data. */
  producedBy: bigint | undefined;
}

export interface JobNode {
  id: string;
  kind: "job";
  jobId: bigint;
  modelId: bigint;
  mode: ComputeMode;
  status: JobStatusName;
  client: string;
  provider: string;
  inputCommitment: bigint;
  output: bigint;
  outputRoot: bigint;
  postedAt: number;
  settledAt: number;
}

export interface ModelNode {
  id: string;
  kind: "model";
  modelId: bigint;
  name: string;
  owner: string;
  weightsCommitment: bigint;
  weightsRoot: bigint;
  trainingDataRoot: bigint;
}

/** A job's input given inline (in its JobPosted event) rather than by storage root. */
export interface InlineInputNode {
  id: string;
  kind: "inline-input";
  jobId: bigint;
  inputCommitment: bigint;
  values: number[];
  /** inputCommitment(values) recomputed here (undefined when the values do not fit the model at all). */
  recomputed: bigint | undefined;
  /** The recomputed commitment is the job's. */
  matches: boolean;
}

export type LineageNode = DataNode | JobNode | ModelNode | InlineInputNode;

export type LineageRelation = "produced" | "model" | "input" | "data" | "weights" | "training-data";

export interface LineageEdge {
  from: string;
  to: string;
  relation: LineageRelation;
  /** The contract state the edge was read from. */
  source: string;
  /** Set when the record is a party's claim the contracts did not check (see the module comment). */
  claimedBy?: "provider" | "client" | "model owner";
  /** For a produced edge: whether the output file's content was checked against the job. */
  check?: ContentCheck;
}

/** verified: the file is the job's result file; failed: it is not; unavailable: it could not be fetched. */
export type ContentCheck = { result: "verified" } | { result: "failed"; reason: string } | { result: "unavailable"; reason: string } | { result: "not checked" };

export interface LineageGraph {
  root: bigint;
  /** The id of the root's node. */
  rootId: string;
  chainId: bigint;
  /** Every read was made at this block. */
  block: number;
  computeMarket: string;
  modelRegistry: string;
  nodes: LineageNode[];
  edges: LineageEdge[];
  /** Edges that close a cycle of records (listed in `edges` too). */
  cycles: LineageEdge[];
  /** The walk stopped at maxNodes before reaching every ancestor. */
  truncated: boolean;
}

export interface LineageSource {
  provider: Provider;
  computeMarket: ComputeMarket;
  modelRegistry: ModelRegistry;
}

export interface LineageOptions {
  /** Read state at this block (default: the latest). */
  blockTag?: number;
  /** Stop after this many nodes (default 1000). */
  maxNodes?: number;
  /**
   * Fetches a root's bytes (verified against the root, e.g. StorageClient.download); given, every
   * produced edge's output file is checked against its job, else it is marked "not checked".
   */
  fetchRoot?: (root: bigint) => Promise<Uint8Array>;
}

const UINT256_MAX = (1n << 256n) - 1n;
export const hex32 = (value: bigint) => `0x${value.toString(16).padStart(64, "0")}`;
const dataId = (root: bigint) => `data:${hex32(root)}`;
const jobId = (id: bigint) => `job:${id}`;
const modelId = (id: bigint) => `model:${id}`;

/** Walks the on-chain records back from `root`; see the module comment. */
export async function lineage(source: LineageSource, root: bigint, options: LineageOptions = {}): Promise<LineageGraph> {
  if (root <= 0n || root > UINT256_MAX) throw new DaiosError(`the root ${root} is not a nonzero 256-bit value`, { hint: "give a storage data root, 0x and up to 64 hex digits" });
  const { provider, computeMarket, modelRegistry } = source;
  const maxNodes = options.maxNodes ?? 1000;
  const block = options.blockTag ?? (await provider.getBlockNumber());
  const at: { blockTag: BlockTag } = { blockTag: block };
  const [chainId, marketAddress, registryAddress] = await Promise.all([provider.getNetwork().then((n) => n.chainId), computeMarket.getAddress(), modelRegistry.getAddress()]);

  const nodes = new Map<string, LineageNode>();
  const edges: LineageEdge[] = [];
  const edgeKeys = new Set<string>();
  let truncated = false;
  const addEdge = (edge: LineageEdge) => {
    const key = `${edge.from}>${edge.to}>${edge.relation}`;
    if (edgeKeys.has(key)) return;
    edgeKeys.add(key);
    edges.push(edge);
  };
  const room = () => {
    if (nodes.size < maxNodes) return true;
    truncated = true;
    return false;
  };

  // Breadth first over roots, jobs and models, each expanded once.
  const queue: { kind: "data"; root: bigint }[] = [{ kind: "data", root }];
  const expandedJobs = new Set<bigint>();
  const expandedModels = new Set<bigint>();

  const visitRoot = (r: bigint): string => {
    const id = dataId(r);
    if (!nodes.has(id) && room()) {
      nodes.set(id, { id, kind: "data", root: r, producedBy: undefined });
      queue.push({ kind: "data", root: r });
    }
    return id;
  };

  const expandModel = async (id: bigint): Promise<string> => {
    const nodeId = modelId(id);
    if (expandedModels.has(id)) return nodeId;
    expandedModels.add(id);
    const m = await modelRegistry.model(id, at);
    nodes.set(nodeId, { id: nodeId, kind: "model", modelId: id, name: m.name, owner: m.owner, weightsCommitment: m.weightsCommitment, weightsRoot: m.weightsRoot, trainingDataRoot: m.trainingDataRoot });
    if (m.weightsRoot !== 0n && room()) addEdge({ from: visitRoot(m.weightsRoot), to: nodeId, relation: "weights", source: `ModelRegistry.model(${id}).weightsRoot`, claimedBy: "model owner" });
    if (m.trainingDataRoot !== 0n && room()) addEdge({ from: visitRoot(m.trainingDataRoot), to: nodeId, relation: "training-data", source: `ModelRegistry.model(${id}).trainingDataRoot`, claimedBy: "model owner" });
    return nodeId;
  };

  const expandJob = async (id: bigint): Promise<string> => {
    const nodeId = jobId(id);
    if (expandedJobs.has(id)) return nodeId;
    expandedJobs.add(id);
    const [j, dataRoots] = await Promise.all([computeMarket.job(id, at), computeMarket.jobDataRoots(id, at)]);
    const node: JobNode = {
      id: nodeId,
      kind: "job",
      jobId: id,
      modelId: j.modelId,
      mode: COMPUTE_MODES[Number(j.mode)],
      status: JOB_STATUS[Number(j.status)],
      client: j.client,
      provider: j.provider,
      inputCommitment: j.inputCommitment,
      output: j.output,
      outputRoot: j.outputRoot,
      postedAt: Number(j.postedAt),
      settledAt: Number(j.settledAt),
    };
    nodes.set(nodeId, node);
    if (room()) addEdge({ from: await expandModel(j.modelId), to: nodeId, relation: "model", source: `ComputeMarket.job(${id}).modelId` });
    if (j.inputRoot !== 0n) {
      if (room()) addEdge({ from: visitRoot(j.inputRoot), to: nodeId, relation: "input", source: `ComputeMarket.job(${id}).inputRoot` });
    } else if (room()) {
      const inputId = `input:${id}`;
      const values = await inlineInput(source, id, node.postedAt);
      const m = await modelRegistry.model(j.modelId, at);
      // The input commitment depends on the inputs and their range only (hidden is not used).
      const shape = { inputs: Number(m.inputSize), hidden: 1, outputs: Number(m.outputSize), inputMax: Number(m.inputMax) };
      const recomputed = await inputCommitment(values, shape).catch(() => undefined);
      nodes.set(inputId, { id: inputId, kind: "inline-input", jobId: id, inputCommitment: j.inputCommitment, values, recomputed, matches: recomputed === j.inputCommitment });
      addEdge({ from: inputId, to: nodeId, relation: "input", source: `ComputeMarket JobPosted(${id}) event, block ${node.postedAt}` });
    }
    for (const [i, r] of dataRoots.entries()) {
      if (room()) addEdge({ from: visitRoot(r), to: nodeId, relation: "data", source: `ComputeMarket.jobDataRoots(${id})[${i}]`, claimedBy: "client" });
    }
    return nodeId;
  };

  nodes.set(dataId(root), { id: dataId(root), kind: "data", root, producedBy: undefined });
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const node = nodes.get(dataId(next.root)) as DataNode;
    const producer = await computeMarket.producerOf(next.root, at);
    if (producer === 0n) continue;
    node.producedBy = producer;
    if (!room() && !expandedJobs.has(producer)) continue;
    const j = await expandJob(producer);
    const check = options.fetchRoot ? await checkOutputFile(options.fetchRoot, next.root, nodes.get(j) as JobNode, chainId, marketAddress) : ({ result: "not checked" } as const);
    addEdge({ from: j, to: node.id, relation: "produced", source: `ComputeMarket.producerOf(${hex32(next.root)})`, claimedBy: "provider", check });
  }

  const list = [...nodes.values()];
  return {
    root,
    rootId: dataId(root),
    chainId,
    block,
    computeMarket: marketAddress,
    modelRegistry: registryAddress,
    nodes: list,
    edges,
    cycles: findCycleEdges(dataId(root), edges),
    truncated,
  };
}

/** Whether the file at `root` is the result file of `job`: format, chain, market, job, output and input commitment. */
async function checkOutputFile(fetchRoot: (root: bigint) => Promise<Uint8Array>, root: bigint, job: JobNode, chainId: bigint, market: string): Promise<ContentCheck> {
  let bytes: Uint8Array;
  try {
    bytes = await fetchRoot(root);
  } catch (error) {
    return { result: "unavailable", reason: (error instanceof Error ? error.message : String(error)).split("\n")[0] };
  }
  let file: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(bytes).toString("utf8"));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return { result: "failed", reason: "the file is not a JSON object" };
    file = parsed as Record<string, unknown>;
  } catch {
    return { result: "failed", reason: "the file is not JSON" };
  }
  const same = (value: unknown, expected: bigint) => {
    try {
      return (typeof value === "string" || typeof value === "number") && BigInt(value) === expected;
    } catch {
      return false;
    }
  };
  const wrong: string[] = [];
  if (file.format !== RESULT_FILE_FORMAT) wrong.push(`format ${JSON.stringify(file.format)}`);
  if (!same(file.chainId, chainId)) wrong.push(`chainId ${JSON.stringify(file.chainId)}`);
  if (typeof file.market !== "string" || file.market.toLowerCase() !== market.toLowerCase()) wrong.push(`market ${JSON.stringify(file.market)}`);
  if (!same(file.jobId, job.jobId)) wrong.push(`jobId ${JSON.stringify(file.jobId)}`);
  if (job.status !== "Accepted" || !same(file.output, job.output)) wrong.push(`output ${JSON.stringify(file.output)}${job.status === "Accepted" ? "" : ` (the job is ${job.status})`}`);
  if (!same(file.inputCommitment, job.inputCommitment)) wrong.push(`inputCommitment ${JSON.stringify(file.inputCommitment)}`);
  return wrong.length === 0 ? { result: "verified" } : { result: "failed", reason: `not job ${job.jobId}'s result file: ${wrong.join(", ")}` };
}

/** The bytes of a job's inline input, from its JobPosted event in block `postedAt`. */
async function inlineInput(source: LineageSource, id: bigint, postedAt: number): Promise<number[]> {
  const { computeMarket, provider } = source;
  const logs = await provider.getLogs({ address: await computeMarket.getAddress(), fromBlock: postedAt, toBlock: postedAt });
  for (const log of logs) {
    const parsed = computeMarket.interface.parseLog(log);
    if (parsed?.name === "JobPosted" && parsed.args.jobId === id) return [...Buffer.from((parsed.args.input as string).slice(2), "hex")];
  }
  throw new DaiosError(`job ${id} has no inline input and no input root: no JobPosted event of it in block ${postedAt}`);
}

/**
 * Edges that close a cycle, walking from the root towards its ancestors (against the edges'
 * direction): an edge into a node that is still on the walk's path.
 */
function findCycleEdges(rootId: string, edges: readonly LineageEdge[]): LineageEdge[] {
  const parents = new Map<string, LineageEdge[]>();
  for (const e of edges) parents.set(e.to, [...(parents.get(e.to) ?? []), e]);
  const state = new Map<string, "open" | "done">();
  const cycles: LineageEdge[] = [];
  // Iterative depth-first search (lineage graphs can be deep).
  const stack: { id: string; next: number }[] = [{ id: rootId, next: 0 }];
  state.set(rootId, "open");
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const incoming = parents.get(top.id) ?? [];
    if (top.next >= incoming.length) {
      state.set(top.id, "done");
      stack.pop();
      continue;
    }
    const edge = incoming[top.next++];
    const s = state.get(edge.from);
    if (s === "open") cycles.push(edge);
    else if (s === undefined) {
      state.set(edge.from, "open");
      stack.push({ id: edge.from, next: 0 });
    }
  }
  return cycles;
}

// ---------------------------------------------------------------------------------------------
// Text rendering

const RELATION_LABEL: Record<LineageRelation, string> = {
  produced: "produced by",
  model: "",
  input: "input",
  data: "data",
  weights: "weights",
  "training-data": "training data",
};

function describe(node: LineageNode): string {
  switch (node.kind) {
    case "data":
      return node.producedBy === undefined ? `${hex32(node.root)} (source data: not the output of a recorded job)` : `${hex32(node.root)}`;
    case "job":
      return `job ${node.jobId}: model ${node.modelId}, ${node.mode} mode, ${node.status}${node.status === "Accepted" ? `, output ${node.output}` : ""}, client ${node.client}${node.provider === "0x0000000000000000000000000000000000000000" ? "" : `, provider ${node.provider}`}, posted in block ${node.postedAt}${node.settledAt ? `, settled in block ${node.settledAt}` : ""}`;
    case "model":
      return `model ${node.modelId} "${node.name}", weights commitment ${hex32(node.weightsCommitment)}, owner ${node.owner}`;
    case "inline-input":
      return (
        `inline (${node.values.length} values in the JobPosted event, input commitment ${hex32(node.inputCommitment)}): [${node.values.join(",")}]` +
        (node.matches ? " (commitment recomputed: matches)" : `  ← MISMATCH: these values commit to ${node.recomputed === undefined ? "nothing (they do not fit the model)" : hex32(node.recomputed)}, not the job's input commitment`)
      );
  }
}

/** How far an edge that is a claim was checked, for the rendered line. */
function claimNote(edge: LineageEdge): string {
  if (edge.relation === "produced") {
    const check = edge.check ?? { result: "not checked" };
    if (check.result === "verified") return "  [provider's claim; output file checked: names this job, output and input]";
    if (check.result === "failed") return `  [provider's claim; output file CHECK FAILED: ${check.reason}]`;
    if (check.result === "unavailable") return `  [claimed by the provider; the output file could not be fetched to check it: ${check.reason}]`;
    return "  [claimed by the provider, content not checked]";
  }
  return edge.claimedBy ? `  [${edge.claimedBy}'s claim]` : "";
}

/**
 * The graph as an indented tree from the root back to its sources, headed by where it was read.
 * A node reached again is printed once and then referred to; an edge closing a cycle is marked.
 */
export function renderLineage(graph: LineageGraph): string {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const parents = new Map<string, LineageEdge[]>();
  for (const e of graph.edges) parents.set(e.to, [...(parents.get(e.to) ?? []), e]);
  const cycleEdges = new Set(graph.cycles);
  const shown = new Set<string>();
  const lines = [
    `lineage of ${hex32(graph.root)}`,
    `every record below was read from contract state at block ${graph.block} of chain ${graph.chainId}`,
    `(ComputeMarket ${graph.computeMarket}: producerOf, job, jobDataRoots, JobPosted; ModelRegistry ${graph.modelRegistry}: model)`,
    "checked by the market: an Accepted job's model, input commitment and output (zk proof or enclave signature);",
    "claims it did not check: \"produced by\" (the provider's), data (the job client's), weights and training data (the model owner's)",
    "",
  ];
  const root = byId.get(graph.rootId);
  if (!root) return lines.join("\n");
  lines.push(describe(root));
  shown.add(root.id);
  const walk = (id: string, prefix: string) => {
    const incoming = parents.get(id) ?? [];
    incoming.forEach((edge, i) => {
      const last = i === incoming.length - 1;
      const node = byId.get(edge.from);
      const label = RELATION_LABEL[edge.relation] ? `${RELATION_LABEL[edge.relation]} ` : "";
      const text = node ? describe(node) : edge.from;
      const branch = `${prefix}${last ? "└─ " : "├─ "}${label}`;
      if (cycleEdges.has(edge)) {
        lines.push(`${branch}${text}  ← CYCLE: this record names a descendant of itself`);
      } else if (shown.has(edge.from)) {
        lines.push(`${branch}${node?.kind === "data" ? hex32((node as DataNode).root) : edge.from.replace(":", " ")} (shown above)`);
      } else {
        lines.push(`${branch}${text}${claimNote(edge)}`);
        shown.add(edge.from);
        walk(edge.from, `${prefix}${last ? "   " : "│  "}`);
      }
    });
  };
  walk(root.id, "");
  if (graph.truncated) lines.push("", `the walk stopped after ${graph.nodes.length} nodes: older ancestors are not shown`);
  const jobs = graph.nodes.filter((n) => n.kind === "job").length;
  const sources = graph.nodes.filter((n) => n.kind === "data" && n.producedBy === undefined).length;
  lines.push("", `${graph.nodes.length} nodes: ${jobs} job(s), ${sources} source root(s)${graph.cycles.length ? `, ${graph.cycles.length} cycle(s)` : ""}`);
  return lines.join("\n");
}
