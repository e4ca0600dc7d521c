/**
 * Verified download: the leaf level is fetched first and hashed up to the data root; then the file
 * is fetched in chunk-aligned ranges, each range's leaves are recomputed and compared with the
 * verified leaves, and a range that fails (bad bytes, dead provider) is fetched again from the next
 * provider. Nothing unverified is ever written to the output.
 */
import { open, rename, rm } from "node:fs/promises";
import { STORAGE } from "../../generated/constants.js";
import { DataTree, chunkCount, type TreeHasher } from "./format.js";
import type { PoseidonFn } from "./poseidon.js";
import { DaiosError } from "../../core/errors.js";

/** Bytes per range request: a multiple of CHUNK_SIZE. */
export const DOWNLOAD_RANGE = 4 * 1024 * 1024;
const PARALLEL_RANGES = 4;

export interface DownloadOptions {
  dataRoot: bigint;
  /** Provider base URLs, tried in order (rotated per range so the load is shared). */
  endpoints: string[];
  out: string;
  hasher: TreeHasher;
  poseidon: PoseidonFn;
  onProgress?: (bytes: number, total: number) => void;
  fetchTimeoutMs?: number;
}

export interface DownloadResult {
  size: number;
  /** Ranges that had to be fetched again from another provider. */
  retries: number;
  /** Endpoint → ranges it served. */
  served: Record<string, number>;
}

function rootHex(root: bigint): string {
  return `0x${root.toString(16).padStart(64, "0")}`;
}

async function fetchBytes(url: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<Uint8Array> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) {
    const body = await response.text().catch(() => "");
    throw new Error(`${url}: HTTP ${response.status} ${body.slice(0, 200)}`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

/** Fetches the leaf level from the first provider whose leaves hash to the data root. */
async function verifiedLeaves(options: DownloadOptions, timeoutMs: number): Promise<{ tree: DataTree; problems: string[] }> {
  const problems: string[] = [];
  const root = rootHex(options.dataRoot);
  for (const endpoint of options.endpoints) {
    try {
      const meta = (await (await fetch(`${endpoint}/v1/files/${root}/meta`, { signal: AbortSignal.timeout(timeoutMs) })).json()) as { size?: number; error?: string };
      if (typeof meta.size !== "number") throw new Error(meta.error ?? "no size in the meta answer");
      const leaves = await fetchBytes(`${endpoint}/v1/files/${root}/leaves`, timeoutMs);
      if (leaves.length !== chunkCount(meta.size) * 32) throw new Error(`sent ${leaves.length / 32} leaves for ${meta.size} bytes`);
      const tree = await DataTree.fromLeaves(meta.size, leaves, options.hasher, options.poseidon);
      if (tree.dataRoot !== options.dataRoot) throw new Error(`its leaves hash to ${rootHex(tree.dataRoot)}, not ${root}`);
      return { tree, problems };
    } catch (error) {
      problems.push(`${endpoint}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new DaiosError(
    `no provider served verifiable leaves for ${root}:\n  ${problems.join("\n  ")}`, { hint: "check the root (daios storage status <dealId> prints it) and that a provider holding it is up" });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export async function downloadVerified(options: DownloadOptions): Promise<DownloadResult> {
  if (options.endpoints.length === 0) throw new DaiosError("no provider endpoints to download from", { hint: "pass --provider URL or a deal whose slots are filled" });
  const timeoutMs = options.fetchTimeoutMs ?? 30_000;
  const { tree } = await verifiedLeaves(options, timeoutMs);
  const size = tree.size;
  const leaves = tree.levels[0];
  const ranges = Math.ceil(size / DOWNLOAD_RANGE);
  const served: Record<string, number> = {};
  let retries = 0;
  let done = 0;
  // Written beside the target and renamed at the end: a failed download leaves no half file.
  const partial = `${options.out}.partial`;
  const file = await open(partial, "w");
  let complete = false;
  try {
    const fetchRange = async (r: number): Promise<void> => {
      const start = r * DOWNLOAD_RANGE;
      const end = Math.min(start + DOWNLOAD_RANGE, size) - 1;
      const problems: string[] = [];
      for (let attempt = 0; attempt < options.endpoints.length; attempt++) {
        const endpoint = options.endpoints[(r + attempt) % options.endpoints.length];
        try {
          const bytes = await fetchBytes(`${endpoint}/v1/files/${rootHex(options.dataRoot)}`, timeoutMs, { range: `bytes=${start}-${end}` });
          if (bytes.length !== end - start + 1) throw new Error(`sent ${bytes.length} bytes for a ${end - start + 1}-byte range`);
          const expected = leaves.subarray((start / STORAGE.CHUNK_SIZE) * 32, (start / STORAGE.CHUNK_SIZE) * 32 + Math.ceil(bytes.length / STORAGE.CHUNK_SIZE) * 32);
          if (!sameBytes(await options.hasher.leaves(bytes), expected)) {
            throw new Error(`bytes ${start}-${end} do not match the verified leaves`);
          }
          await file.write(bytes, 0, bytes.length, start);
          served[endpoint] = (served[endpoint] ?? 0) + 1;
          if (attempt > 0) retries++;
          done += bytes.length;
          options.onProgress?.(done, size);
          return;
        } catch (error) {
          problems.push(`${endpoint}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      throw new DaiosError(`bytes ${start}-${end} of ${rootHex(options.dataRoot)} could not be fetched and verified:\n  ${problems.join("\n  ")}`, { hint: "retry later or add providers that hold the file" });
    };
    let next = 0;
    const workers = Array.from({ length: Math.min(PARALLEL_RANGES, ranges) }, async () => {
      while (next < ranges) await fetchRange(next++);
    });
    await Promise.all(workers);
    await file.truncate(size);
    complete = true;
  } finally {
    await file.close();
    if (complete) await rename(partial, options.out);
    else await rm(partial, { force: true });
  }
  return { size, retries, served };
}
