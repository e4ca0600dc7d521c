// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {DaConstants as C} from "../../contracts/generated/ProtocolConstants.sol";
import {BN254} from "../../contracts/libraries/BN254.sol";
import {IDABlobs} from "../../contracts/interfaces/IDABlobs.sol";
import {IDARegistry} from "../../contracts/interfaces/IDARegistry.sol";
import {DAFixture} from "./DAFixture.t.sol";

/// @notice Drives DABlobs with random sequences of every action on a real DA stack (16 nodes, real BLS
///         certificates, real chunk proofs). Every credit lands on the treasury, the challenger or a node,
///         so the invariant can sum them.
contract DABlobsHandler is DAFixture {
    uint256 internal constant MAX_BLOBS = 10;
    uint256 internal constant CHUNKS = 16;

    bytes32 public chunkRoot;
    mapping(bytes32 action => uint256) public calls;
    /// @notice Set when DABlobs accepted a certificate with a corrupted signature.
    bool public acceptedCorruptCertificate;
    /// @notice Set when DABlobs accepted an answer with another chunk than the challenged one.
    bool public acceptedWrongChunk;

    function init() external {
        _deploy(1, QUORUM_SIZE, QUORUM_SIZE);
        (chunkRoot,) = _chunkTree(CHUNKS, 0);
        _sampleAndEnter();
    }

    function nodeList() external view returns (address[] memory) {
        return nodes;
    }

    function blobsAddress() external view returns (address) {
        return address(blobs);
    }

    function treasuryAddress() external view returns (address) {
        return treasury;
    }

    function challengerAddress() external view returns (address) {
        return challenger;
    }

    // ------------------------------------------------------------------ actions

    function submit(uint256 sizeSeed) external {
        if (blobs.blobCount() >= MAX_BLOBS) return;
        _ensureSampled();
        // The chunk tree matches SIZE; other sizes still exercise the fee accounting.
        uint256 size = sizeSeed % 4 == 0 ? 1 + sizeSeed % 100_000 : SIZE;
        vm.prank(client);
        try blobs.submitBlob(chunkRoot, size, block.number / C.EPOCH_BLOCKS) {
            ++calls["submit"];
        } catch {}
    }

    function certify(uint256 blobSeed, uint256 maskSeed, bool corrupt) external {
        (bool ok, uint256 blobId, IDABlobs.BlobInfo memory b) = _pickBlob(blobSeed);
        if (!ok || b.status != IDABlobs.BlobStatus.Pending) return;
        // Up to 5 non-signers: the threshold holds for any five of these stakes.
        uint256 mask = maskSeed % 4 == 0 ? 0 : _fewBits(maskSeed, 5);
        (IDABlobs.NonSigner[] memory ns, BN254.G2Point memory apkG2, BN254.G1Point memory sigma) =
            _certificate(blobId, mask);
        if (corrupt) sigma = BN254.add(sigma, BN254.g1());
        try blobs.certify(blobId, ns, apkG2, sigma) {
            // Recorded, not asserted: a failed assertion in a handler is only a reverted call when
            // the runner ignores reverts; invariant_NothingBadAccepted fails on the flag.
            if (corrupt) acceptedCorruptCertificate = true;
            ++calls["certify"];
        } catch {}
    }

    function reclaim(uint256 blobSeed) external {
        (bool ok, uint256 blobId,) = _pickBlob(blobSeed);
        if (!ok) return;
        vm.prank(client);
        try blobs.reclaim(blobId) {
            ++calls["reclaim"];
        } catch {}
    }

    function claimFees(uint256 nodeSeed, uint256 blobSeed) external {
        (bool ok, uint256 blobId,) = _pickBlob(blobSeed);
        if (!ok) return;
        uint256[] memory ids = new uint256[](1);
        ids[0] = blobId;
        vm.prank(nodes[nodeSeed % nodes.length]);
        try blobs.claimFees(ids) {
            ++calls["claimFees"];
        } catch {}
    }

    function challenge(uint256 blobSeed, uint256 position) external {
        (bool ok, uint256 blobId,) = _pickBlob(blobSeed);
        if (!ok) return;
        position %= QUORUM_SIZE;
        vm.prank(challenger);
        try blobs.challenge(blobId, position, position) {
            ++calls["challenge"];
        } catch {}
    }

    function answer(uint256 challengeSeed, bool wrong) external {
        uint256 count = blobs.challengeCount();
        if (count == 0) return;
        uint256 challengeId = challengeSeed % count + 1;
        IDABlobs.ChallengeInfo memory c = blobs.challengeInfo(challengeId);
        if (blobs.blob(c.blobId).size != SIZE) return;
        uint256 index = wrong ? (c.chunkIndex + 1) % CHUNKS : c.chunkIndex;
        (, bytes32[] memory proof) = _chunkTree(CHUNKS, index);
        try blobs.answer(challengeId, _chunk(index), proof) {
            if (wrong && index != c.chunkIndex) acceptedWrongChunk = true;
            ++calls["answer"];
        } catch {}
    }

    function resolve(uint256 challengeSeed) external {
        uint256 count = blobs.challengeCount();
        if (count == 0) return;
        try blobs.resolve(challengeSeed % count + 1) {
            ++calls["resolve"];
        } catch {}
    }

    function withdraw(uint256 actorSeed) external {
        uint256 pick = actorSeed % (nodes.length + 2);
        address account = pick == 0 ? treasury : pick == 1 ? challenger : nodes[pick - 2];
        vm.prank(account);
        try blobs.withdraw() {
            ++calls["withdraw"];
        } catch {}
    }

    function roll(uint256 blocks) external {
        vm.roll(block.number + 1 + blocks % 40);
        _ensureSampled();
    }

    // ------------------------------------------------------------------ helpers

    function _ensureSampled() internal {
        uint256 epoch = block.number / C.EPOCH_BLOCKS;
        if (!da.epochInfo(epoch).sampled) {
            try da.sampleEpoch(epoch) {} catch {}
        }
    }

    function _pickBlob(uint256 seed) internal view returns (bool ok, uint256 blobId, IDABlobs.BlobInfo memory b) {
        uint256 count = blobs.blobCount();
        if (count == 0) return (false, 0, b);
        blobId = seed % count + 1;
        b = blobs.blob(blobId);
        ok = true;
    }

    /// @dev A mask of at most `max` distinct bits below QUORUM_SIZE.
    function _fewBits(uint256 seed, uint256 max) internal pure returns (uint256 mask) {
        uint256 n = seed % (max + 1);
        for (uint256 i = 0; i < n; ++i) {
            mask |= uint256(1) << (uint256(keccak256(abi.encode(seed, i))) % QUORUM_SIZE);
        }
    }
}

contract DABlobsInvariantTest is Test {
    DABlobsHandler internal handler;

    function setUp() public {
        handler = new DABlobsHandler();
        handler.init();
        bytes4[] memory selectors = new bytes4[](9);
        selectors[0] = DABlobsHandler.submit.selector;
        selectors[1] = DABlobsHandler.certify.selector;
        selectors[2] = DABlobsHandler.reclaim.selector;
        selectors[3] = DABlobsHandler.claimFees.selector;
        selectors[4] = DABlobsHandler.challenge.selector;
        selectors[5] = DABlobsHandler.answer.selector;
        selectors[6] = DABlobsHandler.resolve.selector;
        selectors[7] = DABlobsHandler.withdraw.selector;
        selectors[8] = DABlobsHandler.roll.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// @notice The contract's token balance equals what it owes: the fees of pending blobs, the signers'
    ///         unclaimed shares, the bonds of open challenges and every credit.
    function invariant_BalanceEqualsLiabilities() public view {
        (IDABlobs blobs, address treasury, address challenger) = _stack();
        uint256 owed;
        uint256 blobCount = blobs.blobCount();
        for (uint256 id = 1; id <= blobCount; ++id) {
            IDABlobs.BlobInfo memory b = blobs.blob(id);
            if (b.status == IDABlobs.BlobStatus.Pending) {
                owed += b.fee;
            } else if (b.status == IDABlobs.BlobStatus.Certified) {
                uint256 unclaimedSigners = b.quorumSize - _popcount(b.nonSignerMask) - _popcount(b.claimedMask);
                owed += blobs.feePerSigner(id) * unclaimedSigners;
                assertEq(b.nonSignerMask & b.claimedMask, 0, "a non-signer claimed");
            }
        }
        uint256 challengeCount = blobs.challengeCount();
        for (uint256 id = 1; id <= challengeCount; ++id) {
            IDABlobs.ChallengeInfo memory c = blobs.challengeInfo(id);
            if (c.status == IDABlobs.ChallengeStatus.Open) owed += c.bond;
        }
        owed += blobs.credits(treasury) + blobs.credits(challenger);
        address[] memory nodes = handler.nodeList();
        for (uint256 i = 0; i < nodes.length; ++i) {
            owed += blobs.credits(nodes[i]);
        }
        assertEq(_tokenBalance(blobs), owed, "balance == pending fees + unclaimed shares + open bonds + credits");
    }

    /// @notice A certified blob's shares never exceed its fee.
    /// @notice No corrupted certificate and no wrong chunk was ever accepted by any handler call.
    function invariant_NothingBadAccepted() public view {
        assertFalse(handler.acceptedCorruptCertificate(), "a corrupt certificate was accepted");
        assertFalse(handler.acceptedWrongChunk(), "a wrong chunk was accepted");
    }

    function invariant_SharesWithinFee() public view {
        (IDABlobs blobs,,) = _stack();
        uint256 blobCount = blobs.blobCount();
        for (uint256 id = 1; id <= blobCount; ++id) {
            IDABlobs.BlobInfo memory b = blobs.blob(id);
            if (b.status != IDABlobs.BlobStatus.Certified) continue;
            assertLe(blobs.feePerSigner(id) * (b.quorumSize - _popcount(b.nonSignerMask)), b.fee);
        }
    }

    /// @notice The handler's actions do reach every transition (else the invariants would prove little).
    function test_HandlerReachesEveryAction() public {
        handler.submit(1);
        handler.submit(2);
        handler.submit(3);
        handler.certify(0, 1, false); // blob 1, one non-signer
        handler.certify(1, 0, true); // blob 2, corrupt: rejected
        handler.certify(1, 0, false);
        handler.claimFees(0, 0);
        handler.claimFees(1, 1);
        handler.challenge(0, 3);
        handler.challenge(1, 4);
        handler.answer(0, true); // wrong chunk: rejected
        handler.answer(0, false);
        handler.roll(30);
        handler.resolve(1);
        handler.roll(39);
        handler.reclaim(2); // blob 3, never certified
        handler.withdraw(0);
        handler.withdraw(1);
        string[9] memory actions =
            ["submit", "certify", "reclaim", "claimFees", "challenge", "answer", "resolve", "withdraw", "withdraw"];
        for (uint256 i = 0; i < actions.length; ++i) {
            assertGt(handler.calls(bytes32(bytes(actions[i]))), 0, actions[i]);
        }
        invariant_BalanceEqualsLiabilities();
    }

    function _stack() internal view returns (IDABlobs blobs, address treasury, address challenger) {
        return (IDABlobs(handler.blobsAddress()), handler.treasuryAddress(), handler.challengerAddress());
    }

    function _tokenBalance(IDABlobs blobs) internal view returns (uint256) {
        return IERC20View(blobs.token()).balanceOf(address(blobs));
    }

    function _popcount(uint256 x) internal pure returns (uint256 n) {
        while (x != 0) {
            x &= x - 1;
            ++n;
        }
    }
}

interface IERC20View {
    function balanceOf(address) external view returns (uint256);
}
