/**
 * The TypeScript memory reference against MemoryRegistry on an in-process Hardhat chain: the same
 * limits, leaf hashes, op/ops/entries hashes and EIP-712 digests (write, receipt, root); every vector
 * proof and proofs of a seeded random map verify on chain to the same result, from the struct and
 * from the wire encoding; and proofs the SDK rejects revert with the matching custom error.
 *
 *   npx hardhat test mocha test/mocha/sdk/memory/contract-compat.test.ts
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { Wallet, keccak256, recoverAddress, toUtf8Bytes } from "ethers";
import { network } from "hardhat";
import {
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  MAX_WRITE_OPS,
  MemoryProofError,
  SparseMerkleMap,
  TOMBSTONE_VALUE_HASH,
  decodeProof,
  encodeProof,
  entriesHash,
  leafHash,
  memoryDomain,
  opHash,
  opsHash,
  receiptDigest,
  rootDigest,
  signReceipt,
  signRoot,
  signWrite,
  verifyMemoryProof,
  writeDigest,
  type MemoryLeaf,
  type MemoryOpHashes,
  type MemoryProof,
  type MemoryProofFailure,
} from "../../../../agents/src/sdk/memory/index.js";
import { VECTORS_FILE, type LeafVector, type MemoryVectors } from "../../../vectors/memory-vectors.js";

const { ethers } = await network.create();

const vectors = JSON.parse(readFileSync(VECTORS_FILE, "utf8")) as MemoryVectors;
const ZERO = TOMBSTONE_VALUE_HASH;
const MAX_UINT64 = (1n << 64n) - 1n;
// Hardhat test keys #1 and #2 (never for real funds).
const WRITER = new Wallet("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const NODE = new Wallet("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");

function leafOf(v: LeafVector): MemoryLeaf {
  return { keyHash: v.keyHash, valueHash: v.valueHash, seq: BigInt(v.seq), version: BigInt(v.version) };
}

/** The contract's Proof struct of an SDK proof. */
function proofStruct(proof: MemoryProof) {
  const leaf = proof.leaf ?? { keyHash: ZERO, valueHash: ZERO, seq: 0n, version: 0n };
  return { siblings: proof.siblings, hasLeaf: proof.leaf !== undefined, leaf: { keyHash: leaf.keyHash, valueHash: leaf.valueHash, seq: leaf.seq, version: leaf.version } };
}

function sdkFailure(fn: () => unknown): MemoryProofFailure {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(MemoryProofError);
    return (error as MemoryProofError).reason;
  }
  return expect.fail("the SDK accepted the proof");
}

function flipBit(hash: string, i: number): string {
  const at = 2 + 2 * (i >> 3);
  const byte = parseInt(hash.slice(at, at + 2), 16) ^ (1 << (7 - (i & 7)));
  return `${hash.slice(0, at)}${byte.toString(16).padStart(2, "0")}${hash.slice(at + 2)}`;
}

async function deployRegistry() {
  const [owner] = await ethers.getSigners();
  const token = await ethers.deployContract("DaiosToken", [owner.address]);
  const providers = await ethers.deployContract("ProviderRegistry", [await token.getAddress(), owner.address, 3600]);
  const registry = await ethers.deployContract("MemoryRegistry", [
    await token.getAddress(),
    await providers.getAddress(),
    owner.address,
    { streamCollateral: 5n * 10n ** 18n, checkpointWindow: 3600n, reporterBps: 2000n },
  ]);
  const { chainId } = await ethers.provider.getNetwork();
  return { registry, domain: memoryDomain(chainId, await registry.getAddress()) };
}

describe("memory SDK against MemoryRegistry", function () {
  this.timeout(300_000);
  let registry: Awaited<ReturnType<typeof deployRegistry>>["registry"];
  let domain: ReturnType<typeof memoryDomain>;

  before(async () => {
    ({ registry, domain } = await deployRegistry());
  });

  it("has the same limits", async () => {
    expect(await registry.MAX_KEY_BYTES()).to.equal(BigInt(MAX_KEY_BYTES));
    expect(await registry.MAX_VALUE_BYTES()).to.equal(BigInt(MAX_VALUE_BYTES));
    expect(await registry.MAX_ENTRIES()).to.equal(BigInt(MAX_WRITE_OPS));
  });

  it("hashes leaves, ops and entries the same", async () => {
    for (const v of vectors.leafHashes) {
      expect(await registry.leafHash(leafOf(v))).to.equal(v.hash);
      expect(leafHash(leafOf(v))).to.equal(v.hash);
    }
    const put: MemoryOpHashes = { kind: "put", keyHash: keccak256(toUtf8Bytes("k")), valueHash: keccak256(toUtf8Bytes("v")), expectedVersion: 7n };
    const del: MemoryOpHashes = { kind: "delete", keyHash: keccak256(toUtf8Bytes("d")) };
    const ops: MemoryOpHashes[] = [put, del, { ...put, expectedVersion: 0n }, { ...put, expectedVersion: (1n << 63n) - 1n }, { ...del, expectedVersion: -1n }];
    expect(await registry.opHash(0, put.keyHash, put.valueHash as string, 7n)).to.equal(opHash(put));
    expect(await registry.opHash(1, del.keyHash, ZERO, -1n)).to.equal(opHash(del));
    expect(await registry.opHash(0, put.keyHash, put.valueHash as string, 0n)).to.equal(opHash(ops[2]));
    expect(await registry.opHash(0, put.keyHash, put.valueHash as string, (1n << 63n) - 1n)).to.equal(opHash(ops[3]));
    expect(await registry.opsHash(ops.map(opHash))).to.equal(opsHash(ops));
    expect(await registry.entriesHash(ops.map((o) => o.keyHash), ops.map((o) => o.valueHash ?? ZERO))).to.equal(entriesHash(ops));
  });

  it("computes the same EIP-712 digests, and recovers the signers the SDK signs with", async () => {
    for (const [stream, seq, nonce] of [
      [1n, 1n, 1n],
      [7n, 42n, 1_732_000_000_000_000n],
      [(1n << 256n) - 1n, MAX_UINT64, MAX_UINT64],
    ]) {
      const write = { stream, writer: WRITER.address, nonce, opsHash: keccak256(toUtf8Bytes(`ops ${seq}`)) };
      const receipt = { stream, seq, entriesHash: keccak256(toUtf8Bytes(`entries ${seq}`)), issuedAt: seq === MAX_UINT64 ? MAX_UINT64 : 1_732_000_000n };
      const root = { stream, seq, root: keccak256(toUtf8Bytes(`root ${seq}`)) };
      const onChainWrite = await registry.writeDigest(write.stream, write.writer, write.nonce, write.opsHash);
      const onChainReceipt = await registry.receiptDigest(receipt.stream, receipt.seq, receipt.entriesHash, receipt.issuedAt);
      const onChainRoot = await registry.rootDigest(root.stream, root.seq, root.root);
      expect(onChainWrite).to.equal(writeDigest(domain, write));
      expect(onChainReceipt).to.equal(receiptDigest(domain, receipt));
      expect(onChainRoot).to.equal(rootDigest(domain, root));
      expect(recoverAddress(onChainWrite, await signWrite(WRITER, domain, write))).to.equal(WRITER.address);
      expect(recoverAddress(onChainReceipt, await signReceipt(NODE, domain, receipt))).to.equal(NODE.address);
      expect(recoverAddress(onChainRoot, await signRoot(NODE, domain, root))).to.equal(NODE.address);
    }
  });

  it("verifies every vector proof to the same result, as a struct and encoded", async () => {
    let count = 0;
    for (const tree of vectors.trees) {
      for (const v of tree.proofs) {
        const proof: MemoryProof = v.hasLeaf ? { siblings: v.siblings, leaf: leafOf(v.leaf) } : { siblings: v.siblings };
        const sdk = verifyMemoryProof(tree.root, v.keyHash, proof);
        for (const [member, leaf] of [await registry.proveLeaf(tree.root, v.keyHash, proofStruct(proof)), await registry.proveLeafEncoded(tree.root, v.keyHash, v.encoded)]) {
          expect(member, `${tree.name}: ${v.name}`).to.equal(sdk.kind === "member");
          expect([leaf.keyHash, leaf.valueHash, leaf.seq, leaf.version]).to.deep.equal([v.leaf.keyHash, v.leaf.valueHash, BigInt(v.leaf.seq), BigInt(v.leaf.version)]);
        }
        count++;
      }
    }
    expect(count).to.be.greaterThan(20);
  });

  it("verifies proofs of a seeded random map the same", async () => {
    let state = 12345;
    const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
    const hash = (tag: string) => keccak256(toUtf8Bytes(`${tag}-${next()}`));
    const map = new SparseMerkleMap();
    const keys: string[] = [];
    for (let i = 0; i < 300; i++) {
      const keyHash = i % 5 === 4 ? flipBit(keys[next() % keys.length], 200 + (next() % 56)) : hash("key");
      keys.push(keyHash);
      map.set(keyHash, { valueHash: i % 7 === 6 ? ZERO : hash("value"), seq: BigInt(i + 1), version: 1n + BigInt(next() % 4) });
    }
    const root = map.root();
    for (let q = 0; q < 40; q++) {
      const keyHash = q % 2 === 0 ? keys[next() % keys.length] : q % 4 === 1 ? hash("absent") : flipBit(keys[next() % keys.length], 100 + (next() % 156));
      const proof = map.prove(keyHash);
      const sdk = verifyMemoryProof(root, keyHash, proof);
      const [member, leaf] = await registry.proveLeafEncoded(root, keyHash, encodeProof(proof));
      expect(member).to.equal(sdk.kind === "member");
      if (sdk.kind === "member") expect([leaf.keyHash, leaf.valueHash, leaf.seq, leaf.version]).to.deep.equal([sdk.leaf.keyHash, sdk.leaf.valueHash, sdk.leaf.seq, sdk.leaf.version]);
    }
  });

  describe("rejects what the SDK rejects", () => {
    const tree = vectors.trees.find((t) => t.name === "200 leaves") as MemoryVectors["trees"][number];
    const v = tree.proofs.find((p) => p.kind === "member" && p.siblings.length >= 4) as MemoryVectors["trees"][number]["proofs"][number];
    const proof: MemoryProof = { siblings: v.siblings, leaf: leafOf(v.leaf) };

    it("a tampered sibling or leaf, a wrong root (MemoryProofRootMismatch)", async () => {
      const cases: [string, MemoryProof][] = [
        [tree.root, { ...proof, siblings: [flipBit(v.siblings[0], 3), ...v.siblings.slice(1)] }],
        [tree.root, { ...proof, leaf: { ...leafOf(v.leaf), seq: BigInt(v.leaf.seq) + 1n } }],
        [tree.root, { siblings: v.siblings }],
        [flipBit(tree.root, 0), proof],
      ];
      for (const [root, p] of cases) {
        expect(sdkFailure(() => verifyMemoryProof(root, v.keyHash, p))).to.equal("root-mismatch");
        await expect(registry.proveLeaf(root, v.keyHash, proofStruct(p))).to.be.revertedWithCustomError(registry, "MemoryProofRootMismatch");
        await expect(registry.proveLeafEncoded(root, v.keyHash, encodeProof(p))).to.be.revertedWithCustomError(registry, "MemoryProofRootMismatch");
      }
      // The SDK's separate check for an empty-tree proof is a root mismatch on chain.
      expect(sdkFailure(() => verifyMemoryProof(tree.root, v.keyHash, { siblings: [] }))).to.equal("empty-root");
      await expect(registry.proveLeaf(tree.root, v.keyHash, proofStruct({ siblings: [] }))).to.be.revertedWithCustomError(registry, "MemoryProofRootMismatch").withArgs(ZERO, tree.root);
    });

    it("a leaf off the key's path (MemoryProofLeafOffPath)", async () => {
      for (const i of [0, v.siblings.length - 1]) {
        const other = flipBit(v.keyHash, i);
        expect(sdkFailure(() => verifyMemoryProof(tree.root, other, proof))).to.equal("prefix");
        await expect(registry.proveLeaf(tree.root, other, proofStruct(proof)))
          .to.be.revertedWithCustomError(registry, "MemoryProofLeafOffPath")
          .withArgs(other, v.keyHash, BigInt(v.siblings.length));
      }
    });

    it("more than 256 siblings (MemoryProofTooDeep)", async () => {
      const deep: MemoryProof = { siblings: new Array<string>(257).fill(ZERO) };
      expect(sdkFailure(() => verifyMemoryProof(tree.root, v.keyHash, deep))).to.equal("too-deep");
      await expect(registry.proveLeaf(tree.root, v.keyHash, proofStruct(deep))).to.be.revertedWithCustomError(registry, "MemoryProofTooDeep").withArgs(257n);
      await expect(registry.proveLeafEncoded(tree.root, v.keyHash, `0x0101${"00".repeat(32 * 257)}00`)).to.be.revertedWithCustomError(registry, "MemoryProofTooDeep");
    });

    it("malformed encodings (MemoryProofMalformed, MemoryProofInvalidFlag)", async () => {
      const flagAt = 2 + 2 * (2 + 32 * v.siblings.length);
      const malformed = [v.encoded.slice(0, -2), `${v.encoded}00`, v.encoded.slice(0, flagAt), "0x0000"];
      for (const encoded of malformed) {
        expect(sdkFailure(() => decodeProof(encoded))).to.equal("malformed");
        await expect(registry.proveLeafEncoded(tree.root, v.keyHash, encoded))
          .to.be.revertedWithCustomError(registry, "MemoryProofMalformed")
          .withArgs(BigInt((encoded.length - 2) / 2));
      }
      const badFlag = `${v.encoded.slice(0, flagAt)}02${v.encoded.slice(flagAt + 2)}`;
      expect(sdkFailure(() => decodeProof(badFlag))).to.equal("malformed");
      await expect(registry.proveLeafEncoded(tree.root, v.keyHash, badFlag)).to.be.revertedWithCustomError(registry, "MemoryProofInvalidFlag").withArgs(2n);
    });
  });
});
