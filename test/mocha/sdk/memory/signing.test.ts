/**
 * What memory parties sign (agents/src/sdk/memory/signing.ts): key and value limits; keyHash,
 * valueHash, opHash, opsHash and entriesHash against the design written out here with ethers'
 * encoders; EIP-712 digests of Write, Receipt and Root against the standard computed by hand; and
 * signatures that recover their signer, and another address once any field changes.
 *
 *   npx hardhat test mocha test/mocha/sdk/memory/signing.test.ts
 */
import { expect } from "chai";
import { AbiCoder, Wallet, concat, getAddress, id, keccak256, solidityPacked, toUtf8Bytes } from "ethers";
import {
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  MAX_WRITE_OPS,
  MemoryInputError,
  RECEIPT_TYPES,
  ROOT_TYPES,
  TOMBSTONE_VALUE_HASH,
  WRITE_TYPES,
  checkKey,
  checkValue,
  entriesHash,
  hashOp,
  keyHashOf,
  memoryDomain,
  opHash,
  opsHash,
  receiptDigest,
  recoverReceiptSigner,
  recoverRootSigner,
  recoverWriter,
  rootDigest,
  signReceipt,
  signRoot,
  signWrite,
  valueHashOf,
  writeDigest,
  type MemoryOpHashes,
  type ReceiptMessage,
  type RootMessage,
  type WriteMessage,
} from "../../../../agents/src/sdk/memory/index.js";

const abi = AbiCoder.defaultAbiCoder();
const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
// Hardhat test keys #1 and #2 (never for real funds).
const WRITER = new Wallet("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const NODE = new Wallet("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");
const ZERO = TOMBSTONE_VALUE_HASH;
const utf8 = (s: string) => toUtf8Bytes(s);

const PUT: MemoryOpHashes = { kind: "put", keyHash: keccak256(utf8("notes/1")), valueHash: keccak256(utf8("hello")), expectedVersion: 3n };
const DELETE: MemoryOpHashes = { kind: "delete", keyHash: keccak256(utf8("notes/2")) };

function domainSeparator(chainId: bigint, registry: string): string {
  const domainType = id("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
  return keccak256(abi.encode(["bytes32", "bytes32", "bytes32", "uint256", "address"], [domainType, id("daios MemoryRegistry"), id("1"), chainId, registry]));
}

function digestByHand(chainId: bigint, typeString: string, types: string[], values: unknown[]): string {
  const structHash = keccak256(abi.encode(["bytes32", ...types], [id(typeString), ...values]));
  return keccak256(concat(["0x1901", domainSeparator(chainId, REGISTRY), structHash]));
}

function expectInputError(fn: () => unknown, text: string): void {
  expect(fn).to.throw(MemoryInputError, text);
}

describe("memory signing", () => {
  const domain = memoryDomain(31337n, REGISTRY.toLowerCase());
  const write: WriteMessage = { stream: 7n, writer: WRITER.address, nonce: 1_732_000_000_000_000n, opsHash: opsHash([PUT, DELETE]) };
  const receipt: ReceiptMessage = { stream: 7n, seq: 42n, entriesHash: entriesHash([PUT, DELETE]), issuedAt: 1_732_000_000n };
  const root: RootMessage = { stream: 7n, seq: 42n, root: keccak256(utf8("root")) };

  describe("keys and values", () => {
    it("accepts keys of 1..256 bytes and values of 0..65536 bytes", () => {
      checkKey(new Uint8Array(1));
      checkKey(new Uint8Array(MAX_KEY_BYTES));
      checkValue(new Uint8Array(0));
      checkValue(new Uint8Array(MAX_VALUE_BYTES));
      expect(MAX_KEY_BYTES).to.equal(256);
      expect(MAX_VALUE_BYTES).to.equal(65536);
    });

    it("refuses an empty key, a key or value over the limit, and non-bytes", () => {
      expectInputError(() => checkKey(new Uint8Array(0)), "the memory key is empty");
      expectInputError(() => checkKey(new Uint8Array(257)), "the memory key is 257 bytes, more than the limit of 256");
      expectInputError(() => checkValue(new Uint8Array(65537)), "the memory value is 65537 bytes, more than the limit of 65536");
      expectInputError(() => keyHashOf(new Uint8Array(0)), "empty");
      expectInputError(() => valueHashOf(new Uint8Array(65537)), "65537");
      expectInputError(() => checkKey("notes/1" as unknown as Uint8Array), "must be bytes");
      try {
        checkKey(new Uint8Array(0));
      } catch (error) {
        expect((error as MemoryInputError).hint).to.contain("1 to 256 bytes");
      }
    });

    it("hashes keys and values with keccak256 (an empty value is not the tombstone)", () => {
      expect(keyHashOf(utf8("notes/1"))).to.equal(keccak256(utf8("notes/1")));
      expect(valueHashOf(utf8("hello"))).to.equal(keccak256(utf8("hello")));
      expect(valueHashOf(new Uint8Array(0))).to.equal(keccak256("0x")).and.not.equal(ZERO);
    });

    it("hashes an op with its key and value", () => {
      expect(hashOp({ kind: "put", key: utf8("notes/1"), value: utf8("hello"), expectedVersion: 3n })).to.deep.equal(PUT);
      expect(hashOp({ kind: "delete", key: utf8("notes/2") })).to.deep.equal({ ...DELETE, valueHash: ZERO, expectedVersion: -1n });
      expectInputError(() => hashOp({ kind: "delete", key: utf8("k"), value: utf8("v") }), "a delete op carries a value");
      expectInputError(() => hashOp({ kind: "put", key: utf8("k") }), "a put op has no value");
      expectInputError(() => hashOp({ kind: "put", key: new Uint8Array(0), value: utf8("v") }), "empty");
      expectInputError(() => hashOp({ kind: "put", key: utf8("k"), value: new Uint8Array(65537) }), "65537");
    });
  });

  describe("op, ops and entries hashes", () => {
    it("opHash = keccak256(abi.encode(uint8 kind, keyHash, valueHash, int64 expectedVersion))", () => {
      const byHand = (kind: number, o: MemoryOpHashes, v: bigint) => keccak256(abi.encode(["uint8", "bytes32", "bytes32", "int64"], [kind, o.keyHash, o.valueHash ?? ZERO, v]));
      expect(opHash(PUT)).to.equal(byHand(0, PUT, 3n));
      expect(opHash(DELETE)).to.equal(byHand(1, DELETE, -1n));
      expect(opHash({ ...DELETE, valueHash: ZERO, expectedVersion: -1n })).to.equal(opHash(DELETE));
      expect(opHash({ ...PUT, expectedVersion: 0n })).to.equal(byHand(0, PUT, 0n));
      expect(opHash({ ...PUT, expectedVersion: undefined })).to.equal(byHand(0, PUT, -1n));
      // Every field counts.
      const variants = [{ ...PUT, expectedVersion: 4n }, { ...PUT, keyHash: DELETE.keyHash }, { ...PUT, valueHash: keccak256("0x") }];
      for (const v of variants) expect(opHash(v)).to.not.equal(opHash(PUT));
      expect(opHash({ kind: "delete", keyHash: PUT.keyHash, expectedVersion: 3n })).to.not.equal(byHand(0, { ...PUT, valueHash: ZERO }, 3n));
    });

    it("refuses ops that break the rules", () => {
      expectInputError(() => opHash({ ...DELETE, valueHash: PUT.valueHash }), "is a delete with valueHash");
      expectInputError(() => opHash({ ...PUT, valueHash: ZERO }), "is a put with valueHash bytes32(0)");
      expectInputError(() => opHash({ ...PUT, valueHash: undefined }), "valueHash");
      expectInputError(() => opHash({ ...PUT, expectedVersion: -2n }), "expectedVersion -2n is out of range");
      expectInputError(() => opHash({ ...PUT, expectedVersion: 1n << 63n }), "out of range");
      expectInputError(() => opHash({ ...PUT, keyHash: "0x12" }), "keyHash 0x12 is not a bytes32");
      expectInputError(() => opHash({ ...PUT, kind: "merge" as "put" }), "unknown kind");
      expectInputError(() => opsHash([PUT, { ...PUT, keyHash: "0x" }]), "op 1 keyHash");
      expectInputError(() => opsHash([]), "a write has no ops");
      expectInputError(() => entriesHash([]), "a write has no ops");
      expect(opsHash(new Array<MemoryOpHashes>(MAX_WRITE_OPS).fill(PUT))).to.match(/^0x[0-9a-f]{64}$/);
      expectInputError(() => opsHash(new Array<MemoryOpHashes>(MAX_WRITE_OPS + 1).fill(PUT)), "1025 ops, more than the limit of 1024");
      expectInputError(() => entriesHash(new Array<MemoryOpHashes>(MAX_WRITE_OPS + 1).fill(PUT)), "1025 ops");
    });

    it("opsHash and entriesHash pack the ops in order", () => {
      expect(opsHash([PUT, DELETE])).to.equal(keccak256(concat([opHash(PUT), opHash(DELETE)])));
      expect(opsHash([DELETE, PUT])).to.not.equal(opsHash([PUT, DELETE]));
      expect(opsHash([PUT])).to.equal(keccak256(opHash(PUT)));
      expect(entriesHash([PUT, DELETE])).to.equal(
        keccak256(solidityPacked(["bytes32", "bytes32", "bytes32", "bytes32"], [PUT.keyHash, PUT.valueHash, DELETE.keyHash, ZERO])),
      );
      expect(entriesHash([DELETE, PUT])).to.not.equal(entriesHash([PUT, DELETE]));
    });
  });

  describe("EIP-712", () => {
    it("has the types and domain of the design", () => {
      const typeString = (types: typeof WRITE_TYPES, name: string) => `${name}(${types[name].map((f) => `${f.type} ${f.name}`).join(",")})`;
      expect(typeString(WRITE_TYPES, "Write")).to.equal("Write(uint256 stream,address writer,uint64 nonce,bytes32 opsHash)");
      expect(typeString(RECEIPT_TYPES, "Receipt")).to.equal("Receipt(uint256 stream,uint64 seq,bytes32 entriesHash,uint64 issuedAt)");
      expect(typeString(ROOT_TYPES, "Root")).to.equal("Root(uint256 stream,uint64 seq,bytes32 root)");
      expect(domain).to.deep.equal({ name: "daios MemoryRegistry", version: "1", chainId: 31337n, verifyingContract: getAddress(REGISTRY) });
      expectInputError(() => memoryDomain(1, "0x1234"), "verifyingContract 0x1234 is not an address");
    });

    it("computes the digests of the standard", () => {
      expect(writeDigest(domain, write)).to.equal(
        digestByHand(31337n, "Write(uint256 stream,address writer,uint64 nonce,bytes32 opsHash)", ["uint256", "address", "uint64", "bytes32"], [write.stream, write.writer, write.nonce, write.opsHash]),
      );
      expect(receiptDigest(domain, receipt)).to.equal(
        digestByHand(31337n, "Receipt(uint256 stream,uint64 seq,bytes32 entriesHash,uint64 issuedAt)", ["uint256", "uint64", "bytes32", "uint64"], [receipt.stream, receipt.seq, receipt.entriesHash, receipt.issuedAt]),
      );
      expect(rootDigest(domain, root)).to.equal(digestByHand(31337n, "Root(uint256 stream,uint64 seq,bytes32 root)", ["uint256", "uint64", "bytes32"], [root.stream, root.seq, root.root]));
      expect(writeDigest(memoryDomain(1n, REGISTRY), write)).to.not.equal(writeDigest(domain, write));
      expect(writeDigest(memoryDomain(31337n, WRITER.address), write)).to.not.equal(writeDigest(domain, write));
    });

    it("refuses out-of-range fields", () => {
      expectInputError(() => writeDigest(domain, { ...write, nonce: 1n << 64n }), "nonce");
      expectInputError(() => writeDigest(domain, { ...write, writer: "0x12" }), "writer 0x12 is not an address");
      expectInputError(() => receiptDigest(domain, { ...receipt, seq: -1n }), "seq -1n is out of range");
      expectInputError(() => receiptDigest(domain, { ...receipt, issuedAt: 1n << 64n }), "issuedAt");
      expectInputError(() => rootDigest(domain, { ...root, root: "0x" }), "root 0x is not a bytes32");
      expectInputError(() => rootDigest(domain, { ...root, stream: 1n << 256n }), "stream");
    });

    it("a write signature recovers the writer, and another address for any other field", async () => {
      const signature = await signWrite(WRITER, domain, write);
      expect(recoverWriter(domain, write, signature)).to.equal(WRITER.address);
      const variants: WriteMessage[] = [
        { ...write, stream: 8n },
        { ...write, writer: NODE.address },
        { ...write, nonce: write.nonce + 1n },
        { ...write, opsHash: opsHash([PUT]) },
      ];
      for (const v of variants) expect(recoverWriter(domain, v, signature)).to.not.equal(WRITER.address);
      expect(recoverWriter(memoryDomain(1n, REGISTRY), write, signature)).to.not.equal(WRITER.address);
    });

    it("refuses to sign a write for another writer, and a malformed signature", async () => {
      let failure: unknown;
      await signWrite(NODE, domain, write).catch((error: unknown) => (failure = error));
      expect(failure).to.be.instanceOf(MemoryInputError);
      expect((failure as Error).message).to.contain(`names writer ${WRITER.address}, but the signing key is ${NODE.address}`);
      expectInputError(() => recoverWriter(domain, write, "0x1234"), "the write signature 0x1234 is not a valid secp256k1 signature");
    });

    it("receipt and root signatures recover the node, and another address for any other field", async () => {
      const receiptSig = await signReceipt(NODE, domain, receipt);
      expect(recoverReceiptSigner(domain, receipt, receiptSig)).to.equal(NODE.address);
      for (const v of [{ ...receipt, stream: 8n }, { ...receipt, seq: 43n }, { ...receipt, entriesHash: entriesHash([PUT]) }, { ...receipt, issuedAt: receipt.issuedAt + 1n }]) {
        expect(recoverReceiptSigner(domain, v, receiptSig)).to.not.equal(NODE.address);
      }
      const rootSig = await signRoot(NODE, domain, root);
      expect(recoverRootSigner(domain, root, rootSig)).to.equal(NODE.address);
      for (const v of [{ ...root, stream: 8n }, { ...root, seq: 43n }, { ...root, root: ZERO }]) {
        expect(recoverRootSigner(domain, v, rootSig)).to.not.equal(NODE.address);
      }
      // The same fields under another type do not recover the node.
      expect(recoverRootSigner(domain, { stream: receipt.stream, seq: receipt.seq, root: receipt.entriesHash }, receiptSig)).to.not.equal(NODE.address);
    });
  });
});
