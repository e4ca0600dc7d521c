/**
 * core/keccak.ts: the WebAssembly keccak256 that agent memory hashes with must be Ethereum's Keccak-256
 * (what MemoryRegistry computes), not SHA3-256, at every input length.
 */
import { createHash, randomBytes } from "node:crypto";
import { expect } from "chai";
import { keccak256 as ethersKeccak, toUtf8Bytes } from "ethers";
import { keccak256 } from "../../../../agents/src/core/keccak.js";

const hex = (bytes: Uint8Array) => `0x${Buffer.from(bytes).toString("hex")}`;

describe("agents/core keccak", () => {
  it("gives Keccak-256's known digests, not SHA3-256's", () => {
    expect(hex(keccak256(new Uint8Array()))).to.equal("0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    expect(hex(keccak256(toUtf8Bytes("abc")))).to.equal("0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    expect(hex(keccak256(toUtf8Bytes("abc")))).to.not.equal(`0x${createHash("sha3-256").update("abc").digest("hex")}`);
  });

  it("agrees with ethers on every length around the 136-byte rate, and on 64 KiB", () => {
    for (let length = 0; length <= 300; length++) {
      const data = randomBytes(length);
      expect(hex(keccak256(data)), `length ${length}`).to.equal(ethersKeccak(data));
    }
    const big = randomBytes(65536);
    expect(hex(keccak256(big))).to.equal(ethersKeccak(big));
  });

  it("returns a new array each time: a later hash does not change an earlier digest", () => {
    const first = keccak256(toUtf8Bytes("first"));
    const copy = hex(first);
    keccak256(toUtf8Bytes("second"));
    expect(hex(first)).to.equal(copy);
  });
});
