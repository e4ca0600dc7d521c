/**
 * Streaming ingest: cuts a byte stream into chunk-aligned blocks, hashes their leaves as they arrive
 * and builds the file's tree at the end, so neither the client nor a provider holds a whole file in
 * memory (only its leaves: 32 bytes per 256-byte chunk).
 */
import { DataFormatError, DataTree, chunkCount, type TreeHasher } from "./format.js";
import type { PoseidonFn } from "./poseidon.js";

/** Bytes hashed per step: a multiple of CHUNK_SIZE, large enough to keep every hasher thread busy. */
export const INGEST_BLOCK = 4 * 1024 * 1024;

export interface IngestOptions {
  /** Exact byte length announced before the stream starts; a stream that differs is rejected. */
  size: number;
  hasher: TreeHasher;
  poseidon: PoseidonFn;
  /** Called with each block in order, before it is hashed (e.g. to write it to disk). */
  onBlock?: (block: Uint8Array) => void | Promise<void>;
  /** Called with the bytes received so far. */
  onProgress?: (bytes: number) => void;
}

export async function ingest(stream: AsyncIterable<Uint8Array>, options: IngestOptions): Promise<DataTree> {
  const { size, hasher, poseidon } = options;
  const leaves = new Uint8Array(chunkCount(size) * 32);
  let leafOffset = 0;
  let received = 0;
  const buffer = new Uint8Array(INGEST_BLOCK);
  let filled = 0;

  const flush = async (block: Uint8Array) => {
    await options.onBlock?.(block);
    const hashed = await hasher.leaves(block);
    leaves.set(hashed, leafOffset);
    leafOffset += hashed.length;
  };

  for await (const piece of stream) {
    received += piece.length;
    if (received > size) {
      throw new DataFormatError(`the stream holds more than the announced ${size} bytes`);
    }
    let offset = 0;
    while (offset < piece.length) {
      const take = Math.min(piece.length - offset, INGEST_BLOCK - filled);
      buffer.set(piece.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === INGEST_BLOCK) {
        await flush(buffer);
        filled = 0;
      }
    }
    options.onProgress?.(received);
  }
  if (received !== size) {
    throw new DataFormatError(`the stream ended after ${received} of the announced ${size} bytes`);
  }
  if (filled > 0) await flush(buffer.subarray(0, filled));
  if (leafOffset !== leaves.length) throw new Error(`ingest hashed ${leafOffset / 32} of ${leaves.length / 32} leaves`);
  return DataTree.fromLeaves(size, leaves, hasher, poseidon);
}

