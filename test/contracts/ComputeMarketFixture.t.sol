// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {RevertData} from "./helpers/RevertData.sol";
import {DaiosToken} from "../../contracts/token/DaiosToken.sol";
import {ProviderRegistry} from "../../contracts/core/ProviderRegistry.sol";
import {BlockhashRandomness} from "../../contracts/randomness/BlockhashRandomness.sol";
import {MockPoRAVerifier} from "../../contracts/mocks/MockPoRAVerifier.sol";
import {MockInferenceVerifier} from "../../contracts/mocks/MockInferenceVerifier.sol";
import {StorageMarket} from "../../contracts/storage/StorageMarket.sol";
import {ModelRegistry} from "../../contracts/compute/ModelRegistry.sol";
import {ComputeMarket} from "../../contracts/compute/ComputeMarket.sol";
import {IModelRegistry} from "../../contracts/interfaces/IModelRegistry.sol";
import {IComputeMarket} from "../../contracts/interfaces/IComputeMarket.sol";

/// @notice Deploys the compute layer (real token, provider registry, model registry, storage market and
///         compute market; mock inference verifier) with one registered model supporting both modes, one
///         acknowledged enclave key and two staked compute providers, and offers helpers to drive jobs.
abstract contract ComputeFixture is Test, RevertData {
    uint256 internal constant FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant BPS = 10_000;
    uint256 internal constant PRICE = 2e18;
    uint256 internal constant FEE_BPS = 500;
    uint256 internal constant COLLATERAL_BPS = 20_000;
    uint256 internal constant MIN_COLLATERAL = 1e18;
    uint256 internal constant REPORTER_BPS = 2_000;
    uint256 internal constant MIN_DURATION = 10;
    uint256 internal constant MAX_DURATION = 7 days;
    /// @dev max(MIN_COLLATERAL, PRICE * COLLATERAL_BPS / BPS).
    uint256 internal constant COLLATERAL = 4e18;
    uint256 internal constant MIN_STAKE = 100e18;
    uint256 internal constant FUNDS = 1e27;
    uint256 internal constant START_TIME = 1_800_000_000;
    uint256 internal constant START_BLOCK = 1_000;
    uint256 internal constant INPUT_SIZE = 64;
    uint256 internal constant INPUT_MAX = 16;
    uint256 internal constant OUTPUT_SIZE = 10;
    uint256 internal constant WEIGHTS_COMMITMENT = 0x1234567890abcdef;
    uint256 internal constant WEIGHTS_ROOT = 0xfeedbeef;
    uint256 internal constant TRAINING_ROOT = 0xda7a;
    uint256 internal constant INPUT_COMMITMENT = 0xc0ffee;
    bytes32 internal constant MEASUREMENT = keccak256("daios devnet enclave");
    uint256 internal constant ENCLAVE_KEY = 0xe11c1a7e;
    uint256 internal constant OTHER_KEY = 0x0dd;

    address internal gov = makeAddr("gov");
    address internal treasury = makeAddr("treasury");
    address internal modelOwner = makeAddr("modelOwner");
    address internal client = makeAddr("client");
    address internal p1 = makeAddr("p1");
    address internal p2 = makeAddr("p2");
    address internal reporter = makeAddr("reporter");
    address internal enclaveSigner;

    DaiosToken internal token;
    ProviderRegistry internal registry;
    ModelRegistry internal models;
    MockInferenceVerifier internal verifier;
    StorageMarket internal storageMarket;
    ComputeMarket internal market;
    bytes32 internal computeRole;
    uint256 internal modelId;

    uint256[2] internal pA;
    uint256[2][2] internal pB;
    uint256[2] internal pC;

    function setUp() public virtual {
        vm.warp(START_TIME);
        vm.roll(START_BLOCK);
        token = new DaiosToken(gov);
        registry = new ProviderRegistry(address(token), gov, 7 days);
        models = new ModelRegistry(gov);
        verifier = new MockInferenceVerifier();
        storageMarket = new StorageMarket(
            address(token), address(registry), address(new MockPoRAVerifier()), address(new BlockhashRandomness()), gov, 10
        );
        vm.prank(gov);
        market = new ComputeMarket(
            address(token), address(registry), address(models), address(storageMarket), treasury, _config()
        );
        computeRole = registry.COMPUTE_ROLE();
        vm.startPrank(gov);
        registry.setMinStake(computeRole, MIN_STAKE);
        registry.setLayer(address(market), computeRole, true);
        vm.stopPrank();

        enclaveSigner = vm.addr(ENCLAVE_KEY);
        vm.prank(gov);
        models.acknowledgeEnclave(enclaveSigner, MEASUREMENT);
        vm.prank(modelOwner);
        modelId = models.registerModel(_spec());

        _fund(client);
        _fund(reporter);
        _fund(p1);
        _fund(p2);
        _register(p1, MIN_STAKE * 2);
        _register(p2, MIN_STAKE * 2);
    }

    function _config() internal pure returns (IComputeMarket.Config memory) {
        return IComputeMarket.Config({
            protocolFeeBps: FEE_BPS,
            collateralBps: COLLATERAL_BPS,
            minCollateral: MIN_COLLATERAL,
            reporterBps: REPORTER_BPS,
            minJobDuration: MIN_DURATION,
            maxJobDuration: MAX_DURATION
        });
    }

    function _spec() internal view returns (IModelRegistry.ModelSpec memory) {
        return IModelRegistry.ModelSpec({
            verifier: address(verifier),
            pricePerJob: uint128(PRICE),
            inputSize: uint32(INPUT_SIZE),
            inputMax: uint32(INPUT_MAX),
            outputSize: uint32(OUTPUT_SIZE),
            weightsCommitment: WEIGHTS_COMMITMENT,
            weightsRoot: WEIGHTS_ROOT,
            weightsSize: 1234,
            trainingDataRoot: TRAINING_ROOT,
            teeMeasurement: MEASUREMENT,
            name: "digits-mlp-64-16-10"
        });
    }

    function _fund(address account) internal {
        vm.prank(gov);
        token.mint(account, FUNDS);
        vm.startPrank(account);
        token.approve(address(market), type(uint256).max);
        token.approve(address(registry), type(uint256).max);
        token.approve(address(storageMarket), type(uint256).max);
        vm.stopPrank();
    }

    function _register(address provider, uint256 stake) internal {
        vm.prank(provider);
        registry.register(computeRole, stake, "https://compute.example", 1);
    }

    /// @dev Makes storage deal `dealId` (one replica) Active: a fresh storage provider joins its slot 0.
    function _activateDeal(uint256 dealId) internal {
        address storer = makeAddr("storer");
        bytes32 storageRole = registry.STORAGE_ROLE();
        if (!registry.isActive(storer, storageRole)) {
            _fund(storer);
            if (registry.minStake(storageRole) == 0) {
                vm.prank(gov);
                registry.setMinStake(storageRole, MIN_STAKE);
            }
            vm.prank(storer);
            registry.register(storageRole, MIN_STAKE, "https://storage.example", 1 << 40);
        }
        vm.prank(storer);
        storageMarket.joinDeal(dealId, 0);
    }

    /// @dev A valid 64-value input: value i is i mod 17 (covers 0 and the maximum 16).
    function _input() internal pure returns (bytes memory input) {
        input = new bytes(INPUT_SIZE);
        for (uint256 i = 0; i < INPUT_SIZE; ++i) {
            input[i] = bytes1(uint8(i % (INPUT_MAX + 1)));
        }
    }

    function _request(IComputeMarket.Mode mode) internal view returns (IComputeMarket.JobRequest memory) {
        return IComputeMarket.JobRequest({
            modelId: modelId,
            mode: uint8(mode),
            inputCommitment: INPUT_COMMITMENT,
            input: _input(),
            inputRoot: 0,
            dataRoots: new uint256[](0),
            maxFee: PRICE,
            deadline: uint64(block.timestamp + 1 hours)
        });
    }

    function _post(IComputeMarket.JobRequest memory request) internal returns (uint256 jobId) {
        vm.prank(client);
        jobId = market.postJob(request);
    }

    function _post(IComputeMarket.Mode mode) internal returns (uint256) {
        return _post(_request(mode));
    }

    function _claim(address provider, uint256 jobId) internal {
        vm.prank(provider);
        market.claimJob(jobId);
    }

    function _postAndClaim(IComputeMarket.Mode mode, address provider) internal returns (uint256 jobId) {
        jobId = _post(mode);
        _claim(provider, jobId);
    }

    function _submit(address provider, uint256 jobId, uint256 output) internal {
        vm.prank(provider);
        market.submitResult(jobId, output, pA, pB, pC);
    }

    /// @dev The public inputs a correct proof of `output` for (jobId, provider) on the fixture model has.
    function _publicInputs(uint256 jobId, uint256 output, address provider) internal pure returns (uint256[5] memory) {
        return [WEIGHTS_COMMITMENT, INPUT_COMMITMENT, output, jobId, uint256(uint160(provider))];
    }

    /// @dev Makes the mock verifier accept exactly the proof of `output` for (jobId, provider).
    function _proofFor(uint256 jobId, uint256 output, address provider) internal {
        verifier.expectPublicInputs(_publicInputs(jobId, output, provider));
    }

    /// @dev The EIP-712 digest written out independently of the market.
    function _digest(
        uint256 jobId,
        uint256 model,
        uint256 weightsCommitment,
        uint256 inputCommitment,
        uint256 output,
        address provider
    ) internal view returns (bytes32) {
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("daios ComputeMarket"),
                keccak256("1"),
                block.chainid,
                address(market)
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "ComputeResult(uint256 jobId,uint256 modelId,uint256 weightsCommitment,uint256 inputCommitment,uint256 output,address provider)"
                ),
                jobId,
                model,
                weightsCommitment,
                inputCommitment,
                output,
                provider
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _teeSignature(uint256 key, uint256 jobId, uint256 output, address provider)
        internal
        view
        returns (bytes memory)
    {
        return _sign(key, _digest(jobId, modelId, WEIGHTS_COMMITMENT, INPUT_COMMITMENT, output, provider));
    }

    function _submitTee(address provider, uint256 jobId, uint256 output, bytes memory signature) internal {
        vm.prank(provider);
        market.submitResultTee(jobId, output, signature);
    }

    function _job(uint256 jobId) internal view returns (IComputeMarket.Job memory) {
        return market.job(jobId);
    }

    function _status(uint256 jobId) internal view returns (IComputeMarket.Status) {
        return market.job(jobId).status;
    }

    function _err(bytes4 selector, uint256 a, IComputeMarket.Status status) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(selector, a, status);
    }

    function _err(bytes4 selector, uint256 a, address b) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(selector, a, b);
    }

    function _err(bytes4 selector, address a) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(selector, a);
    }

    function _fee(uint256 price) internal pure returns (uint256) {
        return price * FEE_BPS / BPS;
    }

    /// @dev 21,000 + calldata cost (EIP-2028: 16 gas per non-zero byte, 4 per zero byte).
    function _intrinsic(bytes memory data) internal pure returns (uint256 gas) {
        gas = 21_000;
        for (uint256 i = 0; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }
}
