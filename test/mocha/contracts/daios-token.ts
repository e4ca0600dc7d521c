import { expect } from "chai";
import { ethers, networkHelpers } from "./storage-fixture.js";

const { loadFixture } = networkHelpers;

async function tokenFixture() {
  const [owner, alice, bob] = await ethers.getSigners();
  const token = await ethers.deployContract("DaiosToken", [owner.address]);
  return { owner, alice, bob, token };
}

describe("DaiosToken", function () {
  it("is the 18-decimal DAIOS token", async function () {
    const { token, owner } = await loadFixture(tokenFixture);
    expect(await token.name()).to.equal("daios");
    expect(await token.symbol()).to.equal("DAIOS");
    expect(await token.decimals()).to.equal(18n);
    expect(await token.totalSupply()).to.equal(0n);
    expect(await token.owner()).to.equal(owner.address);
  });

  it("lets only the owner mint", async function () {
    const { token, owner, alice } = await loadFixture(tokenFixture);
    await expect(token.connect(owner).mint(alice.address, 5n))
      .to.emit(token, "Transfer")
      .withArgs(ethers.ZeroAddress, alice.address, 5n);
    expect(await token.balanceOf(alice.address)).to.equal(5n);
    await expect(token.connect(alice).mint(alice.address, 1n))
      .to.be.revertedWithCustomError(token, "OwnableUnauthorizedAccount")
      .withArgs(alice.address);
  });

  it("accepts EIP-2612 permits", async function () {
    const { token, owner, alice, bob } = await loadFixture(tokenFixture);
    await token.connect(owner).mint(alice.address, 10n);
    const deadline = BigInt((await ethers.provider.getBlock("latest"))!.timestamp) + 3600n;
    const { chainId } = await ethers.provider.getNetwork();
    const signature = await alice.signTypedData(
      { name: "daios", version: "1", chainId, verifyingContract: await token.getAddress() },
      {
        Permit: [
          { name: "owner", type: "address" },
          { name: "spender", type: "address" },
          { name: "value", type: "uint256" },
          { name: "nonce", type: "uint256" },
          { name: "deadline", type: "uint256" },
        ],
      },
      { owner: alice.address, spender: bob.address, value: 7n, nonce: 0n, deadline },
    );
    const { v, r, s } = ethers.Signature.from(signature);
    await expect(token.permit(alice.address, bob.address, 7n, deadline, v, r, s))
      .to.emit(token, "Approval")
      .withArgs(alice.address, bob.address, 7n);
    expect(await token.nonces(alice.address)).to.equal(1n);
  });
});
