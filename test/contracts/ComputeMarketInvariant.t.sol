// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {ComputeMarket} from "../../contracts/compute/ComputeMarket.sol";
import {ModelRegistry} from "../../contracts/compute/ModelRegistry.sol";
import {ProviderRegistry} from "../../contracts/core/ProviderRegistry.sol";
import {DaiosToken} from "../../contracts/token/DaiosToken.sol";
import {MockInferenceVerifier} from "../../contracts/mocks/MockInferenceVerifier.sol";
import {IComputeMarket} from "../../contracts/interfaces/IComputeMarket.sol";
import {ComputeFixture} from "./ComputeMarketFixture.t.sol";

/// @notice Drives the market with random sequences of every action. Every call comes from a fixed set of
///         actors (plus the treasury), so every credit lands on an address the invariants can sum.
contract ComputeMarketHandler is Test {
    uint256 internal constant MAX_JOBS = 24;

    ComputeMarket internal immutable _market;
    DaiosToken internal immutable _token;
    ModelRegistry internal immutable _models;
    MockInferenceVerifier internal immutable _verifier;
    uint256 internal immutable _modelId;
    uint256 internal immutable _enclaveKey;
    address internal immutable _modelOwner;
    address internal immutable _gov;
    address[] internal _actors;
    address[] internal _providers;

    /// @notice Tokens that entered the market (escrows, slashed collateral) and left it (withdrawals).
    uint256 public ghostDeposited;
    uint256 public ghostSlashed;
    uint256 public ghostWithdrawn;
    /// @notice Set when expiring an overdue unsettled job failed or left it unsettled.
    bool public expiryFailed;
    /// @notice Successful calls per action, to see that sequences do reach every transition.
    mapping(bytes32 action => uint256) public calls;

    struct Setup {
        ComputeMarket market;
        DaiosToken token;
        ModelRegistry models;
        MockInferenceVerifier verifier;
        uint256 modelId;
        uint256 enclaveKey;
        address modelOwner;
        address gov;
    }

    constructor(Setup memory s, address[] memory actors_, address[] memory providers_) {
        _market = s.market;
        _token = s.token;
        _models = s.models;
        _verifier = s.verifier;
        _modelId = s.modelId;
        _enclaveKey = s.enclaveKey;
        _modelOwner = s.modelOwner;
        _gov = s.gov;
        _actors = actors_;
        _providers = providers_;
    }

    function actors() external view returns (address[] memory) {
        return _actors;
    }

    function providers() external view returns (address[] memory) {
        return _providers;
    }

    function postJob(uint256 actorSeed, bool tee, uint256 extraFee, uint256 duration, bool byRoot) external {
        if (_market.jobCount() >= MAX_JOBS) return;
        bytes memory input = new bytes(64);
        IComputeMarket.JobRequest memory r = IComputeMarket.JobRequest({
            modelId: _modelId,
            mode: tee ? 1 : 0,
            inputCommitment: 1 + actorSeed % 1000,
            input: byRoot ? bytes("") : input,
            inputRoot: byRoot ? 77 : 0,
            dataRoots: new uint256[](0),
            maxFee: _models.model(_modelId).pricePerJob + _bound(extraFee, 0, 1e18),
            deadline: uint64(block.timestamp + _bound(duration, 10, 2 days))
        });
        uint256 before = _token.balanceOf(address(_market));
        vm.prank(_actor(actorSeed));
        try _market.postJob(r) {
            ghostDeposited += _token.balanceOf(address(_market)) - before;
            ++calls["postJob"];
        } catch {}
    }

    function claimJob(uint256 providerSeed, uint256 jobSeed) external {
        (bool ok, uint256 jobId,) = _pickJob(jobSeed);
        if (!ok) return;
        vm.prank(_providers[providerSeed % _providers.length]);
        try _market.claimJob(jobId) {
            ++calls["claimJob"];
        } catch {}
    }

    function submitResult(uint256 jobSeed, uint256 output, bool valid) external {
        (bool ok, uint256 jobId, IComputeMarket.Job memory j) = _pickJob(jobSeed);
        if (!ok || j.provider == address(0)) return;
        _verifier.setResult(valid);
        uint256[2] memory a;
        uint256[2][2] memory b;
        vm.prank(j.provider);
        try _market.submitResult(jobId, output % 12, a, b, a) {
            ++calls["submitResult"];
        } catch {}
        _verifier.setResult(true);
    }

    function submitResultTee(uint256 jobSeed, uint256 output, bool acknowledged) external {
        (bool ok, uint256 jobId, IComputeMarket.Job memory j) = _pickJob(jobSeed);
        if (!ok || j.provider == address(0)) return;
        output %= 12;
        bytes32 digest = _market.resultDigest(jobId, j.modelId, _models.model(j.modelId).weightsCommitment, j.inputCommitment, output, j.provider);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(acknowledged ? _enclaveKey : _enclaveKey + 1, digest);
        vm.prank(j.provider);
        try _market.submitResultTee(jobId, output, abi.encodePacked(r, s, v)) {
            ++calls["submitResultTee"];
        } catch {}
    }

    function expire(uint256 actorSeed, uint256 jobSeed) external {
        (bool ok, uint256 jobId,) = _pickJob(jobSeed);
        if (!ok) return;
        _expire(_actor(actorSeed), jobId);
    }

    /// @notice Moves past every deadline and expires every unsettled job: each must end settled.
    function expireAllOverdue(uint256 actorSeed) external {
        vm.warp(block.timestamp + 2 days + 1);
        uint256 count = _market.jobCount();
        for (uint256 jobId = 1; jobId <= count; ++jobId) {
            IComputeMarket.Status status = _market.job(jobId).status;
            if (status == IComputeMarket.Status.Open || status == IComputeMarket.Status.Claimed) {
                if (!_expire(_actor(actorSeed + jobId), jobId)) expiryFailed = true;
                status = _market.job(jobId).status;
                if (status == IComputeMarket.Status.Open || status == IComputeMarket.Status.Claimed) {
                    expiryFailed = true;
                }
            }
        }
        ++calls["expireAllOverdue"];
    }

    function cancelJob(uint256 jobSeed) external {
        (bool ok, uint256 jobId, IComputeMarket.Job memory j) = _pickJob(jobSeed);
        if (!ok) return;
        vm.prank(j.client);
        try _market.cancelJob(jobId) {
            ++calls["cancelJob"];
        } catch {}
    }

    function withdraw(uint256 actorSeed) external {
        // The treasury withdraws too (seed 0 mod actors + 1).
        uint256 index = actorSeed % (_actors.length + 1);
        address account = index == _actors.length ? _market.treasury() : _actors[index];
        uint256 before = _token.balanceOf(address(_market));
        vm.prank(account);
        try _market.withdraw() {
            ghostWithdrawn += before - _token.balanceOf(address(_market));
            ++calls["withdraw"];
        } catch {}
    }

    function releaseCollateral(uint256 providerSeed) external {
        vm.prank(_providers[providerSeed % _providers.length]);
        try _market.releaseCollateral() {
            ++calls["releaseCollateral"];
        } catch {}
    }

    function setPrice(uint256 price) external {
        vm.prank(_modelOwner);
        _models.setPrice(_modelId, _bound(price, 0, 5e18));
        ++calls["setPrice"];
    }

    function setConfig(uint256 feeBps, uint256 collateralBps, uint256 minCollateral, uint256 reporterBps) external {
        IComputeMarket.Config memory c = IComputeMarket.Config({
            protocolFeeBps: _bound(feeBps, 0, 2_000),
            collateralBps: _bound(collateralBps, 0, 50_000),
            minCollateral: _bound(minCollateral, 0, 20e18),
            reporterBps: _bound(reporterBps, 0, 10_000),
            minJobDuration: 10,
            maxJobDuration: 7 days
        });
        vm.prank(_gov);
        _market.setConfig(c);
        ++calls["setConfig"];
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + _bound(seconds_, 1, 1 days));
        vm.roll(block.number + 1);
        ++calls["warp"];
    }

    function _expire(address caller, uint256 jobId) internal returns (bool ok) {
        uint256 before = _token.balanceOf(address(_market));
        vm.prank(caller);
        try _market.expire(jobId) {
            ok = true;
            // Expiry only brings tokens in (slashed collateral); it never pays out.
            ghostSlashed += _token.balanceOf(address(_market)) - before;
            ++calls["expire"];
        } catch {}
    }

    function _actor(uint256 seed) internal view returns (address) {
        return _actors[seed % _actors.length];
    }

    function _pickJob(uint256 seed) internal view returns (bool ok, uint256 jobId, IComputeMarket.Job memory j) {
        uint256 count = _market.jobCount();
        if (count == 0) return (false, 0, j);
        jobId = 1 + seed % count;
        j = _market.job(jobId);
        ok = true;
    }
}

contract ComputeMarketInvariantTest is ComputeFixture {
    ComputeMarketHandler internal handler;
    uint256 internal supply;

    function setUp() public override {
        super.setUp();
        address[] memory actors = new address[](4);
        actors[0] = client;
        actors[1] = reporter;
        actors[2] = p1;
        actors[3] = p2;
        address[] memory providers = new address[](2);
        providers[0] = p1;
        providers[1] = p2;
        handler = new ComputeMarketHandler(
            ComputeMarketHandler.Setup({
                market: market,
                token: token,
                models: models,
                verifier: verifier,
                modelId: modelId,
                enclaveKey: ENCLAVE_KEY,
                modelOwner: modelOwner,
                gov: gov
            }),
            actors,
            providers
        );
        supply = token.totalSupply();
        targetContract(address(handler));
    }

    /// @notice The market holds exactly what it owes: the price of every open or claimed job plus credits.
    function invariant_BalanceEqualsEscrowPlusCredits() public view {
        uint256 owed;
        uint256 count = market.jobCount();
        for (uint256 jobId = 1; jobId <= count; ++jobId) {
            IComputeMarket.Job memory j = market.job(jobId);
            if (j.status == IComputeMarket.Status.Open || j.status == IComputeMarket.Status.Claimed) owed += j.price;
        }
        address[] memory actors = handler.actors();
        for (uint256 i = 0; i < actors.length; ++i) {
            owed += market.credits(actors[i]);
        }
        owed += market.credits(treasury);
        assertEq(token.balanceOf(address(market)), owed, "balance != escrow of open/claimed jobs + credits");
        assertEq(
            token.balanceOf(address(market)),
            handler.ghostDeposited() + handler.ghostSlashed() - handler.ghostWithdrawn(),
            "balance != deposits + slashed collateral - withdrawals"
        );
    }

    /// @notice The market's stake lock on each provider is exactly the collateral of its claimed jobs plus its
    ///         idle collateral: a slash always finds the job's collateral, and nothing stays locked unseen.
    function invariant_LockEqualsClaimedCollateralPlusIdle() public view {
        address[] memory providers = handler.providers();
        uint256 count = market.jobCount();
        for (uint256 i = 0; i < providers.length; ++i) {
            uint256 claimed;
            for (uint256 jobId = 1; jobId <= count; ++jobId) {
                IComputeMarket.Job memory j = market.job(jobId);
                if (j.status == IComputeMarket.Status.Claimed && j.provider == providers[i]) claimed += j.collateral;
            }
            assertEq(
                registry.lockedBy(providers[i], computeRole, address(market)),
                claimed + market.idleCollateral(providers[i]),
                "lock != claimed collateral + idle collateral"
            );
        }
    }

    /// @notice Every overdue job the handler expired ended Refunded or Slashed.
    function invariant_ExpiryAlwaysSettles() public view {
        assertFalse(handler.expiryFailed(), "an overdue job could not be expired");
    }

    /// @notice Tokens only move: the supply never changes and every token is with an actor, the treasury,
    ///         the market or the registry.
    function invariant_TokensAreNeverCreated() public view {
        assertEq(token.totalSupply(), supply, "supply changed");
        address[] memory actors = handler.actors();
        uint256 held = token.balanceOf(address(market)) + token.balanceOf(address(registry))
            + token.balanceOf(treasury) + token.balanceOf(modelOwner);
        for (uint256 i = 0; i < actors.length; ++i) {
            held += token.balanceOf(actors[i]);
        }
        assertEq(held, supply, "tokens appeared or vanished");
    }

    /// @notice Test of the test: a long fixed sequence reaches every transition the handler offers, and in
    ///         the end every job is settled and the market owes only credits.
    function test_HandlerReachesEveryActionAndEverythingSettles() public {
        for (uint256 round = 0; round < 20; ++round) {
            handler.postJob(round, round % 2 == 1, round, 3_600, round % 5 == 0);
            uint256 newest = market.jobCount() - 1;
            if (round % 7 == 3) {
                handler.cancelJob(newest);
                continue;
            }
            if (round % 6 == 4) continue; // stays open: refunded by expiry
            handler.claimJob(round, newest);
            if (round % 4 == 2) continue; // claimed, never proven: slashed by expiry
            if (round % 2 == 1) handler.submitResultTee(newest, round, round % 9 != 5);
            else handler.submitResult(newest, round, round % 8 != 6);
            if (round % 3 == 0) handler.withdraw(round);
            if (round % 5 == 1) handler.releaseCollateral(round);
            if (round % 8 == 0) handler.setConfig(round * 100, round * 1_000, round * 1e17, round * 300);
            if (round % 9 == 0) handler.setPrice(round * 1e17);
            handler.warp(60);
        }
        handler.expire(1, 0);
        handler.expireAllOverdue(0);
        for (uint256 i = 0; i < 5; ++i) {
            handler.withdraw(i);
            handler.releaseCollateral(i);
        }

        string[11] memory names = [
            "postJob",
            "claimJob",
            "submitResult",
            "submitResultTee",
            "expire",
            "expireAllOverdue",
            "cancelJob",
            "withdraw",
            "releaseCollateral",
            "setConfig",
            "setPrice"
        ];
        for (uint256 i = 0; i < names.length; ++i) {
            assertGt(handler.calls(bytes32(bytes(names[i]))), 0, names[i]);
        }
        uint256 count = market.jobCount();
        bool refunded;
        bool slashed;
        for (uint256 jobId = 1; jobId <= count; ++jobId) {
            IComputeMarket.Status status = market.job(jobId).status;
            assertTrue(
                status == IComputeMarket.Status.Accepted || status == IComputeMarket.Status.Refunded
                    || status == IComputeMarket.Status.Slashed,
                "a job stayed unsettled"
            );
            refunded = refunded || status == IComputeMarket.Status.Refunded;
            slashed = slashed || status == IComputeMarket.Status.Slashed;
        }
        assertTrue(refunded && slashed, "both expiry paths taken");
        assertFalse(handler.expiryFailed());
        invariant_BalanceEqualsEscrowPlusCredits();
        invariant_LockEqualsClaimedCollateralPlusIdle();
        invariant_TokensAreNeverCreated();
        assertEq(token.balanceOf(address(market)), 0, "everyone withdrew: the market holds nothing");
        assertEq(registry.lockedBy(p1, computeRole, address(market)), 0, "all collateral released or slashed");
        assertEq(registry.lockedBy(p2, computeRole, address(market)), 0, "all collateral released or slashed");
    }
}
