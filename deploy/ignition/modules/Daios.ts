/**
 * Ignition module: every daios contract (storage, data availability and compute layers), wired together.
 *
 * Parameters (deploy/parameters/<chainId>.json, or defaults below):
 *   unbondingDelay     seconds a provider waits to withdraw unbonded stake (default 7 days)
 *   minStorageStake    minimum stake of a storage provider, token base units (default 10 DAIOS)
 *   collateralPeriods  a replica's collateral, in periods of its deal's price (default 10)
 *   beaconPublicKey    the randomness beacon's group key in G2, EIP-197 order [x1, x0, y1, y0]
 *                      (default: drand evmnet's key)
 *   beaconGenesis      unix time of the beacon's round 1 (default: evmnet's, 1727521075)
 *   beaconPeriod       seconds between beacon rounds (default: evmnet's, 3)
 *   minDaStake         minimum stake of a DA node, token base units (default 10 DAIOS)
 *   daQuorumCount      quorums sampled per epoch (default 1, at most DA.MAX_QUORUMS)
 *   daQuorumSize       members per quorum (default 16, DA.MIN_QUORUM_SIZE..DA.MAX_QUORUM_SIZE)
 *   daPricePerByte     blob fee per byte, token base units (default 10^9: 0.001 DAIOS per MB)
 *   daBaseFee          blob fee per blob (default 0.01 DAIOS)
 *   daTreasuryBps      treasury's share of blob fees, basis points (default 1000)
 *   daChallengeBond    bond of an availability challenge (default 1 DAIOS)
 *   daSlashAmount      stake slashed from a node that leaves a challenge unanswered (default 5 DAIOS)
 *   daChallengerRewardBps  challenger's share of that slash, basis points (default 5000)
 *   minComputeStake    minimum stake of a compute provider, token base units (default 10 DAIOS)
 *   computeProtocolFeeBps  treasury's share of a compute job's price, basis points (default 500,
 *                      at most ComputeMarket.MAX_PROTOCOL_FEE_BPS)
 *   computeCollateralBps   a claim's collateral in basis points of the job's price (default 20000: twice
 *                      the price, at most ComputeMarket.MAX_COLLATERAL_BPS)
 *   computeMinCollateral   least collateral of a claim (default 1 DAIOS)
 *   computeReporterBps     share of a late provider's slashed collateral paid to whoever expires the job,
 *                      basis points (default 2000; the client gets the rest)
 *   computeMinJobDuration  least seconds between posting a job and its deadline (default 10)
 *   computeMaxJobDuration  most seconds between posting a job and its deadline (default 7 days)
 *   minMemoryStake     minimum stake of a memory node, token base units (default 10 DAIOS)
 *   memoryStreamCollateral  stake a memory node locks per stream it serves (default 5 DAIOS)
 *   memoryCheckpointWindow  seconds after a write receipt by which a checkpoint must cover it, or the node
 *                      can be slashed (default 3600, at most MemoryRegistry.MAX_CHECKPOINT_WINDOW)
 *   memoryReporterBps  share of a slashed stream collateral paid to whoever proves the fault, basis points
 *                      (default 2000; the stream's owner gets the rest)
 *
 * The storage market takes its challenge randomness from the RandomnessBeacon, fed by the `beacon`
 * agent role (drand's rounds on a public chain; the devnet signer's on the devnet, whose deploy step
 * passes the devnet key and the chain's time as genesis).
 *
 * Compute: ModelRegistry (owned by the deployer: it acknowledges enclave keys), the generated
 * DigitsVerifier of the digits model's circuit (models register their verifier in the registry), and
 * ComputeMarket, authorised in the provider registry as the compute layer (it locks and slashes compute
 * stake). The owner is the protocol treasury, as for DA fees.
 *
 * Memory: MemoryRegistry (agent memory streams: checkpoints of their sparse-Merkle roots, payment escrow,
 * slashing of memory nodes that break a signed receipt), authorised in the provider registry as the memory
 * layer (it locks and slashes memory stake), owned by the treasury.
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { EVMNET, publicKeyForContract } from "../../../agents/src/sdk/beacon/networks.js";

const evmnetKey = publicKeyForContract(EVMNET.publicKey);

export default buildModule("Daios", (m) => {
  const owner = m.getAccount(0);
  const unbondingDelay = m.getParameter("unbondingDelay", 7n * 24n * 3600n);
  const minStorageStake = m.getParameter("minStorageStake", 10n * 10n ** 18n);
  const collateralPeriods = m.getParameter("collateralPeriods", 10n);
  const beaconPublicKey = m.getParameter("beaconPublicKey", [evmnetKey.x1, evmnetKey.x0, evmnetKey.y1, evmnetKey.y0]);
  const beaconGenesis = m.getParameter("beaconGenesis", BigInt(EVMNET.genesis));
  const beaconPeriod = m.getParameter("beaconPeriod", BigInt(EVMNET.period));
  const minDaStake = m.getParameter("minDaStake", 10n * 10n ** 18n);
  const daQuorumCount = m.getParameter("daQuorumCount", 1n);
  const daQuorumSize = m.getParameter("daQuorumSize", 16n);
  const daConfig = {
    pricePerByte: m.getParameter("daPricePerByte", 10n ** 9n),
    baseFee: m.getParameter("daBaseFee", 10n ** 16n),
    treasuryBps: m.getParameter("daTreasuryBps", 1_000n),
    challengeBond: m.getParameter("daChallengeBond", 10n ** 18n),
    slashAmount: m.getParameter("daSlashAmount", 5n * 10n ** 18n),
    challengerRewardBps: m.getParameter("daChallengerRewardBps", 5_000n),
  };

  const minComputeStake = m.getParameter("minComputeStake", 10n * 10n ** 18n);
  const computeConfig = {
    protocolFeeBps: m.getParameter("computeProtocolFeeBps", 500n),
    collateralBps: m.getParameter("computeCollateralBps", 20_000n),
    minCollateral: m.getParameter("computeMinCollateral", 10n ** 18n),
    reporterBps: m.getParameter("computeReporterBps", 2_000n),
    minJobDuration: m.getParameter("computeMinJobDuration", 10n),
    maxJobDuration: m.getParameter("computeMaxJobDuration", 7n * 24n * 3600n),
  };

  const minMemoryStake = m.getParameter("minMemoryStake", 10n * 10n ** 18n);
  const memoryConfig = {
    streamCollateral: m.getParameter("memoryStreamCollateral", 5n * 10n ** 18n),
    checkpointWindow: m.getParameter("memoryCheckpointWindow", 3_600n),
    reporterBps: m.getParameter("memoryReporterBps", 2_000n),
  };

  const token = m.contract("DaiosToken", [owner]);
  const registry = m.contract("ProviderRegistry", [token, owner, unbondingDelay]);
  const storageRole = m.staticCall(registry, "STORAGE_ROLE");
  m.call(registry, "setMinStake", [storageRole, minStorageStake]);
  const beacon = m.contract("RandomnessBeacon", [beaconPublicKey, beaconGenesis, beaconPeriod]);
  const verifier = m.contract("PoRAVerifier");
  const market = m.contract("StorageMarket", [token, registry, verifier, beacon, owner, collateralPeriods]);


  // Data availability: quorums sampled from the same beacon; blobs certified by BLS quorum signatures.
  const daRole = m.staticCall(registry, "DA_ROLE");
  m.call(registry, "setMinStake", [daRole, minDaStake], { id: "setMinStakeDA" });
  const daRegistry = m.contract("DARegistry", [registry, beacon, daQuorumCount, daQuorumSize]);
  const daBlobs = m.contract("DABlobs", [registry, daRegistry, owner, daConfig]);
  m.call(registry, "setLayer", [daBlobs, daRole, true], { id: "setLayerDABlobs" });

  // Compute: models, the digits verifier, and the market that locks and slashes compute stake.
  const computeRole = m.staticCall(registry, "COMPUTE_ROLE");
  m.call(registry, "setMinStake", [computeRole, minComputeStake], { id: "setMinStakeCompute" });
  const modelRegistry = m.contract("ModelRegistry", [owner]);
  const digitsVerifier = m.contract("DigitsVerifier");
  const computeMarket = m.contract("ComputeMarket", [token, registry, modelRegistry, market, owner, computeConfig]);
  m.call(registry, "setLayer", [computeMarket, computeRole, true], { id: "setLayerComputeMarket" });

  // Memory: streams served by memory nodes, whose stake the registry locks and slashes.
  const memoryRole = m.staticCall(registry, "MEMORY_ROLE");
  m.call(registry, "setMinStake", [memoryRole, minMemoryStake], { id: "setMinStakeMemory" });
  const memoryRegistry = m.contract("MemoryRegistry", [token, registry, owner, memoryConfig]);
  m.call(registry, "setLayer", [memoryRegistry, memoryRole, true], { id: "setLayerMemoryRegistry" });

  return { token, registry, beacon, verifier, market, daRegistry, daBlobs, modelRegistry, digitsVerifier, computeMarket, memoryRegistry };
});
