// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {RevertData} from "./helpers/RevertData.sol";
import {ModelRegistry} from "../../contracts/compute/ModelRegistry.sol";
import {MockInferenceVerifier} from "../../contracts/mocks/MockInferenceVerifier.sol";
import {IModelRegistry} from "../../contracts/interfaces/IModelRegistry.sol";

contract ModelRegistryTest is Test, RevertData {
    uint256 internal constant FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    bytes32 internal constant MEASUREMENT = keccak256("enclave code v1");

    address internal gov = makeAddr("gov");
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal key = makeAddr("enclaveKey");

    ModelRegistry internal models;
    address internal verifier;

    function setUp() public {
        vm.warp(1_800_000_000);
        models = new ModelRegistry(gov);
        verifier = address(new MockInferenceVerifier());
    }

    function _spec() internal view returns (IModelRegistry.ModelSpec memory) {
        return IModelRegistry.ModelSpec({
            verifier: verifier,
            pricePerJob: 1e18,
            inputSize: 64,
            inputMax: 16,
            outputSize: 10,
            weightsCommitment: 0xabc,
            weightsRoot: 0xdef,
            weightsSize: 2_000,
            trainingDataRoot: 0x123,
            teeMeasurement: MEASUREMENT,
            name: "digits"
        });
    }

    function _register(IModelRegistry.ModelSpec memory spec) internal returns (uint256 id) {
        vm.prank(alice);
        id = models.registerModel(spec);
    }

    function _expectRegisterRevert(IModelRegistry.ModelSpec memory spec, bytes memory err) internal {
        uint256 count = models.modelCount();
        vm.expectRevert(err);
        vm.prank(alice);
        models.registerModel(spec);
        assertEq(models.modelCount(), count);
    }

    // ------------------------------------------------------------------ registration

    function test_RegisterModel_StoresEveryFieldAndEmits() public {
        IModelRegistry.ModelSpec memory spec = _spec();
        vm.expectEmit(address(models));
        emit IModelRegistry.ModelRegistered(1, alice, 0xabc, 0xdef, verifier, MEASUREMENT, "digits");
        uint256 id = _register(spec);
        assertEq(id, 1, "ids start at 1");
        assertEq(models.modelCount(), 1);
        IModelRegistry.Model memory m = models.model(id);
        assertEq(m.owner, alice);
        assertEq(m.verifier, verifier);
        assertEq(m.pricePerJob, 1e18);
        assertEq(m.inputSize, 64);
        assertEq(m.inputMax, 16);
        assertEq(m.outputSize, 10);
        assertTrue(m.active);
        assertEq(m.weightsCommitment, 0xabc);
        assertEq(m.weightsRoot, 0xdef);
        assertEq(m.weightsSize, 2_000);
        assertEq(m.trainingDataRoot, 0x123);
        assertEq(m.teeMeasurement, MEASUREMENT);
        assertEq(m.name, "digits");

        IModelRegistry.ModelTerms memory t = models.modelTerms(id);
        assertEq(t.verifier, verifier);
        assertTrue(t.active);
        assertEq(t.inputSize, 64);
        assertEq(t.inputMax, 16);
        assertEq(t.outputSize, 10);
        assertEq(t.pricePerJob, 1e18);
        assertEq(t.teeMeasurement, MEASUREMENT);
        (address v, uint256 commitment) = models.verifierOf(id);
        assertEq(v, verifier);
        assertEq(commitment, 0xabc);

        assertEq(_register(spec), 2, "ids increase; the same weights may be registered again");
    }

    function test_RegisterModel_OneModeIsEnough() public {
        IModelRegistry.ModelSpec memory spec = _spec();
        spec.verifier = address(0);
        uint256 teeOnly = _register(spec);
        (address v,) = models.verifierOf(teeOnly);
        assertEq(v, address(0));
        spec = _spec();
        spec.teeMeasurement = bytes32(0);
        assertEq(models.model(_register(spec)).teeMeasurement, bytes32(0));
    }

    function test_RegisterModel_RevertsOnInvalidSpec() public {
        IModelRegistry.ModelSpec memory spec = _spec();
        spec.weightsCommitment = 0;
        _expectRegisterRevert(spec, _err(IModelRegistry.ModelRegistryInvalidCommitment.selector, 0));
        spec.weightsCommitment = FIELD;
        _expectRegisterRevert(spec, _err(IModelRegistry.ModelRegistryInvalidCommitment.selector, FIELD));

        spec = _spec();
        spec.weightsRoot = 0;
        _expectRegisterRevert(spec, abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidWeightsRoot.selector));

        spec = _spec();
        spec.inputSize = 0;
        _expectRegisterRevert(spec, _err(IModelRegistry.ModelRegistryInvalidShape.selector, 0, 16, 10));
        spec = _spec();
        spec.inputMax = 0;
        _expectRegisterRevert(spec, _err(IModelRegistry.ModelRegistryInvalidShape.selector, 64, 0, 10));
        spec = _spec();
        spec.outputSize = 0;
        _expectRegisterRevert(spec, _err(IModelRegistry.ModelRegistryInvalidShape.selector, 64, 16, 0));

        spec = _spec();
        spec.verifier = address(0);
        spec.teeMeasurement = bytes32(0);
        _expectRegisterRevert(spec, abi.encodeWithSelector(IModelRegistry.ModelRegistryNoVerificationMode.selector));

        spec = _spec();
        spec.verifier = bob;
        _expectRegisterRevert(spec, abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidVerifier.selector, bob));

        spec = _spec();
        spec.pricePerJob = uint128(type(uint96).max) + 1;
        _expectRegisterRevert(
            spec, _err(IModelRegistry.ModelRegistryInvalidPrice.selector, uint256(type(uint96).max) + 1)
        );

        spec = _spec();
        spec.name = "";
        _expectRegisterRevert(spec, _err(IModelRegistry.ModelRegistryInvalidName.selector, 0));
        spec.name = string(new bytes(65));
        _expectRegisterRevert(spec, _err(IModelRegistry.ModelRegistryInvalidName.selector, 65));

        // The boundaries are accepted.
        spec = _spec();
        spec.weightsCommitment = FIELD - 1;
        spec.pricePerJob = type(uint96).max;
        spec.name = string(new bytes(64));
        spec.inputSize = type(uint32).max;
        assertEq(models.model(_register(spec)).pricePerJob, type(uint96).max);
    }

    function testFuzz_RegisterModel_RoundTrips(
        uint128 price,
        uint32 inputSize,
        uint32 inputMax,
        uint32 outputSize,
        uint256 commitment,
        uint256 root,
        bytes32 measurement
    ) public {
        price = uint128(_bound(price, 0, type(uint96).max));
        inputSize = uint32(_bound(inputSize, 1, type(uint32).max));
        inputMax = uint32(_bound(inputMax, 1, type(uint32).max));
        outputSize = uint32(_bound(outputSize, 1, type(uint32).max));
        commitment = _bound(commitment, 1, FIELD - 1);
        root = _bound(root, 1, type(uint256).max);
        IModelRegistry.ModelSpec memory spec = _spec();
        spec.pricePerJob = price;
        spec.inputSize = inputSize;
        spec.inputMax = inputMax;
        spec.outputSize = outputSize;
        spec.weightsCommitment = commitment;
        spec.weightsRoot = root;
        spec.teeMeasurement = measurement;
        uint256 id = _register(spec);
        IModelRegistry.ModelTerms memory t = models.modelTerms(id);
        assertEq(t.pricePerJob, price);
        assertEq(t.inputSize, inputSize);
        assertEq(t.inputMax, inputMax);
        assertEq(t.outputSize, outputSize);
        assertEq(t.teeMeasurement, measurement);
        assertEq(models.model(id).weightsRoot, root);
        (, uint256 c) = models.verifierOf(id);
        assertEq(c, commitment);
    }

    function test_Views_UnknownModel() public {
        vm.expectRevert(_err(IModelRegistry.ModelRegistryUnknownModel.selector, 0));
        models.model(0);
        vm.expectRevert(_err(IModelRegistry.ModelRegistryUnknownModel.selector, 1));
        models.model(1);
        vm.expectRevert(_err(IModelRegistry.ModelRegistryUnknownModel.selector, 1));
        models.verifierOf(1);
        IModelRegistry.ModelTerms memory t = models.modelTerms(1);
        assertEq(t.inputSize, 0, "an unknown id has all-zero terms");
        assertEq(t.verifier, address(0));
        assertFalse(t.active);
        assertFalse(models.enclaveValidFor(key, 1));
    }

    // ------------------------------------------------------------------ model owner actions

    function test_OwnerActions_UpdateAndEmit() public {
        uint256 id = _register(_spec());
        vm.startPrank(alice);
        vm.expectEmit(address(models));
        emit IModelRegistry.ModelUpdated(id, alice, 5e18, true, MEASUREMENT);
        models.setPrice(id, 5e18);
        vm.expectEmit(address(models));
        emit IModelRegistry.ModelUpdated(id, alice, 5e18, false, MEASUREMENT);
        models.setActive(id, false);
        bytes32 next = keccak256("enclave code v2");
        vm.expectEmit(address(models));
        emit IModelRegistry.ModelUpdated(id, alice, 5e18, false, next);
        models.setTeeMeasurement(id, next);
        vm.expectEmit(address(models));
        emit IModelRegistry.ModelUpdated(id, bob, 5e18, false, next);
        models.transferModel(id, bob);
        vm.stopPrank();

        IModelRegistry.Model memory m = models.model(id);
        assertEq(m.owner, bob);
        assertEq(m.pricePerJob, 5e18);
        assertFalse(m.active);
        assertEq(m.teeMeasurement, next);

        // The previous owner lost every right; the new one has them.
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryNotModelOwner.selector, id, alice));
        vm.prank(alice);
        models.setActive(id, true);
        vm.prank(bob);
        models.setActive(id, true);
        assertTrue(models.model(id).active);
    }

    function test_OwnerActions_Rejections() public {
        uint256 id = _register(_spec());
        vm.startPrank(bob);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryNotModelOwner.selector, id, bob));
        models.setPrice(id, 1);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryNotModelOwner.selector, id, bob));
        models.setActive(id, false);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryNotModelOwner.selector, id, bob));
        models.setTeeMeasurement(id, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryNotModelOwner.selector, id, bob));
        models.transferModel(id, bob);
        vm.expectRevert(_err(IModelRegistry.ModelRegistryUnknownModel.selector, 2));
        models.setPrice(2, 1);
        vm.stopPrank();

        vm.startPrank(alice);
        vm.expectRevert(_err(IModelRegistry.ModelRegistryInvalidPrice.selector, uint256(type(uint96).max) + 1));
        models.setPrice(id, uint256(type(uint96).max) + 1);
        vm.expectRevert(IModelRegistry.ModelRegistryZeroAddress.selector);
        models.transferModel(id, address(0));
        // Turning TEE off is fine while a verifier remains...
        models.setTeeMeasurement(id, bytes32(0));
        vm.stopPrank();
        // ...but not for a TEE-only model.
        IModelRegistry.ModelSpec memory spec = _spec();
        spec.verifier = address(0);
        uint256 teeOnly = _register(spec);
        vm.expectRevert(IModelRegistry.ModelRegistryNoVerificationMode.selector);
        vm.prank(alice);
        models.setTeeMeasurement(teeOnly, bytes32(0));
    }

    // ------------------------------------------------------------------ enclaves

    function test_Enclave_AcknowledgeValidateRevoke() public {
        uint256 id = _register(_spec());
        assertFalse(models.enclaveValidFor(key, id), "unknown key");

        vm.expectEmit(address(models));
        emit IModelRegistry.EnclaveAcknowledged(key, MEASUREMENT);
        vm.prank(gov);
        models.acknowledgeEnclave(key, MEASUREMENT);
        (bytes32 measurement, uint64 acknowledgedAt, uint64 revokedAt) = models.enclave(key);
        assertEq(measurement, MEASUREMENT);
        assertEq(acknowledgedAt, block.timestamp);
        assertEq(revokedAt, 0);
        assertTrue(models.enclaveValidFor(key, id));
        assertFalse(models.enclaveValidFor(key, id + 1), "unknown model");

        // A model on other code does not accept the key, nor does a model without TEE mode.
        vm.prank(alice);
        models.setTeeMeasurement(id, keccak256("other"));
        assertFalse(models.enclaveValidFor(key, id));
        vm.prank(alice);
        models.setTeeMeasurement(id, bytes32(0));
        assertFalse(models.enclaveValidFor(key, id));
        vm.prank(alice);
        models.setTeeMeasurement(id, MEASUREMENT);
        assertTrue(models.enclaveValidFor(key, id));

        vm.warp(block.timestamp + 100);
        vm.expectEmit(address(models));
        emit IModelRegistry.EnclaveRevoked(key);
        vm.prank(gov);
        models.revokeEnclave(key);
        (,, revokedAt) = models.enclave(key);
        assertEq(revokedAt, block.timestamp);
        assertFalse(models.enclaveValidFor(key, id));

        // Revocation is for good.
        vm.startPrank(gov);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryEnclaveRevoked.selector, key, block.timestamp));
        models.acknowledgeEnclave(key, MEASUREMENT);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryEnclaveRevoked.selector, key, block.timestamp));
        models.revokeEnclave(key);
        vm.stopPrank();
    }

    function test_Enclave_Rejections() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        vm.prank(alice);
        models.acknowledgeEnclave(key, MEASUREMENT);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        vm.prank(alice);
        models.revokeEnclave(key);

        vm.startPrank(gov);
        vm.expectRevert(IModelRegistry.ModelRegistryZeroAddress.selector);
        models.acknowledgeEnclave(address(0), MEASUREMENT);
        vm.expectRevert(IModelRegistry.ModelRegistryInvalidMeasurement.selector);
        models.acknowledgeEnclave(key, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownEnclave.selector, key));
        models.revokeEnclave(key);
        models.acknowledgeEnclave(key, MEASUREMENT);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryEnclaveAcknowledged.selector, key));
        models.acknowledgeEnclave(key, keccak256("other"));
        vm.stopPrank();
    }

    function test_Ownership_IsTwoStep() public {
        assertEq(models.owner(), gov);
        vm.prank(gov);
        models.transferOwnership(bob);
        assertEq(models.owner(), gov, "pending until accepted");
        vm.prank(bob);
        models.acceptOwnership();
        assertEq(models.owner(), bob);
    }
}
