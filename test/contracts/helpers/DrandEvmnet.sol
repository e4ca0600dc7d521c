// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {BN254} from "../../../contracts/libraries/BN254.sol";

/// @title DrandEvmnet
/// @notice Public facts of drand's evmnet network used as a test vector: its group key and the
///         signature of round 1000 (whose randomness is sha256 of the signature).
library DrandEvmnet {
    /// @notice evmnet public key, kyber bytes x1 || x0 || y1 || y0.
    function publicKey() internal pure returns (BN254.G2Point memory) {
        return BN254.G2Point({
            x1: 0x07e1d1d335df83fa98462005690372c643340060d205306a9aa8106b6bd0b382,
            x0: 0x0557ec32c2ad488e4d4f6008f89a346f18492092ccc0d594610de2732c8b808f,
            y1: 0x0095685ae3a85ba243747b1b2f426049010f6b73a0cf1d389351d5aaaa1047f6,
            y0: 0x297d3a4f9749b33eb2d904c9d9ebf17224150ddd7abd7567a9bec6c74480ee0b
        });
    }

    /// @notice The signature of round 1000.
    function round1000Signature() internal pure returns (BN254.G1Point memory) {
        return BN254.G1Point(
            0x06fd5996329504d3a56b482d9222bf7205857d0a9559ddd216ca31a286f6a8cc,
            0x0a120f021aac2f13553fb164f62bc3a5ca32c76dea88a777b39bcf3cac5fdbd6
        );
    }
}
