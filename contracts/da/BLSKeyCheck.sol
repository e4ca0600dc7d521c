// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {BN254} from "../libraries/BN254.sol";
import {BLS} from "../libraries/BLS.sol";

/// @title BLSKeyCheck
/// @notice One pairing check for a BLS signature `sig` on the message point `hm` by a key given in both
///         groups, `pkG1` (= sk * g1) and `pkG2` (= sk * g2). With gamma = keccak256(hm, pkG1, pkG2, sig) mod R:
///           e(sig + gamma * pkG1, -g2) * e(hm + gamma * g1, pkG2) == 1.
///         It holds for every gamma when e(sig, g2) = e(hm, pkG2) and e(pkG1, g2) = e(g1, pkG2); gamma is
///         fixed by all inputs (Fiat–Shamir), so forging one part needs cancelling the other for a random
///         gamma. Used for proofs of possession (DARegistry) and certificates (DABlobs), where pkG1 is the
///         aggregated G1 key of the signers and pkG2 their aggregated G2 key.
library BLSKeyCheck {
    function verify(
        BN254.G1Point memory sig,
        BN254.G1Point memory pkG1,
        BN254.G2Point memory pkG2,
        BN254.G1Point memory hm
    ) internal view returns (bool) {
        uint256 gamma = uint256(
            keccak256(
                abi.encode(hm.x, hm.y, pkG1.x, pkG1.y, pkG2.x1, pkG2.x0, pkG2.y1, pkG2.y0, sig.x, sig.y)
            )
        ) % BN254.R;
        return BLS.verify(
            BN254.add(sig, BN254.mul(pkG1, gamma)), pkG2, BN254.add(hm, BN254.mul(BN254.g1(), gamma))
        );
    }
}
