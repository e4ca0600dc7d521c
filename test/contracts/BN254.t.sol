// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {BN254} from "../../contracts/libraries/BN254.sol";

/// @dev External wrapper so that reverts of the internal library functions can be expected.
contract BN254Harness {
    function add(BN254.G1Point memory a, BN254.G1Point memory b) external view returns (BN254.G1Point memory) {
        return BN254.add(a, b);
    }

    function mul(BN254.G1Point memory p, uint256 s) external view returns (BN254.G1Point memory) {
        return BN254.mul(p, s);
    }

    function pairing2(BN254.G1Point memory a1, BN254.G2Point memory a2, BN254.G1Point memory b1, BN254.G2Point memory b2)
        external
        view
        returns (bool)
    {
        return BN254.pairing2(a1, a2, b1, b2);
    }
}

contract BN254Test is Test {
    BN254Harness internal harness;

    function setUp() public {
        harness = new BN254Harness();
    }

    /// @dev A point of the twist curve E'(F_p^2) outside the order-R subgroup (x = 1).
    function _twistPointOutsideG2() internal pure returns (BN254.G2Point memory) {
        return BN254.G2Point({
            x1: 0,
            x0: 1,
            y1: 0x0d1271953ed9ea0836846e70a1934187998c7f790cb4d7511b7f8da82de048a4,
            y0: 0x2869111d5381f072f8e2728fdb825a51aadd70e52c9830e9ab4b871c0531f1bb
        });
    }

    function _g2Neg() internal pure returns (BN254.G2Point memory q) {
        q = BN254.g2();
        q.y0 = BN254.P - q.y0;
        q.y1 = BN254.P - q.y1;
    }

    function test_GeneratorsAreOnTheirCurves() public pure {
        assertTrue(BN254.isOnCurveG1(BN254.g1()));
        assertTrue(BN254.isOnCurveG2(BN254.g2()));
        assertTrue(BN254.isOnCurveG2(_g2Neg()));
    }

    function test_KnownDoubleOfG1() public view {
        BN254.G1Point memory d = BN254.mul(BN254.g1(), 2);
        assertEq(d.x, 0x030644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd3);
        assertEq(d.y, 0x15ed738c0e0a7c92e7845f96b2ae9c0a68a6a449e3538fc7ff3ebf7a5a18a2c4);
        BN254.G1Point memory s = BN254.add(BN254.g1(), BN254.g1());
        assertEq(s.x, d.x);
        assertEq(s.y, d.y);
    }

    function test_MulByGroupOrderIsInfinity() public view {
        BN254.G1Point memory z = BN254.mul(BN254.g1(), BN254.R);
        assertEq(z.x, 0);
        assertEq(z.y, 0);
        assertFalse(BN254.isOnCurveG1(z), "infinity does not satisfy the affine equation");
    }

    function test_NegateInfinityAndPoint() public pure {
        BN254.G1Point memory z = BN254.negate(BN254.G1Point(0, 0));
        assertEq(z.x, 0);
        assertEq(z.y, 0);
        BN254.G1Point memory n = BN254.negate(BN254.g1());
        assertEq(n.x, 1);
        assertEq(n.y, BN254.P - 2);
        assertTrue(BN254.isOnCurveG1(n));
    }

    function test_OffCurveAndUnreducedPointsAreRejected() public pure {
        assertFalse(BN254.isOnCurveG1(BN254.G1Point(1, 3)));
        assertFalse(BN254.isOnCurveG1(BN254.G1Point(1 + BN254.P, 2)), "x >= P");
        assertFalse(BN254.isOnCurveG1(BN254.G1Point(1, 2 + BN254.P)), "y >= P");
        BN254.G2Point memory q = BN254.g2();
        q.y0 = addmod(q.y0, 1, BN254.P);
        assertFalse(BN254.isOnCurveG2(q));
        q = BN254.g2();
        q.x1 += BN254.P;
        assertFalse(BN254.isOnCurveG2(q), "x1 >= P");
        assertFalse(BN254.isOnCurveG2(BN254.G2Point(0, 0, 0, 0)), "infinity");
    }

    function test_PrecompileFailuresRevertWithNamedErrors() public {
        vm.expectRevert(BN254.BN254AddFailed.selector);
        harness.add(BN254.G1Point(1, 3), BN254.g1());
        vm.expectRevert(BN254.BN254MulFailed.selector);
        harness.mul(BN254.G1Point(1, 3), 5);
        vm.expectRevert(BN254.BN254PairingFailed.selector);
        harness.pairing2(BN254.G1Point(1, 3), BN254.g2(), BN254.g1(), BN254.g2());
        BN254.G2Point memory bad = BN254.g2();
        bad.y0 = addmod(bad.y0, 1, BN254.P);
        vm.expectRevert(BN254.BN254PairingFailed.selector);
        harness.pairing2(BN254.g1(), bad, BN254.g1(), BN254.g2());
    }

    function test_TwistPointOutsideTheSubgroupIsOnCurveButFailsThePairing() public {
        BN254.G2Point memory q = _twistPointOutsideG2();
        assertTrue(BN254.isOnCurveG2(q));
        vm.expectRevert(BN254.BN254PairingFailed.selector);
        harness.pairing2(BN254.g1(), q, BN254.negate(BN254.g1()), q);
    }

    function test_Pairing2Bilinearity() public view {
        // e(a·g1, g2) · e(-a·g1, g2) == 1 and e(a·g1, -g2) · e(a·g1, g2) == 1.
        BN254.G1Point memory a = BN254.mul(BN254.g1(), 12345);
        assertTrue(BN254.pairing2(a, BN254.g2(), BN254.negate(a), BN254.g2()));
        assertTrue(BN254.pairing2(a, _g2Neg(), a, BN254.g2()), "e(a, -g2) e(a, g2) == 1");
        assertFalse(BN254.pairing2(a, BN254.g2(), a, BN254.g2()));
        // Infinity pairs to one.
        assertTrue(BN254.pairing2(BN254.G1Point(0, 0), BN254.g2(), BN254.G1Point(0, 0), BN254.g2()));
    }

    function test_Pairing3() public view {
        BN254.G1Point memory a = BN254.mul(BN254.g1(), 7);
        BN254.G1Point memory b = BN254.mul(BN254.g1(), 11);
        BN254.G1Point memory c = BN254.negate(BN254.mul(BN254.g1(), 18));
        assertTrue(BN254.pairing3(a, BN254.g2(), b, BN254.g2(), c, BN254.g2()));
        assertFalse(BN254.pairing3(a, BN254.g2(), b, BN254.g2(), a, BN254.g2()));
    }

    function testFuzz_MulIsLinear(uint256 a, uint256 b) public view {
        a = bound(a, 1, BN254.R - 1);
        b = bound(b, 1, BN254.R - 1);
        BN254.G1Point memory pa = BN254.mul(BN254.g1(), a);
        BN254.G1Point memory pb = BN254.mul(BN254.g1(), b);
        BN254.G1Point memory sum = BN254.add(pa, pb);
        BN254.G1Point memory direct = BN254.mul(BN254.g1(), addmod(a, b, BN254.R));
        assertEq(sum.x, direct.x);
        assertEq(sum.y, direct.y);
        assertTrue(BN254.isOnCurveG1(pa));
        BN254.G1Point memory zero = BN254.add(pa, BN254.negate(pa));
        assertEq(zero.x, 0);
        assertEq(zero.y, 0);
    }

    function testFuzz_PairingAcceptsMatchingScalars(uint256 a) public view {
        a = bound(a, 1, BN254.R - 1);
        BN254.G1Point memory pa = BN254.mul(BN254.g1(), a);
        assertTrue(BN254.pairing2(pa, _g2Neg(), pa, BN254.g2()));
    }
}
