// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title IStorageMarket
/// @notice Storage deals paid from an ERC-20 escrow and enforced with Proofs of Random Access (PoRA).
///
/// A client creates a deal for a file (its Poseidon Merkle root `dataRoot` and `size`), a number of
/// replicas and a number of periods at a price per replica and period; the whole escrow is paid up front.
/// Storage providers registered in the `ProviderRegistry` join one replica slot each and post collateral.
///
/// Time is counted in periods of `PERIOD_BLOCKS` blocks from the deal's start block, which is
/// `UPLOAD_WINDOW_BLOCKS` after its creation block: the upload window leaves the client time to upload the
/// file and the providers time to join before the first challenge. Blocks of the upload window belong to
/// period 0 (`currentPeriod` is 0 there). For period `p`:
///   start          = startBlock + p * PERIOD_BLOCKS
///   challengeBlock = start + CHALLENGE_DELAY_BLOCKS   (its randomness fixes the challenge seed)
///   knownAt        = the block from which that randomness is public (`IRandomnessSource.seedAt`)
///   fastWindowEnd  = knownAt + FAST_WINDOW_BLOCKS
///   deadline       = challengeBlock + DEADLINE_BLOCKS
/// The randomness of a challenge block comes from the market's randomness source. With the verified beacon
/// it is the beacon round anchored a few buckets after the challenge block, so nobody (the provider
/// included) knows a period's seed before its challenge block, and the seed becomes public (`knownAt`) some
/// blocks later, when that round is relayed. Pay latency is counted from `knownAt`, so a late seed never
/// costs the provider; the hard deadline stays fixed to the challenge block.
/// A slot's provider proves each period once its seed is public and by its deadline, from the first
/// period whose challenge block comes after the block it joined in. A proof within FAST_WINDOW_BLOCKS of
/// `knownAt` earns the full price; later the pay falls linearly, reaching zero at a latency of
/// DEADLINE_BLOCKS (or stops at the deadline, whichever comes first); the unpaid
/// part stays in the escrow for the client. A period that is not proven is a miss: anyone may report it
/// and earn a bounty from the provider's collateral, a repair share funds whoever takes over the slot,
/// the rest compensates the client. After `MAX_MISSES` misses the slot is freed for a new provider.
///
/// Every payout is a pull payment: amounts are credited to `credits(account)` and paid by `withdraw()`.
/// The market's token balance always equals the sum of deal escrows, slot collateral, slot repair
/// reserves and unpaid credits.
interface IStorageMarket {
    /// @notice Life cycle of a deal. Pending: some slot was never filled. Active: every slot was filled
    ///         once. Cancelled: the client cancelled; the deal ends after the period of cancellation.
    ///         Closed: settled and paid out; nothing more can happen.
    enum DealStatus {
        Pending,
        Active,
        Cancelled,
        Closed
    }

    /// @notice A deal, as returned by `deal`.
    /// @param client Who created (and is refunded by) the deal.
    /// @param dataRoot Poseidon Merkle root of the file; a BN254 field element.
    /// @param size File size in bytes.
    /// @param replicas Number of replica slots.
    /// @param pricePerPeriod Price of one replica for one period.
    /// @param startBlock First block of period 0: the creation block + `UPLOAD_WINDOW_BLOCKS`.
    /// @param endPeriod First period that is not part of the deal (the deal covers [0, endPeriod)).
    /// @param escrow Tokens held for the deal: future pay plus unpaid parts of past periods.
    /// @param status Life-cycle status.
    /// @param filledMask Bit i is set once slot i has had a provider.
    struct DealInfo {
        address client;
        uint256 dataRoot;
        uint256 size;
        uint256 replicas;
        uint256 pricePerPeriod;
        uint256 startBlock;
        uint256 endPeriod;
        uint256 escrow;
        DealStatus status;
        uint256 filledMask;
    }

    /// @notice A replica slot of a deal, as returned by `slot`.
    /// @param provider Current provider; zero when the slot is free.
    /// @param nextPeriod Oldest period of the slot that is not settled yet (proven or missed).
    /// @param misses Misses of the current provider.
    /// @param collateral Collateral the current provider still has in the slot.
    /// @param penaltyPerMiss Penalty of one miss: the collateral at joining divided by `MAX_MISSES`.
    /// @param repairReserve Tokens set aside from penalties for the provider that repairs the slot.
    /// @param repairPending True when the current provider will receive `repairReserve` with its first proof.
    struct SlotInfo {
        address provider;
        uint256 nextPeriod;
        uint256 misses;
        uint256 collateral;
        uint256 penaltyPerMiss;
        uint256 repairReserve;
        bool repairPending;
    }

    // ------------------------------------------------------------------ errors

    /// @notice No deal has id `dealId`.
    error StorageMarketUnknownDeal(uint256 dealId);
    /// @notice `dataRoot` is zero or not below the BN254 scalar field modulus.
    error StorageMarketInvalidDataRoot(uint256 dataRoot);
    /// @notice `size` is zero or above `MAX_FILE_SIZE`.
    error StorageMarketInvalidSize(uint256 size);
    /// @notice `replicas` is zero or above `MAX_REPLICAS`.
    error StorageMarketInvalidReplicas(uint256 replicas);
    /// @notice `periods` is zero or the deal would be longer than `MAX_PERIODS`.
    error StorageMarketInvalidPeriods(uint256 periods);
    /// @notice `pricePerPeriod` is zero or does not fit 96 bits.
    error StorageMarketInvalidPrice(uint256 pricePerPeriod);
    /// @notice The deal has no slot `slot` (it has `replicas` slots).
    error StorageMarketInvalidSlot(uint256 dealId, uint256 slot, uint256 replicas);
    /// @notice `provider` holds the slot already.
    error StorageMarketSlotTaken(uint256 dealId, uint256 slot, address provider);
    /// @notice The slot has no provider.
    error StorageMarketSlotEmpty(uint256 dealId, uint256 slot);
    /// @notice `provider` already holds slot `slot` of this deal.
    error StorageMarketAlreadyInDeal(uint256 dealId, address provider, uint256 slot);
    /// @notice `provider` lost a slot of this deal after `MAX_MISSES` misses and may not join it again.
    error StorageMarketProviderEvicted(uint256 dealId, address provider);
    /// @notice `provider` is not an active storage provider in the registry.
    error StorageMarketProviderNotActive(address provider);
    /// @notice The deal has no period left to join or to extend (it ends at `endPeriod`).
    error StorageMarketDealEnded(uint256 dealId, uint256 endPeriod);
    /// @notice The deal was cancelled already.
    error StorageMarketDealCancelled(uint256 dealId);
    /// @notice The deal was closed already.
    error StorageMarketDealClosed(uint256 dealId);
    /// @notice The deal's last deadline has not passed; it can be closed from block `closableAt`.
    error StorageMarketDealNotEnded(uint256 dealId, uint256 closableAt);
    /// @notice `caller` is not the deal's client.
    error StorageMarketNotClient(uint256 dealId, address caller);
    /// @notice `caller` is not the provider of the slot.
    error StorageMarketNotSlotProvider(uint256 dealId, uint256 slot, address caller);
    /// @notice The period is settled already; the slot's oldest unsettled period is `nextPeriod`.
    error StorageMarketPeriodSettled(uint256 dealId, uint256 slot, uint256 period, uint256 nextPeriod);
    /// @notice The period is not part of the deal (the deal ends at `endPeriod`).
    error StorageMarketPeriodOutOfRange(uint256 dealId, uint256 period, uint256 endPeriod);
    /// @notice The period's challenge block `challengeBlock` is not mined yet.
    error StorageMarketChallengeNotReady(uint256 dealId, uint256 period, uint256 challengeBlock);
    /// @notice The period's proof deadline `deadline` has passed.
    error StorageMarketDeadlinePassed(uint256 dealId, uint256 period, uint256 deadline);
    /// @notice The verifier rejected the proof.
    error StorageMarketInvalidProof(uint256 dealId, uint256 slot, uint256 period);
    /// @notice Proving this period would first settle `missed` earlier periods as misses, which would
    ///         free the slot; the provider has lost it (anyone can `reportMissed`).
    error StorageMarketTooManyMisses(uint256 dealId, uint256 slot, uint256 missed);
    /// @notice No unsettled period of the slot has passed its deadline.
    error StorageMarketNothingToReport(uint256 dealId, uint256 slot);
    /// @notice `account` has no credit to withdraw.
    error StorageMarketNothingToWithdraw(address account);
    /// @notice A basis-point parameter is above its cap `max`.
    error StorageMarketInvalidBps(uint256 bps, uint256 max);
    /// @notice The collateral periods are zero or above `MAX_COLLATERAL_PERIODS`.
    error StorageMarketInvalidCollateralPeriods(uint256 collateralPeriods);
    /// @notice A constructor address is zero.
    error StorageMarketZeroAddress();

    // ------------------------------------------------------------------ events

    /// @notice `client` created deal `dealId` and paid `escrow = pricePerPeriod * replicas * periods`.
    ///         Period 0 starts at `startBlock`, `UPLOAD_WINDOW_BLOCKS` after the creation block.
    event DealCreated(
        uint256 indexed dealId,
        address indexed client,
        uint256 indexed dataRoot,
        uint256 size,
        uint256 replicas,
        uint256 periods,
        uint256 pricePerPeriod,
        uint256 escrow,
        uint256 startBlock
    );
    /// @notice Every slot of the deal has now been filled once.
    event DealActivated(uint256 indexed dealId);
    /// @notice `provider` took slot `slot`, posting `collateral`; it proves from period `firstPeriod` on
    ///         (see `joinDeal`).
    event SlotJoined(
        uint256 indexed dealId, uint256 indexed slot, address indexed provider, uint256 collateral, uint256 firstPeriod
    );
    /// @notice A proof for `period` was accepted `latencyBlocks` after its seed became public (the randomness
    ///         source's `knownAt`, never before the challenge block); `pay`, which that latency set, was credited.
    event ProofAccepted(
        uint256 indexed dealId,
        uint256 indexed slot,
        uint256 period,
        address indexed provider,
        uint256 pay,
        uint256 latencyBlocks
    );
    /// @notice `period` was settled as a miss, costing `provider` `penalty` collateral. `reporter` received
    ///         the bounty share; it is zero when the miss was settled by the provider's own later proof
    ///         (the bounty share then goes to the client).
    event ProofMissed(
        uint256 indexed dealId,
        uint256 indexed slot,
        uint256 period,
        address indexed provider,
        uint256 penalty,
        address reporter
    );
    /// @notice The slot was taken from `provider` after `MAX_MISSES` misses; its remaining collateral
    ///         `slashed` was distributed like a penalty.
    event SlotFreed(uint256 indexed dealId, uint256 indexed slot, address indexed provider, uint256 slashed);
    /// @notice `provider` repaired the slot and was credited its repair reserve `amount`.
    event RepairRewarded(uint256 indexed dealId, uint256 indexed slot, address indexed provider, uint256 amount);
    /// @notice `payer` extended the deal by `extraPeriods`, paying `amount`; it now ends at `endPeriod`.
    event DealToppedUp(
        uint256 indexed dealId, address indexed payer, uint256 extraPeriods, uint256 amount, uint256 endPeriod
    );
    /// @notice The client cancelled the deal; it ends at `endPeriod` and `refund` was credited to the client.
    event DealCancelled(uint256 indexed dealId, uint256 endPeriod, uint256 refund);
    /// @notice At closing, `provider` was credited its remaining collateral `amount`.
    event CollateralReturned(uint256 indexed dealId, uint256 indexed slot, address indexed provider, uint256 amount);
    /// @notice The deal was closed: the client was credited the remaining escrow `escrowRefund` and the
    ///         unused repair reserves `reserveRefund`.
    event DealClosed(uint256 indexed dealId, uint256 escrowRefund, uint256 reserveRefund);
    /// @notice `account` withdrew `amount` of credit.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice The owner set the reporter bounty share of penalties.
    event BountyBpsSet(uint256 bps);
    /// @notice The owner set the repair share of penalties.
    event RepairBpsSet(uint256 bps);
    /// @notice The owner set the collateral of new slots, in periods of price.
    event CollateralPeriodsSet(uint256 collateralPeriods);

    // ------------------------------------------------------------------ client actions

    /// @notice Creates a deal and pulls its escrow `pricePerPeriod * replicas * periods` from the caller
    ///         (needs an ERC-20 allowance). Period 0 starts `UPLOAD_WINDOW_BLOCKS` after the current block
    ///         (the upload window); the deal covers periods [0, periods).
    /// @param dataRoot Poseidon Merkle root of the file: non-zero and below the BN254 scalar field.
    /// @param size File size in bytes: 1..MAX_FILE_SIZE.
    /// @param replicas Number of replica slots: 1..MAX_REPLICAS.
    /// @param periods Number of periods: 1..MAX_PERIODS.
    /// @param pricePerPeriod Price of one replica for one period: non-zero, at most 2^96 - 1.
    /// @return dealId The new deal's id; ids start at 1.
    function createDeal(uint256 dataRoot, uint256 size, uint256 replicas, uint256 periods, uint256 pricePerPeriod)
        external
        returns (uint256 dealId);

    /// @notice Extends a deal that has not ended by `extraPeriods`, pulling their price for every replica
    ///         from the caller (anyone may pay; refunds go to the client).
    /// @param dealId The deal.
    /// @param extraPeriods Periods to add; the deal may not exceed MAX_PERIODS periods.
    function topUp(uint256 dealId, uint256 extraPeriods) external;

    /// @notice Cancels the deal (client only): it ends after the current period, and the escrow of every
    ///         later period is credited back to the client now. Slots keep proving the current period.
    ///         In the upload window the current period is 0, so the deal keeps period 0 only (`endPeriod`
    ///         1): slots that joined in the window may still prove it, and its escrow returns to the client
    ///         at `closeDeal` as far as it was not paid.
    /// @param dealId The deal.
    function cancelDeal(uint256 dealId) external;

    /// @notice Closes a deal after the deadline of its last period (anyone): settles the remaining misses
    ///         (the caller earns their bounties), credits each provider its remaining collateral, and the
    ///         client the remaining escrow and unused repair reserves.
    /// @param dealId The deal.
    function closeDeal(uint256 dealId) external;

    // ------------------------------------------------------------------ provider actions

    /// @notice Takes a free replica slot, pulling collateral `pricePerPeriod * collateralPeriods()` from the
    ///         caller. The caller must be an active storage provider in the registry and may hold one slot
    ///         per deal. The slot's first provable period is the first one whose challenge block comes after
    ///         the join's block: the current period when joining before its challenge block (always period
    ///         0 in the upload window), else the next period. A provider evicted from the deal may not join
    ///         it again.
    /// @param dealId The deal.
    /// @param slotIndex Slot index, below the deal's replicas.
    function joinDeal(uint256 dealId, uint256 slotIndex) external;

    /// @notice Proves that the caller stores the deal's file in `period`, paying it for the period.
    ///         Earlier unsettled periods of the slot are settled as misses first (their bounty share goes
    ///         to the client). Allowed after the period's challenge block is mined, once the source has
    ///         its randomness (else it reverts with the source's error and changes nothing), and until the
    ///         deadline. Pay: the full price within FAST_WINDOW_BLOCKS of the block the seed became public,
    ///         then linearly less, zero at DEADLINE_BLOCKS.
    /// @param dealId The deal.
    /// @param slotIndex The caller's slot.
    /// @param period The period proven: at least the slot's `nextPeriod`, below the deal's `endPeriod`.
    /// @param pA Groth16 proof point A.
    /// @param pB Groth16 proof point B.
    /// @param pC Groth16 proof point C.
    function submitProof(
        uint256 dealId,
        uint256 slotIndex,
        uint256 period,
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC
    ) external;

    /// @notice Settles, as misses, the slot's unsettled periods whose deadline has passed (anyone; at most
    ///         MAX_MISSES per call, as the slot is freed then). The caller is credited the bounty share.
    /// @param dealId The deal.
    /// @param slotIndex The slot.
    function reportMissed(uint256 dealId, uint256 slotIndex) external;

    // ------------------------------------------------------------------ everyone

    /// @notice Transfers the caller's whole credit to the caller.
    function withdraw() external;

    // ------------------------------------------------------------------ owner

    /// @notice Sets the reporter bounty share of penalties in basis points (owner only; at most MAX_BOUNTY_BPS).
    function setBountyBps(uint256 bps) external;

    /// @notice Sets the repair share of penalties in basis points (owner only; at most MAX_REPAIR_BPS).
    function setRepairBps(uint256 bps) external;

    /// @notice Sets the collateral of slots joined from now on, in periods of price (owner only;
    ///         1..MAX_COLLATERAL_PERIODS).
    function setCollateralPeriods(uint256 collateralPeriods) external;

    // ------------------------------------------------------------------ views

    /// @notice The BN254 scalar field modulus; data roots and seeds are below it.
    function SNARK_SCALAR_FIELD() external view returns (uint256);
    /// @notice Cap of the reporter bounty share, in basis points.
    function MAX_BOUNTY_BPS() external view returns (uint256);
    /// @notice Cap of the repair share, in basis points.
    function MAX_REPAIR_BPS() external view returns (uint256);
    /// @notice Cap of the collateral, in periods of price.
    function MAX_COLLATERAL_PERIODS() external view returns (uint256);

    /// @notice The ERC-20 token of escrows, collateral and credits.
    function token() external view returns (address);
    /// @notice The provider registry.
    function registry() external view returns (address);
    /// @notice The PoRA proof verifier.
    function verifier() external view returns (address);
    /// @notice The randomness source of challenge seeds.
    function randomness() external view returns (address);
    /// @notice The registry role of storage providers.
    function storageRole() external view returns (bytes32);
    /// @notice Reporter bounty share of penalties, in basis points.
    function bountyBps() external view returns (uint256);
    /// @notice Repair share of penalties, in basis points.
    function repairBps() external view returns (uint256);
    /// @notice Collateral of new slots, in periods of price.
    function collateralPeriods() external view returns (uint256);

    /// @notice Escrow a deal with these parameters costs: `pricePerPeriod * replicas * periods`.
    /// @dev Validates the parameters like `createDeal` (size is validated, it does not change the price).
    function quote(uint256 size, uint256 replicas, uint256 periods, uint256 pricePerPeriod)
        external
        view
        returns (uint256 escrow);

    /// @notice Number of deals created; also the id of the newest deal.
    function dealCount() external view returns (uint256);
    /// @notice The deal `dealId`.
    function deal(uint256 dealId) external view returns (DealInfo memory);
    /// @notice Slot `slot` of deal `dealId`.
    function slot(uint256 dealId, uint256 slotIndex) external view returns (SlotInfo memory);
    /// @notice The period the deal is in at the current block: 0 in the upload window, before the deal's
    ///         start block; it may be past the deal's end.
    function currentPeriod(uint256 dealId) external view returns (uint256);
    /// @notice Block window of `period` of the deal, counted from its start block (the creation block +
    ///         `UPLOAD_WINDOW_BLOCKS`); the blocks may still be ahead.
    /// @return start First block of the period: startBlock + period * PERIOD_BLOCKS.
    /// @return challengeBlock Block whose randomness fixes the seed; proofs are accepted after it.
    /// @return fastWindowEnd Last block of full pay when the seed is public at the challenge block (a block
    ///         hash source); a delayed source moves it to knownAt + FAST_WINDOW_BLOCKS (see the header).
    /// @return deadline Last block at which a proof is accepted (with zero pay when the seed was public at the
    ///         challenge block).
    function periodWindow(uint256 dealId, uint256 period)
        external
        view
        returns (uint256 start, uint256 challengeBlock, uint256 fastWindowEnd, uint256 deadline);
    /// @notice Challenge seed of `period` for slot `slot` held by `provider`: keccak256(abi.encode(
    ///         seedAt(challengeBlock).value, chainid, market, dealId, slot, period, provider)) reduced modulo
    ///         SNARK_SCALAR_FIELD. `submitProof` uses its caller as `provider`, so a proof made for one
    ///         provider's seed fails for any other. Reverts while the randomness is not available.
    function challengeSeed(uint256 dealId, uint256 slotIndex, uint256 period, address provider)
        external
        view
        returns (uint256);
    /// @notice Credit `account` can withdraw.
    function credits(address account) external view returns (uint256);
}
