// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title IProviderRegistry
/// @notice Registry of service providers shared by every daios layer. A provider registers once per role
///         (storage, DA, compute, memory) with an ERC-20 stake of at least the role's minimum. Layer
///         contracts that the owner authorised for a role may lock part of a provider's stake for an
///         obligation, unlock it, and slash it. Unlocked stake leaves through a two-step unbonding with a
///         delay, during which it can still be slashed. The registry records the block of each provider's
///         last stake change (`stakeChangedAt`), so that a layer can use stakes as of an earlier block: the
///         DA layer, for one, samples a quorum only from nodes whose stake did not change after its seed block.
interface IProviderRegistry {
    /// @notice A provider's record for one role.
    /// @param stake Bonded stake, including the locked part; counts towards the minimum stake.
    /// @param locked Part of `stake` locked by layer contracts; it cannot be unbonded.
    /// @param unbonding Stake requested for withdrawal; it no longer counts towards the minimum.
    /// @param unbondingReadyAt Timestamp from which `unbonding` may be withdrawn.
    /// @param registeredAt Timestamp of registration.
    /// @param stakeChangedAt Block number of the last change of `stake`: set by `register`, `addStake`,
    ///        `requestUnbond` and by a `slash` that takes bonded stake (not one that takes only unbonding
    ///        stake). Locking, unlocking and withdrawing leave `stake`, and so this block, unchanged.
    /// @param capacity Capacity the provider offers, in the role's unit (bytes for storage).
    /// @param registered True once the provider registered for the role.
    /// @param endpoint Where clients reach the provider (URL or multiaddr).
    struct Provider {
        uint128 stake;
        uint128 locked;
        uint128 unbonding;
        uint64 unbondingReadyAt;
        uint64 registeredAt;
        // Packed with `capacity` and `registered` in the struct's third storage word.
        uint64 stakeChangedAt;
        uint64 capacity;
        bool registered;
        string endpoint;
    }

    // ------------------------------------------------------------------ errors

    /// @notice The owner has not enabled `role` (set its minimum stake).
    error ProviderRegistryUnknownRole(bytes32 role);
    /// @notice `provider` is already registered for `role`.
    error ProviderRegistryAlreadyRegistered(address provider, bytes32 role);
    /// @notice `provider` is not registered for `role`.
    error ProviderRegistryNotRegistered(address provider, bytes32 role);
    /// @notice The stake after registration would be below the role's minimum.
    error ProviderRegistryStakeBelowMinimum(uint256 stake, uint256 minStake);
    /// @notice The endpoint is empty or longer than `MAX_ENDPOINT_LENGTH` bytes.
    error ProviderRegistryInvalidEndpoint(uint256 length);
    /// @notice An amount argument is zero.
    error ProviderRegistryZeroAmount();
    /// @notice An address argument is the zero address.
    error ProviderRegistryZeroAddress();
    /// @notice The amount does not fit the registry's 128-bit accounting.
    error ProviderRegistryAmountTooLarge(uint256 amount);
    /// @notice Only `available` stake is free (not locked) for the operation that asked for `requested`.
    error ProviderRegistryInsufficientFreeStake(uint256 requested, uint256 available);
    /// @notice The layer asked to unlock `requested` but holds only `locked` of this provider's stake.
    error ProviderRegistryInsufficientLocked(uint256 requested, uint256 locked);
    /// @notice The provider has nothing unbonding.
    error ProviderRegistryNothingUnbonding(address provider, bytes32 role);
    /// @notice The unbonding delay has not elapsed; withdrawal is possible from `readyAt`.
    error ProviderRegistryUnbondingNotReady(uint256 readyAt);
    /// @notice `caller` is not a layer contract authorised for `role`.
    error ProviderRegistryUnauthorisedLayer(address caller, bytes32 role);
    /// @notice The unbonding delay exceeds `MAX_UNBONDING_DELAY`.
    error ProviderRegistryInvalidUnbondingDelay(uint256 delay);
    /// @notice `role` already lists `MAX_PROVIDERS_PER_ROLE` providers.
    error ProviderRegistryRoleFull(bytes32 role);
    /// @notice A page size of zero or above `MAX_PAGE_SIZE` was asked for.
    error ProviderRegistryInvalidPageSize(uint256 limit);

    // ------------------------------------------------------------------ events

    /// @notice `provider` registered for `role` with `stake`.
    event ProviderRegistered(
        address indexed provider, bytes32 indexed role, uint256 stake, string endpoint, uint64 capacity
    );
    /// @notice `provider` added `amount` to its stake for `role`; the bonded stake is now `stake`.
    event StakeAdded(address indexed provider, bytes32 indexed role, uint256 amount, uint256 stake);
    /// @notice `provider` changed its endpoint or capacity for `role`.
    event ProviderUpdated(address indexed provider, bytes32 indexed role, string endpoint, uint64 capacity);
    /// @notice `provider` started unbonding `amount`; the total unbonding is withdrawable from `readyAt`.
    event UnbondRequested(address indexed provider, bytes32 indexed role, uint256 amount, uint256 readyAt);
    /// @notice `provider` withdrew `amount` of unbonded stake.
    event UnbondedWithdrawn(address indexed provider, bytes32 indexed role, uint256 amount);
    /// @notice `layer` locked `amount` of `provider`'s stake.
    event StakeLocked(address indexed provider, bytes32 indexed role, address indexed layer, uint256 amount);
    /// @notice `layer` unlocked `amount` of `provider`'s stake.
    event StakeUnlocked(address indexed provider, bytes32 indexed role, address indexed layer, uint256 amount);
    /// @notice `layer` slashed `amount` of `provider`'s stake and sent it to `recipient`.
    event StakeSlashed(
        address indexed provider, bytes32 indexed role, address indexed layer, uint256 amount, address recipient
    );
    /// @notice The owner set the minimum stake of `role` (which enables the role).
    event MinStakeSet(bytes32 indexed role, uint256 minStake);
    /// @notice The owner set the unbonding delay.
    event UnbondingDelaySet(uint256 delay);
    /// @notice The owner authorised (or de-authorised) `layer` to lock and slash stake of `role`.
    event LayerAuthorisationSet(address indexed layer, bytes32 indexed role, bool authorised);

    // ------------------------------------------------------------------ provider actions

    /// @notice Registers the caller for `role`, pulling `stake` tokens (needs an ERC-20 allowance). Sets
    ///         `stakeChangedAt` to the current block.
    /// @param role Role id, e.g. `STORAGE_ROLE()`; must be enabled by the owner.
    /// @param stake Initial stake; at least `minStake(role)`.
    /// @param endpoint Where clients reach the provider; 1..`MAX_ENDPOINT_LENGTH` bytes.
    /// @param capacity Capacity offered, in the role's unit.
    function register(bytes32 role, uint256 stake, string calldata endpoint, uint64 capacity) external;

    /// @notice Adds `amount` to the caller's stake for `role`, pulling the tokens. Sets `stakeChangedAt` to the
    ///         current block.
    /// @param role Role the caller is registered for.
    /// @param amount Tokens to add; non-zero.
    function addStake(bytes32 role, uint256 amount) external;

    /// @notice Changes the caller's endpoint and capacity for `role`.
    /// @param role Role the caller is registered for.
    /// @param endpoint New endpoint; 1..`MAX_ENDPOINT_LENGTH` bytes.
    /// @param capacity New capacity.
    function updateProvider(bytes32 role, string calldata endpoint, uint64 capacity) external;

    /// @notice Starts unbonding `amount` of the caller's free stake for `role`. The amount stops counting
    ///         towards the minimum at once (below it the provider is no longer active) and can be withdrawn
    ///         `unbondingDelay()` seconds later. A new request restarts the delay for the whole unbonding amount.
    ///         Sets `stakeChangedAt` to the current block.
    /// @param role Role the caller is registered for.
    /// @param amount Amount to unbond; at most the stake that is not locked.
    function requestUnbond(bytes32 role, uint256 amount) external;

    /// @notice Sends the caller its whole unbonding amount for `role` once the delay has elapsed.
    /// @param role Role the caller is registered for.
    function withdrawUnbonded(bytes32 role) external;

    // ------------------------------------------------------------------ layer actions

    /// @notice Locks `amount` of `account`'s free stake for the calling layer (an authorised layer only).
    /// @param account The provider.
    /// @param role Role the caller is authorised for and the provider is registered for.
    /// @param amount Amount to lock; non-zero and at most the free stake.
    function lockStake(address account, bytes32 role, uint256 amount) external;

    /// @notice Unlocks `amount` of the stake the calling layer locked for `account`.
    /// @param account The provider.
    /// @param role Role the caller is authorised for.
    /// @param amount Amount to unlock; non-zero and at most what the caller locked.
    function unlockStake(address account, bytes32 role, uint256 amount) external;

    /// @notice Slashes up to `amount` of `account`'s stake and transfers it to `recipient`. The stake the
    ///         calling layer locked is taken first, then free stake, then stake that is unbonding; stake
    ///         locked by other layers is never touched. Sets `stakeChangedAt` to the current block when it
    ///         takes bonded stake (the first two).
    /// @param account The provider.
    /// @param role Role the caller is authorised for.
    /// @param amount Amount to slash; non-zero. Less is slashed when less is available.
    /// @param recipient Receiver of the slashed tokens (usually the calling layer, which credits whom it owes).
    /// @return slashed The amount actually slashed and transferred.
    function slash(address account, bytes32 role, uint256 amount, address recipient)
        external
        returns (uint256 slashed);

    // ------------------------------------------------------------------ owner actions

    /// @notice Sets the minimum stake of `role` and enables the role (owner only).
    /// @param role Role id.
    /// @param minStake New minimum; active providers of the role need at least this much bonded stake.
    function setMinStake(bytes32 role, uint256 minStake) external;

    /// @notice Sets the unbonding delay in seconds (owner only); at most `MAX_UNBONDING_DELAY`.
    /// @param delay New delay; applies to later unbonding requests.
    function setUnbondingDelay(uint64 delay) external;

    /// @notice Authorises or de-authorises `layer` to lock, unlock and slash stake of `role` (owner only).
    /// @param layer Layer contract.
    /// @param role Role id.
    /// @param authorised New authorisation.
    function setLayer(address layer, bytes32 role, bool authorised) external;

    // ------------------------------------------------------------------ views

    /// @notice Role id of storage providers: keccak256("daios.storage").
    function STORAGE_ROLE() external view returns (bytes32);
    /// @notice Role id of data-availability providers: keccak256("daios.da").
    function DA_ROLE() external view returns (bytes32);
    /// @notice Role id of compute providers: keccak256("daios.compute").
    function COMPUTE_ROLE() external view returns (bytes32);
    /// @notice Role id of agent-memory providers: keccak256("daios.memory").
    function MEMORY_ROLE() external view returns (bytes32);
    /// @notice Longest endpoint, in bytes.
    function MAX_ENDPOINT_LENGTH() external view returns (uint256);
    /// @notice Most providers listed per role.
    function MAX_PROVIDERS_PER_ROLE() external view returns (uint256);
    /// @notice Largest page returned by `providers`.
    function MAX_PAGE_SIZE() external view returns (uint256);
    /// @notice Longest unbonding delay the owner may set, in seconds.
    function MAX_UNBONDING_DELAY() external view returns (uint256);

    /// @notice The ERC-20 token stakes are paid in.
    function stakeToken() external view returns (address);
    /// @notice Seconds between an unbonding request and the withdrawal.
    function unbondingDelay() external view returns (uint64);
    /// @notice Minimum stake of `role`.
    function minStake(bytes32 role) external view returns (uint256);
    /// @notice True when the owner enabled `role`.
    function roleEnabled(bytes32 role) external view returns (bool);
    /// @notice True when `layer` may lock, unlock and slash stake of `role`.
    function isLayer(address layer, bytes32 role) external view returns (bool);
    /// @notice The record of `account` for `role` (all zero when not registered).
    function provider(address account, bytes32 role) external view returns (Provider memory);
    /// @notice Same as `provider`. TypeChain's ethers-v6 target reserves the name `provider` and generates
    ///         no typed method for it, so TypeScript callers use this one.
    function getProvider(address account, bytes32 role) external view returns (Provider memory);
    /// @notice Stake of `account` for `role` locked by `layer`.
    function lockedBy(address account, bytes32 role, address layer) external view returns (uint256);
    /// @notice True when `account` is registered for an enabled `role` with at least its minimum bonded stake.
    function isActive(address account, bytes32 role) external view returns (bool);
    /// @notice Number of providers ever registered for `role`.
    function providerCount(bytes32 role) external view returns (uint256);
    /// @notice Providers of `role` in registration order, from index `offset`, at most `limit` of them.
    /// @param role Role id.
    /// @param offset Index of the first provider returned; past the end gives an empty list.
    /// @param limit Page size; 1..`MAX_PAGE_SIZE`.
    function providers(bytes32 role, uint256 offset, uint256 limit) external view returns (address[] memory);
}
