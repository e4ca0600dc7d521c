// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {RevertData} from "./helpers/RevertData.sol";
import {DaConstants as C} from "../../contracts/generated/ProtocolConstants.sol";
import {BN254} from "../../contracts/libraries/BN254.sol";
import {BLS} from "../../contracts/libraries/BLS.sol";
import {QuorumSampling} from "../../contracts/libraries/QuorumSampling.sol";
import {DaiosToken} from "../../contracts/token/DaiosToken.sol";
import {ProviderRegistry} from "../../contracts/core/ProviderRegistry.sol";
import {BlockhashRandomness} from "../../contracts/randomness/BlockhashRandomness.sol";
import {DARegistry} from "../../contracts/da/DARegistry.sol";
import {DABlobs} from "../../contracts/da/DABlobs.sol";
import {IDARegistry} from "../../contracts/interfaces/IDARegistry.sol";
import {IDABlobs} from "../../contracts/interfaces/IDABlobs.sol";

/// @notice Test-only affine arithmetic on the BN254 twist (G2), for public keys s * g2 of test secret keys.
///         Slow (one field inversion per step) and meant for short scalars; allocates no memory, so that
///         registering hundreds of nodes in one test keeps memory flat.
library TestG2 {
    /// @notice The modexp precompile call failed (out of gas).
    error TestG2ModExpFailed();

    uint256 internal constant P = 0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47;

    /// @notice s * g2 (s != 0 mod the group order).
    function mulGen(uint256 s) internal view returns (BN254.G2Point memory) {
        BN254.G2Point memory g = BN254.g2();
        uint256[4] memory base = [g.x0, g.x1, g.y0, g.y1];
        uint256[4] memory acc;
        bool infinity = true;
        for (uint256 i = 256; i > 0; --i) {
            if (!infinity) (acc, infinity) = _double(acc);
            if ((s >> (i - 1)) & 1 == 1) {
                if (infinity) {
                    (acc[0], acc[1], acc[2], acc[3]) = (base[0], base[1], base[2], base[3]);
                    infinity = false;
                } else {
                    (acc, infinity) = _add(acc, base);
                }
            }
        }
        require(!infinity, "TestG2: infinity");
        return BN254.G2Point({x1: acc[1], x0: acc[0], y1: acc[3], y0: acc[2]});
    }

    /// @dev Points are [x0, x1, y0, y1].
    function _double(uint256[4] memory p) private view returns (uint256[4] memory, bool) {
        if (p[2] == 0 && p[3] == 0) return (p, true);
        // lambda = 3 x^2 / (2 y)
        (uint256 n0, uint256 n1) = _mul(p[0], p[1], p[0], p[1]);
        (uint256 d0, uint256 d1) = _inv(addmod(p[2], p[2], P), addmod(p[3], p[3], P));
        (uint256 l0, uint256 l1) = _mul(mulmod(3, n0, P), mulmod(3, n1, P), d0, d1);
        return (_finish(l0, l1, p, p[0], p[1]), false);
    }

    function _add(uint256[4] memory p, uint256[4] memory q) private view returns (uint256[4] memory, bool) {
        if (p[0] == q[0] && p[1] == q[1]) {
            if (p[2] == q[2] && p[3] == q[3]) return _double(p);
            return (p, true);
        }
        (uint256 d0, uint256 d1) = _inv(addmod(q[0], P - p[0], P), addmod(q[1], P - p[1], P));
        (uint256 l0, uint256 l1) = _mul(addmod(q[2], P - p[2], P), addmod(q[3], P - p[3], P), d0, d1);
        return (_finish(l0, l1, p, q[0], q[1]), false);
    }

    /// @dev In place on p: x3 = l^2 - xp - xq; y3 = l (xp - x3) - yp.
    function _finish(uint256 l0, uint256 l1, uint256[4] memory p, uint256 xq0, uint256 xq1)
        private
        pure
        returns (uint256[4] memory)
    {
        (uint256 s0, uint256 s1) = _mul(l0, l1, l0, l1);
        uint256 x0 = addmod(s0, P - addmod(p[0], xq0, P), P);
        uint256 x1 = addmod(s1, P - addmod(p[1], xq1, P), P);
        (uint256 t0, uint256 t1) = _mul(l0, l1, addmod(p[0], P - x0, P), addmod(p[1], P - x1, P));
        p[2] = addmod(t0, P - p[2], P);
        p[3] = addmod(t1, P - p[3], P);
        p[0] = x0;
        p[1] = x1;
        return p;
    }

    function _mul(uint256 a0, uint256 a1, uint256 b0, uint256 b1) private pure returns (uint256, uint256) {
        return (
            addmod(mulmod(a0, b0, P), P - mulmod(a1, b1, P), P), addmod(mulmod(a0, b1, P), mulmod(a1, b0, P), P)
        );
    }

    function _inv(uint256 a0, uint256 a1) private view returns (uint256, uint256) {
        uint256 t = _invFp(addmod(mulmod(a0, a0, P), mulmod(a1, a1, P), P));
        return (mulmod(a0, t, P), mulmod(P - a1, t, P));
    }

    function _invFp(uint256 a) private view returns (uint256) {
        return BN254.expMod(a, BN254.INV_EXP, TestG2ModExpFailed.selector);
    }
}

/// @notice Deploys the DA layer on the real token, provider registry and blockhash randomness, registers
///         DA nodes with real BLS keys, samples an epoch and builds real certificates.
abstract contract DAFixture is Test, RevertData {
    uint256 internal constant MIN_STAKE = 100e18;
    uint256 internal constant FUNDS = 1e27;
    uint256 internal constant PRICE_PER_BYTE = 1e12;
    uint256 internal constant BASE_FEE = 1e17;
    uint256 internal constant TREASURY_BPS = 1_000;
    uint256 internal constant BOND = 5e18;
    uint256 internal constant SLASH = 50e18;
    uint256 internal constant REWARD_BPS = 5_000;
    uint256 internal constant BPS = 10_000;
    uint256 internal constant QUORUM_SIZE = 16;
    /// @dev Block of setUp (the first of epoch 10): nodes register here, so epoch 11 (seeded by this block)
    ///      is the first one they are eligible for.
    uint256 internal constant START = 10 * C.EPOCH_BLOCKS;
    uint256 internal constant EPOCH = 11;
    bytes32 internal constant ROOT = keccak256("root");
    uint256 internal constant SIZE = 4096;

    address internal owner = makeAddr("owner");
    address internal client = makeAddr("client");
    address internal treasury = makeAddr("treasury");
    address internal challenger = makeAddr("challenger");

    DaiosToken internal token;
    ProviderRegistry internal registry;
    BlockhashRandomness internal randomness;
    DARegistry internal da;
    DABlobs internal blobs;
    bytes32 internal daRole;

    address[] internal nodes;

    function setUp() public virtual {
        _deploy(1, QUORUM_SIZE, QUORUM_SIZE);
    }

    function _deploy(uint256 quorums, uint256 quorumSize, uint256 nodeCount) internal {
        vm.roll(START);
        token = new DaiosToken(owner);
        registry = new ProviderRegistry(address(token), owner, 7 days);
        randomness = new BlockhashRandomness();
        da = new DARegistry(address(registry), address(randomness), quorums, quorumSize);
        blobs = new DABlobs(
            address(registry),
            address(da),
            treasury,
            IDABlobs.Config({
                pricePerByte: PRICE_PER_BYTE,
                baseFee: BASE_FEE,
                treasuryBps: TREASURY_BPS,
                challengeBond: BOND,
                slashAmount: SLASH,
                challengerRewardBps: REWARD_BPS
            })
        );
        daRole = registry.DA_ROLE();
        vm.startPrank(owner);
        registry.setMinStake(daRole, MIN_STAKE);
        registry.setLayer(address(blobs), daRole, true);
        vm.stopPrank();
        _fund(client);
        _fund(challenger);
        delete nodes;
        for (uint256 i = 0; i < nodeCount; ++i) {
            _addNode(i);
        }
    }

    // ------------------------------------------------------------------ keys and nodes

    /// @dev Secret key of node i: 64 bits, so the test-only G2 multiplication stays cheap.
    function _sk(uint256 i) internal pure returns (uint256) {
        return (uint256(keccak256(abi.encode("daios.da.test.sk", i))) >> 192) + 1;
    }

    function _stakeOf(uint256 i) internal pure returns (uint256) {
        return MIN_STAKE + i * 1e18;
    }

    function _fund(address account) internal {
        vm.prank(owner);
        token.mint(account, FUNDS);
        vm.startPrank(account);
        token.approve(address(blobs), type(uint256).max);
        token.approve(address(registry), type(uint256).max);
        vm.stopPrank();
    }

    function _addNode(uint256 i) internal returns (address account) {
        account = makeAddr(string.concat("node", vm.toString(i)));
        nodes.push(account);
        _fund(account);
        vm.prank(account);
        registry.register(daRole, _stakeOf(i), "https://da.example", 1 << 40);
        (BN254.G1Point memory pk1, BN254.G2Point memory pk2, BN254.G1Point memory pop) = _keys(account, _sk(i));
        vm.prank(account);
        da.registerKeys(pk1, pk2, pop);
    }

    function _keys(address account, uint256 sk)
        internal
        view
        returns (BN254.G1Point memory pk1, BN254.G2Point memory pk2, BN254.G1Point memory pop)
    {
        pk1 = BN254.mul(BN254.g1(), sk);
        pk2 = TestG2.mulGen(sk);
        bytes32 message = da.popMessage(account, pk1, pk2);
        pop = BN254.mul(BLS.hashToPoint(bytes(da.POP_DST()), abi.encodePacked(message)), sk);
    }

    /// @dev Index i of the node with id `nodeId` (ids follow registration order in these fixtures).
    function _indexOf(uint256 nodeId) internal pure returns (uint256) {
        return nodeId - 1;
    }

    // ------------------------------------------------------------------ epochs and blobs

    /// @dev Samples EPOCH (from block START's hash) and rolls into it.
    function _sampleAndEnter() internal {
        vm.roll(START + 1);
        da.sampleEpoch(EPOCH);
        vm.roll(EPOCH * C.EPOCH_BLOCKS);
    }

    function _submit(bytes32 root, uint256 size) internal returns (uint256 blobId) {
        vm.prank(client);
        blobId = blobs.submitBlob(root, size, block.number / C.EPOCH_BLOCKS);
    }

    // ------------------------------------------------------------------ certificates

    struct Member {
        uint256 nodeId;
        BN254.G1Point pk;
        uint256 weight;
    }

    function _members(uint256 epoch, uint256 quorumIndex) internal view returns (Member[] memory members) {
        uint256[] memory ids = da.quorumMembers(epoch, quorumIndex);
        members = new Member[](ids.length);
        for (uint256 p = 0; p < ids.length; ++p) {
            IDARegistry.NodeInfo memory n = da.node(ids[p]);
            members[p] = Member(ids[p], n.pkG1, registry.getProvider(n.account, daRole).stake);
        }
    }

    /// @dev A member proof as DABlobs takes it: the depth siblings, then zeros up to MAX_MEMBER_DEPTH.
    function _memberProof(Member[] memory members, uint256 position) internal pure returns (bytes32[5] memory proof) {
        uint256 depth = QuorumSampling.memberDepth(members.length);
        bytes32[] memory level = new bytes32[](uint256(1) << depth);
        for (uint256 p = 0; p < members.length; ++p) {
            level[p] =
                QuorumSampling.memberLeaf(members[p].nodeId, members[p].pk.x, members[p].pk.y, members[p].weight);
        }
        uint256 width = level.length;
        for (uint256 d = 0; d < depth; ++d) {
            proof[d] = level[position ^ 1];
            width >>= 1;
            for (uint256 i = 0; i < width; ++i) {
                level[i] = keccak256(abi.encodePacked(level[2 * i], level[2 * i + 1]));
            }
            position >>= 1;
        }
    }

    /// @dev A real certificate of `blobId` signed by every member whose bit is not set in `nonSignerMask`.
    function _certificate(uint256 blobId, uint256 nonSignerMask)
        internal
        view
        returns (IDABlobs.NonSigner[] memory nonSigners, BN254.G2Point memory apkG2, BN254.G1Point memory sigma)
    {
        IDABlobs.BlobInfo memory b = blobs.blob(blobId);
        Member[] memory members = _members(b.epoch, b.quorum);
        uint256 count;
        for (uint256 p = 0; p < members.length; ++p) {
            if (nonSignerMask & (1 << p) != 0) ++count;
        }
        nonSigners = new IDABlobs.NonSigner[](count);
        uint256 skSum;
        uint256 k;
        for (uint256 p = 0; p < members.length; ++p) {
            if (nonSignerMask & (1 << p) != 0) {
                nonSigners[k++] = IDABlobs.NonSigner({
                    position: p,
                    nodeId: members[p].nodeId,
                    pk: members[p].pk,
                    weight: members[p].weight,
                    proof: _memberProof(members, p)
                });
            } else {
                skSum += _sk(_indexOf(members[p].nodeId));
            }
        }
        apkG2 = TestG2.mulGen(skSum);
        sigma = BN254.mul(blobs.messagePoint(blobId), skSum);
    }

    function _certify(uint256 blobId, uint256 nonSignerMask) internal {
        (IDABlobs.NonSigner[] memory ns, BN254.G2Point memory apkG2, BN254.G1Point memory sigma) =
            _certificate(blobId, nonSignerMask);
        blobs.certify(blobId, ns, apkG2, sigma);
    }

    // ------------------------------------------------------------------ chunks

    /// @dev Deterministic chunk `index` of a test blob.
    function _chunk(uint256 index) internal pure returns (bytes memory chunk) {
        chunk = new bytes(C.CHUNK_SIZE);
        for (uint256 w = 0; w < C.CHUNK_SIZE / 32; ++w) {
            bytes32 word = keccak256(abi.encode("chunk", index, w));
            assembly ("memory-safe") {
                mstore(add(add(chunk, 0x20), mul(w, 0x20)), word)
            }
        }
    }

    /// @dev SHA-256 tree over `count` test chunks (count a power of two): root and the proof of `index`.
    function _chunkTree(uint256 count, uint256 index) internal pure returns (bytes32 root, bytes32[] memory proof) {
        bytes32[] memory level = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            level[i] = sha256(abi.encodePacked(bytes1(0x00), _chunk(i)));
        }
        uint256 depth;
        while ((uint256(1) << depth) < count) ++depth;
        proof = new bytes32[](depth);
        uint256 width = count;
        for (uint256 d = 0; d < depth; ++d) {
            proof[d] = level[index ^ 1];
            width >>= 1;
            for (uint256 i = 0; i < width; ++i) {
                level[i] = sha256(abi.encodePacked(bytes1(0x01), level[2 * i], level[2 * i + 1]));
            }
            index >>= 1;
        }
        root = level[0];
    }
}
