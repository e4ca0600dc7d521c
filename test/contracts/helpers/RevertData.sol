// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @notice The revert data of a custom error with whole-number arguments, for `vm.expectRevert`.
abstract contract RevertData {
    function _err(bytes4 selector, uint256 a) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(selector, a);
    }

    function _err(bytes4 selector, uint256 a, uint256 b) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(selector, a, b);
    }

    function _err(bytes4 selector, uint256 a, uint256 b, uint256 c) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(selector, a, b, c);
    }

    function _err(bytes4 selector, uint256 a, uint256 b, uint256 c, uint256 d) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(selector, a, b, c, d);
    }
}
