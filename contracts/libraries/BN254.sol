// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title BN254
/// @notice Arithmetic on the BN254 (alt_bn128) curves through the EVM precompiles: ecAdd (0x06), ecMul
///         (0x07) and ecPairing (0x08) of EIP-196/EIP-197, and powers in F_p through modexp (0x05, EIP-198).
/// @dev G1: y^2 = x^3 + 3 over F_p. G2: the sextic twist y^2 = x^3 + 3 / (9 + i) over F_p^2 = F_p[i] / (i^2 + 1).
///      The point at infinity is encoded as (0, 0) in G1 and as all zeros in G2, as in the precompiles.
///      G2 coordinates follow the precompile order: the imaginary part first (`x1`, then `x0`).
library BN254 {
    /// @notice The ecAdd precompile rejected its input (a point off the curve or a coordinate >= P).
    error BN254AddFailed();

    /// @notice The ecMul precompile rejected its input (a point off the curve or a coordinate >= P).
    error BN254MulFailed();

    /// @notice The ecPairing precompile rejected its input (a point off its curve, a coordinate >= P,
    ///         or a G2 point outside the order-R subgroup).
    error BN254PairingFailed();

    /// @notice Modulus of the base field F_p.
    uint256 internal constant P = 0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47;

    /// @notice Order of the groups G1 and G2 (the scalar field modulus).
    uint256 internal constant R = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001;

    /// @notice (P + 1) / 4: a^((P + 1) / 4) is a square root of a whenever a is a square (P = 3 mod 4).
    uint256 internal constant SQRT_EXP = 0x0c19139cb84c680a6e14116da060561765e05aa45a1c72a34f082305b61f3f52;

    /// @notice P - 2: a^(P - 2) = 1 / a for a != 0, and 0 for a = 0.
    uint256 internal constant INV_EXP = 0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd45;

    /// @dev Real part of the G2 twist constant b' = 3 / (9 + i).
    uint256 private constant TWIST_B0 = 0x2b149d40ceb8aaae81be18991be06ac3b5b4c5e559dbefa33267e6dc24a138e5;
    /// @dev Imaginary part of the G2 twist constant b' = 3 / (9 + i).
    uint256 private constant TWIST_B1 = 0x009713b03af0fed4cd2cafadeed8fdf4a74fa084e52d1852e4a2bd0685c315d2;

    /// @notice A point of G1 in affine coordinates.
    struct G1Point {
        uint256 x;
        uint256 y;
    }

    /// @notice A point of G2 in affine coordinates over F_p^2; x = x0 + x1 * i, y = y0 + y1 * i.
    /// @dev Field order matches the EIP-197 pairing input: imaginary part first.
    struct G2Point {
        uint256 x1;
        uint256 x0;
        uint256 y1;
        uint256 y0;
    }

    /// @notice The standard generator (1, 2) of G1.
    function g1() internal pure returns (G1Point memory) {
        return G1Point(1, 2);
    }

    /// @notice The standard generator of G2 (the one used by EIP-197 and drand).
    function g2() internal pure returns (G2Point memory) {
        return G2Point({
            x1: 0x198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2,
            x0: 0x1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed,
            y1: 0x090689d0585ff075ec9e99ad690c3395bc4b313370b38ef355acdadcd122975b,
            y0: 0x12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7daa
        });
    }

    /// @notice -p in G1. The point at infinity is its own negation.
    /// @dev Expects reduced coordinates (x, y < P); `y` is reduced again so an unreduced input cannot
    ///      underflow.
    function negate(G1Point memory p) internal pure returns (G1Point memory) {
        if (p.x == 0 && p.y == 0) return G1Point(0, 0);
        return G1Point(p.x, P - (p.y % P));
    }

    /// @notice a + b in G1 (ecAdd precompile, 150 gas).
    /// @dev Reverts with `BN254AddFailed` if a point is off the curve or a coordinate is >= P.
    function add(G1Point memory a, G1Point memory b) internal view returns (G1Point memory r) {
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, mload(a))
            mstore(add(m, 0x20), mload(add(a, 0x20)))
            mstore(add(m, 0x40), mload(b))
            mstore(add(m, 0x60), mload(add(b, 0x20)))
            ok := staticcall(gas(), 0x06, m, 0x80, r, 0x40)
        }
        if (!ok) revert BN254AddFailed();
    }

    /// @notice s * p in G1 (ecMul precompile, 6,000 gas).
    /// @dev Reverts with `BN254MulFailed` if the point is off the curve or a coordinate is >= P. Any
    ///      scalar is accepted; it acts modulo R on G1.
    function mul(G1Point memory p, uint256 s) internal view returns (G1Point memory r) {
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, mload(p))
            mstore(add(m, 0x20), mload(add(p, 0x20)))
            mstore(add(m, 0x40), s)
            ok := staticcall(gas(), 0x07, m, 0x60, r, 0x40)
        }
        if (!ok) revert BN254MulFailed();
    }

    /// @notice base^exponent mod P through the modexp precompile (with `SQRT_EXP` a square root, with
    ///         `INV_EXP` an inverse).
    /// @dev Reverts with the caller's argument-less custom error `failure` (its selector) when the
    ///      precompile call fails (out of gas), so that each contract keeps its own error.
    function expMod(uint256 base, uint256 exponent, bytes4 failure) internal view returns (uint256 r) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 0x20)
            mstore(add(m, 0x20), 0x20)
            mstore(add(m, 0x40), 0x20)
            mstore(add(m, 0x60), base)
            mstore(add(m, 0x80), exponent)
            mstore(add(m, 0xa0), P)
            if iszero(staticcall(gas(), 0x05, m, 0xc0, m, 0x20)) {
                mstore(0, failure)
                revert(0, 4)
            }
            r := mload(m)
        }
    }

    /// @notice Whether `p` is an affine point of G1: both coordinates below P and y^2 = x^3 + 3.
    /// @dev G1 has prime order, so every curve point is in the group. The point at infinity (0, 0)
    ///      does not satisfy the equation and returns false: callers that accept it must test it apart.
    function isOnCurveG1(G1Point memory p) internal pure returns (bool) {
        uint256 x = p.x;
        uint256 y = p.y;
        if (x >= P || y >= P) return false;
        uint256 rhs = addmod(mulmod(mulmod(x, x, P), x, P), 3, P);
        return mulmod(y, y, P) == rhs;
    }

    /// @notice Whether `p` is an affine point of the twist curve E'(F_p^2): every coordinate below P and
    ///         y^2 = x^3 + 3 / (9 + i).
    /// @dev Checks the curve equation only, not membership of the order-R subgroup G2 (the twist has
    ///      cofactor > 1). The pairing precompile does check the subgroup and fails on such points, so
    ///      `pairing2`/`pairing3` revert with `BN254PairingFailed` for them. The point at infinity
    ///      (all zeros) returns false.
    function isOnCurveG2(G2Point memory p) internal pure returns (bool) {
        uint256 x0 = p.x0;
        uint256 x1 = p.x1;
        uint256 y0 = p.y0;
        uint256 y1 = p.y1;
        if (x0 >= P || x1 >= P || y0 >= P || y1 >= P) return false;
        // x^2 = (x0^2 - x1^2) + 2 x0 x1 i
        uint256 sq0 = addmod(mulmod(x0, x0, P), P - mulmod(x1, x1, P), P);
        uint256 sq1 = mulmod(2, mulmod(x0, x1, P), P);
        // x^3 = x^2 * x = (sq0 x0 - sq1 x1) + (sq0 x1 + sq1 x0) i, plus b'
        uint256 rhs0 = addmod(addmod(mulmod(sq0, x0, P), P - mulmod(sq1, x1, P), P), TWIST_B0, P);
        uint256 rhs1 = addmod(addmod(mulmod(sq0, x1, P), mulmod(sq1, x0, P), P), TWIST_B1, P);
        // y^2
        uint256 lhs0 = addmod(mulmod(y0, y0, P), P - mulmod(y1, y1, P), P);
        uint256 lhs1 = mulmod(2, mulmod(y0, y1, P), P);
        return lhs0 == rhs0 && lhs1 == rhs1;
    }

    /// @notice Whether e(a1, a2) * e(b1, b2) == 1 (ecPairing precompile, 113,000 gas).
    /// @dev Reverts with `BN254PairingFailed` on invalid input (see the error).
    function pairing2(G1Point memory a1, G2Point memory a2, G1Point memory b1, G2Point memory b2)
        internal
        view
        returns (bool)
    {
        bool ok;
        uint256 out;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, mload(a1))
            mstore(add(m, 0x20), mload(add(a1, 0x20)))
            mstore(add(m, 0x40), mload(a2))
            mstore(add(m, 0x60), mload(add(a2, 0x20)))
            mstore(add(m, 0x80), mload(add(a2, 0x40)))
            mstore(add(m, 0xa0), mload(add(a2, 0x60)))
            mstore(add(m, 0xc0), mload(b1))
            mstore(add(m, 0xe0), mload(add(b1, 0x20)))
            mstore(add(m, 0x100), mload(b2))
            mstore(add(m, 0x120), mload(add(b2, 0x20)))
            mstore(add(m, 0x140), mload(add(b2, 0x40)))
            mstore(add(m, 0x160), mload(add(b2, 0x60)))
            ok := staticcall(gas(), 0x08, m, 0x180, m, 0x20)
            out := mload(m)
        }
        if (!ok) revert BN254PairingFailed();
        return out == 1;
    }

    /// @notice Whether e(a1, a2) * e(b1, b2) * e(c1, c2) == 1 (ecPairing precompile, 147,000 gas).
    /// @dev Reverts with `BN254PairingFailed` on invalid input (see the error).
    function pairing3(
        G1Point memory a1,
        G2Point memory a2,
        G1Point memory b1,
        G2Point memory b2,
        G1Point memory c1,
        G2Point memory c2
    ) internal view returns (bool) {
        bool ok;
        uint256 out;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, mload(a1))
            mstore(add(m, 0x20), mload(add(a1, 0x20)))
            mstore(add(m, 0x40), mload(a2))
            mstore(add(m, 0x60), mload(add(a2, 0x20)))
            mstore(add(m, 0x80), mload(add(a2, 0x40)))
            mstore(add(m, 0xa0), mload(add(a2, 0x60)))
            mstore(add(m, 0xc0), mload(b1))
            mstore(add(m, 0xe0), mload(add(b1, 0x20)))
            mstore(add(m, 0x100), mload(b2))
            mstore(add(m, 0x120), mload(add(b2, 0x20)))
            mstore(add(m, 0x140), mload(add(b2, 0x40)))
            mstore(add(m, 0x160), mload(add(b2, 0x60)))
            mstore(add(m, 0x180), mload(c1))
            mstore(add(m, 0x1a0), mload(add(c1, 0x20)))
            mstore(add(m, 0x1c0), mload(c2))
            mstore(add(m, 0x1e0), mload(add(c2, 0x20)))
            mstore(add(m, 0x200), mload(add(c2, 0x40)))
            mstore(add(m, 0x220), mload(add(c2, 0x60)))
            ok := staticcall(gas(), 0x08, m, 0x240, m, 0x20)
            out := mload(m)
        }
        if (!ok) revert BN254PairingFailed();
        return out == 1;
    }
}
