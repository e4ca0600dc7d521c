/**
 * The provider's chunk store on disk. One directory per data root:
 *   data.bin   the file's bytes
 *   tree.bin   every tree level, leaves first (32-byte big-endian nodes)
 *   meta.json  size, roots, chunk count, when it was stored
 * A file is written into a temporary directory and renamed into place only once its root has been
 * verified, so a crash never leaves a half-written file under a valid root.
 */
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, open, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { STORAGE } from "../../generated/constants.js";
import { DataTree, chunkCount, type TreeHasher } from "../../sdk/storage/format.js";
import { ingest } from "../../sdk/storage/ingest.js";
import type { PoseidonFn } from "../../sdk/storage/poseidon.js";
import { DaiosError } from "../../core/errors.js";

export interface StoredFile {
  dataRoot: bigint;
  size: number;
  tree: DataTree;
  dir: string;
}

interface Meta {
  dataRoot: string;
  treeRoot: string;
  size: number;
  chunkCount: number;
  storedAt: string;
}

export class RootMismatchError extends DaiosError {
}

export function rootHex(root: bigint): string {
  return `0x${root.toString(16).padStart(64, "0")}`;
}

export class FileStore {
  private readonly files = new Map<string, StoredFile>();

  constructor(
    readonly dir: string,
    private readonly hasher: TreeHasher,
    private readonly poseidon: PoseidonFn,
  ) {}

  /** Loads every stored file's tree (after a restart). Leftover temporary directories are removed. */
  async open(): Promise<void> {
    await mkdir(path.join(this.dir, "files"), { recursive: true });
    await rm(path.join(this.dir, "tmp"), { recursive: true, force: true });
    await mkdir(path.join(this.dir, "tmp"), { recursive: true });
    for (const name of await readdir(path.join(this.dir, "files"))) {
      const dir = path.join(this.dir, "files", name);
      const meta = JSON.parse(await readFile(path.join(dir, "meta.json"), "utf8")) as Meta;
      const tree = await this.loadTree(dir, meta.size);
      if (rootHex(tree.dataRoot) !== meta.dataRoot) {
        throw new DaiosError(`stored file ${dir} is corrupt: its tree does not hash to ${meta.dataRoot}`, { hint: "delete the directory; the keeper will report the missed proofs and the slot can be repaired" });
      }
      this.files.set(meta.dataRoot, { dataRoot: tree.dataRoot, size: meta.size, tree, dir });
    }
  }

  has(root: bigint): boolean {
    return this.files.has(rootHex(root));
  }

  get(root: bigint): StoredFile | undefined {
    return this.files.get(rootHex(root));
  }

  list(): StoredFile[] {
    return [...this.files.values()];
  }

  /**
   * Streams a file into the store. Rejects, storing nothing, when the stream's length differs from
   * `size` or its data root differs from `expectedRoot`.
   */
  async put(stream: AsyncIterable<Uint8Array>, size: number, expectedRoot: bigint): Promise<StoredFile> {
    chunkCount(size);
    const existing = this.get(expectedRoot);
    if (existing) {
      // Drain the body so the client's request completes.
      for await (const piece of stream) void piece;
      return existing;
    }
    const tmp = path.join(this.dir, "tmp", randomBytes(8).toString("hex"));
    await mkdir(tmp, { recursive: true });
    const out = createWriteStream(path.join(tmp, "data.bin"));
    try {
      const write = (block: Uint8Array) =>
        new Promise<void>((resolve, reject) => out.write(Buffer.from(block), (e) => (e ? reject(e) : resolve())));
      const tree = await ingest(stream, { size, hasher: this.hasher, poseidon: this.poseidon, onBlock: write });
      await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
      if (tree.dataRoot !== expectedRoot) {
        throw new RootMismatchError(
          `the uploaded data hashes to root ${rootHex(tree.dataRoot)}, not the deal's root ${rootHex(expectedRoot)}`, { hint: "upload the file the deal was created for" });
      }
      await writeFile(path.join(tmp, "tree.bin"), Buffer.concat(tree.levels.map((l) => Buffer.from(l.buffer, l.byteOffset, l.byteLength))));
      const meta: Meta = {
        dataRoot: rootHex(tree.dataRoot),
        treeRoot: rootHex(tree.treeRoot),
        size,
        chunkCount: tree.chunkCount,
        storedAt: new Date().toISOString(),
      };
      await writeFile(path.join(tmp, "meta.json"), `${JSON.stringify(meta, null, 2)}\n`);
      const dir = path.join(this.dir, "files", meta.dataRoot);
      if (existsSync(dir)) await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
      const stored = { dataRoot: tree.dataRoot, size, tree, dir };
      this.files.set(meta.dataRoot, stored);
      return stored;
    } catch (error) {
      out.destroy();
      await rm(tmp, { recursive: true, force: true });
      throw error;
    }
  }

  /** Removes a file (e.g. after its deals ended). */
  async remove(root: bigint): Promise<void> {
    const stored = this.get(root);
    if (!stored) return;
    this.files.delete(rootHex(root));
    await rm(stored.dir, { recursive: true, force: true });
  }

  /** Reads chunk `index` of a stored file, zero-padded to CHUNK_SIZE. */
  async readChunk(root: bigint, index: number): Promise<Uint8Array> {
    const stored = this.require(root);
    const chunk = new Uint8Array(STORAGE.CHUNK_SIZE);
    const handle = await open(path.join(stored.dir, "data.bin"), "r");
    try {
      const start = index * STORAGE.CHUNK_SIZE;
      await handle.read(chunk, 0, Math.min(STORAGE.CHUNK_SIZE, stored.size - start), start);
    } finally {
      await handle.close();
    }
    return chunk;
  }

  dataPath(root: bigint): string {
    return path.join(this.require(root).dir, "data.bin");
  }

  private require(root: bigint): StoredFile {
    const stored = this.get(root);
    if (!stored) throw new DaiosError(`no file with data root ${rootHex(root)} is stored here`, { hint: "check the root; list stored files at GET /v1/files" });
    return stored;
  }

  private async loadTree(dir: string, size: number): Promise<DataTree> {
    const bytes = await readFile(path.join(dir, "tree.bin"));
    const levels: Uint8Array[] = [];
    let count = chunkCount(size);
    let offset = 0;
    for (let h = 0; h <= STORAGE.TREE_DEPTH; h++) {
      levels.push(new Uint8Array(bytes.buffer, bytes.byteOffset + offset, count * 32));
      offset += count * 32;
      count = Math.ceil(count / 2);
    }
    return DataTree.fromLevels(size, levels, this.poseidon);
  }
}
