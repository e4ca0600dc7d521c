// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {DigitsVerifier} from "../../contracts/verifiers/DigitsVerifier.sol";

/// @notice The generated digits verifier against the real proof in test/vectors/compute.json (made by
///         test/vectors/compute-vectors.ts from the TypeScript reference): it accepts the proof with its
///         public inputs [weightsCommitment, inputCommitment, output, jobId, prover] and rejects it when
///         any of them, or the proof, changes.
contract DigitsVerifierTest is Test {
    string internal constant VECTORS = "test/vectors/compute.json";
    /// @dev BN254 scalar field (public inputs) and base field (point coordinates).
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;

    DigitsVerifier internal verifier;
    string internal json;
    uint256[2] internal pA;
    uint256[2][2] internal pB;
    uint256[2] internal pC;
    uint256[5] internal pub;

    function setUp() public {
        verifier = new DigitsVerifier();
        json = vm.readFile(VECTORS);
        for (uint256 i = 0; i < 2; ++i) {
            pA[i] = vm.parseJsonUint(json, string.concat(".proof.pA[", vm.toString(i), "]"));
            pC[i] = vm.parseJsonUint(json, string.concat(".proof.pC[", vm.toString(i), "]"));
            for (uint256 j = 0; j < 2; ++j) {
                pB[i][j] = vm.parseJsonUint(json, string.concat(".proof.pB[", vm.toString(i), "][", vm.toString(j), "]"));
            }
        }
        for (uint256 i = 0; i < 5; ++i) {
            pub[i] = vm.parseJsonUint(json, string.concat(".proof.pubSignals[", vm.toString(i), "]"));
        }
    }

    function _verify(uint256[5] memory signals) internal view returns (bool) {
        return verifier.verifyProof(pA, pB, pC, signals);
    }

    function test_PublicInputsAreTheVectorsCommitmentsOutputJobAndProver() public view {
        uint256 input = vm.parseJsonUint(json, ".proof.input");
        string memory base = string.concat(".inputs[", vm.toString(input), "]");
        assertEq(pub[0], vm.parseJsonUint(json, ".model.weightsCommitment"), "weightsCommitment");
        assertEq(pub[1], vm.parseJsonUint(json, string.concat(base, ".inputCommitment")), "inputCommitment");
        assertEq(pub[2], vm.parseJsonUint(json, string.concat(base, ".output")), "output");
        assertEq(pub[3], vm.parseJsonUint(json, ".proof.jobId"), "jobId");
        assertEq(pub[4], uint256(uint160(vm.parseJsonAddress(json, ".proof.prover"))), "prover");
    }

    function test_AcceptsTheVectorProof() public view {
        assertTrue(_verify(pub));
    }

    function test_VerifyGas() public {
        uint256[5] memory signals = pub;
        uint256 before = gasleft();
        bool ok = verifier.verifyProof(pA, pB, pC, signals);
        uint256 used = before - gasleft();
        assertTrue(ok);
        emit log_named_uint("DigitsVerifier.verifyProof gas", used);
        assertLt(used, 260_000, "verifier gas");
    }

    function test_RejectsEveryOtherOutput() public view {
        for (uint256 k = 0; k < 10; ++k) {
            if (k == pub[2]) continue;
            uint256[5] memory signals = pub;
            signals[2] = k;
            assertFalse(_verify(signals), "another class");
        }
    }

    function test_RejectsAnotherJobOrProvider() public view {
        uint256[5] memory signals = pub;
        signals[3] = pub[3] + 1;
        assertFalse(_verify(signals), "another job");
        signals = pub;
        signals[4] = uint256(uint160(address(0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC)));
        assertFalse(_verify(signals), "another provider");
    }

    function test_RejectsAnotherModelOrInput() public view {
        uint256[5] memory signals = pub;
        signals[0] = pub[0] ^ 1;
        assertFalse(_verify(signals), "another model");
        signals = pub;
        signals[1] = vm.parseJsonUint(json, ".inputs[1].inputCommitment");
        assertFalse(_verify(signals), "another input");
    }

    function test_RejectsAPublicInputShiftedByTheFieldModulus() public view {
        for (uint256 i = 0; i < 5; ++i) {
            uint256[5] memory signals = pub;
            signals[i] = pub[i] + R;
            assertFalse(_verify(signals), "alias above the field");
        }
    }

    function testFuzz_RejectsAnyChangedPublicInput(uint256 which, uint256 delta) public view {
        which = bound(which, 0, 4);
        delta = bound(delta, 1, R - 1);
        uint256[5] memory signals = pub;
        signals[which] = addmod(pub[which], delta, R);
        assertFalse(_verify(signals));
    }

    function test_RejectsATamperedProof() public {
        uint256 a0 = pA[0];
        pA[0] = a0 + 1; // no longer on the curve
        assertFalse(_verify(pub), "pA off the curve");
        pA[0] = a0;

        uint256 c1 = pC[1];
        pC[1] = Q - c1; // another point on the curve: -C
        assertFalse(_verify(pub), "pC negated");
        pC[1] = c1;

        (pB[0][0], pB[0][1]) = (pB[0][1], pB[0][0]); // G2 coordinates in the wrong order
        assertFalse(_verify(pub), "pB coordinates swapped");
        (pB[0][0], pB[0][1]) = (pB[0][1], pB[0][0]);

        assertTrue(_verify(pub), "the restored proof");
    }
}
