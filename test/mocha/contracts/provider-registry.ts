import { expect } from "chai";
import { ethers, networkHelpers } from "./storage-fixture.js";

const { loadFixture, time } = networkHelpers;

const MIN = 100n * 10n ** 18n;
const DELAY = 7n * 24n * 3600n;
const ENDPOINT = "https://p1.example:8443";
const CAPACITY = 1n << 40n;

async function registryFixture() {
  const [owner, p1, p2, layer, otherLayer, sink, stranger] = await ethers.getSigners();
  const token = await ethers.deployContract("DaiosToken", [owner.address]);
  const registry = await ethers.deployContract("ProviderRegistry", [await token.getAddress(), owner.address, DELAY]);
  const role = await registry.STORAGE_ROLE();
  await registry.setMinStake(role, MIN);
  await registry.setLayer(layer.address, role, true);
  await registry.setLayer(otherLayer.address, role, true);
  for (const account of [p1, p2, stranger]) {
    await token.mint(account.address, 10n ** 24n);
    await token.connect(account).approve(await registry.getAddress(), ethers.MaxUint256);
  }
  return { owner, p1, p2, layer, otherLayer, sink, stranger, token, registry, role };
}

async function registeredFixture() {
  const f = await registryFixture();
  await f.registry.connect(f.p1).register(f.role, MIN, ENDPOINT, CAPACITY);
  return f;
}

describe("ProviderRegistry", function () {
  describe("deployment", function () {
    it("exposes the role ids, token and delay", async function () {
      const { registry, token, owner } = await loadFixture(registryFixture);
      expect(await registry.STORAGE_ROLE()).to.equal(ethers.id("daios.storage"));
      expect(await registry.DA_ROLE()).to.equal(ethers.id("daios.da"));
      expect(await registry.COMPUTE_ROLE()).to.equal(ethers.id("daios.compute"));
      expect(await registry.MEMORY_ROLE()).to.equal(ethers.id("daios.memory"));
      expect(await registry.stakeToken()).to.equal(await token.getAddress());
      expect(await registry.unbondingDelay()).to.equal(DELAY);
      expect(await registry.owner()).to.equal(owner.address);
      const deployment = registry.deploymentTransaction();
      if (deployment === null) throw new Error("no deployment transaction");
      await expect(deployment).to.emit(registry, "UnbondingDelaySet").withArgs(DELAY);
    });

    it("rejects a zero token and a too long delay", async function () {
      const { registry, token, owner } = await loadFixture(registryFixture);
      const factory = await ethers.getContractFactory("ProviderRegistry");
      await expect(factory.deploy(ethers.ZeroAddress, owner.address, DELAY)).to.be.revertedWithCustomError(
        registry,
        "ProviderRegistryZeroAddress",
      );
      const tooLong = 90n * 24n * 3600n + 1n;
      await expect(factory.deploy(await token.getAddress(), owner.address, tooLong))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryInvalidUnbondingDelay")
        .withArgs(tooLong);
    });
  });

  describe("register", function () {
    it("stores the provider, lists it, pulls the stake and emits ProviderRegistered", async function () {
      const { registry, token, p1, role } = await loadFixture(registryFixture);
      const tx = registry.connect(p1).register(role, MIN, ENDPOINT, CAPACITY);
      await expect(tx).to.emit(registry, "ProviderRegistered").withArgs(p1.address, role, MIN, ENDPOINT, CAPACITY);
      await expect(tx).to.changeTokenBalances(ethers, token, [p1, registry], [-MIN, MIN]);
      const block = await ethers.provider.getBlock("latest");
      const p = await registry.getProvider(p1.address, role);
      expect(p.stake).to.equal(MIN);
      expect(p.locked).to.equal(0n);
      expect(p.unbonding).to.equal(0n);
      expect(p.unbondingReadyAt).to.equal(0n);
      expect(p.registeredAt).to.equal(BigInt(block!.timestamp));
      expect(p.stakeChangedAt).to.equal(BigInt(block!.number));
      expect(p.capacity).to.equal(CAPACITY);
      expect(p.registered).to.equal(true);
      expect(p.endpoint).to.equal(ENDPOINT);
      // `provider` (untyped in TypeChain, see getProvider) returns the same record.
      expect(await registry.getFunction("provider")(p1.address, role)).to.deep.equal(p);
      expect(await registry.isActive(p1.address, role)).to.equal(true);
      expect(await registry.isActive(p1.address, await registry.DA_ROLE())).to.equal(false);
      expect(await registry.providerCount(role)).to.equal(1n);
    });

    it("rejects unknown roles, low stakes, bad endpoints and a second registration", async function () {
      const { registry, p1, role } = await loadFixture(registryFixture);
      const da = await registry.DA_ROLE();
      const r = registry.connect(p1);
      await expect(r.register(da, MIN, ENDPOINT, 1))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryUnknownRole")
        .withArgs(da);
      await expect(r.register(role, MIN - 1n, ENDPOINT, 1))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryStakeBelowMinimum")
        .withArgs(MIN - 1n, MIN);
      await expect(r.register(role, MIN, "", 1))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryInvalidEndpoint")
        .withArgs(0n);
      await expect(r.register(role, MIN, "x".repeat(257), 1))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryInvalidEndpoint")
        .withArgs(257n);
      await r.register(role, MIN, "x".repeat(256), 1);
      await expect(r.register(role, MIN, ENDPOINT, 1))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryAlreadyRegistered")
        .withArgs(p1.address, role);
    });
  });

  describe("addStake and updateProvider", function () {
    it("adds stake and updates the endpoint and capacity", async function () {
      const { registry, token, p1, role } = await loadFixture(registeredFixture);
      const tx = registry.connect(p1).addStake(role, 5n);
      await expect(tx).to.emit(registry, "StakeAdded").withArgs(p1.address, role, 5n, MIN + 5n);
      await expect(tx).to.changeTokenBalances(ethers, token, [p1, registry], [-5n, 5n]);
      const added = await (await tx).wait();
      await expect(registry.connect(p1).updateProvider(role, "tcp://new", 7))
        .to.emit(registry, "ProviderUpdated")
        .withArgs(p1.address, role, "tcp://new", 7n);
      const p = await registry.getProvider(p1.address, role);
      expect(p.stake).to.equal(MIN + 5n);
      expect(p.endpoint).to.equal("tcp://new");
      expect(p.capacity).to.equal(7n);
      // addStake moved stakeChangedAt to its block; updateProvider left it there.
      expect(p.stakeChangedAt).to.equal(BigInt(added!.blockNumber));
    });

    it("rejects zero amounts, unregistered callers and bad endpoints", async function () {
      const { registry, p1, p2, role } = await loadFixture(registeredFixture);
      await expect(registry.connect(p1).addStake(role, 0)).to.be.revertedWithCustomError(
        registry,
        "ProviderRegistryZeroAmount",
      );
      await expect(registry.connect(p2).addStake(role, 1))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryNotRegistered")
        .withArgs(p2.address, role);
      await expect(registry.connect(p2).updateProvider(role, "x", 1))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryNotRegistered")
        .withArgs(p2.address, role);
      await expect(registry.connect(p1).updateProvider(role, "", 1))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryInvalidEndpoint")
        .withArgs(0n);
    });
  });

  describe("unbonding", function () {
    it("deactivates below the minimum and pays out after the delay", async function () {
      const { registry, token, p1, role } = await loadFixture(registeredFixture);
      await registry.connect(p1).addStake(role, 10n);
      const requestTime = BigInt(await time.latest()) + 1n;
      await time.setNextBlockTimestamp(requestTime);
      await expect(registry.connect(p1).requestUnbond(role, 10n))
        .to.emit(registry, "UnbondRequested")
        .withArgs(p1.address, role, 10n, requestTime + DELAY);
      expect(await registry.isActive(p1.address, role)).to.equal(true);

      await time.setNextBlockTimestamp(requestTime + 10n);
      await expect(registry.connect(p1).requestUnbond(role, 1n))
        .to.emit(registry, "UnbondRequested")
        .withArgs(p1.address, role, 1n, requestTime + 10n + DELAY);
      expect(await registry.isActive(p1.address, role)).to.equal(false);
      const p = await registry.getProvider(p1.address, role);
      expect(p.stake).to.equal(MIN - 1n);
      expect(p.unbonding).to.equal(11n);
      expect(p.unbondingReadyAt).to.equal(requestTime + 10n + DELAY);

      await time.setNextBlockTimestamp(requestTime + 10n + DELAY - 1n);
      await expect(registry.connect(p1).withdrawUnbonded(role))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryUnbondingNotReady")
        .withArgs(requestTime + 10n + DELAY);
      await time.setNextBlockTimestamp(requestTime + 10n + DELAY);
      const tx = registry.connect(p1).withdrawUnbonded(role);
      await expect(tx).to.emit(registry, "UnbondedWithdrawn").withArgs(p1.address, role, 11n);
      await expect(tx).to.changeTokenBalances(ethers, token, [p1, registry], [11n, -11n]);
      await expect(registry.connect(p1).withdrawUnbonded(role))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryNothingUnbonding")
        .withArgs(p1.address, role);
      await expect(registry.connect(p1).requestUnbond(role, 0)).to.be.revertedWithCustomError(
        registry,
        "ProviderRegistryZeroAmount",
      );
    });

    it("never unbonds locked stake", async function () {
      const { registry, p1, layer, role } = await loadFixture(registeredFixture);
      await registry.connect(layer).lockStake(p1.address, role, MIN - 10n);
      await expect(registry.connect(p1).requestUnbond(role, 11n))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryInsufficientFreeStake")
        .withArgs(11n, 10n);
      await registry.connect(p1).requestUnbond(role, 10n);
      expect((await registry.getProvider(p1.address, role)).stake).to.equal(MIN - 10n);
    });
  });

  describe("layers", function () {
    it("lock and unlock stake, each layer its own part", async function () {
      const { registry, p1, layer, otherLayer, role } = await loadFixture(registeredFixture);
      await expect(registry.connect(layer).lockStake(p1.address, role, 60n))
        .to.emit(registry, "StakeLocked")
        .withArgs(p1.address, role, layer.address, 60n);
      await expect(registry.connect(otherLayer).lockStake(p1.address, role, MIN - 59n))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryInsufficientFreeStake")
        .withArgs(MIN - 59n, MIN - 60n);
      expect((await registry.getProvider(p1.address, role)).locked).to.equal(60n);
      expect(await registry.lockedBy(p1.address, role, layer.address)).to.equal(60n);
      await expect(registry.connect(otherLayer).unlockStake(p1.address, role, 1))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryInsufficientLocked")
        .withArgs(1n, 0n);
      await expect(registry.connect(layer).unlockStake(p1.address, role, 60n))
        .to.emit(registry, "StakeUnlocked")
        .withArgs(p1.address, role, layer.address, 60n);
      expect((await registry.getProvider(p1.address, role)).locked).to.equal(0n);
      await expect(registry.connect(layer).lockStake(p1.address, role, 0)).to.be.revertedWithCustomError(
        registry,
        "ProviderRegistryZeroAmount",
      );
      await expect(registry.connect(layer).unlockStake(p1.address, role, 0)).to.be.revertedWithCustomError(
        registry,
        "ProviderRegistryZeroAmount",
      );
    });

    it("slash their own lock first, then free stake, then unbonding stake, never another layer's lock", async function () {
      const { registry, token, p1, layer, otherLayer, sink, role } = await loadFixture(registeredFixture);
      const e18 = 10n ** 18n;
      await registry.connect(layer).lockStake(p1.address, role, 30n * e18);
      await registry.connect(otherLayer).lockStake(p1.address, role, 50n * e18);
      await registry.connect(p1).requestUnbond(role, 20n * e18);
      const tx = registry.connect(layer).slash(p1.address, role, 45n * e18, sink.address);
      await expect(tx).to.emit(registry, "StakeSlashed").withArgs(p1.address, role, layer.address, 45n * e18, sink.address);
      await expect(tx).to.changeTokenBalances(ethers, token, [registry, sink], [-45n * e18, 45n * e18]);
      const p = await registry.getProvider(p1.address, role);
      expect(p.stake).to.equal(50n * e18);
      expect(p.locked).to.equal(50n * e18);
      expect(p.unbonding).to.equal(5n * e18);
      expect(await registry.lockedBy(p1.address, role, otherLayer.address)).to.equal(50n * e18);
      expect(await registry.isActive(p1.address, role)).to.equal(false);
      // Asking for more than is available slashes what there is.
      await expect(registry.connect(layer).slash(p1.address, role, MIN, sink.address))
        .to.emit(registry, "StakeSlashed")
        .withArgs(p1.address, role, layer.address, 5n * e18, sink.address);
    });

    it("reject unauthorised callers, other roles, zero amounts and recipients, unregistered providers", async function () {
      const { registry, owner, p1, p2, layer, sink, stranger, role } = await loadFixture(registeredFixture);
      const da = await registry.DA_ROLE();
      const s = registry.connect(stranger);
      for (const call of [
        s.lockStake(p1.address, role, 1),
        s.unlockStake(p1.address, role, 1),
        s.slash(p1.address, role, 1, sink.address),
      ]) {
        await expect(call)
          .to.be.revertedWithCustomError(registry, "ProviderRegistryUnauthorisedLayer")
          .withArgs(stranger.address, role);
      }
      await expect(registry.connect(layer).slash(p1.address, da, 1, sink.address))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryUnauthorisedLayer")
        .withArgs(layer.address, da);
      await expect(registry.connect(layer).slash(p1.address, role, 1, ethers.ZeroAddress)).to.be.revertedWithCustomError(
        registry,
        "ProviderRegistryZeroAddress",
      );
      await expect(registry.connect(layer).slash(p1.address, role, 0, sink.address)).to.be.revertedWithCustomError(
        registry,
        "ProviderRegistryZeroAmount",
      );
      await expect(registry.connect(layer).lockStake(p2.address, role, 1))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryNotRegistered")
        .withArgs(p2.address, role);

      await expect(registry.connect(owner).setLayer(layer.address, role, false))
        .to.emit(registry, "LayerAuthorisationSet")
        .withArgs(layer.address, role, false);
      expect(await registry.isLayer(layer.address, role)).to.equal(false);
      await expect(registry.connect(layer).lockStake(p1.address, role, 1))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryUnauthorisedLayer")
        .withArgs(layer.address, role);
    });
  });

  describe("enumeration", function () {
    it("pages through the providers of a role", async function () {
      const { registry, p1, p2, role } = await loadFixture(registeredFixture);
      await registry.connect(p2).register(role, MIN, ENDPOINT, 1);
      expect(await registry.providerCount(role)).to.equal(2n);
      expect(await registry.providers(role, 0, 1)).to.deep.equal([p1.address]);
      expect(await registry.providers(role, 0, 100)).to.deep.equal([p1.address, p2.address]);
      expect(await registry.providers(role, 1, 5)).to.deep.equal([p2.address]);
      expect(await registry.providers(role, 2, 5)).to.deep.equal([]);
      for (const limit of [0n, 101n]) {
        await expect(registry.providers(role, 0, limit))
          .to.be.revertedWithCustomError(registry, "ProviderRegistryInvalidPageSize")
          .withArgs(limit);
      }
    });
  });

  describe("owner", function () {
    it("sets minimum stakes, the unbonding delay and layers", async function () {
      const { registry, owner, p2, role } = await loadFixture(registryFixture);
      const da = await registry.DA_ROLE();
      expect(await registry.roleEnabled(da)).to.equal(false);
      await expect(registry.connect(owner).setMinStake(da, 0)).to.emit(registry, "MinStakeSet").withArgs(da, 0n);
      expect(await registry.roleEnabled(da)).to.equal(true);
      await registry.connect(p2).register(da, 0, ENDPOINT, 1);
      expect(await registry.isActive(p2.address, da)).to.equal(true);
      // Raising the minimum deactivates providers below it.
      await expect(registry.connect(owner).setMinStake(da, 1)).to.emit(registry, "MinStakeSet").withArgs(da, 1n);
      expect(await registry.isActive(p2.address, da)).to.equal(false);

      const max = 90n * 24n * 3600n;
      await expect(registry.connect(owner).setUnbondingDelay(max)).to.emit(registry, "UnbondingDelaySet").withArgs(max);
      await expect(registry.connect(owner).setUnbondingDelay(max + 1n))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryInvalidUnbondingDelay")
        .withArgs(max + 1n);
      await expect(registry.connect(owner).setLayer(ethers.ZeroAddress, role, true)).to.be.revertedWithCustomError(
        registry,
        "ProviderRegistryZeroAddress",
      );
      await expect(registry.connect(owner).setMinStake(role, 1n << 128n))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryAmountTooLarge")
        .withArgs(1n << 128n);
    });

    it("rejects other callers and transfers ownership in two steps", async function () {
      const { registry, owner, p1, role } = await loadFixture(registryFixture);
      for (const call of [
        registry.connect(p1).setMinStake(role, 1),
        registry.connect(p1).setUnbondingDelay(1),
        registry.connect(p1).setLayer(p1.address, role, true),
      ]) {
        await expect(call).to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount").withArgs(p1.address);
      }
      await registry.connect(owner).transferOwnership(p1.address);
      expect(await registry.pendingOwner()).to.equal(p1.address);
      await registry.connect(p1).acceptOwnership();
      expect(await registry.owner()).to.equal(p1.address);
    });
  });
});
