// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {StorageConstants as C} from "../generated/ProtocolConstants.sol";
import {IStorageMarket} from "../interfaces/IStorageMarket.sol";
import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";
import {IPoRAVerifier} from "../interfaces/IPoRAVerifier.sol";
import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";

/// @title StorageMarket
/// @notice ERC-20 escrowed storage deals with replica slots, provider collateral and Proofs of Random
///         Access. See `IStorageMarket` for the rules.
/// @dev Storage is laid out for `submitProof`, whose whole transaction (with a ~192k-gas Groth16
///      verification) has to stay under 250k gas. An accepted proof reads five storage words (the slot's hot
///      word, the deal's hot word, the deal's prepared data root (two words), the provider's credit) and
///      writes three of them; it never writes a zero word (credits are stored offset by one once
///      initialised, see `_credits`). Preparing the data root at createDeal (~54k gas, once per deal) saves
///      every proof of the deal ~4k gas.
///      Only tokens without transfer fees or rebasing are supported (escrow is accounted as requested).
contract StorageMarket is IStorageMarket, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @inheritdoc IStorageMarket
    uint256 public constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @inheritdoc IStorageMarket
    uint256 public constant MAX_BOUNTY_BPS = 5_000;
    /// @inheritdoc IStorageMarket
    uint256 public constant MAX_REPAIR_BPS = 5_000;
    /// @inheritdoc IStorageMarket
    uint256 public constant MAX_COLLATERAL_PERIODS = 10_000;

    uint256 private constant BPS = 10_000;
    uint256 private constant DEFAULT_BOUNTY_BPS = 1_000;
    uint256 private constant DEFAULT_REPAIR_BPS = 2_000;
    /// @dev Pay falls linearly over this many blocks after the fast window.
    uint256 private constant DECAY_BLOCKS = C.DEADLINE_BLOCKS - C.FAST_WINDOW_BLOCKS;

    /// @dev Deal word read and written by every accepted proof. escrow <= price * MAX_REPLICAS * MAX_PERIODS
    ///      < 2^96 * 2^3 * 2^17 fits 128 bits; endPeriod <= MAX_PERIODS fits 32 bits.
    struct DealHot {
        uint128 escrow;
        uint96 pricePerPeriod;
        uint32 endPeriod;
    }

    /// @dev Deal word the hot path never touches. size <= MAX_FILE_SIZE = 2^28 fits 32 bits.
    struct DealCold {
        address client;
        uint40 startBlock;
        uint32 size;
        uint8 replicas;
        uint8 filledMask;
        DealStatus status;
    }

    /// @dev `prepared` is the verifier's `prepareFirstInput(dataRoot)`: the data root's share of the Groth16
    ///      linear combination, computed once here so that a proof pays for the seed's share only.
    struct Deal {
        DealHot hot;
        uint256 dataRoot;
        DealCold cold;
        uint256[2] prepared;
    }

    /// @dev Slot word read and written by every accepted proof. `startBlock` copies the deal's start block
    ///      so that a proof needs no read of the deal's cold word.
    struct SlotHot {
        address provider;
        uint32 nextPeriod;
        uint40 startBlock;
        uint8 misses;
        bool repairPending;
    }

    /// @dev collateral <= price * MAX_COLLATERAL_PERIODS < 2^96 * 2^14 fits 128 bits.
    struct Slot {
        SlotHot hot;
        uint128 collateral;
        uint128 penaltyPerMiss;
        uint256 repairReserve;
    }

    /// @dev Owner-set parameters, one word.
    struct Params {
        uint16 bountyBps;
        uint16 repairBps;
        uint32 collateralPeriods;
    }

    /// @dev Who is involved in settling misses of one slot.
    struct MissContext {
        uint256 dealId;
        uint256 slotIndex;
        address provider;
        address reporter;
        address client;
        uint256 bountyBps;
        uint256 repairBps;
    }

    IERC20 private immutable _token;
    IProviderRegistry private immutable _registry;
    IPoRAVerifier private immutable _verifier;
    IRandomnessSource private immutable _randomness;
    bytes32 private immutable _storageRole;

    Params private _params;
    /// @dev Number of deals + 1: the constructor writes 1, so the first deal pays for a non-zero to
    ///      non-zero write (2,900 gas) instead of a zero to non-zero one (20,000).
    uint256 private _dealCountPlusOne = 1;
    mapping(uint256 dealId => Deal) private _deals;
    mapping(uint256 dealId => mapping(uint256 slotIndex => Slot)) private _slots;
    /// @dev Providers that lost a slot of the deal after MAX_MISSES misses; they may not join it again
    ///      (or they would collect the repair reserve their own misses funded).
    mapping(uint256 dealId => mapping(address provider => bool)) private _evicted;
    /// @dev Credit + 1 once an account was first credited or joined a slot, 0 before. Keeping the word
    ///      non-zero after a withdrawal makes the next credit cost 2,900 gas instead of 20,000.
    mapping(address account => uint256) private _credits;

    /// @param token_ ERC-20 token of escrows and collateral.
    /// @param registry_ Provider registry; joining needs an active storage provider.
    /// @param verifier_ PoRA Groth16 verifier.
    /// @param randomness_ Randomness source of challenge seeds.
    /// @param initialOwner Owner of the parameters.
    /// @param collateralPeriods_ Collateral of a slot, in periods of price.
    constructor(
        address token_,
        address registry_,
        address verifier_,
        address randomness_,
        address initialOwner,
        uint256 collateralPeriods_
    ) Ownable(initialOwner) {
        if (token_ == address(0) || registry_ == address(0) || verifier_ == address(0) || randomness_ == address(0))
        {
            revert StorageMarketZeroAddress();
        }
        _token = IERC20(token_);
        _registry = IProviderRegistry(registry_);
        _verifier = IPoRAVerifier(verifier_);
        _randomness = IRandomnessSource(randomness_);
        _storageRole = IProviderRegistry(registry_).STORAGE_ROLE();
        _setBountyBps(DEFAULT_BOUNTY_BPS);
        _setRepairBps(DEFAULT_REPAIR_BPS);
        _setCollateralPeriods(collateralPeriods_);
    }

    // ------------------------------------------------------------------ client actions

    /// @inheritdoc IStorageMarket
    function createDeal(uint256 dataRoot, uint256 size, uint256 replicas, uint256 periods, uint256 pricePerPeriod)
        external
        nonReentrant
        returns (uint256 dealId)
    {
        if (dataRoot == 0 || dataRoot >= SNARK_SCALAR_FIELD) revert StorageMarketInvalidDataRoot(dataRoot);
        uint256 escrow = _quote(size, replicas, periods, pricePerPeriod);
        uint256 startBlock;
        // Cannot overflow: one deal per call; a block number plus a small constant.
        unchecked {
            dealId = _dealCountPlusOne++;
            startBlock = block.number + C.UPLOAD_WINDOW_BLOCKS;
        }
        Deal storage d = _deals[dealId];
        // The casts are exact: _quote bounded every value (see the struct comments).
        d.hot = DealHot({escrow: uint128(escrow), pricePerPeriod: uint96(pricePerPeriod), endPeriod: uint32(periods)});
        d.dataRoot = dataRoot;
        d.prepared = _verifier.prepareFirstInput(dataRoot);
        d.cold = DealCold({
            client: msg.sender,
            startBlock: uint40(startBlock),
            size: uint32(size),
            replicas: uint8(replicas),
            filledMask: 0,
            status: DealStatus.Pending
        });
        emit DealCreated(dealId, msg.sender, dataRoot, size, replicas, periods, pricePerPeriod, escrow, startBlock);

        _token.safeTransferFrom(msg.sender, address(this), escrow);
    }

    /// @inheritdoc IStorageMarket
    function topUp(uint256 dealId, uint256 extraPeriods) external nonReentrant {
        Deal storage d = _deals[dealId];
        DealHot memory dh = _dealHot(d, dealId);
        DealCold memory dc = d.cold;
        _requireOpen(dealId, dc.status);
        if (_periodAt(dc.startBlock) >= dh.endPeriod) revert StorageMarketDealEnded(dealId, dh.endPeriod);
        // endPeriod <= MAX_PERIODS always holds, so the subtraction cannot underflow.
        if (extraPeriods == 0 || extraPeriods > C.MAX_PERIODS - dh.endPeriod) {
            revert StorageMarketInvalidPeriods(extraPeriods);
        }
        uint256 endPeriod = dh.endPeriod + extraPeriods;
        uint256 amount = uint256(dh.pricePerPeriod) * dc.replicas * extraPeriods;

        // Exact casts: endPeriod <= MAX_PERIODS, and escrow + amount <= price * replicas * endPeriod < 2^128.
        d.hot.escrow = uint128(dh.escrow + amount);
        d.hot.endPeriod = uint32(endPeriod);
        emit DealToppedUp(dealId, msg.sender, extraPeriods, amount, endPeriod);

        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IStorageMarket
    function cancelDeal(uint256 dealId) external nonReentrant {
        Deal storage d = _deals[dealId];
        DealHot memory dh = _dealHot(d, dealId);
        DealCold memory dc = d.cold;
        if (msg.sender != dc.client) revert StorageMarketNotClient(dealId, msg.sender);
        _requireOpen(dealId, dc.status);
        uint256 current = _periodAt(dc.startBlock);
        if (current >= dh.endPeriod) revert StorageMarketDealEnded(dealId, dh.endPeriod);
        // Cannot overflow or underflow: current + 1 <= endPeriod <= MAX_PERIODS.
        uint256 endPeriod;
        uint256 refund;
        unchecked {
            endPeriod = current + 1;
            refund = uint256(dh.pricePerPeriod) * dc.replicas * (dh.endPeriod - endPeriod);
        }
        // No period after `current` was settled (a proof needs its challenge block, a miss its deadline),
        // so their full price is still in the escrow: the subtraction cannot underflow.
        d.hot.escrow = uint128(dh.escrow - refund);
        d.hot.endPeriod = uint32(endPeriod);
        d.cold.status = DealStatus.Cancelled;
        if (refund != 0) _credit(dc.client, refund);
        emit DealCancelled(dealId, endPeriod, refund);
    }

    /// @inheritdoc IStorageMarket
    function closeDeal(uint256 dealId) external nonReentrant {
        Deal storage d = _deals[dealId];
        DealHot memory dh = _dealHot(d, dealId);
        DealCold memory dc = d.cold;
        if (dc.status == DealStatus.Closed) revert StorageMarketDealClosed(dealId);
        uint256 endPeriod = dh.endPeriod;
        // The block after the last period's deadline.
        uint256 closableAt = _challengeBlock(dc.startBlock, endPeriod - 1) + C.DEADLINE_BLOCKS + 1;
        if (block.number < closableAt) revert StorageMarketDealNotEnded(dealId, closableAt);

        Params memory params = _params;
        MissContext memory ctx = MissContext({
            dealId: dealId,
            slotIndex: 0,
            provider: address(0),
            reporter: msg.sender,
            client: dc.client,
            bountyBps: params.bountyBps,
            repairBps: params.repairBps
        });
        uint256 reserves;
        // Bounded: at most MAX_REPLICAS slots, each settling at most MAX_MISSES misses.
        for (uint256 i = 0; i < dc.replicas; ++i) {
            ctx.slotIndex = i;
            reserves += _closeSlot(_slots[dealId][i], ctx, endPeriod);
        }
        uint256 escrow = dh.escrow;
        d.hot.escrow = 0;
        d.cold.status = DealStatus.Closed;
        if (escrow + reserves != 0) _credit(dc.client, escrow + reserves);
        emit DealClosed(dealId, escrow, reserves);
    }

    // ------------------------------------------------------------------ provider actions

    /// @inheritdoc IStorageMarket
    function joinDeal(uint256 dealId, uint256 slotIndex) external nonReentrant {
        Deal storage d = _deals[dealId];
        DealHot memory dh = _dealHot(d, dealId);
        DealCold memory dc = d.cold;
        if (slotIndex >= dc.replicas) revert StorageMarketInvalidSlot(dealId, slotIndex, dc.replicas);
        _requireOpen(dealId, dc.status);
        uint256 firstPeriod = _firstUnchallengedPeriod(dc.startBlock);
        if (firstPeriod >= dh.endPeriod) revert StorageMarketDealEnded(dealId, dh.endPeriod);
        Slot storage s = _slots[dealId][slotIndex];
        address holder = s.hot.provider;
        if (holder != address(0)) revert StorageMarketSlotTaken(dealId, slotIndex, holder);
        // Bounded: at most MAX_REPLICAS slots.
        for (uint256 i = 0; i < dc.replicas; ++i) {
            if (_slots[dealId][i].hot.provider == msg.sender) revert StorageMarketAlreadyInDeal(dealId, msg.sender, i);
        }
        if (_evicted[dealId][msg.sender]) revert StorageMarketProviderEvicted(dealId, msg.sender);
        if (!_registry.isActive(msg.sender, _storageRole)) revert StorageMarketProviderNotActive(msg.sender);

        // Exact: price < 2^96 and collateralPeriods <= MAX_COLLATERAL_PERIODS < 2^14.
        uint256 collateral = uint256(dh.pricePerPeriod) * _params.collateralPeriods;
        s.hot = SlotHot({
            provider: msg.sender,
            nextPeriod: uint32(firstPeriod),
            startBlock: dc.startBlock,
            misses: 0,
            repairPending: s.repairReserve != 0
        });
        s.collateral = uint128(collateral);
        s.penaltyPerMiss = uint128(collateral / C.MAX_MISSES);
        // Pay for the first proof then lands in a non-zero word (see _credits).
        if (_credits[msg.sender] == 0) _credits[msg.sender] = 1;
        uint256 filledMask = uint256(dc.filledMask) | (uint256(1) << slotIndex);
        d.cold.filledMask = uint8(filledMask);
        bool activated = dc.status == DealStatus.Pending && filledMask == (uint256(1) << dc.replicas) - 1;
        if (activated) d.cold.status = DealStatus.Active;
        emit SlotJoined(dealId, slotIndex, msg.sender, collateral, firstPeriod);
        if (activated) emit DealActivated(dealId);

        _token.safeTransferFrom(msg.sender, address(this), collateral);
    }

    /// @inheritdoc IStorageMarket
    /// @dev Not `nonReentrant`: its only external calls are static (the randomness source and the verifier),
    ///      so nothing can re-enter it, and the guard would cost every proof ~300 gas.
    function submitProof(
        uint256 dealId,
        uint256 slotIndex,
        uint256 period,
        // The proof is read from calldata by _verify (words 3 to 10 of the arguments).
        uint256[2] calldata, /* pA */
        uint256[2][2] calldata, /* pB */
        uint256[2] calldata /* pC */
    ) external {
        Deal storage d = _deals[dealId];
        DealHot memory dh = _dealHot(d, dealId);
        Slot storage s = _slots[dealId][slotIndex];
        SlotHot memory sh = s.hot;
        if (sh.provider != msg.sender) _revertNotProvider(d, dealId, slotIndex);
        uint256 latency = _checkProof(d, dh, sh, dealId, slotIndex, period);

        // Earlier unsettled periods are misses; _checkProofWindow made sure they do not free the slot.
        if (period != sh.nextPeriod) {
            _settleMissesBeforeProof(d, s, dealId, slotIndex, sh.nextPeriod, period);
            sh = s.hot;
        }

        uint256 pay = dh.pricePerPeriod;
        // Cannot overflow or underflow: pay < 2^96 and 0 <= DEADLINE_BLOCKS - latency <= DECAY_BLOCKS
        // (_latency is at most block.number - challengeBlock, which _checkProofWindow bounded by
        // DEADLINE_BLOCKS); period + 1 <= endPeriod <= MAX_PERIODS fits 32 bits.
        unchecked {
            if (latency > C.FAST_WINDOW_BLOCKS) pay = pay * (C.DEADLINE_BLOCKS - latency) / DECAY_BLOCKS;
            sh.nextPeriod = uint32(period + 1);
        }
        // Whole-word writes from the memory copies: no second read of either word.
        s.hot = sh;
        if (pay != 0) {
            // Each (slot, period) is paid at most once and at most its price, which the escrow still holds.
            dh.escrow -= uint128(pay);
            d.hot = dh;
            _credit(msg.sender, pay);
        }
        emit ProofAccepted(dealId, slotIndex, period, msg.sender, pay, latency);

        if (sh.repairPending) _payRepairReward(s, dealId, slotIndex);
    }

    /// @inheritdoc IStorageMarket
    function reportMissed(uint256 dealId, uint256 slotIndex) external nonReentrant {
        Deal storage d = _deals[dealId];
        DealHot memory dh = _dealHot(d, dealId);
        DealCold memory dc = d.cold;
        if (dc.status == DealStatus.Closed) revert StorageMarketDealClosed(dealId);
        if (slotIndex >= dc.replicas) revert StorageMarketInvalidSlot(dealId, slotIndex, dc.replicas);
        Slot storage s = _slots[dealId][slotIndex];
        address provider = s.hot.provider;
        if (provider == address(0)) revert StorageMarketSlotEmpty(dealId, slotIndex);
        uint256 due = _periodsPastDeadline(dc.startBlock, dh.endPeriod);
        uint256 next = s.hot.nextPeriod;
        if (next >= due) revert StorageMarketNothingToReport(dealId, slotIndex);

        Params memory params = _params;
        _settleMisses(
            s,
            MissContext({
                dealId: dealId,
                slotIndex: slotIndex,
                provider: provider,
                reporter: msg.sender,
                client: dc.client,
                bountyBps: params.bountyBps,
                repairBps: params.repairBps
            }),
            next,
            due
        );
    }

    // ------------------------------------------------------------------ everyone

    /// @inheritdoc IStorageMarket
    function withdraw() external nonReentrant {
        uint256 raw = _credits[msg.sender];
        if (raw <= 1) revert StorageMarketNothingToWithdraw(msg.sender);
        _credits[msg.sender] = 1;
        // Cannot underflow: raw > 1.
        uint256 amount;
        unchecked {
            amount = raw - 1;
        }
        _token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    // ------------------------------------------------------------------ owner

    /// @inheritdoc IStorageMarket
    function setBountyBps(uint256 bps) external onlyOwner {
        _setBountyBps(bps);
    }

    /// @inheritdoc IStorageMarket
    function setRepairBps(uint256 bps) external onlyOwner {
        _setRepairBps(bps);
    }

    /// @inheritdoc IStorageMarket
    function setCollateralPeriods(uint256 collateralPeriods_) external onlyOwner {
        _setCollateralPeriods(collateralPeriods_);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IStorageMarket
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IStorageMarket
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc IStorageMarket
    function verifier() external view returns (address) {
        return address(_verifier);
    }

    /// @inheritdoc IStorageMarket
    function randomness() external view returns (address) {
        return address(_randomness);
    }

    /// @inheritdoc IStorageMarket
    function storageRole() external view returns (bytes32) {
        return _storageRole;
    }

    /// @inheritdoc IStorageMarket
    function bountyBps() external view returns (uint256) {
        return _params.bountyBps;
    }

    /// @inheritdoc IStorageMarket
    function repairBps() external view returns (uint256) {
        return _params.repairBps;
    }

    /// @inheritdoc IStorageMarket
    function collateralPeriods() external view returns (uint256) {
        return _params.collateralPeriods;
    }

    /// @inheritdoc IStorageMarket
    function quote(uint256 size, uint256 replicas, uint256 periods, uint256 pricePerPeriod)
        external
        pure
        returns (uint256 escrow)
    {
        return _quote(size, replicas, periods, pricePerPeriod);
    }

    /// @inheritdoc IStorageMarket
    function dealCount() external view returns (uint256) {
        // Cannot underflow: never below 1.
        unchecked {
            return _dealCountPlusOne - 1;
        }
    }

    /// @inheritdoc IStorageMarket
    function deal(uint256 dealId) external view returns (DealInfo memory info) {
        Deal storage d = _deals[dealId];
        DealHot memory dh = _dealHot(d, dealId);
        DealCold memory dc = d.cold;
        info = DealInfo({
            client: dc.client,
            dataRoot: d.dataRoot,
            size: dc.size,
            replicas: dc.replicas,
            pricePerPeriod: dh.pricePerPeriod,
            startBlock: dc.startBlock,
            endPeriod: dh.endPeriod,
            escrow: dh.escrow,
            status: dc.status,
            filledMask: dc.filledMask
        });
    }

    /// @inheritdoc IStorageMarket
    function slot(uint256 dealId, uint256 slotIndex) external view returns (SlotInfo memory info) {
        Deal storage d = _deals[dealId];
        _dealHot(d, dealId);
        uint256 replicas = d.cold.replicas;
        if (slotIndex >= replicas) revert StorageMarketInvalidSlot(dealId, slotIndex, replicas);
        Slot storage s = _slots[dealId][slotIndex];
        SlotHot memory sh = s.hot;
        info = SlotInfo({
            provider: sh.provider,
            nextPeriod: sh.nextPeriod,
            misses: sh.misses,
            collateral: s.collateral,
            penaltyPerMiss: s.penaltyPerMiss,
            repairReserve: s.repairReserve,
            repairPending: sh.repairPending
        });
    }

    /// @inheritdoc IStorageMarket
    function currentPeriod(uint256 dealId) external view returns (uint256) {
        Deal storage d = _deals[dealId];
        _dealHot(d, dealId);
        return _periodAt(d.cold.startBlock);
    }

    /// @inheritdoc IStorageMarket
    function periodWindow(uint256 dealId, uint256 period)
        external
        view
        returns (uint256 start, uint256 challengeBlock, uint256 fastWindowEnd, uint256 deadline)
    {
        Deal storage d = _deals[dealId];
        _dealHot(d, dealId);
        start = uint256(d.cold.startBlock) + period * C.PERIOD_BLOCKS;
        challengeBlock = start + C.CHALLENGE_DELAY_BLOCKS;
        fastWindowEnd = challengeBlock + C.FAST_WINDOW_BLOCKS;
        deadline = challengeBlock + C.DEADLINE_BLOCKS;
    }

    /// @inheritdoc IStorageMarket
    function challengeSeed(uint256 dealId, uint256 slotIndex, uint256 period, address provider)
        external
        view
        returns (uint256)
    {
        Deal storage d = _deals[dealId];
        _dealHot(d, dealId);
        DealCold memory dc = d.cold;
        if (slotIndex >= dc.replicas) revert StorageMarketInvalidSlot(dealId, slotIndex, dc.replicas);
        (uint256 seed,) = _seed(
            uint256(dc.startBlock) + period * C.PERIOD_BLOCKS + C.CHALLENGE_DELAY_BLOCKS, dealId, slotIndex, period, provider
        );
        return seed;
    }

    /// @inheritdoc IStorageMarket
    function credits(address account) external view returns (uint256) {
        uint256 raw = _credits[account];
        // Cannot underflow: checked raw != 0.
        unchecked {
            return raw == 0 ? 0 : raw - 1;
        }
    }

    // ------------------------------------------------------------------ internals: closing

    /// @dev Settles the slot's last misses, returns its provider's collateral and empties its repair
    ///      reserve, which is returned for the client.
    function _closeSlot(Slot storage s, MissContext memory ctx, uint256 endPeriod) private returns (uint256 reserve) {
        address provider = s.hot.provider;
        if (provider != address(0)) {
            ctx.provider = provider;
            uint256 next = s.hot.nextPeriod;
            bool freed = next < endPeriod && _settleMisses(s, ctx, next, endPeriod);
            if (!freed) {
                uint256 collateral = s.collateral;
                s.collateral = 0;
                s.penaltyPerMiss = 0;
                s.hot.nextPeriod = uint32(endPeriod);
                if (collateral != 0) _credit(provider, collateral);
                emit CollateralReturned(ctx.dealId, ctx.slotIndex, provider, collateral);
            }
        }
        reserve = s.repairReserve;
        if (reserve != 0) s.repairReserve = 0;
    }

    // ------------------------------------------------------------------ internals: proofs

    /// @dev Checks the period of a proof and returns its challenge block. The hard deadline counts from the
    ///      challenge block, whatever the randomness source reports.
    function _checkProofWindow(
        uint256 dealId,
        uint256 slotIndex,
        uint256 period,
        DealHot memory dh,
        SlotHot memory sh
    ) private view returns (uint256 challengeBlock) {
        if (period < sh.nextPeriod) revert StorageMarketPeriodSettled(dealId, slotIndex, period, sh.nextPeriod);
        if (period >= dh.endPeriod) revert StorageMarketPeriodOutOfRange(dealId, period, dh.endPeriod);
        challengeBlock = _challengeBlock(sh.startBlock, period);
        if (block.number <= challengeBlock) revert StorageMarketChallengeNotReady(dealId, period, challengeBlock);
        // Cannot underflow: block.number > challengeBlock; cannot overflow: challengeBlock < 2^41.
        unchecked {
            if (block.number - challengeBlock > C.DEADLINE_BLOCKS) {
                revert StorageMarketDeadlinePassed(dealId, period, challengeBlock + C.DEADLINE_BLOCKS);
            }
            // period >= nextPeriod was checked.
            uint256 missed = period - sh.nextPeriod;
            if (missed != 0 && sh.misses + missed >= C.MAX_MISSES) {
                revert StorageMarketTooManyMisses(dealId, slotIndex, missed);
            }
        }
    }

    /// @dev Latency of a proof for pay: blocks since its seed became public. `knownAt` is clamped into
    ///      [challengeBlock, block.number], so a source can neither lengthen the pay window beyond the
    ///      deadline nor make the subtraction underflow; the result is at most block.number - challengeBlock.
    function _latency(uint256 challengeBlock, uint256 knownAt) private view returns (uint256 latency) {
        if (knownAt < challengeBlock) knownAt = challengeBlock;
        // Cannot underflow: knownAt < block.number is checked.
        unchecked {
            latency = knownAt < block.number ? block.number - knownAt : 0;
        }
    }

    /// @dev Settles the periods [from, to) of the slot as misses on behalf of its provider's later proof:
    ///      no reporter, so the bounty share goes to the client.
    function _settleMissesBeforeProof(
        Deal storage d,
        Slot storage s,
        uint256 dealId,
        uint256 slotIndex,
        uint256 from,
        uint256 to
    ) private {
        Params memory params = _params;
        _settleMisses(
            s,
            MissContext({
                dealId: dealId,
                slotIndex: slotIndex,
                provider: msg.sender,
                reporter: address(0),
                client: d.cold.client,
                bountyBps: params.bountyBps,
                repairBps: params.repairBps
            }),
            from,
            to
        );
    }

    function _payRepairReward(Slot storage s, uint256 dealId, uint256 slotIndex) private {
        uint256 amount = s.repairReserve;
        s.repairReserve = 0;
        s.hot.repairPending = false;
        if (amount != 0) _credit(msg.sender, amount);
        emit RepairRewarded(dealId, slotIndex, msg.sender, amount);
    }

    /// @dev Reverts with the reason a caller that is not the slot's provider cannot prove.
    function _revertNotProvider(Deal storage d, uint256 dealId, uint256 slotIndex) private view {
        uint256 replicas = d.cold.replicas;
        if (slotIndex >= replicas) revert StorageMarketInvalidSlot(dealId, slotIndex, replicas);
        revert StorageMarketNotSlotProvider(dealId, slotIndex, msg.sender);
    }

    /// @dev Checks the period's window and verifies the proof of submitProof's caller; returns its latency
    ///      for pay.
    function _checkProof(
        Deal storage d,
        DealHot memory dh,
        SlotHot memory sh,
        uint256 dealId,
        uint256 slotIndex,
        uint256 period
    ) private view returns (uint256 latency) {
        uint256 challengeBlock = _checkProofWindow(dealId, slotIndex, period, dh, sh);
        (uint256 seed, uint256 knownAt) = _seed(challengeBlock, dealId, slotIndex, period, msg.sender);
        if (!_verify(d, seed)) revert StorageMarketInvalidProof(dealId, slotIndex, period);
        latency = _latency(challengeBlock, knownAt);
    }

    /// @dev Checks the calldata proof (pA, pB, pC of submitProof) against the deal's prepared data root and the
    ///      seed with the verifier's `verifyPrepared`. The call is built by hand from the calldata: the ABI
    ///      coder would copy the proof element by element and check the result's encoding (~1,000 gas more per
    ///      proof). A verifier that reverts or returns anything but true rejects the proof.
    function _verify(Deal storage d, uint256 seed) private view returns (bool ok) {
        address target = address(_verifier);
        bytes4 selector = IPoRAVerifier.verifyPrepared.selector;
        uint256 px = d.prepared[0];
        uint256 py = d.prepared[1];
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, selector)
            // pA, pB and pC are eight consecutive words of submitProof's calldata after its three ids.
            calldatacopy(add(m, 0x04), 0x64, 0x100)
            mstore(add(m, 0x104), px)
            mstore(add(m, 0x124), py)
            mstore(add(m, 0x144), seed)
            // Yul evaluates arguments right to left: the call must come first, in its own statement.
            let success := staticcall(gas(), target, m, 0x164, 0x00, 0x20)
            ok := and(success, and(gt(returndatasize(), 0x1f), eq(mload(0x00), 1)))
        }
    }

    /// @dev The challenge seed of a period for `provider` and the block its randomness became public:
    ///      seed = keccak256(abi.encode(value, chainid, market, dealId, slotIndex, period, provider)) mod r, where
    ///      (value, knownAt) = randomness.seedAt(challengeBlock). While the source has no value for the
    ///      challenge block its revert (e.g. the beacon's "not yet available") is passed on unchanged.
    ///      Written in assembly because it runs in every proof: the call and the hash share one scratch
    ///      area past the free memory pointer, saving the ABI coder's allocations (~400 gas).
    function _seed(uint256 challengeBlock, uint256 dealId, uint256 slotIndex, uint256 period, address provider)
        private
        view
        returns (uint256 seed, uint256 knownAt)
    {
        address source = address(_randomness);
        bytes4 selector = IRandomnessSource.seedAt.selector;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, selector)
            mstore(add(m, 0x04), challengeBlock)
            if iszero(staticcall(gas(), source, m, 0x24, m, 0x40)) {
                returndatacopy(m, 0, returndatasize())
                revert(m, returndatasize())
            }
            // A source that returns less than (bytes32, uint256) is not a randomness source.
            if lt(returndatasize(), 0x40) { revert(0, 0) }
            // m holds the value; the rest of abi.encode's seven words follows it.
            knownAt := mload(add(m, 0x20))
            mstore(add(m, 0x20), chainid())
            mstore(add(m, 0x40), address())
            mstore(add(m, 0x60), dealId)
            mstore(add(m, 0x80), slotIndex)
            mstore(add(m, 0xa0), period)
            mstore(add(m, 0xc0), provider)
            seed := mod(keccak256(m, 0xe0), SNARK_SCALAR_FIELD)
        }
    }

    // ------------------------------------------------------------------ internals: misses

    /// @dev Settles the slot's periods [from, to) as misses until the provider is evicted.
    /// @return freed True when the slot was freed.
    function _settleMisses(Slot storage s, MissContext memory ctx, uint256 from, uint256 to)
        private
        returns (bool freed)
    {
        uint256 misses = s.hot.misses;
        uint256 collateral = s.collateral;
        uint256 penaltyPerMiss = s.penaltyPerMiss;
        // Bounded: every iteration adds a miss and the slot is freed at MAX_MISSES.
        for (uint256 period = from; period < to; ++period) {
            uint256 penalty = penaltyPerMiss < collateral ? penaltyPerMiss : collateral;
            // Cannot underflow: penalty <= collateral; misses < MAX_MISSES before the increment.
            unchecked {
                collateral -= penalty;
                ++misses;
            }
            s.collateral = uint128(collateral);
            s.hot.misses = uint8(misses);
            s.hot.nextPeriod = uint32(period + 1);
            _distributePenalty(s, ctx, penalty);
            emit ProofMissed(ctx.dealId, ctx.slotIndex, period, ctx.provider, penalty, ctx.reporter);
            if (misses >= C.MAX_MISSES) {
                _freeSlot(s, ctx, collateral);
                return true;
            }
        }
    }

    /// @dev Takes the slot from its provider, distributing the collateral left like a penalty.
    function _freeSlot(Slot storage s, MissContext memory ctx, uint256 collateral) private {
        s.collateral = 0;
        s.penaltyPerMiss = 0;
        s.hot.provider = address(0);
        s.hot.misses = 0;
        s.hot.repairPending = false;
        _evicted[ctx.dealId][ctx.provider] = true;
        _distributePenalty(s, ctx, collateral);
        emit SlotFreed(ctx.dealId, ctx.slotIndex, ctx.provider, collateral);
    }

    /// @dev Splits a penalty into the reporter's bounty, the slot's repair reserve and the client's share.
    function _distributePenalty(Slot storage s, MissContext memory ctx, uint256 amount) private {
        if (amount == 0) return;
        uint256 bounty = ctx.reporter == address(0) ? 0 : amount * ctx.bountyBps / BPS;
        uint256 repair = amount * ctx.repairBps / BPS;
        // Cannot underflow: bountyBps + repairBps <= MAX_BOUNTY_BPS + MAX_REPAIR_BPS = BPS.
        uint256 toClient;
        unchecked {
            toClient = amount - bounty - repair;
        }
        if (bounty != 0) _credit(ctx.reporter, bounty);
        if (repair != 0) s.repairReserve += repair;
        if (toClient != 0) _credit(ctx.client, toClient);
    }

    // ------------------------------------------------------------------ internals: helpers

    function _credit(address account, uint256 amount) private {
        uint256 raw = _credits[account];
        _credits[account] = (raw == 0 ? 1 : raw) + amount;
    }

    /// @dev The deal's hot word; reverts for an unknown id (every deal has a non-zero price).
    function _dealHot(Deal storage d, uint256 dealId) private view returns (DealHot memory dh) {
        dh = d.hot;
        if (dh.pricePerPeriod == 0) revert StorageMarketUnknownDeal(dealId);
    }

    function _requireOpen(uint256 dealId, DealStatus status) private pure {
        if (status == DealStatus.Cancelled) revert StorageMarketDealCancelled(dealId);
        if (status == DealStatus.Closed) revert StorageMarketDealClosed(dealId);
    }

    function _quote(uint256 size, uint256 replicas, uint256 periods, uint256 pricePerPeriod)
        private
        pure
        returns (uint256)
    {
        if (size == 0 || size > C.MAX_FILE_SIZE) revert StorageMarketInvalidSize(size);
        if (replicas == 0 || replicas > C.MAX_REPLICAS) revert StorageMarketInvalidReplicas(replicas);
        if (periods == 0 || periods > C.MAX_PERIODS) revert StorageMarketInvalidPeriods(periods);
        if (pricePerPeriod == 0 || pricePerPeriod > type(uint96).max) revert StorageMarketInvalidPrice(pricePerPeriod);
        return pricePerPeriod * replicas * periods;
    }

    /// @dev Period the current block is in, for a deal whose period 0 starts at `startBlock`; blocks of the
    ///      upload window (before `startBlock`) are in period 0.
    function _periodAt(uint256 startBlock) private view returns (uint256) {
        if (block.number < startBlock) return 0;
        // Cannot underflow: checked above.
        unchecked {
            return (block.number - startBlock) / C.PERIOD_BLOCKS;
        }
    }

    /// @dev The first period whose challenge block is after the current block: the current period while
    ///      its challenge block is ahead (always period 0 in the upload window), else the next one.
    ///      challengeBlock(p) = startBlock + p * PERIOD_BLOCKS + CHALLENGE_DELAY_BLOCKS > block.number
    ///      holds from p = (block.number - startBlock - CHALLENGE_DELAY_BLOCKS) / PERIOD_BLOCKS + 1 on.
    function _firstUnchallengedPeriod(uint256 startBlock) private view returns (uint256) {
        uint256 firstChallenge = startBlock + C.CHALLENGE_DELAY_BLOCKS;
        if (block.number < firstChallenge) return 0;
        // Cannot underflow: checked above; cannot overflow: the quotient is below 2^256 / PERIOD_BLOCKS.
        unchecked {
            return (block.number - firstChallenge) / C.PERIOD_BLOCKS + 1;
        }
    }

    function _challengeBlock(uint256 startBlock, uint256 period) private pure returns (uint256) {
        // Cannot overflow: callers pass period < endPeriod <= MAX_PERIODS and a 40-bit start block.
        unchecked {
            return startBlock + period * C.PERIOD_BLOCKS + C.CHALLENGE_DELAY_BLOCKS;
        }
    }

    /// @dev Number of periods, from period 0 and at most `endPeriod`, whose deadline is before this block.
    function _periodsPastDeadline(uint256 startBlock, uint256 endPeriod) private view returns (uint256 count) {
        // deadline(p) = startBlock + p * PERIOD_BLOCKS + CHALLENGE_DELAY_BLOCKS + DEADLINE_BLOCKS < block.number
        uint256 firstDeadline = startBlock + C.CHALLENGE_DELAY_BLOCKS + C.DEADLINE_BLOCKS;
        if (block.number <= firstDeadline) return 0;
        // Cannot underflow: checked above.
        unchecked {
            count = (block.number - firstDeadline + C.PERIOD_BLOCKS - 1) / C.PERIOD_BLOCKS;
        }
        if (count > endPeriod) count = endPeriod;
    }

    function _setBountyBps(uint256 bps) private {
        if (bps > MAX_BOUNTY_BPS) revert StorageMarketInvalidBps(bps, MAX_BOUNTY_BPS);
        _params.bountyBps = uint16(bps);
        emit BountyBpsSet(bps);
    }

    function _setRepairBps(uint256 bps) private {
        if (bps > MAX_REPAIR_BPS) revert StorageMarketInvalidBps(bps, MAX_REPAIR_BPS);
        _params.repairBps = uint16(bps);
        emit RepairBpsSet(bps);
    }

    function _setCollateralPeriods(uint256 collateralPeriods_) private {
        if (collateralPeriods_ == 0 || collateralPeriods_ > MAX_COLLATERAL_PERIODS) {
            revert StorageMarketInvalidCollateralPeriods(collateralPeriods_);
        }
        _params.collateralPeriods = uint32(collateralPeriods_);
        emit CollateralPeriodsSet(collateralPeriods_);
    }
}
