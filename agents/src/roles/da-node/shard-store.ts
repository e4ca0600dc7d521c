/**
 * A DA node's shards on disk, one directory per blob (a node holds one shard of each blob: the one at
 * its position in the blob's quorum):
 *
 *   <dir>/blobs/<blobId>/shard.bin   the shard's bytes
 *   <dir>/blobs/<blobId>/meta.json   the blob as the chain recorded it, the shard's range proof, and
 *                                    whether this node signed it and claimed its fee
 *
 * A shard is written into <dir>/tmp, each file fsync'ed, then the directory is renamed into place and
 * its parent fsync'ed: after a crash a blob directory is either whole or absent. Only shards that were
 * checked against the blob's root are ever put here (the HTTP API checks before calling put).
 */
import { existsSync } from "node:fs";
import { mkdir, open, readFile, readdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { DA } from "../../generated/constants.js";
import { DaiosError } from "../../core/errors.js";
import { openRange, verifyProof, type CommitHasher, type RangeOpening } from "../../sdk/da/commitment.js";

/** What the node records about a stored shard. */
export interface ShardMeta {
  blobId: string;
  position: number;
  /** bytes32 hex. */
  root: string;
  size: number;
  epoch: string;
  quorum: number;
  quorumSize: number;
  chunksPerShard: number;
  /** Chunks of the whole coded blob. */
  leafCount: number;
  /** The shard's range proof, 0x-hex nodes. */
  proof: string[];
  storedAt: string;
  /** True once this node handed out its signature over the blob's certificate message. */
  signed: boolean;
  /** True once this node's fee for the blob was claimed, or there is none to claim. */
  settled: boolean;
  /** Last block of the retention period, once the blob is certified (the files may go after it). */
  retainUntil?: number;
}

export interface StoredShard {
  meta: ShardMeta;
  dir: string;
}

/** The shard (or the chunk) is not on disk any more. */
export class ShardMissingError extends DaiosError {}

const OPENING_CACHE = 16;

async function writeDurable(file: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(file, "w");
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class ShardStore {
  private readonly shards = new Map<string, StoredShard>();
  /** Openings of recently read shards (blob id → chunk proofs), most recent last. */
  private readonly openings = new Map<string, RangeOpening>();

  constructor(
    readonly dir: string,
    private readonly hasher: CommitHasher,
  ) {}

  private get blobsDir(): string {
    return path.join(this.dir, "blobs");
  }

  private get tmpDir(): string {
    return path.join(this.dir, "tmp");
  }

  /** Loads every stored shard's meta (after a restart); leftovers of interrupted writes are removed. */
  async open(): Promise<void> {
    await mkdir(this.blobsDir, { recursive: true });
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
    for (const name of await readdir(this.blobsDir)) {
      const dir = path.join(this.blobsDir, name);
      let meta: ShardMeta;
      try {
        meta = JSON.parse(await readFile(path.join(dir, "meta.json"), "utf8")) as ShardMeta;
      } catch (error) {
        throw new DaiosError(`stored shard ${dir} has no readable meta.json (${(error as Error).message})`, {
          hint: "delete the directory: the node then no longer holds that blob (it can be challenged and slashed for it)",
        });
      }
      this.shards.set(meta.blobId, { meta, dir });
    }
  }

  get(blobId: bigint): StoredShard | undefined {
    return this.shards.get(blobId.toString());
  }

  list(): StoredShard[] {
    return [...this.shards.values()];
  }

  /**
   * Stores a verified shard durably. A shard of the same blob with the same root is kept as it is
   * (a client that sends twice gets the same answer); one with another root (an earlier chain that
   * reused the blob id) is replaced.
   */
  async put(meta: ShardMeta, data: Uint8Array): Promise<StoredShard> {
    const existing = this.get(BigInt(meta.blobId));
    if (existing && existing.meta.root === meta.root && existing.meta.position === meta.position && existsSync(path.join(existing.dir, "shard.bin"))) {
      return existing;
    }
    const tmp = path.join(this.tmpDir, randomBytes(8).toString("hex"));
    await mkdir(tmp);
    try {
      await writeDurable(path.join(tmp, "shard.bin"), data);
      await writeDurable(path.join(tmp, "meta.json"), `${JSON.stringify(meta, null, 2)}\n`);
      await syncDirectory(tmp);
      const dir = path.join(this.blobsDir, meta.blobId);
      if (existsSync(dir)) await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
      await syncDirectory(this.blobsDir);
      const stored = { meta, dir };
      this.shards.set(meta.blobId, stored);
      this.openings.delete(meta.blobId);
      return stored;
    } catch (error) {
      await rm(tmp, { recursive: true, force: true });
      throw error;
    }
  }

  /** Changes fields of a stored shard's meta (written durably: temp file, fsync, rename). */
  async update(blobId: bigint, patch: Partial<Pick<ShardMeta, "signed" | "settled" | "retainUntil">>): Promise<void> {
    const stored = this.get(blobId);
    if (!stored) return;
    if (!existsSync(stored.dir)) {
      // Deleted behind the node's back: it no longer holds the shard.
      this.shards.delete(stored.meta.blobId);
      this.openings.delete(stored.meta.blobId);
      return;
    }
    const meta = { ...stored.meta, ...patch };
    const tmp = path.join(stored.dir, `meta.json.${randomBytes(4).toString("hex")}`);
    await writeDurable(tmp, `${JSON.stringify(meta, null, 2)}\n`);
    await rename(tmp, path.join(stored.dir, "meta.json"));
    stored.meta = meta;
  }

  /** Forgets a blob and deletes its files. */
  async remove(blobId: bigint): Promise<void> {
    const stored = this.get(blobId);
    if (!stored) return;
    this.shards.delete(blobId.toString());
    this.openings.delete(blobId.toString());
    await rm(stored.dir, { recursive: true, force: true });
  }

  /** The shard's bytes; ShardMissingError when its file is gone. */
  async readShard(blobId: bigint): Promise<Buffer> {
    const stored = this.require(blobId);
    try {
      return await readFile(path.join(stored.dir, "shard.bin"));
    } catch (error) {
      throw new ShardMissingError(`the shard of blob ${blobId} is no longer on disk (${(error as Error).message})`, {
        hint: "the node cannot serve it or answer challenges for it",
      });
    }
  }

  /** Chunk `index` (of the whole coded blob) with its Merkle proof, checked against the root. */
  async readChunk(blobId: bigint, index: number): Promise<{ chunk: Buffer; proof: Buffer[] }> {
    const { meta, dir } = this.require(blobId);
    const first = meta.position * meta.chunksPerShard;
    if (!Number.isInteger(index) || index < first || index >= first + meta.chunksPerShard) {
      throw new DaiosError(`chunk ${index} of blob ${blobId} is not in this node's shard (chunks ${first} to ${first + meta.chunksPerShard - 1})`, {
        hint: `ask the member at position ${Math.floor(index / meta.chunksPerShard)} of the blob's quorum`,
      });
    }
    const root = Buffer.from(meta.root.slice(2), "hex");
    let opening = this.openings.get(meta.blobId);
    let chunk: Buffer;
    if (opening) {
      chunk = Buffer.alloc(DA.CHUNK_SIZE);
      try {
        const handle = await open(path.join(dir, "shard.bin"), "r");
        try {
          await handle.read(chunk, 0, DA.CHUNK_SIZE, (index - first) * DA.CHUNK_SIZE);
        } finally {
          await handle.close();
        }
      } catch (error) {
        throw new ShardMissingError(`the shard of blob ${blobId} is no longer on disk (${(error as Error).message})`);
      }
    } else {
      const shard = await this.readShard(blobId);
      const proof = meta.proof.map((node) => Buffer.from(node.slice(2), "hex"));
      opening = openRange(root, meta.leafCount, first, shard, proof, this.hasher);
      if (!opening) throw new ShardMissingError(`the stored shard of blob ${blobId} no longer matches its root ${meta.root}: it is corrupt`);
      this.openings.set(meta.blobId, opening);
      if (this.openings.size > OPENING_CACHE) this.openings.delete(this.openings.keys().next().value as string);
      chunk = shard.subarray((index - first) * DA.CHUNK_SIZE, (index - first + 1) * DA.CHUNK_SIZE);
    }
    const proof = opening.proof(index);
    if (!verifyProof(root, index, chunk, proof, meta.leafCount)) {
      this.openings.delete(meta.blobId);
      throw new ShardMissingError(`chunk ${index} of blob ${blobId} on disk does not match the root ${meta.root}: the shard is corrupt`);
    }
    return { chunk: Buffer.from(chunk), proof };
  }

  private require(blobId: bigint): StoredShard {
    const stored = this.get(blobId);
    if (!stored) throw new ShardMissingError(`this node holds no shard of blob ${blobId}`, { hint: "list held shards at GET /v1/blobs" });
    return stored;
  }
}
