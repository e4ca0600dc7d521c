/**
 * Snapshot files: every key of a stream at one seq, enough to rebuild the stream's map and check its
 * root against a checkpoint. The node stores one as a storage deal and records it on the
 * MemoryRegistry (recordSnapshot(stream, seq, storageRoot, dealId)).
 *
 * Format (binary, big-endian):
 *
 *   magic     8 bytes  "DAIOSMEM"
 *   version   uint8    1
 *   chainId   uint64
 *   registry  20 bytes the MemoryRegistry's address
 *   stream    uint256  32 bytes
 *   seq       uint64   the stream's seq the snapshot is of
 *   root      32 bytes the map's root at seq (the checkpointed root)
 *   count     uint32   number of entries
 *   entries   count ×  in key order (byte-wise), tombstones included:
 *     keyLength uint16 (1..256) ‖ key ‖ seq uint64 ‖ version uint64 ‖ flag uint8 (0 tombstone, 1 value)
 *     ‖ when flag = 1: valueLength uint32 (0..65536) ‖ value
 *
 * Reading: keyHash = keccak256(key), valueHash = keccak256(value) (bytes32(0) for a tombstone); the
 * leaves (keyHash, valueHash, seq, version) give the root (sdk/memory/smt.ts), which must equal `root`.
 */
import { getAddress } from "ethers";
import { keccak256 } from "../../core/keccak.js";
import { DaiosError } from "../../core/errors.js";
import { memoryRoot } from "../../sdk/memory/smt.js";
import { MAX_KEY_BYTES, MAX_VALUE_BYTES, TOMBSTONE_VALUE_HASH } from "../../sdk/memory/signing.js";
import type { MemoryStore } from "./store.js";

export const SNAPSHOT_MAGIC = "DAIOSMEM";
export const SNAPSHOT_VERSION = 1;

export interface SnapshotEntry {
  key: Uint8Array;
  /** null for a tombstone. */
  value: Uint8Array | null;
  seq: bigint;
  version: bigint;
}

export interface Snapshot {
  chainId: bigint;
  registry: string;
  stream: bigint;
  seq: bigint;
  root: string;
  entries: SnapshotEntry[];
}

/** A snapshot file that does not decode or whose entries do not give its root. */
export class SnapshotError extends DaiosError {}

const hex = (bytes: Uint8Array) => `0x${Buffer.from(bytes).toString("hex")}`;

/** The file's bytes; entries are written in key order whatever order they come in. */
export function encodeSnapshot(snapshot: Snapshot): Buffer {
  const entries = [...snapshot.entries].sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  const parts: Buffer[] = [];
  const header = Buffer.alloc(8 + 1 + 8 + 20 + 32 + 8 + 32 + 4);
  let o = header.write(SNAPSHOT_MAGIC, 0, "latin1");
  o = header.writeUInt8(SNAPSHOT_VERSION, o);
  o = header.writeBigUInt64BE(snapshot.chainId, o);
  o += Buffer.from(getAddress(snapshot.registry).slice(2), "hex").copy(header, o);
  o += Buffer.from(snapshot.stream.toString(16).padStart(64, "0"), "hex").copy(header, o);
  o = header.writeBigUInt64BE(snapshot.seq, o);
  o += Buffer.from(snapshot.root.slice(2), "hex").copy(header, o);
  header.writeUInt32BE(entries.length, o);
  parts.push(header);
  for (const e of entries) {
    const head = Buffer.alloc(2 + e.key.length + 8 + 8 + 1 + (e.value === null ? 0 : 4));
    let p = head.writeUInt16BE(e.key.length, 0);
    p += Buffer.from(e.key).copy(head, p);
    p = head.writeBigUInt64BE(e.seq, p);
    p = head.writeBigUInt64BE(e.version, p);
    p = head.writeUInt8(e.value === null ? 0 : 1, p);
    if (e.value !== null) head.writeUInt32BE(e.value.length, p);
    parts.push(head);
    if (e.value !== null) parts.push(Buffer.from(e.value));
  }
  return Buffer.concat(parts);
}

/** Decodes a snapshot file and checks that its entries give its root; throws SnapshotError otherwise. */
export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 0;
  const need = (n: number, what: string) => {
    if (o + n > b.length) throw new SnapshotError(`the snapshot file ends inside ${what} (offset ${o}, ${b.length} bytes)`, { hint: "the file is truncated: fetch it again" });
  };
  need(8 + 1 + 8 + 20 + 32 + 8 + 32 + 4, "the header");
  if (b.toString("latin1", 0, 8) !== SNAPSHOT_MAGIC) throw new SnapshotError("the file is not a memory snapshot (bad magic)", { hint: "pass a file written by a memory node" });
  o = 8;
  const version = b.readUInt8(o++);
  if (version !== SNAPSHOT_VERSION) throw new SnapshotError(`snapshot format version ${version} is not supported (this reader knows ${SNAPSHOT_VERSION})`, { hint: "update daios" });
  const chainId = b.readBigUInt64BE(o);
  o += 8;
  const registry = getAddress(hex(b.subarray(o, o + 20)));
  o += 20;
  const stream = BigInt(hex(b.subarray(o, o + 32)));
  o += 32;
  const seq = b.readBigUInt64BE(o);
  o += 8;
  const root = hex(b.subarray(o, o + 32));
  o += 32;
  const count = b.readUInt32BE(o);
  o += 4;
  const entries: SnapshotEntry[] = [];
  for (let i = 0; i < count; i++) {
    need(2, `entry ${i}`);
    const keyLength = b.readUInt16BE(o);
    o += 2;
    if (keyLength === 0 || keyLength > MAX_KEY_BYTES) throw new SnapshotError(`entry ${i} has a key of ${keyLength} bytes`, { hint: "the file is corrupt" });
    need(keyLength + 17, `entry ${i}`);
    const key = Buffer.from(b.subarray(o, o + keyLength));
    o += keyLength;
    const entrySeq = b.readBigUInt64BE(o);
    const entryVersion = b.readBigUInt64BE(o + 8);
    const flag = b.readUInt8(o + 16);
    o += 17;
    let value: Buffer | null = null;
    if (flag === 1) {
      need(4, `entry ${i}`);
      const length = b.readUInt32BE(o);
      o += 4;
      if (length > MAX_VALUE_BYTES) throw new SnapshotError(`entry ${i} has a value of ${length} bytes`, { hint: "the file is corrupt" });
      need(length, `entry ${i}`);
      value = Buffer.from(b.subarray(o, o + length));
      o += length;
    } else if (flag !== 0) throw new SnapshotError(`entry ${i} has flag ${flag}`, { hint: "the file is corrupt" });
    entries.push({ key, value, seq: entrySeq, version: entryVersion });
  }
  if (o !== b.length) throw new SnapshotError(`the snapshot file has ${b.length - o} bytes after its last entry`, { hint: "the file is corrupt" });
  const computed = snapshotRoot(entries);
  if (computed !== root) throw new SnapshotError(`the snapshot's entries give root ${computed}, not the recorded ${root}`, { hint: "the file is corrupt or not the recorded snapshot" });
  return { chainId, registry, stream, seq, root, entries };
}

/** The map root of snapshot entries. */
export function snapshotRoot(entries: readonly SnapshotEntry[]): string {
  return memoryRoot(
    entries.map((e) => ({
      keyHash: hex(keccak256(e.key)),
      valueHash: e.value === null ? TOMBSTONE_VALUE_HASH : hex(keccak256(e.value)),
      seq: e.seq,
      version: e.version,
    })),
  );
}

/** Every key's state at `seq` of the stream, as snapshot entries (tombstones included, key order). */
export function snapshotEntries(store: MemoryStore, stream: bigint, seq: bigint): SnapshotEntry[] {
  const out: SnapshotEntry[] = [];
  for (const s of store.statesAt(stream, seq)) {
    out.push({ key: s.key, value: s.valueHash === TOMBSTONE_VALUE_HASH ? null : (s.value ?? new Uint8Array()), seq: BigInt(s.seq), version: BigInt(s.version) });
  }
  return out;
}
