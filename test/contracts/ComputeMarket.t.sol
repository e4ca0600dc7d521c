// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {console} from "forge-std/Test.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IComputeMarket} from "../../contracts/interfaces/IComputeMarket.sol";
import {IModelRegistry} from "../../contracts/interfaces/IModelRegistry.sol";
import {IInferenceVerifier} from "../../contracts/interfaces/IInferenceVerifier.sol";
import {IProviderRegistry} from "../../contracts/interfaces/IProviderRegistry.sol";
import {IStorageMarket} from "../../contracts/interfaces/IStorageMarket.sol";
import {ComputeMarket} from "../../contracts/compute/ComputeMarket.sol";
import {DaiosToken} from "../../contracts/token/DaiosToken.sol";
import {ComputeFixture} from "./ComputeMarketFixture.t.sol";

contract ComputeMarketTest is ComputeFixture {
    IComputeMarket.Mode internal constant ZK = IComputeMarket.Mode.Zk;
    IComputeMarket.Mode internal constant TEE = IComputeMarket.Mode.Tee;

    // ------------------------------------------------------------------ construction and parameters

    function test_Constructor_SetsViews() public view {
        assertEq(market.token(), address(token));
        assertEq(market.providerRegistry(), address(registry));
        assertEq(market.modelRegistry(), address(models));
        assertEq(market.storageMarket(), address(storageMarket));
        assertEq(market.treasury(), treasury);
        assertEq(market.computeRole(), keccak256("daios.compute"));
        assertEq(market.owner(), gov, "the deployer owns the market");
        IComputeMarket.Config memory c = market.config();
        assertEq(c.protocolFeeBps, FEE_BPS);
        assertEq(c.collateralBps, COLLATERAL_BPS);
        assertEq(c.minCollateral, MIN_COLLATERAL);
        assertEq(c.reporterBps, REPORTER_BPS);
        assertEq(c.minJobDuration, MIN_DURATION);
        assertEq(c.maxJobDuration, MAX_DURATION);
        assertEq(market.jobCount(), 0);
        assertEq(market.credits(treasury), 0, "the treasury's pre-touched account shows no credit");
        assertEq(
            market.RESULT_TYPEHASH(),
            keccak256(
                "ComputeResult(uint256 jobId,uint256 modelId,uint256 weightsCommitment,uint256 inputCommitment,uint256 output,address provider)"
            )
        );
    }

    function test_Constructor_RevertsOnZeroAddressOrForeignToken() public {
        IComputeMarket.Config memory c = _config();
        address s = address(storageMarket);
        vm.expectRevert(IComputeMarket.ComputeZeroAddress.selector);
        new ComputeMarket(address(0), address(registry), address(models), s, treasury, c);
        vm.expectRevert(IComputeMarket.ComputeZeroAddress.selector);
        new ComputeMarket(address(token), address(0), address(models), s, treasury, c);
        vm.expectRevert(IComputeMarket.ComputeZeroAddress.selector);
        new ComputeMarket(address(token), address(registry), address(0), s, treasury, c);
        vm.expectRevert(IComputeMarket.ComputeZeroAddress.selector);
        new ComputeMarket(address(token), address(registry), address(models), address(0), treasury, c);
        vm.expectRevert(IComputeMarket.ComputeZeroAddress.selector);
        new ComputeMarket(address(token), address(registry), address(models), s, address(0), c);
        DaiosToken other = new DaiosToken(gov);
        vm.expectRevert(
            abi.encodeWithSelector(IComputeMarket.ComputeTokenMismatch.selector, address(other), address(token))
        );
        new ComputeMarket(address(other), address(registry), address(models), s, treasury, c);
    }

    function test_SetConfig_OwnerOnlyBoundedAndEmits() public {
        IComputeMarket.Config memory c = IComputeMarket.Config({
            protocolFeeBps: 2_000,
            collateralBps: 100_000,
            minCollateral: type(uint96).max,
            reporterBps: 10_000,
            minJobDuration: 30 days,
            maxJobDuration: 30 days
        });
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, client));
        vm.prank(client);
        market.setConfig(c);

        vm.expectEmit(address(market));
        emit IComputeMarket.ConfigSet(2_000, 100_000, type(uint96).max, 10_000, 30 days, 30 days);
        vm.prank(gov);
        market.setConfig(c);
        assertEq(market.config().minCollateral, type(uint96).max);

        _expectBadConfig(_withField(c, 0, 2_001), "protocolFeeBps", 2_001);
        _expectBadConfig(_withField(c, 1, 100_001), "collateralBps", 100_001);
        _expectBadConfig(_withField(c, 2, uint256(type(uint96).max) + 1), "minCollateral", uint256(type(uint96).max) + 1);
        _expectBadConfig(_withField(c, 3, 10_001), "reporterBps", 10_001);
        _expectBadConfig(_withField(c, 4, 0), "minJobDuration", 0);
        _expectBadConfig(_withField(_withField(c, 5, 100), 4, 101), "minJobDuration", 101);
        _expectBadConfig(_withField(c, 5, 30 days + 1), "maxJobDuration", 30 days + 1);
    }

    function _withField(IComputeMarket.Config memory c, uint256 field, uint256 value)
        internal
        pure
        returns (IComputeMarket.Config memory out)
    {
        out = IComputeMarket.Config(
            c.protocolFeeBps, c.collateralBps, c.minCollateral, c.reporterBps, c.minJobDuration, c.maxJobDuration
        );
        if (field == 0) out.protocolFeeBps = value;
        if (field == 1) out.collateralBps = value;
        if (field == 2) out.minCollateral = value;
        if (field == 3) out.reporterBps = value;
        if (field == 4) out.minJobDuration = value;
        if (field == 5) out.maxJobDuration = value;
    }

    function _expectBadConfig(IComputeMarket.Config memory c, string memory name, uint256 value) internal {
        vm.expectRevert(abi.encodeWithSelector(IComputeMarket.ComputeInvalidConfig.selector, name, value));
        vm.prank(gov);
        market.setConfig(c);
    }

    function test_CollateralFor_IsTheLargerOfMinimumAndShare() public view {
        assertEq(market.collateralFor(PRICE), COLLATERAL);
        assertEq(market.collateralFor(0), MIN_COLLATERAL);
        assertEq(market.collateralFor(1e17), MIN_COLLATERAL, "2x of 0.1 is below the minimum");
        assertEq(market.collateralFor(1e21), 2e21);
    }

    // ------------------------------------------------------------------ postJob

    function test_PostJob_StoresJobEscrowsPriceAndEmits() public {
        IComputeMarket.JobRequest memory r = _request(ZK);
        r.maxFee = PRICE * 3;
        uint256 before = token.balanceOf(client);
        vm.expectEmit(address(market));
        emit IComputeMarket.JobPosted(
            1, modelId, client, ZK, INPUT_COMMITMENT, _input(), 0, new uint256[](0), PRICE * 3, PRICE, r.deadline
        );
        uint256 jobId = _post(r);

        assertEq(jobId, 1, "ids start at 1");
        assertEq(market.jobCount(), 1);
        assertEq(before - token.balanceOf(client), PRICE, "the price is escrowed, never the cap");
        assertEq(token.balanceOf(address(market)), PRICE);
        IComputeMarket.Job memory j = _job(jobId);
        assertEq(j.modelId, modelId);
        assertEq(j.client, client);
        assertEq(j.provider, address(0));
        assertEq(uint256(j.mode), uint256(ZK));
        assertEq(uint256(j.status), uint256(IComputeMarket.Status.Open));
        assertEq(j.deadline, r.deadline);
        assertEq(j.maxFee, PRICE * 3);
        assertEq(j.price, PRICE);
        assertEq(j.collateral, 0);
        assertEq(j.inputCommitment, INPUT_COMMITMENT);
        assertEq(j.inputRoot, 0);
        assertEq(j.output, 0);
        assertEq(j.outputRoot, 0);
        assertEq(j.postedAt, START_BLOCK);
        assertEq(j.settledAt, 0);
        assertEq(market.jobDataRoots(jobId).length, 0);

        assertEq(_post(TEE), 2, "ids increase");
        assertEq(uint256(_job(2).mode), uint256(TEE));
    }

    function test_PostJob_WithInputRootAndLineage() public {
        IComputeMarket.JobRequest memory r = _request(TEE);
        r.input = "";
        r.inputRoot = 0xabc;
        uint256[] memory roots = new uint256[](8);
        for (uint256 i = 0; i < 8; ++i) {
            roots[i] = FIELD - 1 - i;
        }
        r.dataRoots = roots;
        vm.expectEmit(address(market));
        emit IComputeMarket.JobPosted(1, modelId, client, TEE, INPUT_COMMITMENT, "", 0xabc, roots, PRICE, PRICE, r.deadline);
        uint256 jobId = _post(r);
        assertEq(_job(jobId).inputRoot, 0xabc);
        uint256[] memory stored = market.jobDataRoots(jobId);
        assertEq(stored.length, 8);
        for (uint256 i = 0; i < 8; ++i) {
            assertEq(stored[i], roots[i]);
        }
    }

    function test_PostJob_RevertsOnUnknownOrInactiveModelOrMode() public {
        IComputeMarket.JobRequest memory r = _request(ZK);
        r.modelId = 0;
        _expectPostRevert(r, _err(IComputeMarket.ComputeUnknownModel.selector, 0));
        r.modelId = 2;
        _expectPostRevert(r, _err(IComputeMarket.ComputeUnknownModel.selector, 2));

        r = _request(ZK);
        r.mode = 2;
        _expectPostRevert(r, _err(IComputeMarket.ComputeModeNotSupported.selector, modelId, 2));

        // A TEE-only model takes no zk job, a zk-only model no TEE job.
        IModelRegistry.ModelSpec memory spec = _spec();
        spec.verifier = address(0);
        vm.prank(modelOwner);
        uint256 teeOnly = models.registerModel(spec);
        spec = _spec();
        spec.teeMeasurement = bytes32(0);
        vm.prank(modelOwner);
        uint256 zkOnly = models.registerModel(spec);
        r = _request(ZK);
        r.modelId = teeOnly;
        _expectPostRevert(r, _err(IComputeMarket.ComputeModeNotSupported.selector, teeOnly, 0));
        r = _request(TEE);
        r.modelId = zkOnly;
        _expectPostRevert(r, _err(IComputeMarket.ComputeModeNotSupported.selector, zkOnly, 1));

        vm.prank(modelOwner);
        models.setActive(modelId, false);
        _expectPostRevert(_request(ZK), _err(IComputeMarket.ComputeModelInactive.selector, modelId));
    }

    function test_PostJob_RevertsOnFeeBelowPriceOrTooLarge() public {
        IComputeMarket.JobRequest memory r = _request(ZK);
        r.maxFee = PRICE - 1;
        _expectPostRevert(r, _err(IComputeMarket.ComputeFeeBelowPrice.selector, PRICE - 1, PRICE));
        r.maxFee = uint256(type(uint128).max) + 1;
        _expectPostRevert(r, _err(IComputeMarket.ComputeFeeTooLarge.selector, uint256(type(uint128).max) + 1));
        // The price the job gets is the model's price at posting.
        vm.prank(modelOwner);
        models.setPrice(modelId, PRICE * 2);
        _expectPostRevert(_request(ZK), _err(IComputeMarket.ComputeFeeBelowPrice.selector, PRICE, PRICE * 2));
    }

    function test_PostJob_RevertsOnBadDeadline() public {
        IComputeMarket.JobRequest memory r = _request(ZK);
        r.deadline = uint64(block.timestamp);
        _expectPostRevert(r, _err(IComputeMarket.ComputeDeadlineInPast.selector, block.timestamp, block.timestamp));
        r.deadline = uint64(block.timestamp - 1);
        _expectPostRevert(r, _err(IComputeMarket.ComputeDeadlineInPast.selector, block.timestamp - 1, block.timestamp));
        uint256 earliest = block.timestamp + MIN_DURATION;
        uint256 latest = block.timestamp + MAX_DURATION;
        r.deadline = uint64(earliest - 1);
        _expectPostRevert(r, _err(IComputeMarket.ComputeInvalidDeadline.selector, earliest - 1, earliest, latest));
        r.deadline = uint64(latest + 1);
        _expectPostRevert(r, _err(IComputeMarket.ComputeInvalidDeadline.selector, latest + 1, earliest, latest));
        // Both bounds are allowed.
        r.deadline = uint64(earliest);
        _post(r);
        r.deadline = uint64(latest);
        _post(r);
    }

    function test_PostJob_RevertsOnBadInput() public {
        IComputeMarket.JobRequest memory r = _request(ZK);
        r.inputCommitment = 0;
        _expectPostRevert(r, _err(IComputeMarket.ComputeInvalidInputCommitment.selector, 0));
        r.inputCommitment = FIELD;
        _expectPostRevert(r, _err(IComputeMarket.ComputeInvalidInputCommitment.selector, FIELD));

        r = _request(ZK);
        r.input = "";
        _expectPostRevert(r, abi.encodeWithSelector(IComputeMarket.ComputeNoInput.selector));
        r = _request(ZK);
        r.inputRoot = 7;
        _expectPostRevert(r, abi.encodeWithSelector(IComputeMarket.ComputeBothInputs.selector));
        r.input = "";
        r.inputRoot = FIELD;
        _expectPostRevert(r, _err(IComputeMarket.ComputeInvalidRoot.selector, FIELD));

        r = _request(ZK);
        r.input = new bytes(INPUT_SIZE - 1);
        _expectPostRevert(r, _err(IComputeMarket.ComputeInvalidInputLength.selector, INPUT_SIZE - 1, INPUT_SIZE));
        r.input = new bytes(INPUT_SIZE + 1);
        _expectPostRevert(r, _err(IComputeMarket.ComputeInvalidInputLength.selector, INPUT_SIZE + 1, INPUT_SIZE));

        r = _request(ZK);
        r.input[63] = bytes1(uint8(INPUT_MAX + 1));
        _expectPostRevert(r, _err(IComputeMarket.ComputeInputOutOfRange.selector, 63, INPUT_MAX + 1, INPUT_MAX));
        r.input[5] = 0xff;
        _expectPostRevert(r, _err(IComputeMarket.ComputeInputOutOfRange.selector, 5, 255, INPUT_MAX));

        r = _request(ZK);
        r.dataRoots = new uint256[](9);
        _expectPostRevert(r, _err(IComputeMarket.ComputeTooManyDataRoots.selector, 9, 8));
        r.dataRoots = new uint256[](2);
        r.dataRoots[0] = 1;
        _expectPostRevert(r, _err(IComputeMarket.ComputeInvalidRoot.selector, 0));
        r.dataRoots[1] = FIELD;
        _expectPostRevert(r, _err(IComputeMarket.ComputeInvalidRoot.selector, FIELD));
    }

    /// @dev Asserts the revert and that it changed nothing (no job, no tokens moved).
    function _expectPostRevert(IComputeMarket.JobRequest memory r, bytes memory err) internal {
        uint256 count = market.jobCount();
        uint256 balance = token.balanceOf(client);
        vm.expectRevert(err);
        vm.prank(client);
        market.postJob(r);
        assertEq(market.jobCount(), count);
        assertEq(token.balanceOf(client), balance);
    }

    function testFuzz_PostJob_EscrowsExactlyThePrice(uint256 price, uint256 maxFee, uint256 duration) public {
        price = _bound(price, 0, FUNDS);
        maxFee = _bound(maxFee, price, type(uint128).max);
        duration = _bound(duration, MIN_DURATION, MAX_DURATION);
        vm.prank(modelOwner);
        models.setPrice(modelId, price);
        IComputeMarket.JobRequest memory r = _request(ZK);
        r.maxFee = maxFee;
        r.deadline = uint64(block.timestamp + duration);
        uint256 before = token.balanceOf(client);
        uint256 jobId = _post(r);
        assertEq(before - token.balanceOf(client), price);
        assertEq(token.balanceOf(address(market)), price);
        assertEq(_job(jobId).price, price);
        assertEq(_job(jobId).maxFee, maxFee);
        assertEq(_job(jobId).deadline, block.timestamp + duration);
    }

    function testFuzz_PostJob_RejectsDeadlinesOutsideTheWindow(uint256 deadline) public {
        deadline = _bound(deadline, 0, type(uint64).max);
        IComputeMarket.JobRequest memory r = _request(ZK);
        r.deadline = uint64(deadline);
        uint256 earliest = block.timestamp + MIN_DURATION;
        uint256 latest = block.timestamp + MAX_DURATION;
        if (deadline <= block.timestamp) {
            vm.expectRevert(_err(IComputeMarket.ComputeDeadlineInPast.selector, deadline, block.timestamp));
        } else if (deadline < earliest || deadline > latest) {
            vm.expectRevert(_err(IComputeMarket.ComputeInvalidDeadline.selector, deadline, earliest, latest));
        }
        vm.prank(client);
        market.postJob(r);
    }

    // ------------------------------------------------------------------ claimJob

    function test_ClaimJob_LocksCollateralAndEmits() public {
        uint256 jobId = _post(ZK);
        vm.expectEmit(address(market));
        emit IComputeMarket.JobClaimed(jobId, p1, COLLATERAL);
        vm.expectEmit(address(registry));
        emit IProviderRegistry.StakeLocked(p1, computeRole, address(market), COLLATERAL);
        _claim(p1, jobId);

        IComputeMarket.Job memory j = _job(jobId);
        assertEq(j.provider, p1);
        assertEq(uint256(j.status), uint256(IComputeMarket.Status.Claimed));
        assertEq(j.collateral, COLLATERAL);
        assertEq(registry.lockedBy(p1, computeRole, address(market)), COLLATERAL);
        assertEq(registry.provider(p1, computeRole).locked, COLLATERAL);
        assertEq(market.idleCollateral(p1), 0);
    }

    function test_ClaimJob_Rejections() public {
        vm.expectRevert(_err(IComputeMarket.ComputeUnknownJob.selector, 1));
        _claim(p1, 1);

        uint256 jobId = _post(ZK);
        address stranger = makeAddr("stranger");
        vm.expectRevert(_err(IComputeMarket.ComputeProviderNotActive.selector, stranger));
        _claim(stranger, jobId);

        // A provider whose bonded stake fell below the minimum is not active.
        vm.prank(p2);
        registry.requestUnbond(computeRole, MIN_STAKE + 1);
        vm.expectRevert(_err(IComputeMarket.ComputeProviderNotActive.selector, p2));
        _claim(p2, jobId);

        _claim(p1, jobId);
        vm.expectRevert(_err(IComputeMarket.ComputeJobNotOpen.selector, jobId, IComputeMarket.Status.Claimed));
        _claim(p1, jobId);

        uint256 late = _post(ZK);
        vm.warp(_job(late).deadline + 1);
        vm.expectRevert(_err(IComputeMarket.ComputeDeadlinePassed.selector, late, _job(late).deadline));
        _claim(p1, late);
    }

    function test_ClaimJob_RevertsWhenFreeStakeIsShort() public {
        address poor = makeAddr("poor");
        _fund(poor);
        _register(poor, MIN_STAKE);
        vm.prank(gov);
        market.setConfig(_withMinCollateral(MIN_STAKE + 1));
        uint256 jobId = _post(ZK);
        vm.expectRevert(
            abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInsufficientFreeStake.selector, MIN_STAKE + 1, MIN_STAKE)
        );
        _claim(poor, jobId);
        assertEq(uint256(_status(jobId)), uint256(IComputeMarket.Status.Open), "the failed claim changed nothing");
    }

    function _withMinCollateral(uint256 minCollateral) internal pure returns (IComputeMarket.Config memory c) {
        c = _config();
        c.minCollateral = minCollateral;
    }

    // ------------------------------------------------------------------ submitResult (zk)

    function test_SubmitResult_AcceptsPaysAndIdlesCollateral() public {
        uint256 jobId = _postAndClaim(ZK, p1);
        uint256 output = 7;
        // The market asks the model's verifier about exactly these public inputs.
        vm.expectCall(
            address(verifier),
            abi.encodeCall(IInferenceVerifier.verifyProof, (pA, pB, pC, _publicInputs(jobId, output, p1)))
        );
        _proofFor(jobId, output, p1);
        uint256 fee = _fee(PRICE);
        vm.roll(START_BLOCK + 5);
        vm.expectEmit(address(market));
        emit IComputeMarket.JobAccepted(jobId, p1, output, PRICE - fee, fee, address(0));
        _submit(p1, jobId, output);

        IComputeMarket.Job memory j = _job(jobId);
        assertEq(uint256(j.status), uint256(IComputeMarket.Status.Accepted));
        assertEq(j.output, output);
        assertEq(j.settledAt, START_BLOCK + 5);
        assertEq(market.credits(p1), PRICE - fee);
        assertEq(market.credits(treasury), fee);
        assertEq(market.credits(client), 0, "the client paid exactly the price: nothing to refund");
        assertEq(market.idleCollateral(p1), COLLATERAL, "the collateral stays locked as idle collateral");
        assertEq(registry.lockedBy(p1, computeRole, address(market)), COLLATERAL);
        assertEq(token.balanceOf(address(market)), PRICE, "the escrow became credits");
    }

    function test_SubmitResult_RejectsWrongOutput() public {
        uint256 jobId = _postAndClaim(ZK, p1);
        _proofFor(jobId, 3, p1);
        vm.expectRevert(_err(IComputeMarket.ComputeInvalidProof.selector, jobId));
        _submit(p1, jobId, 4);
        // An output that is no class of the model is refused before the verifier is asked.
        vm.expectRevert(_err(IComputeMarket.ComputeInvalidOutput.selector, jobId, OUTPUT_SIZE, OUTPUT_SIZE));
        _submit(p1, jobId, OUTPUT_SIZE);
        _submit(p1, jobId, 3);
    }

    function test_SubmitResult_RejectsProofOfAnotherModel() public {
        // Model 2: same verifier circuit, other weights. A proof made with model 1's weights fails for its job.
        IModelRegistry.ModelSpec memory spec = _spec();
        spec.weightsCommitment = WEIGHTS_COMMITMENT + 1;
        vm.prank(modelOwner);
        uint256 other = models.registerModel(spec);
        IComputeMarket.JobRequest memory r = _request(ZK);
        r.modelId = other;
        uint256 jobId = _post(r);
        _claim(p1, jobId);
        _proofFor(jobId, 1, p1);
        vm.expectRevert(_err(IComputeMarket.ComputeInvalidProof.selector, jobId));
        _submit(p1, jobId, 1);
        verifier.expectPublicInputs([WEIGHTS_COMMITMENT + 1, INPUT_COMMITMENT, 1, jobId, uint256(uint160(p1))]);
        _submit(p1, jobId, 1);
    }

    function test_SubmitResult_RejectsProofOfAnotherInput() public {
        IComputeMarket.JobRequest memory r = _request(ZK);
        r.inputCommitment = INPUT_COMMITMENT + 1;
        uint256 jobId = _post(r);
        _claim(p1, jobId);
        _proofFor(jobId, 2, p1); // proves the fixture input, not this job's
        vm.expectRevert(_err(IComputeMarket.ComputeInvalidProof.selector, jobId));
        _submit(p1, jobId, 2);
    }

    function test_SubmitResult_RejectsProofForAnotherJobOrProvider() public {
        uint256 first = _postAndClaim(ZK, p1);
        uint256 second = _postAndClaim(ZK, p2);
        // p1's proof for its own job, replayed for the second job by its provider p2: bound to job and prover.
        _proofFor(first, 5, p1);
        vm.expectRevert(_err(IComputeMarket.ComputeInvalidProof.selector, second));
        _submit(p2, second, 5);
        // A proof made for p2, submitted by p1 for p1's job.
        _proofFor(first, 5, p2);
        vm.expectRevert(_err(IComputeMarket.ComputeInvalidProof.selector, first));
        _submit(p1, first, 5);
        // p2 submitting for p1's job is refused before any proof check.
        vm.expectRevert(_err(IComputeMarket.ComputeNotProvider.selector, first, p2));
        _submit(p2, first, 5);
        _proofFor(first, 5, p1);
        _submit(p1, first, 5);
    }

    function test_SubmitResult_RejectsLateResult() public {
        uint256 jobId = _postAndClaim(ZK, p1);
        uint256 deadline = _job(jobId).deadline;
        _proofFor(jobId, 1, p1);
        vm.warp(deadline + 1);
        vm.expectRevert(_err(IComputeMarket.ComputeDeadlinePassed.selector, jobId, deadline));
        _submit(p1, jobId, 1);
        // At the deadline itself it is still in time.
        vm.warp(deadline);
        _submit(p1, jobId, 1);
    }

    function test_SubmitResult_RejectsSecondResult() public {
        uint256 jobId = _postAndClaim(ZK, p1);
        _submit(p1, jobId, 1);
        vm.expectRevert(_err(IComputeMarket.ComputeJobNotClaimed.selector, jobId, IComputeMarket.Status.Accepted));
        _submit(p1, jobId, 1);
        vm.expectRevert(_err(IComputeMarket.ComputeJobNotClaimed.selector, jobId, IComputeMarket.Status.Accepted));
        _submit(p1, jobId, 2);
        assertEq(market.credits(p1), PRICE - _fee(PRICE), "paid once");
    }

    function test_SubmitResult_RejectsUnclaimedUnknownAndWrongMode() public {
        vm.expectRevert(_err(IComputeMarket.ComputeUnknownJob.selector, 9));
        _submit(p1, 9, 1);
        uint256 open = _post(ZK);
        vm.expectRevert(_err(IComputeMarket.ComputeJobNotClaimed.selector, open, IComputeMarket.Status.Open));
        _submit(p1, open, 1);
        uint256 tee = _postAndClaim(TEE, p1);
        vm.expectRevert(abi.encodeWithSelector(IComputeMarket.ComputeWrongMode.selector, tee, TEE));
        _submit(p1, tee, 1);
        uint256 zk = _postAndClaim(ZK, p1);
        bytes memory signature = _teeSignature(ENCLAVE_KEY, zk, 1, p1);
        vm.expectRevert(abi.encodeWithSelector(IComputeMarket.ComputeWrongMode.selector, zk, ZK));
        _submitTee(p1, zk, 1, signature);
    }

    function test_SubmitResult_RejectsWhenVerifierSaysNo() public {
        uint256 jobId = _postAndClaim(ZK, p1);
        verifier.setResult(false);
        vm.expectRevert(_err(IComputeMarket.ComputeInvalidProof.selector, jobId));
        _submit(p1, jobId, 1);
    }

    function testFuzz_Settlement_SplitsThePrice(uint256 price, uint256 feeBps, uint256 output) public {
        price = _bound(price, 0, FUNDS / 4);
        feeBps = _bound(feeBps, 0, 2_000);
        output = _bound(output, 0, OUTPUT_SIZE - 1);
        IComputeMarket.Config memory c = _config();
        c.protocolFeeBps = feeBps;
        vm.prank(gov);
        market.setConfig(c);
        vm.prank(modelOwner);
        models.setPrice(modelId, price);
        // Large collateral needs a large stake.
        vm.prank(p1);
        registry.addStake(computeRole, price * 2 + 1);

        IComputeMarket.JobRequest memory r = _request(ZK);
        r.maxFee = price;
        uint256 jobId = _post(r);
        _claim(p1, jobId);
        uint256 collateral = _job(jobId).collateral;
        assertEq(collateral, price * 2 > MIN_COLLATERAL ? price * 2 : MIN_COLLATERAL);
        _submit(p1, jobId, output);
        uint256 fee = price * feeBps / BPS;
        assertEq(market.credits(p1), price - fee);
        assertEq(market.credits(treasury), fee);
        assertEq(market.credits(p1) + market.credits(treasury), price, "nothing created or lost");
        assertEq(token.balanceOf(address(market)), price);
        assertEq(market.idleCollateral(p1), collateral);
        assertEq(_job(jobId).output, output);
    }

    // ------------------------------------------------------------------ submitResultTee

    function test_SubmitResultTee_AcceptsAcknowledgedEnclave() public {
        uint256 jobId = _postAndClaim(TEE, p1);
        bytes32 digest = market.resultDigest(jobId, modelId, WEIGHTS_COMMITMENT, INPUT_COMMITMENT, 4, p1);
        assertEq(
            digest,
            _digest(jobId, modelId, WEIGHTS_COMMITMENT, INPUT_COMMITMENT, 4, p1),
            "digest matches EIP-712 written out"
        );
        bytes memory signature = _sign(ENCLAVE_KEY, digest);
        uint256 fee = _fee(PRICE);
        vm.expectEmit(address(market));
        emit IComputeMarket.JobAccepted(jobId, p1, 4, PRICE - fee, fee, enclaveSigner);
        _submitTee(p1, jobId, 4, signature);
        assertEq(uint256(_status(jobId)), uint256(IComputeMarket.Status.Accepted));
        assertEq(_job(jobId).output, 4);
        assertEq(market.credits(p1), PRICE - fee);
        assertEq(market.credits(treasury), fee);
        assertEq(market.idleCollateral(p1), COLLATERAL);
    }

    function test_SubmitResultTee_RejectsUnacknowledgedKey() public {
        uint256 jobId = _postAndClaim(TEE, p1);
        bytes memory signature = _teeSignature(OTHER_KEY, jobId, 4, p1);
        vm.expectRevert(_err(IComputeMarket.ComputeEnclaveUnknown.selector, vm.addr(OTHER_KEY)));
        _submitTee(p1, jobId, 4, signature);
    }

    function test_SubmitResultTee_RejectsRevokedKey() public {
        uint256 jobId = _postAndClaim(TEE, p1);
        bytes memory signature = _teeSignature(ENCLAVE_KEY, jobId, 4, p1);
        vm.warp(block.timestamp + 60);
        vm.prank(gov);
        models.revokeEnclave(enclaveSigner);
        vm.expectRevert(
            abi.encodeWithSelector(IComputeMarket.ComputeEnclaveRevoked.selector, enclaveSigner, block.timestamp)
        );
        _submitTee(p1, jobId, 4, signature);
    }

    function test_SubmitResultTee_RejectsKeyOfAnotherMeasurement() public {
        bytes32 otherMeasurement = keccak256("other code");
        vm.prank(gov);
        models.acknowledgeEnclave(vm.addr(OTHER_KEY), otherMeasurement);
        uint256 jobId = _postAndClaim(TEE, p1);
        bytes memory signature = _teeSignature(OTHER_KEY, jobId, 4, p1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IComputeMarket.ComputeEnclaveWrongMeasurement.selector, vm.addr(OTHER_KEY), otherMeasurement, MEASUREMENT
            )
        );
        _submitTee(p1, jobId, 4, signature);
        // The model owner moving the model to the other enclave code does not affect the job in flight: it
        // keeps the measurement snapshotted at posting, so the other key stays refused and the first is accepted.
        vm.prank(modelOwner);
        models.setTeeMeasurement(modelId, otherMeasurement);
        vm.expectRevert(
            abi.encodeWithSelector(
                IComputeMarket.ComputeEnclaveWrongMeasurement.selector, vm.addr(OTHER_KEY), otherMeasurement, MEASUREMENT
            )
        );
        _submitTee(p1, jobId, 4, signature);
        _submitTee(p1, jobId, 4, _teeSignature(ENCLAVE_KEY, jobId, 4, p1));
        assertEq(uint256(_status(jobId)), uint256(IComputeMarket.Status.Accepted));
        // A job posted after the change snapshots the new measurement: the other key is valid, the first not.
        uint256 next = _postAndClaim(TEE, p1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IComputeMarket.ComputeEnclaveWrongMeasurement.selector, enclaveSigner, MEASUREMENT, otherMeasurement
            )
        );
        _submitTee(p1, next, 4, _teeSignature(ENCLAVE_KEY, next, 4, p1));
        _submitTee(p1, next, 4, _teeSignature(OTHER_KEY, next, 4, p1));
    }

    function test_SubmitResultTee_RejectsSignatureOfAnotherOutputJobOrProvider() public {
        uint256 jobId = _postAndClaim(TEE, p1);
        uint256 other = _postAndClaim(TEE, p2);
        // Each recovers some unrelated address, which is no acknowledged enclave.
        bytes memory wrongOutput = _teeSignature(ENCLAVE_KEY, jobId, 5, p1);
        vm.expectRevert(); // ComputeEnclaveUnknown(<recovered address>)
        _submitTee(p1, jobId, 4, wrongOutput);
        bytes memory otherJob = _teeSignature(ENCLAVE_KEY, other, 4, p1);
        vm.expectRevert();
        _submitTee(p1, jobId, 4, otherJob);
        bytes memory otherProvider = _teeSignature(ENCLAVE_KEY, jobId, 4, p2);
        vm.expectRevert();
        _submitTee(p1, jobId, 4, otherProvider);
        bytes32 wrongInput = _digest(jobId, modelId, WEIGHTS_COMMITMENT, INPUT_COMMITMENT + 1, 4, p1);
        vm.expectRevert();
        _submitTee(p1, jobId, 4, _sign(ENCLAVE_KEY, wrongInput));
        bytes32 wrongWeights = _digest(jobId, modelId, WEIGHTS_COMMITMENT + 1, INPUT_COMMITMENT, 4, p1);
        vm.expectRevert();
        _submitTee(p1, jobId, 4, _sign(ENCLAVE_KEY, wrongWeights));
        // Precisely: the recovered signer is unknown.
        address recovered = ecrecover(
            _digest(jobId, modelId, WEIGHTS_COMMITMENT, INPUT_COMMITMENT, 4, p1), uint8(wrongOutput[64]), bytes32(_slice(wrongOutput, 0)), bytes32(_slice(wrongOutput, 32))
        );
        vm.expectRevert(_err(IComputeMarket.ComputeEnclaveUnknown.selector, recovered));
        _submitTee(p1, jobId, 4, wrongOutput);
        assertEq(uint256(_status(jobId)), uint256(IComputeMarket.Status.Claimed));
        _submitTee(p1, jobId, 4, _teeSignature(ENCLAVE_KEY, jobId, 4, p1));
    }

    function _slice(bytes memory b, uint256 offset) internal pure returns (uint256 word) {
        assembly ("memory-safe") {
            word := mload(add(add(b, 0x20), offset))
        }
    }

    function test_SubmitResultTee_RejectsMalformedSignature() public {
        uint256 jobId = _postAndClaim(TEE, p1);
        vm.expectRevert(_err(IComputeMarket.ComputeInvalidSignature.selector, jobId));
        _submitTee(p1, jobId, 4, new bytes(64));
        bytes memory zero = new bytes(65);
        vm.expectRevert(_err(IComputeMarket.ComputeInvalidSignature.selector, jobId));
        _submitTee(p1, jobId, 4, zero);
    }

    function test_SubmitResultTee_RejectsLateAndSecondResult() public {
        uint256 jobId = _postAndClaim(TEE, p1);
        bytes memory signature = _teeSignature(ENCLAVE_KEY, jobId, 4, p1);
        uint256 deadline = _job(jobId).deadline;
        vm.warp(deadline + 1);
        vm.expectRevert(_err(IComputeMarket.ComputeDeadlinePassed.selector, jobId, deadline));
        _submitTee(p1, jobId, 4, signature);
        vm.warp(deadline);
        _submitTee(p1, jobId, 4, signature);
        vm.expectRevert(_err(IComputeMarket.ComputeJobNotClaimed.selector, jobId, IComputeMarket.Status.Accepted));
        _submitTee(p1, jobId, 4, signature);
        uint256 other = _postAndClaim(TEE, p1);
        vm.expectRevert(_err(IComputeMarket.ComputeNotProvider.selector, other, p2));
        _submitTee(p2, other, 4, _teeSignature(ENCLAVE_KEY, other, 4, p2));
    }

    // ------------------------------------------------------------------ expire and cancel

    function test_Expire_OpenJobRefundsTheClient() public {
        uint256 jobId = _post(ZK);
        uint256 deadline = _job(jobId).deadline;
        vm.warp(deadline);
        vm.expectRevert(_err(IComputeMarket.ComputeDeadlineNotPassed.selector, jobId, deadline));
        market.expire(jobId);
        vm.warp(deadline + 1);
        vm.roll(START_BLOCK + 9);
        vm.expectEmit(address(market));
        emit IComputeMarket.JobExpired(jobId, IComputeMarket.Status.Refunded, PRICE, 0, reporter, 0);
        vm.prank(reporter);
        market.expire(jobId);
        assertEq(uint256(_status(jobId)), uint256(IComputeMarket.Status.Refunded));
        assertEq(_job(jobId).settledAt, START_BLOCK + 9);
        assertEq(market.credits(client), PRICE);
        assertEq(market.credits(reporter), 0);
        vm.expectRevert(_err(IComputeMarket.ComputeJobSettled.selector, jobId, IComputeMarket.Status.Refunded));
        market.expire(jobId);
        vm.expectRevert(_err(IComputeMarket.ComputeUnknownJob.selector, 5));
        market.expire(5);
    }

    function test_Expire_ClaimedJobSlashesCollateral() public {
        uint256 jobId = _postAndClaim(ZK, p1);
        uint256 stakeBefore = registry.provider(p1, computeRole).stake;
        vm.warp(_job(jobId).deadline + 1);
        uint256 share = COLLATERAL * REPORTER_BPS / BPS;
        vm.expectEmit(address(registry));
        emit IProviderRegistry.StakeSlashed(p1, computeRole, address(market), COLLATERAL, address(market));
        vm.expectEmit(address(market));
        emit IComputeMarket.JobExpired(
            jobId, IComputeMarket.Status.Slashed, PRICE + COLLATERAL - share, COLLATERAL, reporter, share
        );
        vm.prank(reporter);
        market.expire(jobId);

        assertEq(uint256(_status(jobId)), uint256(IComputeMarket.Status.Slashed));
        assertEq(registry.provider(p1, computeRole).stake, stakeBefore - COLLATERAL);
        assertEq(registry.provider(p1, computeRole).locked, 0);
        assertEq(registry.lockedBy(p1, computeRole, address(market)), 0);
        assertEq(market.credits(client), PRICE + COLLATERAL - share);
        assertEq(market.credits(reporter), share);
        assertEq(market.credits(p1), 0);
        assertEq(token.balanceOf(address(market)), PRICE + COLLATERAL);
        vm.expectRevert(_err(IComputeMarket.ComputeJobSettled.selector, jobId, IComputeMarket.Status.Slashed));
        market.expire(jobId);
        // A late result after expiry is refused too.
        vm.expectRevert(_err(IComputeMarket.ComputeJobNotClaimed.selector, jobId, IComputeMarket.Status.Slashed));
        _submit(p1, jobId, 1);
    }

    function test_Expire_DeauthorisedMarketStillRefundsTheClient() public {
        uint256 jobId = _postAndClaim(ZK, p1);
        uint256 stakeBefore = registry.provider(p1, computeRole).stake;
        vm.prank(gov);
        registry.setLayer(address(market), computeRole, false);
        vm.warp(_job(jobId).deadline + 1);
        vm.expectEmit(address(market));
        emit IComputeMarket.JobExpired(jobId, IComputeMarket.Status.Slashed, PRICE, 0, reporter, 0);
        vm.prank(reporter);
        market.expire(jobId);
        assertEq(uint256(_status(jobId)), uint256(IComputeMarket.Status.Slashed));
        assertEq(registry.provider(p1, computeRole).stake, stakeBefore, "nothing slashed");
        assertEq(market.credits(client), PRICE);
        assertEq(market.credits(reporter), 0);
        assertEq(token.balanceOf(address(market)), PRICE);
    }

    function test_Expire_ProviderExpiringItsOwnJobEarnsNoBounty() public {
        uint256 jobId = _postAndClaim(ZK, p1);
        vm.warp(_job(jobId).deadline + 1);
        vm.prank(p1);
        market.expire(jobId);
        assertEq(market.credits(p1), 0);
        assertEq(market.credits(client), PRICE + COLLATERAL);
    }

    function test_Expire_SlashesOnlyTheJobsCollateralNotIdleOrFreeStake() public {
        // p1 finishes one job (its collateral turns idle) and leaves a second one unproven.
        uint256 done = _postAndClaim(ZK, p1);
        _submit(p1, done, 1);
        uint256 late = _post(ZK);
        vm.prank(gov);
        market.setConfig(_withMinCollateral(6e18));
        _claim(p1, late);
        assertEq(_job(late).collateral, 6e18);
        assertEq(market.idleCollateral(p1), 0, "the idle 4 were reused");
        assertEq(registry.lockedBy(p1, computeRole, address(market)), 6e18, "2 more were locked");
        uint256 stakeBefore = registry.provider(p1, computeRole).stake;
        vm.warp(_job(late).deadline + 1);
        market.expire(late);
        assertEq(stakeBefore - registry.provider(p1, computeRole).stake, 6e18);
        assertEq(registry.lockedBy(p1, computeRole, address(market)), 0);
    }

    function testFuzz_Expire_SplitsTheSlash(uint256 minCollateral, uint256 reporterBps, uint256 delay) public {
        minCollateral = _bound(minCollateral, 0, MIN_STAKE * 2);
        reporterBps = _bound(reporterBps, 0, BPS);
        delay = _bound(delay, 1, 365 days);
        IComputeMarket.Config memory c = _config();
        c.minCollateral = minCollateral;
        c.collateralBps = 0;
        c.reporterBps = reporterBps;
        vm.prank(gov);
        market.setConfig(c);
        uint256 jobId = _postAndClaim(ZK, p1);
        assertEq(_job(jobId).collateral, minCollateral);
        vm.warp(_job(jobId).deadline + delay);
        vm.prank(reporter);
        market.expire(jobId);
        uint256 share = minCollateral * reporterBps / BPS;
        assertEq(market.credits(reporter), share);
        assertEq(market.credits(client), PRICE + minCollateral - share);
        assertEq(token.balanceOf(address(market)), PRICE + minCollateral);
        assertEq(registry.lockedBy(p1, computeRole, address(market)), 0);
    }

    function test_CancelJob_ClientRefundsOpenJob() public {
        uint256 jobId = _post(ZK);
        vm.expectRevert(_err(IComputeMarket.ComputeNotClient.selector, jobId, p1));
        vm.prank(p1);
        market.cancelJob(jobId);
        vm.expectEmit(address(market));
        emit IComputeMarket.JobCancelled(jobId, PRICE);
        vm.prank(client);
        market.cancelJob(jobId);
        assertEq(uint256(_status(jobId)), uint256(IComputeMarket.Status.Refunded));
        assertEq(market.credits(client), PRICE);
        vm.expectRevert(_err(IComputeMarket.ComputeJobNotOpen.selector, jobId, IComputeMarket.Status.Refunded));
        vm.prank(client);
        market.cancelJob(jobId);
        vm.expectRevert(_err(IComputeMarket.ComputeJobNotOpen.selector, jobId, IComputeMarket.Status.Refunded));
        _claim(p1, jobId);

        uint256 claimed = _postAndClaim(ZK, p1);
        vm.expectRevert(_err(IComputeMarket.ComputeJobNotOpen.selector, claimed, IComputeMarket.Status.Claimed));
        vm.prank(client);
        market.cancelJob(claimed);
        vm.expectRevert(_err(IComputeMarket.ComputeUnknownJob.selector, 77));
        vm.prank(client);
        market.cancelJob(77);
    }

    // ------------------------------------------------------------------ withdraw and collateral

    function test_Withdraw_PaysCreditsOnce() public {
        uint256 jobId = _postAndClaim(ZK, p1);
        _submit(p1, jobId, 1);
        uint256 pay = PRICE - _fee(PRICE);
        uint256 before = token.balanceOf(p1);
        vm.expectEmit(address(market));
        emit IComputeMarket.Withdrawn(p1, pay);
        vm.prank(p1);
        market.withdraw();
        assertEq(token.balanceOf(p1) - before, pay);
        assertEq(market.credits(p1), 0);
        vm.expectRevert(_err(IComputeMarket.ComputeNothingToWithdraw.selector, p1));
        vm.prank(p1);
        market.withdraw();
        vm.prank(treasury);
        market.withdraw();
        assertEq(token.balanceOf(treasury), _fee(PRICE));
        assertEq(token.balanceOf(address(market)), 0);
        vm.expectRevert(_err(IComputeMarket.ComputeNothingToWithdraw.selector, reporter));
        vm.prank(reporter);
        market.withdraw();
    }

    function test_ReleaseCollateral_UnlocksIdleStake() public {
        vm.expectRevert(_err(IComputeMarket.ComputeNothingToRelease.selector, p1));
        vm.prank(p1);
        market.releaseCollateral();
        uint256 jobId = _postAndClaim(ZK, p1);
        // Collateral of a claimed job is not idle.
        vm.expectRevert(_err(IComputeMarket.ComputeNothingToRelease.selector, p1));
        vm.prank(p1);
        market.releaseCollateral();
        _submit(p1, jobId, 1);
        vm.expectEmit(address(market));
        emit IComputeMarket.CollateralReleased(p1, COLLATERAL);
        vm.expectEmit(address(registry));
        emit IProviderRegistry.StakeUnlocked(p1, computeRole, address(market), COLLATERAL);
        vm.prank(p1);
        market.releaseCollateral();
        assertEq(market.idleCollateral(p1), 0);
        assertEq(registry.provider(p1, computeRole).locked, 0);
        assertEq(market.credits(p1), PRICE - _fee(PRICE), "credits untouched");
        // The whole stake can now be unbonded.
        vm.prank(p1);
        registry.requestUnbond(computeRole, MIN_STAKE * 2);
    }

    function test_ClaimJob_ReusesIdleCollateral() public {
        uint256 first = _postAndClaim(ZK, p1);
        _submit(p1, first, 1);
        uint256 second = _post(ZK);
        vm.recordLogs();
        _claim(p1, second);
        assertEq(vm.getRecordedLogs().length, 1, "only JobClaimed: no new lock in the registry");
        assertEq(market.idleCollateral(p1), 0);
        assertEq(registry.lockedBy(p1, computeRole, address(market)), COLLATERAL);
        assertEq(_job(second).collateral, COLLATERAL);
        // Larger collateral: the idle part is reused, the rest locked.
        _submit(p1, second, 1);
        vm.prank(gov);
        market.setConfig(_withMinCollateral(COLLATERAL + 3e18));
        uint256 third = _post(ZK);
        vm.expectEmit(address(registry));
        emit IProviderRegistry.StakeLocked(p1, computeRole, address(market), 3e18);
        _claim(p1, third);
        assertEq(registry.lockedBy(p1, computeRole, address(market)), COLLATERAL + 3e18);
        // Smaller collateral leaves the rest idle.
        _submit(p1, third, 1);
        vm.prank(gov);
        market.setConfig(_config());
        _claim(p1, _post(ZK));
        assertEq(market.idleCollateral(p1), 3e18);
        assertEq(registry.lockedBy(p1, computeRole, address(market)), COLLATERAL + 3e18);
    }

    // ------------------------------------------------------------------ recordOutput (real storage deal)

    function test_RecordOutput_RegistersTheProvidersStorageDeal() public {
        uint256 jobId = _postAndClaim(ZK, p1);
        uint256 outputRoot = 0x0a11ce;
        vm.prank(p1);
        uint256 dealId = storageMarket.createDeal(outputRoot, 100, 1, 1, 1e15);
        vm.expectRevert(_err(IComputeMarket.ComputeJobNotAccepted.selector, jobId, IComputeMarket.Status.Claimed));
        vm.prank(p1);
        market.recordOutput(jobId, dealId);
        _submit(p1, jobId, 1);

        vm.expectRevert(_err(IComputeMarket.ComputeNotProvider.selector, jobId, p2));
        vm.prank(p2);
        market.recordOutput(jobId, dealId);
        vm.prank(client);
        uint256 clientDeal = storageMarket.createDeal(outputRoot, 100, 1, 1, 1e15);
        vm.expectRevert(_err(IComputeMarket.ComputeDealNotByProvider.selector, clientDeal, client));
        vm.prank(p1);
        market.recordOutput(jobId, clientDeal);
        vm.expectRevert(_err(IStorageMarket.StorageMarketUnknownDeal.selector, 99));
        vm.prank(p1);
        market.recordOutput(jobId, 99);
        // A deal whose slot is still free (its upload never stored) is refused until it is Active.
        vm.expectRevert(
            abi.encodeWithSelector(
                IComputeMarket.ComputeDealNotActive.selector, dealId, IStorageMarket.DealStatus.Pending
            )
        );
        vm.prank(p1);
        market.recordOutput(jobId, dealId);
        _activateDeal(dealId);

        vm.expectEmit(address(market));
        emit IComputeMarket.OutputRecorded(jobId, outputRoot, dealId);
        vm.prank(p1);
        market.recordOutput(jobId, dealId);
        assertEq(_job(jobId).outputRoot, outputRoot);
        assertEq(market.producerOf(outputRoot), jobId);
        assertEq(market.producerOf(outputRoot + 1), 0);
        vm.expectRevert(_err(IComputeMarket.ComputeOutputRecorded.selector, jobId, outputRoot));
        vm.prank(p1);
        market.recordOutput(jobId, dealId);

        // A later job with the same result file keeps the first producer.
        uint256 again = _postAndClaim(ZK, p1);
        _submit(p1, again, 1);
        vm.prank(p1);
        market.recordOutput(again, dealId);
        assertEq(_job(again).outputRoot, outputRoot);
        assertEq(market.producerOf(outputRoot), jobId);

        vm.expectRevert(_err(IComputeMarket.ComputeUnknownJob.selector, 50));
        market.recordOutput(50, dealId);
    }

    // ------------------------------------------------------------------ views

    function test_Views_RevertForUnknownJobs() public {
        vm.expectRevert(_err(IComputeMarket.ComputeUnknownJob.selector, 1));
        market.job(1);
        vm.expectRevert(_err(IComputeMarket.ComputeUnknownJob.selector, 1));
        market.jobDataRoots(1);
    }

    // ------------------------------------------------------------------ gas (execution only; see bench/ for receipts)

    function test_Gas_ResultPaths() public {
        verifier.setSimulateGroth16Cost(true);
        // Steady state: provider, treasury and client accounts touched by an earlier job.
        uint256 warmup = _postAndClaim(ZK, p1);
        _submit(p1, warmup, 1);
        uint256 zk = _postAndClaim(ZK, p1);
        uint256 tee = _postAndClaim(TEE, p1);
        bytes memory signature = _teeSignature(ENCLAVE_KEY, tee, 3, p1);

        _coolAll();
        uint256 before = gasleft();
        vm.prank(p1);
        market.submitResult(zk, 3, pA, pB, pC);
        uint256 zkGas = before - gasleft();
        uint256 zkIntrinsic = _intrinsic(abi.encodeCall(market.submitResult, (zk, 3, pA, pB, pC)));

        _coolAll();
        before = gasleft();
        vm.prank(p1);
        market.submitResultTee(tee, 3, signature);
        uint256 teeGas = before - gasleft();
        uint256 teeIntrinsic = _intrinsic(abi.encodeCall(market.submitResultTee, (tee, 3, signature)));

        console.log("submitResult (zk, simulated 5-input Groth16) execution gas", zkGas, "+ intrinsic", zkIntrinsic);
        console.log("submitResultTee execution gas", teeGas, "+ intrinsic", teeIntrinsic);
        assertLe(teeGas + teeIntrinsic, 120_000, "TEE result within its budget");
    }

    /// @dev Makes every contract's storage cold again, as at the start of a transaction.
    function _coolAll() internal {
        vm.cool(address(market));
        vm.cool(address(models));
        vm.cool(address(registry));
        vm.cool(address(verifier));
    }
}
