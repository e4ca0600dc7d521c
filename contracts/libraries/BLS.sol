// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {BN254} from "./BN254.sol";

/// @title BLS
/// @notice BLS signatures on BN254 with signatures and message points in G1 and public keys in G2 (the
///         drand "short signature" scheme), and RFC 9380 hash_to_curve for G1:
///         BN254G1_XMD:KECCAK-256_SVDW_RO_ (expand_message_xmd with keccak256, two field elements of
///         L = 48 bytes each, the Shallue–van de Woestijne map of RFC 9380 section 6.6.1 with Z = 1,
///         cofactor 1).
/// @dev Square roots and inverses use the modexp precompile (0x05). `hashToPoint` of a 32-byte message
///      costs about 16k gas (test/contracts/BLS.t.sol, Cancun pricing): four keccak256, one ecAdd and 3 to 7
///      modexp calls (about 1.35k gas each), because the two maps share one inversion (Montgomery's trick)
///      and each square-root attempt doubles as the is_square test, which is exact for p ≡ 3 (mod 4).
///      EIP-7883 (Osaka) triples modexp prices; an in-EVM addition chain for the two exponents would then
///      be the cheaper option.
library BLS {
    /// @notice The domain separation tag is empty or longer than 255 bytes (RFC 9380 section 5.3.3).
    error BLSInvalidDomainLength(uint256 length);

    /// @notice The modexp precompile call failed (out of gas).
    error BLSModExpFailed();

    /// @notice The SVDW map found no square among its three candidates; impossible for a correct map, so
    ///         this signals a bug.
    error BLSMapToCurveFailed(uint256 u);

    /// @dev The base field modulus, for the arithmetic below.
    uint256 private constant P = BN254.P;

    /// @dev SVDW constants for A = 0, B = 3, Z = 1: c1 = g(Z) = 4, c2 = -Z / 2, c3 = sqrt(-g(Z) * 3Z^2)
    ///      with sgn0(c3) = 0, c4 = -4 g(Z) / (3 Z^2).
    uint256 private constant SVDW_C1 = 4;
    uint256 private constant SVDW_C2 = 0x183227397098d014dc2822db40c0ac2ecbc0b548b438e5469e10460b6c3e7ea3;
    uint256 private constant SVDW_C3 = 0x16789af3a83522eb353c98fc6b36d713d5d8d1cc5dffffffa;
    uint256 private constant SVDW_C4 = 0x10216f7ba065e00de81ac1e7808072c9dd2b2385cd7b438469602eb24829a9bd;
    uint256 private constant SVDW_Z = 1;

    /// @dev 2^256 mod P, to reduce the 48-byte field element that straddles b_2 and b_3.
    uint256 private constant TWO_256_MOD_P = 0x0e0a77c19a07df2f666ea36f7879462c0a78eb28f5c70b3dd35d438dc58f0d9d;

    /// @dev -g2: the G2 generator with y negated (EIP-197 order).
    uint256 private constant NEG_G2_X1 = 0x198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2;
    uint256 private constant NEG_G2_X0 = 0x1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed;
    uint256 private constant NEG_G2_Y1 = 0x275dc4a288d1afb3cbb1ac09187524c7db36395df7be3b99e673b13a075a65ec;
    uint256 private constant NEG_G2_Y0 = 0x1d9befcd05a5323e6da4d435f3b617cdb3af83285c2df711ef39c01571827f9d;

    /// @notice RFC 9380 hash_to_curve(message) onto G1 with domain separation tag `dst`.
    /// @dev Reverts with `BLSInvalidDomainLength` unless 1 <= dst.length <= 255 (RFC 9380 asks callers to
    ///      hash longer tags first; no protocol tag needs that).
    /// @param dst Domain separation tag, e.g. "BLS_SIG_BN254G1_XMD:KECCAK-256_SVDW_RO_NUL_" (drand evmnet).
    /// @param message Message bytes of any length.
    /// @return The point hash_to_curve(message), an affine G1 point.
    function hashToPoint(bytes memory dst, bytes memory message) internal view returns (BN254.G1Point memory) {
        (uint256 u0, uint256 u1) = hashToField(dst, message);
        (uint256 a1, uint256 a2) = _svdwDenominators(u0);
        (uint256 b1, uint256 b2) = _svdwDenominators(u1);
        uint256 da = mulmod(a1, a2, P);
        uint256 db = mulmod(b1, b2, P);
        // One inversion for both maps: 1/da = db/(da·db) and 1/db = da/(da·db).
        uint256 inv = BN254.expMod(mulmod(da, db, P), BN254.INV_EXP, BLSModExpFailed.selector);
        uint256 ia;
        uint256 ib;
        if (inv == 0) {
            // da or db is zero (probability ~2^-252): fall back to separate inv0 calls.
            ia = BN254.expMod(da, BN254.INV_EXP, BLSModExpFailed.selector);
            ib = BN254.expMod(db, BN254.INV_EXP, BLSModExpFailed.selector);
        } else {
            ia = mulmod(inv, db, P);
            ib = mulmod(inv, da, P);
        }
        return BN254.add(_svdwFinish(u0, a1, a2, ia), _svdwFinish(u1, b1, b2, ib));
    }

    /// @notice RFC 9380 hash_to_field(message, 2) for F_p with expand_message_xmd(keccak256), L = 48.
    /// @return u0 The first field element (reduced).
    /// @return u1 The second field element (reduced).
    function hashToField(bytes memory dst, bytes memory message) internal pure returns (uint256 u0, uint256 u1) {
        (bytes32 b1, bytes32 b2, bytes32 b3) = expandMessageXmd(dst, message);
        // u0 = OS2IP(b1 || b2[0:16]) mod P = (b1 · 2^128 + b2 >> 128) mod P
        u0 = addmod(mulmod(uint256(b1), 1 << 128, P), uint256(b2) >> 128, P);
        // u1 = OS2IP(b2[16:32] || b3) mod P = ((b2 mod 2^128) · 2^256 + b3) mod P
        u1 = addmod(mulmod(uint256(b2) & type(uint128).max, TWO_256_MOD_P, P), uint256(b3), P);
    }

    /// @notice RFC 9380 expand_message_xmd(message, dst, 96) with H = keccak256 (b_in_bytes = 32,
    ///         s_in_bytes = 136, the keccak256 rate), returned as its three 32-byte blocks.
    /// @dev Reverts with `BLSInvalidDomainLength` unless 1 <= dst.length <= 255.
    function expandMessageXmd(bytes memory dst, bytes memory message)
        internal
        pure
        returns (bytes32 b1, bytes32 b2, bytes32 b3)
    {
        uint256 dstLen = dst.length;
        if (dstLen == 0 || dstLen > 255) revert BLSInvalidDomainLength(dstLen);
        assembly ("memory-safe") {
            // Scratch space past the free memory pointer; nothing is allocated.
            let m := mload(0x40)
            let msgLen := mload(message)
            // msg_prime = Z_pad (136 zero bytes) || msg || I2OSP(96, 2) || I2OSP(0, 1) || DST || I2OSP(len(DST), 1)
            mstore(m, 0)
            mstore(add(m, 0x20), 0)
            mstore(add(m, 0x40), 0)
            mstore(add(m, 0x60), 0)
            mstore(add(m, 0x80), 0)
            let q := add(m, 136)
            mcopy(q, add(message, 0x20), msgLen)
            q := add(q, msgLen)
            mstore8(q, 0x00)
            mstore8(add(q, 1), 0x60)
            mstore8(add(q, 2), 0x00)
            q := add(q, 3)
            mcopy(q, add(dst, 0x20), dstLen)
            q := add(q, dstLen)
            mstore8(q, dstLen)
            let b0 := keccak256(m, sub(add(q, 1), m))
            // b_1 = H(b_0 || I2OSP(1, 1) || DST_prime); b_i = H((b_0 xor b_(i-1)) || I2OSP(i, 1) || DST_prime)
            mstore(m, b0)
            mstore8(add(m, 0x20), 1)
            mcopy(add(m, 0x21), add(dst, 0x20), dstLen)
            mstore8(add(m, add(0x21, dstLen)), dstLen)
            let len := add(0x22, dstLen)
            b1 := keccak256(m, len)
            mstore(m, xor(b0, b1))
            mstore8(add(m, 0x20), 2)
            b2 := keccak256(m, len)
            mstore(m, xor(b0, b2))
            mstore8(add(m, 0x20), 3)
            b3 := keccak256(m, len)
        }
    }

    /// @notice RFC 9380 map_to_curve (SVDW, section 6.6.1) of one field element onto G1.
    /// @dev `hashToPoint` does not call this (it shares one inversion between its two maps); kept for
    ///      tests and for callers that map a field element directly.
    /// @param u A field element, reduced (u < P).
    function mapToPoint(uint256 u) internal view returns (BN254.G1Point memory) {
        (uint256 tv1, uint256 tv2) = _svdwDenominators(u);
        return _svdwFinish(u, tv1, tv2, BN254.expMod(mulmod(tv1, tv2, P), BN254.INV_EXP, BLSModExpFailed.selector));
    }

    /// @notice Whether `sig` is a valid signature of the message point `hm` under the public key `pk`:
    ///         e(sig, -g2) · e(hm, pk) == 1.
    /// @dev Returns false when `sig` or `hm` is not an affine G1 point (the point at infinity included) or
    ///      `pk` is not an affine point of the twist curve, so a zero key with a zero signature never
    ///      verifies. A `pk` on the twist but outside the order-R subgroup makes the pairing precompile
    ///      fail: reverts with `BN254.BN254PairingFailed`. Callers that validate a fixed key once still pay
    ///      only ~0.5k gas for these checks.
    function verify(BN254.G1Point memory sig, BN254.G2Point memory pk, BN254.G1Point memory hm)
        internal
        view
        returns (bool)
    {
        if (!BN254.isOnCurveG1(sig) || !BN254.isOnCurveG1(hm) || !BN254.isOnCurveG2(pk)) return false;
        return BN254.pairing2(sig, BN254.G2Point(NEG_G2_X1, NEG_G2_X0, NEG_G2_Y1, NEG_G2_Y0), hm, pk);
    }

    /// @dev SVDW steps 1–4: tv1 = 1 - c1·u², tv2 = 1 + c1·u²; the map then needs inv0(tv1·tv2).
    function _svdwDenominators(uint256 u) private pure returns (uint256 tv1, uint256 tv2) {
        uint256 t = mulmod(mulmod(u, u, P), SVDW_C1, P);
        tv2 = addmod(1, t, P);
        tv1 = addmod(1, P - t, P);
    }

    /// @dev SVDW steps 6 onwards, given tv3 = inv0(tv1·tv2). A square-root attempt s = a^((P+1)/4)
    ///      with s² == a is exactly is_square(a) (0 included), so each candidate costs one modexp.
    function _svdwFinish(uint256 u, uint256 tv1, uint256 tv2, uint256 tv3)
        private
        view
        returns (BN254.G1Point memory)
    {
        uint256 tv4 = mulmod(mulmod(mulmod(u, tv1, P), tv3, P), SVDW_C3, P);
        uint256 x = addmod(SVDW_C2, P - tv4, P); // x1 = c2 - tv4
        (uint256 y, bool found) = _sqrtG(x);
        if (!found) {
            x = addmod(SVDW_C2, tv4, P); // x2 = c2 + tv4
            (y, found) = _sqrtG(x);
            if (!found) {
                // x3 = (tv2² · tv3)² · c4 + Z
                x = mulmod(mulmod(tv2, tv2, P), tv3, P);
                x = addmod(mulmod(mulmod(x, x, P), SVDW_C4, P), SVDW_Z, P);
                (y, found) = _sqrtG(x);
                if (!found) revert BLSMapToCurveFailed(u);
            }
        }
        // sgn0(y) must equal sgn0(u) (m = 1: parity of the reduced value).
        // y != 0: a point (x, 0) would have order 2, and G1 has odd prime order.
        if ((u & 1) != (y & 1)) y = P - y;
        return BN254.G1Point(x, y);
    }

    /// @dev A square root of g(x) = x³ + 3 if it is a square.
    function _sqrtG(uint256 x) private view returns (uint256 y, bool found) {
        uint256 gx = addmod(mulmod(mulmod(x, x, P), x, P), 3, P);
        y = BN254.expMod(gx, BN254.SQRT_EXP, BLSModExpFailed.selector);
        found = mulmod(y, y, P) == gx;
    }
}
