import { expect } from "chai";
import { ethers, networkHelpers } from "./storage-fixture.js";

const { loadFixture, mine } = networkHelpers;

async function randomnessFixture() {
  await mine(300);
  const randomness = await ethers.deployContract("BlockhashRandomness");
  return { randomness };
}

describe("BlockhashRandomness", function () {
  it("returns the hash of each of the last 256 blocks", async function () {
    const { randomness } = await loadFixture(randomnessFixture);
    const latest = BigInt(await ethers.provider.getBlockNumber());
    // eth_call runs in the context of the latest block.
    for (const n of [latest - 1n, latest - 256n]) {
      const block = await ethers.provider.getBlock(n);
      expect(await randomness.randomnessAt(n)).to.equal(block!.hash);
    }
    expect(await randomness.HISTORY_BLOCKS()).to.equal(256n);
  });

  it("seedAt returns the same hash, public from its own block", async function () {
    const { randomness } = await loadFixture(randomnessFixture);
    const latest = BigInt(await ethers.provider.getBlockNumber());
    const block = await ethers.provider.getBlock(latest - 5n);
    const [value, knownAt] = await randomness.seedAt(latest - 5n);
    expect(value).to.equal(block!.hash);
    expect(knownAt).to.equal(latest - 5n);
    await expect(randomness.seedAt(latest)).to.be.revertedWithCustomError(randomness, "BlockhashRandomnessNotMined").withArgs(latest, latest);
  });

  it("rejects the current block, future blocks and blocks older than 256", async function () {
    const { randomness } = await loadFixture(randomnessFixture);
    const latest = BigInt(await ethers.provider.getBlockNumber());
    for (const n of [latest, latest + 10n]) {
      await expect(randomness.randomnessAt(n))
        .to.be.revertedWithCustomError(randomness, "BlockhashRandomnessNotMined")
        .withArgs(n, latest);
    }
    await expect(randomness.randomnessAt(latest - 257n))
      .to.be.revertedWithCustomError(randomness, "BlockhashRandomnessExpired")
      .withArgs(latest - 257n, latest);
  });
});
