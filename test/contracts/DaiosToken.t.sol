// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {DaiosToken} from "../../contracts/token/DaiosToken.sol";

contract DaiosTokenTest is Test {
    DaiosToken internal token;
    address internal owner = makeAddr("owner");
    address internal alice = makeAddr("alice");

    function setUp() public {
        token = new DaiosToken(owner);
    }

    function test_Metadata() public view {
        assertEq(token.name(), "daios");
        assertEq(token.symbol(), "DAIOS");
        assertEq(token.decimals(), 18);
        assertEq(token.totalSupply(), 0);
        assertEq(token.owner(), owner);
    }

    function test_OwnerMints() public {
        vm.expectEmit(address(token));
        emit IERC20.Transfer(address(0), alice, 5e18);
        vm.prank(owner);
        token.mint(alice, 5e18);
        assertEq(token.balanceOf(alice), 5e18);
        assertEq(token.totalSupply(), 5e18);
    }

    function test_OthersCannotMint() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        vm.prank(alice);
        token.mint(alice, 1);
    }

    function test_OwnershipTransferIsTwoStep() public {
        vm.prank(owner);
        token.transferOwnership(alice);
        assertEq(token.owner(), owner, "not transferred before acceptance");
        assertEq(token.pendingOwner(), alice);
        vm.prank(alice);
        token.acceptOwnership();
        assertEq(token.owner(), alice);
        vm.prank(alice);
        token.mint(alice, 1);
    }

    function test_Permit() public {
        (address holder, uint256 key) = makeAddrAndKey("holder");
        vm.prank(owner);
        token.mint(holder, 10);
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                holder,
                alice,
                7,
                0,
                deadline
            )
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        token.permit(holder, alice, 7, deadline, v, r, s);
        assertEq(token.allowance(holder, alice), 7);
        assertEq(token.nonces(holder), 1);
    }
}
