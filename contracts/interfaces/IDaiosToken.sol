// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IDaiosToken
/// @notice The daios ERC-20 token (name "daios", symbol "DAIOS", 18 decimals, EIP-2612 permit). Deals,
///         collateral and provider stakes are paid in it.
interface IDaiosToken is IERC20 {
    /// @notice Creates `amount` new tokens for `to` (owner only; the devnet faucet uses it).
    /// @dev Emits the ERC-20 `Transfer(address(0), to, amount)` event.
    /// @param to Recipient of the new tokens.
    /// @param amount Amount in base units (18 decimals).
    function mint(address to, uint256 amount) external;
}
