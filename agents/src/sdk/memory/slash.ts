/**
 * Evidence against a memory node, as MemoryRegistry's slashing functions take it.
 *
 * A writer keeps the node's receipts (MemoryClient.receipts(), or a receipts file). When a posted
 * checkpoint at or after a receipt's seq shows one of its keys absent, older, or with another value at
 * that seq (MemoryClient.auditReceipt finds these and the proof), `contradictionArgs` builds the call
 * `slashContradiction(...args)`; when a root the node signed for a verified read (newer than its checkpoint)
 * does the same, `signedRootArgs` builds `slashSignedRoot(...args)`; when no checkpoint reached the receipt's seq within the stream's
 * checkpoint window, `uncheckpointedArgs` builds `slashUncheckpointed(...args)`. Anyone may send either;
 * the reporter gets the bounty share, the stream's owner the rest.
 */
import type { MemoryReceiptRecord } from "./client.js";
import type { MemoryProof } from "./smt.js";
import { MemoryInputError, TOMBSTONE_VALUE_HASH } from "./signing.js";

/** A posted checkpoint as the registry's history records it (the Checkpointed event's fields). */
export interface PostedCheckpoint {
  index: bigint;
  root: string;
  seq: bigint;
  timestamp: bigint;
}

const receiptStruct = (r: MemoryReceiptRecord) => ({ stream: r.stream, seq: r.seq, entriesHash: r.entriesHash, issuedAt: r.issuedAt });

/** The registry's Proof struct of `proof` (a zero leaf when the walk ended at an empty subtree). */
export function proofStruct(proof: MemoryProof) {
  const leaf = proof.leaf ?? { keyHash: TOMBSTONE_VALUE_HASH, valueHash: TOMBSTONE_VALUE_HASH, seq: 0n, version: 0n };
  return { siblings: proof.siblings, hasLeaf: proof.leaf !== undefined, leaf: { keyHash: leaf.keyHash, valueHash: leaf.valueHash, seq: leaf.seq, version: leaf.version } };
}

/** Arguments of MemoryRegistry.slashContradiction for op `index` of `receipt`, shown by `proof` against `checkpoint`. */
export function contradictionArgs(receipt: MemoryReceiptRecord, index: number, checkpoint: PostedCheckpoint, proof: MemoryProof) {
  if (!Number.isInteger(index) || index < 0 || index >= receipt.entries.length) {
    throw new MemoryInputError(`op ${index} is not in the receipt of seq ${receipt.seq} (it has ${receipt.entries.length} ops)`, { hint: "pick the index of the contradicted op" });
  }
  if (checkpoint.seq < receipt.seq) {
    throw new MemoryInputError(`checkpoint seq ${checkpoint.seq} is before the receipt's seq ${receipt.seq}: it cannot contradict it`, {
      hint: "use a checkpoint at or after the receipt's seq, or slashUncheckpointed once the checkpoint window has passed",
    });
  }
  return [
    receipt.stream,
    receiptStruct(receipt),
    receipt.signature,
    receipt.entries.map((e) => e.keyHash),
    receipt.entries.map((e) => e.valueHash),
    BigInt(index),
    { index: checkpoint.index, root: checkpoint.root, seq: checkpoint.seq, timestamp: checkpoint.timestamp },
    proofStruct(proof),
  ] as const;
}

/** A root the node signed for a read (MemoryVerification "signed-root": root, seq, signature). */
export interface SignedRoot {
  root: string;
  seq: bigint;
  signature: string;
}

/** Arguments of MemoryRegistry.slashSignedRoot for op `index` of `receipt`, shown by `proof` against `signed`. */
export function signedRootArgs(receipt: MemoryReceiptRecord, index: number, signed: SignedRoot, proof: MemoryProof) {
  const [stream, r, signature, keyHashes, valueHashes, at] = contradictionArgs(receipt, index, { index: 0n, root: signed.root, seq: signed.seq, timestamp: 0n }, proof);
  return [stream, r, signature, keyHashes, valueHashes, at, { root: signed.root, seq: signed.seq, signature: signed.signature }, proofStruct(proof)] as const;
}

/** Arguments of MemoryRegistry.slashUncheckpointed for `receipt`. */
export function uncheckpointedArgs(receipt: MemoryReceiptRecord) {
  return [receipt.stream, receiptStruct(receipt), receipt.signature] as const;
}
