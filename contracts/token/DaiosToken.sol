// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IDaiosToken} from "../interfaces/IDaiosToken.sol";

/// @title DaiosToken
/// @notice The daios ERC-20 token: name "daios", symbol "DAIOS", 18 decimals, EIP-2612 permit. The owner
///         (two-step transferable) may mint; on a devnet the faucet is the owner.
contract DaiosToken is ERC20, ERC20Permit, Ownable2Step, IDaiosToken {
    /// @param initialOwner Account allowed to mint.
    constructor(address initialOwner) ERC20("daios", "DAIOS") ERC20Permit("daios") Ownable(initialOwner) {}

    /// @inheritdoc IDaiosToken
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
