// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";

/// @title ProviderRegistry
/// @notice Providers of every daios layer register here with an ERC-20 stake per role. See
///         `IProviderRegistry` for the rules.
contract ProviderRegistry is IProviderRegistry, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @inheritdoc IProviderRegistry
    bytes32 public constant STORAGE_ROLE = keccak256("daios.storage");
    /// @inheritdoc IProviderRegistry
    bytes32 public constant DA_ROLE = keccak256("daios.da");
    /// @inheritdoc IProviderRegistry
    bytes32 public constant COMPUTE_ROLE = keccak256("daios.compute");
    /// @inheritdoc IProviderRegistry
    bytes32 public constant MEMORY_ROLE = keccak256("daios.memory");

    /// @inheritdoc IProviderRegistry
    uint256 public constant MAX_ENDPOINT_LENGTH = 256;
    /// @inheritdoc IProviderRegistry
    uint256 public constant MAX_PROVIDERS_PER_ROLE = 10_000;
    /// @inheritdoc IProviderRegistry
    uint256 public constant MAX_PAGE_SIZE = 100;
    /// @inheritdoc IProviderRegistry
    uint256 public constant MAX_UNBONDING_DELAY = 90 days;

    /// @dev Minimum stake and whether the owner enabled the role.
    struct RoleConfig {
        uint128 minStake;
        bool enabled;
    }

    IERC20 private immutable _stakeToken;
    uint64 private _unbondingDelay;
    mapping(bytes32 role => RoleConfig) private _roles;
    mapping(address layer => mapping(bytes32 role => bool)) private _layers;
    mapping(address account => mapping(bytes32 role => Provider)) private _providers;
    mapping(address account => mapping(bytes32 role => mapping(address layer => uint256))) private _lockedBy;
    mapping(bytes32 role => address[]) private _providerList;

    modifier onlyLayer(bytes32 role) {
        if (!_layers[msg.sender][role]) revert ProviderRegistryUnauthorisedLayer(msg.sender, role);
        _;
    }

    /// @param stakeToken_ ERC-20 token of stakes.
    /// @param initialOwner Owner (sets minimum stakes, the unbonding delay and layer authorisations).
    /// @param unbondingDelay_ Seconds between an unbonding request and the withdrawal.
    constructor(address stakeToken_, address initialOwner, uint64 unbondingDelay_) Ownable(initialOwner) {
        if (stakeToken_ == address(0)) revert ProviderRegistryZeroAddress();
        if (unbondingDelay_ > MAX_UNBONDING_DELAY) revert ProviderRegistryInvalidUnbondingDelay(unbondingDelay_);
        _stakeToken = IERC20(stakeToken_);
        _unbondingDelay = unbondingDelay_;
        emit UnbondingDelaySet(unbondingDelay_);
    }

    // ------------------------------------------------------------------ provider actions

    /// @inheritdoc IProviderRegistry
    function register(bytes32 role, uint256 stake, string calldata endpoint, uint64 capacity)
        external
        nonReentrant
    {
        RoleConfig memory config = _roles[role];
        if (!config.enabled) revert ProviderRegistryUnknownRole(role);
        Provider storage p = _providers[msg.sender][role];
        if (p.registered) revert ProviderRegistryAlreadyRegistered(msg.sender, role);
        if (stake < config.minStake) revert ProviderRegistryStakeBelowMinimum(stake, config.minStake);
        _checkEndpoint(endpoint);
        address[] storage list = _providerList[role];
        if (list.length >= MAX_PROVIDERS_PER_ROLE) revert ProviderRegistryRoleFull(role);

        p.stake = _toUint128(stake);
        p.registeredAt = uint64(block.timestamp);
        p.stakeChangedAt = uint64(block.number);
        p.capacity = capacity;
        p.registered = true;
        p.endpoint = endpoint;
        list.push(msg.sender);
        emit ProviderRegistered(msg.sender, role, stake, endpoint, capacity);

        if (stake != 0) _stakeToken.safeTransferFrom(msg.sender, address(this), stake);
    }

    /// @inheritdoc IProviderRegistry
    function addStake(bytes32 role, uint256 amount) external nonReentrant {
        if (amount == 0) revert ProviderRegistryZeroAmount();
        Provider storage p = _registered(msg.sender, role);
        uint256 stake = uint256(p.stake) + amount;
        p.stake = _toUint128(stake);
        p.stakeChangedAt = uint64(block.number);
        emit StakeAdded(msg.sender, role, amount, stake);

        _stakeToken.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IProviderRegistry
    function updateProvider(bytes32 role, string calldata endpoint, uint64 capacity) external {
        Provider storage p = _registered(msg.sender, role);
        _checkEndpoint(endpoint);
        p.endpoint = endpoint;
        p.capacity = capacity;
        emit ProviderUpdated(msg.sender, role, endpoint, capacity);
    }

    /// @inheritdoc IProviderRegistry
    function requestUnbond(bytes32 role, uint256 amount) external {
        if (amount == 0) revert ProviderRegistryZeroAmount();
        Provider storage p = _registered(msg.sender, role);
        uint256 free = p.stake - p.locked;
        if (amount > free) revert ProviderRegistryInsufficientFreeStake(amount, free);
        uint256 readyAt = block.timestamp + _unbondingDelay;
        // amount <= free <= stake < 2^128, so the casts are exact; the addition stays checked.
        p.stake -= uint128(amount);
        p.stakeChangedAt = uint64(block.number);
        p.unbonding += uint128(amount);
        p.unbondingReadyAt = uint64(readyAt);
        emit UnbondRequested(msg.sender, role, amount, readyAt);
    }

    /// @inheritdoc IProviderRegistry
    function withdrawUnbonded(bytes32 role) external nonReentrant {
        Provider storage p = _registered(msg.sender, role);
        uint256 amount = p.unbonding;
        if (amount == 0) revert ProviderRegistryNothingUnbonding(msg.sender, role);
        if (block.timestamp < p.unbondingReadyAt) revert ProviderRegistryUnbondingNotReady(p.unbondingReadyAt);
        p.unbonding = 0;
        p.unbondingReadyAt = 0;
        emit UnbondedWithdrawn(msg.sender, role, amount);

        _stakeToken.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ layer actions

    /// @inheritdoc IProviderRegistry
    function lockStake(address account, bytes32 role, uint256 amount) external onlyLayer(role) {
        if (amount == 0) revert ProviderRegistryZeroAmount();
        Provider storage p = _registered(account, role);
        uint256 free = p.stake - p.locked;
        if (amount > free) revert ProviderRegistryInsufficientFreeStake(amount, free);
        // Cannot overflow: locked + amount <= stake, which fits 128 bits.
        unchecked {
            p.locked += uint128(amount);
            _lockedBy[account][role][msg.sender] += amount;
        }
        emit StakeLocked(account, role, msg.sender, amount);
    }

    /// @inheritdoc IProviderRegistry
    function unlockStake(address account, bytes32 role, uint256 amount) external onlyLayer(role) {
        if (amount == 0) revert ProviderRegistryZeroAmount();
        Provider storage p = _registered(account, role);
        uint256 lockedByLayer = _lockedBy[account][role][msg.sender];
        if (amount > lockedByLayer) revert ProviderRegistryInsufficientLocked(amount, lockedByLayer);
        // Cannot underflow: amount <= lockedByLayer <= locked (each layer's lock is part of the total).
        unchecked {
            _lockedBy[account][role][msg.sender] = lockedByLayer - amount;
            p.locked -= uint128(amount);
        }
        emit StakeUnlocked(account, role, msg.sender, amount);
    }

    /// @inheritdoc IProviderRegistry
    function slash(address account, bytes32 role, uint256 amount, address recipient)
        external
        onlyLayer(role)
        nonReentrant
        returns (uint256 slashed)
    {
        if (amount == 0) revert ProviderRegistryZeroAmount();
        if (recipient == address(0)) revert ProviderRegistryZeroAddress();
        Provider storage p = _registered(account, role);

        uint256 remaining = amount;
        uint256 stake = p.stake;
        uint256 locked = p.locked;
        // 1. The calling layer's own lock (part of both `locked` and `stake`).
        uint256 lockedByLayer = _lockedBy[account][role][msg.sender];
        uint256 take = _min(remaining, lockedByLayer);
        // Cannot underflow: take <= lockedByLayer <= locked <= stake, and take <= remaining.
        unchecked {
            _lockedBy[account][role][msg.sender] = lockedByLayer - take;
            locked -= take;
            stake -= take;
            remaining -= take;
        }
        // 2. Free stake (not locked by any layer).
        take = _min(remaining, stake - locked);
        // Cannot underflow: take <= stake - locked and take <= remaining.
        unchecked {
            stake -= take;
            remaining -= take;
        }
        // Steps 1 and 2 took bonded stake when anything is taken so far.
        if (remaining != amount) p.stakeChangedAt = uint64(block.number);
        // 3. Stake that is unbonding (the delay exists so that it stays slashable).
        uint256 unbonding = p.unbonding;
        take = _min(remaining, unbonding);
        // Cannot underflow: take <= unbonding and take <= remaining.
        unchecked {
            unbonding -= take;
            remaining -= take;
            slashed = amount - remaining;
        }
        // All three values only decreased from 128-bit values.
        p.stake = uint128(stake);
        p.locked = uint128(locked);
        p.unbonding = uint128(unbonding);
        emit StakeSlashed(account, role, msg.sender, slashed, recipient);

        if (slashed != 0) _stakeToken.safeTransfer(recipient, slashed);
    }

    // ------------------------------------------------------------------ owner actions

    /// @inheritdoc IProviderRegistry
    function setMinStake(bytes32 role, uint256 minStake_) external onlyOwner {
        _roles[role] = RoleConfig({minStake: _toUint128(minStake_), enabled: true});
        emit MinStakeSet(role, minStake_);
    }

    /// @inheritdoc IProviderRegistry
    function setUnbondingDelay(uint64 delay) external onlyOwner {
        if (delay > MAX_UNBONDING_DELAY) revert ProviderRegistryInvalidUnbondingDelay(delay);
        _unbondingDelay = delay;
        emit UnbondingDelaySet(delay);
    }

    /// @inheritdoc IProviderRegistry
    function setLayer(address layer, bytes32 role, bool authorised) external onlyOwner {
        if (layer == address(0)) revert ProviderRegistryZeroAddress();
        _layers[layer][role] = authorised;
        emit LayerAuthorisationSet(layer, role, authorised);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IProviderRegistry
    function stakeToken() external view returns (address) {
        return address(_stakeToken);
    }

    /// @inheritdoc IProviderRegistry
    function unbondingDelay() external view returns (uint64) {
        return _unbondingDelay;
    }

    /// @inheritdoc IProviderRegistry
    function minStake(bytes32 role) external view returns (uint256) {
        return _roles[role].minStake;
    }

    /// @inheritdoc IProviderRegistry
    function roleEnabled(bytes32 role) external view returns (bool) {
        return _roles[role].enabled;
    }

    /// @inheritdoc IProviderRegistry
    function isLayer(address layer, bytes32 role) external view returns (bool) {
        return _layers[layer][role];
    }

    /// @inheritdoc IProviderRegistry
    function provider(address account, bytes32 role) external view returns (Provider memory) {
        return _providers[account][role];
    }

    /// @inheritdoc IProviderRegistry
    function getProvider(address account, bytes32 role) external view returns (Provider memory) {
        return _providers[account][role];
    }

    /// @inheritdoc IProviderRegistry
    function lockedBy(address account, bytes32 role, address layer) external view returns (uint256) {
        return _lockedBy[account][role][layer];
    }

    /// @inheritdoc IProviderRegistry
    function isActive(address account, bytes32 role) external view returns (bool) {
        RoleConfig memory config = _roles[role];
        Provider storage p = _providers[account][role];
        return config.enabled && p.registered && p.stake >= config.minStake;
    }

    /// @inheritdoc IProviderRegistry
    function providerCount(bytes32 role) external view returns (uint256) {
        return _providerList[role].length;
    }

    /// @inheritdoc IProviderRegistry
    function providers(bytes32 role, uint256 offset, uint256 limit) external view returns (address[] memory page) {
        if (limit == 0 || limit > MAX_PAGE_SIZE) revert ProviderRegistryInvalidPageSize(limit);
        address[] storage list = _providerList[role];
        uint256 length = list.length;
        if (offset >= length) return new address[](0);
        // Cannot underflow: offset < length.
        uint256 count;
        unchecked {
            count = _min(limit, length - offset);
        }
        page = new address[](count);
        for (uint256 i = 0; i < count; ++i) {
            page[i] = list[offset + i];
        }
    }

    // ------------------------------------------------------------------ internals

    function _registered(address account, bytes32 role) private view returns (Provider storage p) {
        p = _providers[account][role];
        if (!p.registered) revert ProviderRegistryNotRegistered(account, role);
    }

    function _checkEndpoint(string calldata endpoint) private pure {
        uint256 length = bytes(endpoint).length;
        if (length == 0 || length > MAX_ENDPOINT_LENGTH) revert ProviderRegistryInvalidEndpoint(length);
    }

    function _toUint128(uint256 amount) private pure returns (uint128) {
        if (amount > type(uint128).max) revert ProviderRegistryAmountTooLarge(amount);
        return uint128(amount);
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}
