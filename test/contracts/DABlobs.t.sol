// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {DaConstants as C} from "../../contracts/generated/ProtocolConstants.sol";
import {BN254} from "../../contracts/libraries/BN254.sol";
import {BLS} from "../../contracts/libraries/BLS.sol";
import {IDABlobs} from "../../contracts/interfaces/IDABlobs.sol";
import {IDARegistry} from "../../contracts/interfaces/IDARegistry.sol";
import {IProviderRegistry} from "../../contracts/interfaces/IProviderRegistry.sol";
import {DABlobs} from "../../contracts/da/DABlobs.sol";
import {DAFixture, TestG2} from "./DAFixture.t.sol";

contract DABlobsTest is DAFixture {
    /// @dev Chunks of a SIZE-byte blob for a quorum of 16: k = 8, one 512-byte chunk per shard, 16 chunks.
    uint256 internal constant CHUNKS = 16;

    bytes32 internal chunkRoot;

    function setUp() public override {
        super.setUp();
        (chunkRoot,) = _chunkTree(CHUNKS, 0);
        _sampleAndEnter();
    }

    function _fee(uint256 size) internal pure returns (uint256) {
        return BASE_FEE + PRICE_PER_BYTE * size;
    }

    function _submitCertified(uint256 nonSignerMask) internal returns (uint256 blobId) {
        blobId = _submit(chunkRoot, SIZE);
        _certify(blobId, nonSignerMask);
    }

    // ------------------------------------------------------------------ submitBlob

    function test_SubmitBlob_StoresBlobAndPullsFee() public {
        uint256 fee = _fee(SIZE);
        assertEq(blobs.quote(SIZE), fee);
        vm.expectEmit(address(blobs));
        emit IDABlobs.BlobSubmitted(1, client, ROOT, SIZE, EPOCH, 0, fee);
        uint256 blobId = _submit(ROOT, SIZE);
        assertEq(blobId, 1);
        assertEq(blobs.blobCount(), 1);
        IDABlobs.BlobInfo memory b = blobs.blob(blobId);
        assertEq(b.client, client);
        assertEq(b.root, ROOT);
        assertEq(b.size, SIZE);
        assertEq(b.epoch, EPOCH);
        assertEq(b.quorum, 0);
        assertEq(b.quorumSize, QUORUM_SIZE);
        assertEq(b.fee, fee);
        assertEq(b.submittedAt, block.number);
        assertEq(b.certifiedAt, 0);
        assertEq(uint256(b.status), uint256(IDABlobs.BlobStatus.Pending));
        assertEq(token.balanceOf(address(blobs)), fee);
        IDABlobs.Coding memory c = blobs.blobCoding(blobId);
        assertEq(c.dataShards, 8);
        assertEq(c.totalShards, 16);
        assertEq(c.shardSize, 512);
        assertEq(c.chunksPerShard, 1);
        assertEq(c.chunkCount, CHUNKS);
        assertEq(c.treeDepth, 4);
    }

    function test_SubmitBlob_RevertsOnBadInput() public {
        uint256 epoch = EPOCH;
        vm.startPrank(client);
        vm.expectRevert(IDABlobs.DABlobsInvalidRoot.selector);
        blobs.submitBlob(bytes32(0), SIZE, epoch);
        vm.expectRevert(_err(IDABlobs.DABlobsInvalidSize.selector, 0));
        blobs.submitBlob(ROOT, 0, epoch);
        vm.expectRevert(_err(IDABlobs.DABlobsInvalidSize.selector, C.MAX_BLOB_SIZE + 1));
        blobs.submitBlob(ROOT, C.MAX_BLOB_SIZE + 1, epoch);
        vm.expectRevert(_err(IDABlobs.DABlobsWrongEpoch.selector, epoch + 1, epoch));
        blobs.submitBlob(ROOT, SIZE, epoch + 1);
        vm.stopPrank();
        // The largest blob is accepted.
        assertEq(_submit(ROOT, C.MAX_BLOB_SIZE), 1);
        assertEq(blobs.blobCoding(1).treeDepth, 16, "16 MiB over 16 shards of 1 MiB: 2^15 chunks + padding");
        // The next epoch is not sampled yet.
        vm.roll((EPOCH + 1) * C.EPOCH_BLOCKS);
        vm.prank(client);
        vm.expectRevert(_err(IDABlobs.DABlobsEpochNotSampled.selector, EPOCH + 1));
        blobs.submitBlob(ROOT, SIZE, EPOCH + 1);
        vm.expectRevert(_err(IDABlobs.DABlobsUnknownBlob.selector, 2));
        blobs.blob(2);
    }

    function test_SubmitBlob_RevertsWithoutQuorums() public {
        // Epoch 12 is seeded by block 1,100; make every node inactive before it.
        for (uint256 i = 0; i < nodes.length; ++i) {
            vm.prank(nodes[i]);
            registry.requestUnbond(daRole, _stakeOf(i) - MIN_STAKE + 1);
        }
        vm.roll((EPOCH + 1) * C.EPOCH_BLOCKS + 1);
        da.sampleEpoch(EPOCH + 1);
        vm.prank(client);
        vm.expectRevert(_err(IDABlobs.DABlobsNoQuorums.selector, EPOCH + 1));
        blobs.submitBlob(ROOT, SIZE, EPOCH + 1);
    }

    function test_SubmitBlob_AssignsQuorumsRoundRobin() public {
        _deploy(3, 4, 12);
        vm.roll(START + 1);
        da.sampleEpoch(EPOCH);
        vm.roll(EPOCH * C.EPOCH_BLOCKS);
        for (uint256 i = 1; i <= 6; ++i) {
            assertEq(blobs.blob(_submit(ROOT, SIZE)).quorum, i % 3);
        }
    }

    // ------------------------------------------------------------------ certify

    function test_Certify_AllSigning() public {
        uint256 blobId = _submit(chunkRoot, SIZE);
        uint256 fee = _fee(SIZE);
        uint256 perSigner = (fee - fee * TREASURY_BPS / BPS) / QUORUM_SIZE;
        uint256 treasuryShare = fee - perSigner * QUORUM_SIZE;
        IDARegistry.QuorumInfo memory q = da.quorum(EPOCH, 0);
        (IDABlobs.NonSigner[] memory ns, BN254.G2Point memory apkG2, BN254.G1Point memory sigma) =
            _certificate(blobId, 0);
        vm.expectEmit(address(blobs));
        emit IDABlobs.BlobCertified(blobId, q.totalWeight, q.totalWeight, 0, perSigner, treasuryShare);
        blobs.certify(blobId, ns, apkG2, sigma);

        IDABlobs.BlobInfo memory b = blobs.blob(blobId);
        assertEq(uint256(b.status), uint256(IDABlobs.BlobStatus.Certified));
        assertEq(b.certifiedAt, block.number);
        assertEq(b.nonSignerMask, 0);
        assertEq(blobs.credits(treasury), treasuryShare);
        assertEq(blobs.feePerSigner(blobId), perSigner);

        vm.expectRevert(_err(IDABlobs.DABlobsAlreadyCertified.selector, blobId));
        blobs.certify(blobId, ns, apkG2, sigma);
    }

    function test_Certify_WithNonSigners() public {
        uint256 blobId = _submit(chunkRoot, SIZE);
        // Positions 1, 6 and 13 do not sign: 13 of 16 members, well above 2/3 of the weight.
        uint256 mask = (1 << 1) | (1 << 6) | (1 << 13);
        _certify(blobId, mask);
        IDABlobs.BlobInfo memory b = blobs.blob(blobId);
        assertEq(b.nonSignerMask, mask);
        uint256 fee = _fee(SIZE);
        assertEq(blobs.feePerSigner(blobId), (fee - fee * TREASURY_BPS / BPS) / 13);
    }

    function test_Certify_ExactlyAtThresholdPassesJustBelowFails() public {
        // Equal weights make the threshold a count: 16 members need 11 signers (11 * 3 >= 16 * 2 > 10 * 3).
        _deployEqualStakes();
        uint256 blobId = _submit(chunkRoot, SIZE);
        uint256 fiveMissing = 0x1f; // positions 0..4
        _certify(blobId, fiveMissing);

        uint256 other = _submit(chunkRoot, SIZE);
        IDARegistry.QuorumInfo memory q = da.quorum(EPOCH, 0);
        (IDABlobs.NonSigner[] memory ns, BN254.G2Point memory apkG2, BN254.G1Point memory sigma) =
            _certificate(other, 0x3f);
        vm.expectRevert(_err(IDABlobs.DABlobsBelowThreshold.selector, q.totalWeight * 10 / 16, q.totalWeight));
        blobs.certify(other, ns, apkG2, sigma);
    }

    function test_Certify_RevertsForNonMembersAndBadLists() public {
        uint256 blobId = _submit(chunkRoot, SIZE);
        (IDABlobs.NonSigner[] memory ns, BN254.G2Point memory apkG2, BN254.G1Point memory sigma) =
            _certificate(blobId, (1 << 2) | (1 << 5));

        // A wrong weight, key or node id does not match the member tree.
        IDABlobs.NonSigner[] memory bad = _copy(ns);
        bad[0].weight += 1;
        vm.expectRevert(_err(IDABlobs.DABlobsInvalidMemberProof.selector, 2));
        blobs.certify(blobId, bad, apkG2, sigma);
        bad = _copy(ns);
        bad[1].pk = BN254.mul(BN254.g1(), 12345);
        vm.expectRevert(_err(IDABlobs.DABlobsInvalidMemberProof.selector, 5));
        blobs.certify(blobId, bad, apkG2, sigma);
        bad = _copy(ns);
        bad[0].nodeId = 999;
        vm.expectRevert(_err(IDABlobs.DABlobsInvalidMemberProof.selector, 2));
        blobs.certify(blobId, bad, apkG2, sigma);
        // A real member claimed at another position, and a truncated proof.
        bad = _copy(ns);
        bad[0].position = 3;
        vm.expectRevert(_err(IDABlobs.DABlobsInvalidMemberProof.selector, 3));
        blobs.certify(blobId, bad, apkG2, sigma);
        bad = _copy(ns);
        bad[0].proof[3] = bytes32(0);
        vm.expectRevert(_err(IDABlobs.DABlobsInvalidMemberProof.selector, 2));
        blobs.certify(blobId, bad, apkG2, sigma);
        // Entries past the tree's depth (4 for 16 members) are ignored.
        bad = _copy(ns);
        bad[0].proof[4] = keccak256("ignored");
        (bad[1].proof[4]) = keccak256("ignored too");
        uint256 snapshot = vm.snapshotState();
        blobs.certify(blobId, bad, apkG2, sigma);
        vm.revertToState(snapshot);
        // Position out of range.
        bad = _copy(ns);
        bad[1].position = QUORUM_SIZE;
        vm.expectRevert(_err(IDABlobs.DABlobsPositionOutOfRange.selector, QUORUM_SIZE, QUORUM_SIZE));
        blobs.certify(blobId, bad, apkG2, sigma);
        // Duplicate and unsorted non-signers.
        IDABlobs.NonSigner[] memory dup = new IDABlobs.NonSigner[](3);
        (dup[0], dup[1], dup[2]) = (ns[0], ns[1], ns[1]);
        vm.expectRevert(_err(IDABlobs.DABlobsNonSignersNotSorted.selector, 2));
        blobs.certify(blobId, dup, apkG2, sigma);
        IDABlobs.NonSigner[] memory swapped = new IDABlobs.NonSigner[](2);
        (swapped[0], swapped[1]) = (ns[1], ns[0]);
        vm.expectRevert(_err(IDABlobs.DABlobsNonSignersNotSorted.selector, 1));
        blobs.certify(blobId, swapped, apkG2, sigma);

        // Listing a signer as non-signer leaves the signature without its share: invalid.
        IDABlobs.NonSigner[] memory one = new IDABlobs.NonSigner[](1);
        one[0] = ns[0];
        vm.expectRevert(_err(IDABlobs.DABlobsInvalidSignature.selector, blobId));
        blobs.certify(blobId, one, apkG2, sigma);

        // The genuine certificate passes.
        blobs.certify(blobId, ns, apkG2, sigma);
    }

    function test_Certify_RevertsOnBadSignatures() public {
        uint256 blobId = _submit(chunkRoot, SIZE);
        (IDABlobs.NonSigner[] memory ns, BN254.G2Point memory apkG2, BN254.G1Point memory sigma) =
            _certificate(blobId, 0);
        uint256 skSum;
        for (uint256 i = 0; i < QUORUM_SIZE; ++i) {
            skSum += _sk(i);
        }
        bytes memory invalid = _err(IDABlobs.DABlobsInvalidSignature.selector, blobId);

        // A signature on the certificate message of another epoch (or blob, or root).
        bytes32 otherEpoch = keccak256(
            abi.encode("daios.da.cert.v1", block.chainid, address(blobs), blobId, chunkRoot, EPOCH + 1)
        );
        BN254.G1Point memory wrongEpochSig =
            BN254.mul(BLS.hashToPoint(bytes(blobs.CERT_DST()), abi.encodePacked(otherEpoch)), skSum);
        BN254.G1Point memory otherBlobSig = BN254.mul(
            BLS.hashToPoint(
                bytes(blobs.CERT_DST()),
                abi.encodePacked(
                    keccak256(
                        abi.encode("daios.da.cert.v1", block.chainid, address(blobs), blobId + 1, chunkRoot, EPOCH)
                    )
                )
            ),
            skSum
        );
        // A G2 key that does not match the signers' G1 key (one secret key off).
        BN254.G2Point memory wrongApk = TestG2.mulGen(skSum + 1);
        BN254.G1Point memory wrongSkSig = BN254.mul(blobs.messagePoint(blobId), skSum + 1);
        BN254.G1Point memory offCurve = BN254.G1Point(sigma.x, sigma.y + 1);

        vm.expectRevert(invalid);
        blobs.certify(blobId, ns, apkG2, wrongEpochSig);
        vm.expectRevert(invalid);
        blobs.certify(blobId, ns, apkG2, otherBlobSig);
        vm.expectRevert(invalid);
        blobs.certify(blobId, ns, wrongApk, sigma);
        // Signature and G2 key consistent with each other but not with the quorum's G1 key.
        vm.expectRevert(invalid);
        blobs.certify(blobId, ns, wrongApk, wrongSkSig);
        vm.expectRevert(invalid);
        blobs.certify(blobId, ns, apkG2, offCurve);

        blobs.certify(blobId, ns, apkG2, sigma);
        assertEq(
            blobs.certificateMessage(blobId),
            keccak256(abi.encode("daios.da.cert.v1", block.chainid, address(blobs), blobId, chunkRoot, EPOCH))
        );
    }

    function test_Certify_WindowAndStatus() public {
        uint256 blobId = _submit(chunkRoot, SIZE);
        (IDABlobs.NonSigner[] memory ns, BN254.G2Point memory apkG2, BN254.G1Point memory sigma) =
            _certificate(blobId, 0);
        uint256 deadline = block.number + C.CERTIFY_WINDOW_BLOCKS;
        vm.roll(deadline + 1);
        vm.expectRevert(_err(IDABlobs.DABlobsCertifyWindowClosed.selector, blobId, deadline));
        blobs.certify(blobId, ns, apkG2, sigma);
        vm.roll(deadline);
        blobs.certify(blobId, ns, apkG2, sigma);
        vm.expectRevert(_err(IDABlobs.DABlobsUnknownBlob.selector, 99));
        blobs.certify(99, ns, apkG2, sigma);
    }

    function test_Certify_IntoTheNextEpochUsesTheBlobsQuorum() public {
        vm.roll(EPOCH * C.EPOCH_BLOCKS + C.EPOCH_BLOCKS - 1);
        uint256 blobId = _submit(chunkRoot, SIZE);
        vm.roll(block.number + 10);
        assertEq(block.number / C.EPOCH_BLOCKS, EPOCH + 1);
        _certify(blobId, 0);
        assertEq(uint256(blobs.blob(blobId).status), uint256(IDABlobs.BlobStatus.Certified));
    }

    // ------------------------------------------------------------------ fees

    function test_ClaimFees_PaysSignersOnce() public {
        uint256 mask = 1 << 4;
        uint256 a = _submitCertified(mask);
        uint256 b = _submitCertified(0);
        uint256 shareA = blobs.feePerSigner(a);
        uint256 shareB = blobs.feePerSigner(b);
        (uint256 signerId, address signer) = da.memberAt(EPOCH, 0, 0);
        (uint256 nonSignerId, address nonSigner) = da.memberAt(EPOCH, 0, 4);

        uint256[] memory ids = new uint256[](2);
        (ids[0], ids[1]) = (a, b);
        uint256 before = token.balanceOf(signer);
        vm.expectEmit(address(blobs));
        emit IDABlobs.FeeClaimed(a, signer, signerId, shareA);
        vm.prank(signer);
        assertEq(blobs.claimFees(ids), shareA + shareB);
        assertEq(token.balanceOf(signer) - before, shareA + shareB);
        assertEq(blobs.blob(a).claimedMask, 1);

        vm.prank(signer);
        vm.expectRevert(_err(IDABlobs.DABlobsAlreadyClaimed.selector, a, 0));
        blobs.claimFees(ids);
        vm.prank(nonSigner);
        vm.expectRevert(_err(IDABlobs.DABlobsNotASigner.selector, a, nonSignerId));
        blobs.claimFees(ids);
        // The non-signer of a may still claim b.
        uint256[] memory onlyB = new uint256[](1);
        onlyB[0] = b;
        vm.prank(nonSigner);
        assertEq(blobs.claimFees(onlyB), shareB);
    }

    function test_ClaimFees_EverySignerTogetherEmptiesTheShares() public {
        uint256 mask = (1 << 3) | (1 << 9);
        uint256 blobId = _submitCertified(mask);
        uint256[] memory ids = new uint256[](1);
        ids[0] = blobId;
        for (uint256 p = 0; p < QUORUM_SIZE; ++p) {
            if (mask & (1 << p) != 0) continue;
            (, address account) = da.memberAt(EPOCH, 0, p);
            vm.prank(account);
            blobs.claimFees(ids);
        }
        // Only the treasury's credit is left.
        assertEq(token.balanceOf(address(blobs)), blobs.credits(treasury));
        assertEq(blobs.credits(treasury), _fee(SIZE) - blobs.feePerSigner(blobId) * (QUORUM_SIZE - 2));
    }

    function test_ClaimFees_RevertsOnBadInput() public {
        uint256 pending = _submit(chunkRoot, SIZE);
        address signer = nodes[0];
        uint256[] memory ids = new uint256[](1);
        ids[0] = pending;
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(IDABlobs.DABlobsNotANode.selector, client));
        blobs.claimFees(ids);
        vm.prank(signer);
        vm.expectRevert(_err(IDABlobs.DABlobsNotCertified.selector, pending));
        blobs.claimFees(ids);
        ids[0] = 77;
        vm.prank(signer);
        vm.expectRevert(_err(IDABlobs.DABlobsUnknownBlob.selector, 77));
        blobs.claimFees(ids);
        uint256[] memory many = new uint256[](blobs.MAX_CLAIM_BLOBS() + 1);
        vm.prank(signer);
        vm.expectRevert(_err(IDABlobs.DABlobsTooManyBlobs.selector, many.length, blobs.MAX_CLAIM_BLOBS()));
        blobs.claimFees(many);
    }

    function test_Reclaim() public {
        uint256 blobId = _submit(chunkRoot, SIZE);
        uint256 deadline = block.number + C.CERTIFY_WINDOW_BLOCKS;
        vm.prank(client);
        vm.expectRevert(_err(IDABlobs.DABlobsCertifyWindowOpen.selector, blobId, deadline));
        blobs.reclaim(blobId);
        vm.roll(deadline + 1);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IDABlobs.DABlobsNotClient.selector, blobId, challenger));
        blobs.reclaim(blobId);
        uint256 before = token.balanceOf(client);
        vm.expectEmit(address(blobs));
        emit IDABlobs.BlobReclaimed(blobId, client, _fee(SIZE));
        vm.prank(client);
        blobs.reclaim(blobId);
        assertEq(token.balanceOf(client) - before, _fee(SIZE));
        assertEq(token.balanceOf(address(blobs)), 0);
        assertEq(uint256(blobs.blob(blobId).status), uint256(IDABlobs.BlobStatus.Reclaimed));
        vm.prank(client);
        vm.expectRevert(_err(IDABlobs.DABlobsBlobReclaimed.selector, blobId));
        blobs.reclaim(blobId);
    }

    function test_Reclaim_NotAfterCertification() public {
        uint256 blobId = _submitCertified(0);
        vm.roll(block.number + C.CERTIFY_WINDOW_BLOCKS + 1);
        vm.prank(client);
        vm.expectRevert(_err(IDABlobs.DABlobsAlreadyCertified.selector, blobId));
        blobs.reclaim(blobId);
    }

    // ------------------------------------------------------------------ challenges

    function _challenge(uint256 blobId, uint256 position) internal returns (uint256 challengeId) {
        vm.prank(challenger);
        challengeId = blobs.challenge(blobId, position, position);
    }

    function test_Challenge_AnsweredCreditsTheBondToTheNode() public {
        uint256 blobId = _submitCertified(0);
        (, address node) = da.memberAt(EPOCH, 0, 7);
        uint256 before = token.balanceOf(challenger);
        vm.expectEmit(address(blobs));
        emit IDABlobs.ChallengeOpened(
            1, blobId, node, 7, 7, challenger, BOND, block.number + C.CHALLENGE_WINDOW_BLOCKS
        );
        uint256 challengeId = _challenge(blobId, 7);
        assertEq(before - token.balanceOf(challenger), BOND);
        IDABlobs.ChallengeInfo memory c = blobs.challengeInfo(challengeId);
        assertEq(c.blobId, blobId);
        assertEq(c.position, 7);
        assertEq(c.chunkIndex, 7);
        assertEq(c.node, node);
        assertEq(c.challenger, challenger);
        assertEq(c.bond, BOND);
        assertEq(uint256(c.status), uint256(IDABlobs.ChallengeStatus.Open));

        (, bytes32[] memory proof) = _chunkTree(CHUNKS, 7);
        bytes memory chunk = _chunk(7);
        vm.roll(c.deadline);
        vm.expectEmit(address(blobs));
        emit IDABlobs.ChallengeAnswered(challengeId, blobId, node, 7, chunk);
        vm.prank(node);
        uint256 gasBefore = gasleft();
        blobs.answer(challengeId, chunk, proof);
        emit log_named_uint("answer gas (execution, depth 4)", gasBefore - gasleft());
        assertEq(uint256(blobs.challengeInfo(challengeId).status), uint256(IDABlobs.ChallengeStatus.Answered));
        assertEq(blobs.credits(node), BOND, "frivolous challenge: the bond goes to the node");

        vm.expectRevert(_err(IDABlobs.DABlobsChallengeClosed.selector, challengeId));
        blobs.answer(challengeId, chunk, proof);
        vm.roll(c.deadline + 1);
        vm.expectRevert(_err(IDABlobs.DABlobsChallengeClosed.selector, challengeId));
        blobs.resolve(challengeId);

        uint256 nodeBefore = token.balanceOf(node);
        vm.prank(node);
        blobs.withdraw();
        assertEq(token.balanceOf(node) - nodeBefore, BOND);
        vm.prank(node);
        vm.expectRevert(abi.encodeWithSelector(IDABlobs.DABlobsNothingToWithdraw.selector, node));
        blobs.withdraw();
    }

    function test_Answer_RevertsOnWrongChunkOrProof() public {
        uint256 blobId = _submitCertified(0);
        uint256 challengeId = _challenge(blobId, 3);
        (, bytes32[] memory proof) = _chunkTree(CHUNKS, 3);
        (, bytes32[] memory otherProof) = _chunkTree(CHUNKS, 4);
        bytes memory chunk = _chunk(3);
        bytes memory wrongChunk = _chunk(4);
        bytes memory invalid = _err(IDABlobs.DABlobsInvalidChunkProof.selector, challengeId, 3);

        vm.expectRevert(invalid);
        blobs.answer(challengeId, wrongChunk, otherProof);
        vm.expectRevert(invalid);
        blobs.answer(challengeId, wrongChunk, proof);
        bytes32[] memory short = new bytes32[](3);
        for (uint256 i = 0; i < 3; ++i) {
            short[i] = proof[i];
        }
        vm.expectRevert(invalid);
        blobs.answer(challengeId, chunk, short);
        vm.expectRevert(_err(IDABlobs.DABlobsInvalidChunkLength.selector, 511));
        blobs.answer(challengeId, new bytes(511), proof);
        vm.expectRevert(_err(IDABlobs.DABlobsUnknownChallenge.selector, 9));
        blobs.answer(9, chunk, proof);

        uint256 deadline = blobs.challengeInfo(challengeId).deadline;
        vm.roll(deadline + 1);
        vm.expectRevert(_err(IDABlobs.DABlobsAnswerWindowClosed.selector, challengeId, deadline));
        blobs.answer(challengeId, chunk, proof);
    }

    function test_Challenge_UnansweredSlashesTheNode() public {
        uint256 blobId = _submitCertified(0);
        uint256 challengeId = _challenge(blobId, 5);
        (, address node) = da.memberAt(EPOCH, 0, 5);
        uint256 stakeBefore = registry.getProvider(node, daRole).stake;
        uint256 deadline = blobs.challengeInfo(challengeId).deadline;

        vm.expectRevert(_err(IDABlobs.DABlobsAnswerWindowOpen.selector, challengeId, deadline));
        blobs.resolve(challengeId);

        vm.roll(deadline + 1);
        uint256 treasuryBefore = blobs.credits(treasury);
        uint256 reward = SLASH * REWARD_BPS / BPS;
        vm.expectEmit(address(blobs));
        emit IDABlobs.ChallengeResolved(challengeId, blobId, node, SLASH, BOND + reward, SLASH - reward);
        uint256 gasBefore = gasleft();
        blobs.resolve(challengeId);
        emit log_named_uint("resolve gas (execution)", gasBefore - gasleft());
        assertEq(registry.getProvider(node, daRole).stake, stakeBefore - SLASH);
        assertEq(blobs.credits(challenger), BOND + reward);
        assertEq(blobs.credits(treasury) - treasuryBefore, SLASH - reward);
        assertEq(uint256(blobs.challengeInfo(challengeId).status), uint256(IDABlobs.ChallengeStatus.Slashed));
        vm.expectRevert(_err(IDABlobs.DABlobsChallengeClosed.selector, challengeId));
        blobs.resolve(challengeId);

        uint256 before = token.balanceOf(challenger);
        vm.prank(challenger);
        blobs.withdraw();
        assertEq(token.balanceOf(challenger) - before, BOND + reward);
    }

    function test_Challenge_SlashesWhatIsLeft() public {
        // A node that unbonded all but 10 tokens loses what is left (and its unbonding stake).
        uint256 blobId = _submitCertified(0);
        (, address node) = da.memberAt(EPOCH, 0, 2);
        uint256 stake = registry.getProvider(node, daRole).stake;
        vm.prank(node);
        registry.requestUnbond(daRole, stake - 10e18);
        uint256 challengeId = _challenge(blobId, 2);
        vm.roll(block.number + C.CHALLENGE_WINDOW_BLOCKS + 1);
        blobs.resolve(challengeId);
        IProviderRegistry.Provider memory p = registry.getProvider(node, daRole);
        assertEq(p.stake, 0);
        assertEq(p.unbonding, stake - 10e18 - (SLASH - 10e18));
    }

    function test_Challenge_RevertsOnBadTargets() public {
        uint256 pending = _submit(chunkRoot, SIZE);
        vm.startPrank(challenger);
        vm.expectRevert(_err(IDABlobs.DABlobsNotCertified.selector, pending));
        blobs.challenge(pending, 0, 0);
        vm.expectRevert(_err(IDABlobs.DABlobsUnknownBlob.selector, 55));
        blobs.challenge(55, 0, 0);
        vm.stopPrank();

        uint256 blobId = _submitCertified(1 << 6);
        vm.startPrank(challenger);
        vm.expectRevert(_err(IDABlobs.DABlobsNotASignerPosition.selector, blobId, 6));
        blobs.challenge(blobId, 6, 6);
        vm.expectRevert(_err(IDABlobs.DABlobsNotASignerPosition.selector, blobId, QUORUM_SIZE));
        blobs.challenge(blobId, QUORUM_SIZE, QUORUM_SIZE);
        vm.expectRevert(_err(IDABlobs.DABlobsChunkNotInShard.selector, blobId, 2, 3));
        blobs.challenge(blobId, 2, 3);
        vm.expectRevert(_err(IDABlobs.DABlobsChunkNotInShard.selector, blobId, 2, 1));
        blobs.challenge(blobId, 2, 1);
        vm.stopPrank();

        uint256 retentionEnd = blobs.blob(blobId).certifiedAt + C.RETENTION_BLOCKS;
        vm.roll(retentionEnd);
        _challenge(blobId, 2);
        vm.roll(retentionEnd + 1);
        vm.prank(challenger);
        vm.expectRevert(_err(IDABlobs.DABlobsRetentionOver.selector, blobId, retentionEnd));
        blobs.challenge(blobId, 2, 2);
    }

    function test_Challenge_ChunkRangeOfLargerShards() public {
        // 40,000 bytes over 8 data shards: 5,000 bytes per shard -> 10 chunks per shard.
        uint256 blobId = _submit(chunkRoot, 40_000);
        _certify(blobId, 0);
        assertEq(blobs.blobCoding(blobId).chunksPerShard, 10);
        vm.startPrank(challenger);
        blobs.challenge(blobId, 3, 30);
        blobs.challenge(blobId, 3, 39);
        vm.expectRevert(_err(IDABlobs.DABlobsChunkNotInShard.selector, blobId, 3, 40));
        blobs.challenge(blobId, 3, 40);
        vm.expectRevert(_err(IDABlobs.DABlobsChunkNotInShard.selector, blobId, 3, 29));
        blobs.challenge(blobId, 3, 29);
        vm.stopPrank();
    }

    // ------------------------------------------------------------------ constructor and views

    function test_Constructor_ValidatesParameters() public {
        IDABlobs.Config memory ok = IDABlobs.Config(PRICE_PER_BYTE, BASE_FEE, TREASURY_BPS, BOND, SLASH, REWARD_BPS);
        vm.expectRevert(IDABlobs.DABlobsZeroAddress.selector);
        new DABlobs(address(registry), address(da), address(0), ok);
        IDABlobs.Config memory bad = ok;
        bad.treasuryBps = 5_001;
        vm.expectRevert(abi.encodeWithSelector(IDABlobs.DABlobsInvalidParameter.selector, "treasuryBps", 5_001));
        new DABlobs(address(registry), address(da), treasury, bad);
        bad = IDABlobs.Config(PRICE_PER_BYTE, BASE_FEE, TREASURY_BPS, 0, SLASH, REWARD_BPS);
        vm.expectRevert(abi.encodeWithSelector(IDABlobs.DABlobsInvalidParameter.selector, "challengeBond", 0));
        new DABlobs(address(registry), address(da), treasury, bad);
        bad = IDABlobs.Config(PRICE_PER_BYTE, BASE_FEE, TREASURY_BPS, BOND, 0, REWARD_BPS);
        vm.expectRevert(abi.encodeWithSelector(IDABlobs.DABlobsInvalidParameter.selector, "slashAmount", 0));
        new DABlobs(address(registry), address(da), treasury, bad);
        bad = IDABlobs.Config(PRICE_PER_BYTE, BASE_FEE, TREASURY_BPS, BOND, SLASH, BPS + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IDABlobs.DABlobsInvalidParameter.selector, "challengerRewardBps", BPS + 1)
        );
        new DABlobs(address(registry), address(da), treasury, bad);
        bad = IDABlobs.Config(type(uint96).max / C.MAX_BLOB_SIZE + 1, 0, TREASURY_BPS, BOND, SLASH, REWARD_BPS);
        vm.expectRevert();
        new DABlobs(address(registry), address(da), treasury, bad);

        assertEq(blobs.token(), address(token));
        assertEq(blobs.registry(), address(registry));
        assertEq(blobs.daRegistry(), address(da));
        assertEq(blobs.treasury(), treasury);
        assertEq(blobs.pricePerByte(), PRICE_PER_BYTE);
        assertEq(blobs.baseFee(), BASE_FEE);
        assertEq(blobs.treasuryBps(), TREASURY_BPS);
        assertEq(blobs.challengeBond(), BOND);
        assertEq(blobs.slashAmount(), SLASH);
        assertEq(blobs.challengerRewardBps(), REWARD_BPS);
    }

    function testFuzz_Coding(uint256 size, uint256 quorumSize) public view {
        size = bound(size, 1, C.MAX_BLOB_SIZE);
        quorumSize = bound(quorumSize, C.MIN_QUORUM_SIZE, C.MAX_QUORUM_SIZE);
        IDABlobs.Coding memory c = blobs.coding(size, quorumSize);
        assertEq(c.dataShards, quorumSize / 2);
        assertEq(c.totalShards, quorumSize);
        assertEq(c.shardSize % C.CHUNK_SIZE, 0);
        assertGe(c.shardSize * c.dataShards, size, "k shards hold the blob");
        assertLt((c.shardSize - C.CHUNK_SIZE) * c.dataShards, size, "no whole spare chunk per shard");
        assertEq(c.chunkCount, c.chunksPerShard * quorumSize);
        assertGe(uint256(1) << c.treeDepth, c.chunkCount);
        assertLe(c.treeDepth, C.MAX_TREE_DEPTH);
        if (c.treeDepth > 0) assertLt(uint256(1) << (c.treeDepth - 1), c.chunkCount);
    }

    // ------------------------------------------------------------------ gas

    /// @notice Execution gas only, inside one test transaction (warm accounts after the first call); the
    ///         whole-transaction numbers and the budgets are checked in test/mocha/contracts/da-contracts.test.ts.
    function test_Gas_Certify() public {
        _submitCertified(0); // warms the DA registry, the quorum and the treasury's credit word
        uint256[4] memory missing = [uint256(0), 1, 2, 4];
        for (uint256 t = 0; t < missing.length; ++t) {
            uint256 blobId = _submit(chunkRoot, SIZE);
            (IDABlobs.NonSigner[] memory ns, BN254.G2Point memory apkG2, BN254.G1Point memory sigma) =
                _certificate(blobId, (uint256(1) << missing[t]) - 1);
            uint256 before = gasleft();
            blobs.certify(blobId, ns, apkG2, sigma);
            emit log_named_uint(
                string.concat("certify execution gas (warm), Q=16, non-signers=", vm.toString(missing[t])),
                before - gasleft()
            );
        }
    }

    // ------------------------------------------------------------------ helpers

    function _deployEqualStakes() internal {
        _deploy(1, QUORUM_SIZE, 0);
        for (uint256 i = 0; i < QUORUM_SIZE; ++i) {
            address account = makeAddr(string.concat("node", vm.toString(i)));
            nodes.push(account);
            _fund(account);
            vm.prank(account);
            registry.register(daRole, MIN_STAKE, "https://da.example", 1);
            (BN254.G1Point memory pk1, BN254.G2Point memory pk2, BN254.G1Point memory pop) = _keys(account, _sk(i));
            vm.prank(account);
            da.registerKeys(pk1, pk2, pop);
        }
        _sampleAndEnter();
    }

    function _copy(IDABlobs.NonSigner[] memory ns) internal pure returns (IDABlobs.NonSigner[] memory out) {
        out = new IDABlobs.NonSigner[](ns.length);
        for (uint256 i = 0; i < ns.length; ++i) {
            bytes32[5] memory proof;
            for (uint256 j = 0; j < 5; ++j) {
                proof[j] = ns[i].proof[j];
            }
            out[i] = IDABlobs.NonSigner(
                ns[i].position, ns[i].nodeId, BN254.G1Point(ns[i].pk.x, ns[i].pk.y), ns[i].weight, proof
            );
        }
    }
}
