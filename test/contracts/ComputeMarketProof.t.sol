// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {console} from "forge-std/Test.sol";
import {DigitsVerifier} from "../../contracts/verifiers/DigitsVerifier.sol";
import {IComputeMarket} from "../../contracts/interfaces/IComputeMarket.sol";
import {IModelRegistry} from "../../contracts/interfaces/IModelRegistry.sol";
import {ComputeFixture} from "./ComputeMarketFixture.t.sol";

/// @notice The market with the real DigitsVerifier and the real proof of test/vectors/compute.json (made by
///         test/vectors/compute-vectors.ts for job 1 and its prover address): the proof settles its job, and
///         is refused for every other output, job, provider, model or input.
contract ComputeMarketProofTest is ComputeFixture {
    string internal constant VECTORS = "test/vectors/compute.json";

    DigitsVerifier internal digits;
    uint256 internal digitsModel;
    address internal prover;
    uint256 internal vectorJob;
    uint256 internal output;
    uint256 internal inputCommitment;
    bytes internal input;

    function setUp() public override {
        super.setUp();
        string memory json = vm.readFile(VECTORS);
        for (uint256 i = 0; i < 2; ++i) {
            pA[i] = vm.parseJsonUint(json, string.concat(".proof.pA[", vm.toString(i), "]"));
            pC[i] = vm.parseJsonUint(json, string.concat(".proof.pC[", vm.toString(i), "]"));
            for (uint256 k = 0; k < 2; ++k) {
                pB[i][k] = vm.parseJsonUint(json, string.concat(".proof.pB[", vm.toString(i), "][", vm.toString(k), "]"));
            }
        }
        prover = vm.parseJsonAddress(json, ".proof.prover");
        vectorJob = vm.parseJsonUint(json, ".proof.jobId");
        string memory base = string.concat(".inputs[", vm.toString(vm.parseJsonUint(json, ".proof.input")), "]");
        output = vm.parseJsonUint(json, string.concat(base, ".output"));
        inputCommitment = vm.parseJsonUint(json, string.concat(base, ".inputCommitment"));
        uint256[] memory values = vm.parseJsonUintArray(json, string.concat(base, ".input"));
        input = new bytes(values.length);
        for (uint256 i = 0; i < values.length; ++i) {
            input[i] = bytes1(uint8(values[i]));
        }

        digits = new DigitsVerifier();
        IModelRegistry.ModelSpec memory spec = _spec();
        spec.verifier = address(digits);
        spec.weightsCommitment = vm.parseJsonUint(json, ".model.weightsCommitment");
        vm.prank(modelOwner);
        digitsModel = models.registerModel(spec);

        _fund(prover);
        _register(prover, MIN_STAKE * 2);
    }

    function _digitsRequest() internal view returns (IComputeMarket.JobRequest memory r) {
        r = _request(IComputeMarket.Mode.Zk);
        r.modelId = digitsModel;
        r.inputCommitment = inputCommitment;
        r.input = input;
    }

    /// @dev Posts filler jobs until the vector's job id is the next one, then posts `request` as that job.
    function _postAsVectorJob(IComputeMarket.JobRequest memory request) internal returns (uint256 jobId) {
        while (market.jobCount() + 1 < vectorJob) {
            _post(_digitsRequest());
        }
        jobId = _post(request);
        assertEq(jobId, vectorJob, "the proof is bound to this job id");
    }

    function _postVectorJob(address provider) internal returns (uint256 jobId) {
        jobId = _postAsVectorJob(_digitsRequest());
        _claim(provider, jobId);
    }

    function _submitProof(address provider, uint256 jobId, uint256 out) internal {
        vm.prank(provider);
        market.submitResult(jobId, out, pA, pB, pC);
    }

    function test_RealProof_AcceptedAndPaid() public {
        uint256 jobId = _postVectorJob(prover);
        uint256 fee = _fee(PRICE);
        vm.expectEmit(address(market));
        emit IComputeMarket.JobAccepted(jobId, prover, output, PRICE - fee, fee, address(0));
        vm.cool(address(market));
        vm.cool(address(models));
        vm.cool(address(digits));
        vm.cool(address(registry));
        uint256 before = gasleft();
        _submitProof(prover, jobId, output);
        uint256 used = before - gasleft();
        uint256 intrinsic = _intrinsic(abi.encodeCall(market.submitResult, (jobId, output, pA, pB, pC)));
        // The measured execution includes a cold access to the market (2,600) that a real transaction, whose
        // target is warm from the start, does not pay.
        console.log("submitResult with DigitsVerifier: execution gas", used, "+ intrinsic", intrinsic);
        console.log("  estimated transaction gas", used + intrinsic - 2_600);
        assertLe(used + intrinsic - 2_600, 300_000, "zk result within its budget");

        IComputeMarket.Job memory j = _job(jobId);
        assertEq(uint256(j.status), uint256(IComputeMarket.Status.Accepted));
        assertEq(j.output, output);
        assertEq(market.credits(prover), PRICE - fee);
        assertEq(market.credits(treasury), fee);
    }

    function test_RealProof_RejectedForAnotherOutput() public {
        uint256 jobId = _postVectorJob(prover);
        for (uint256 k = 0; k < OUTPUT_SIZE; ++k) {
            if (k == output) continue;
            vm.expectRevert(_err(IComputeMarket.ComputeInvalidProof.selector, jobId));
            _submitProof(prover, jobId, k);
        }
    }

    function test_RealProof_RejectedForAnotherProvider() public {
        // p1 claims the vector's job and submits the prover's proof: bound to the prover's address.
        uint256 jobId = _postVectorJob(p1);
        vm.expectRevert(_err(IComputeMarket.ComputeInvalidProof.selector, jobId));
        _submitProof(p1, jobId, output);
    }

    function test_RealProof_RejectedForAnotherJob() public {
        uint256 jobId = _postVectorJob(prover);
        uint256 other = _post(_digitsRequest());
        _claim(prover, other);
        vm.expectRevert(_err(IComputeMarket.ComputeInvalidProof.selector, other));
        _submitProof(prover, other, output);
        _submitProof(prover, jobId, output);
    }

    function test_RealProof_RejectedForAnotherModel() public {
        // The same circuit and verifier registered with other weights: the vector's job id, input and prover,
        // but the proof was made with the digits weights.
        IModelRegistry.ModelSpec memory spec = _spec();
        spec.verifier = address(digits);
        spec.weightsCommitment = vm.parseJsonUint(vm.readFile(VECTORS), ".model.weightsCommitment") ^ 1;
        vm.prank(modelOwner);
        uint256 otherWeights = models.registerModel(spec);
        IComputeMarket.JobRequest memory r = _digitsRequest();
        r.modelId = otherWeights;
        uint256 jobId = _postAsVectorJob(r);
        _claim(prover, jobId);
        vm.expectRevert(_err(IComputeMarket.ComputeInvalidProof.selector, jobId));
        _submitProof(prover, jobId, output);
    }

    function test_RealProof_RejectedForAnotherInput() public {
        IComputeMarket.JobRequest memory r = _digitsRequest();
        r.inputCommitment = vm.parseJsonUint(vm.readFile(VECTORS), ".inputs[1].inputCommitment");
        assertTrue(r.inputCommitment != inputCommitment);
        uint256 jobId = _postAsVectorJob(r);
        _claim(prover, jobId);
        vm.expectRevert(_err(IComputeMarket.ComputeInvalidProof.selector, jobId));
        _submitProof(prover, jobId, output);
    }
}
