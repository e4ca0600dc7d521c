/** Prometheus metrics of the da-node role (served with the shared ones on METRICS_PORT). */
import { Counter, Histogram, type Registry } from "prom-client";

export interface DaNodeMetrics {
  /** Shards checked against their root and stored (and signed). */
  readonly shardsStored: Counter;
  /** Shard uploads refused, by reason (unknown-blob, not-member, bad-length, bad-proof, closed, bad-request). */
  readonly shardsRejected: Counter<"reason">;
  /** Bytes of stored shards. */
  readonly bytesStored: Counter;
  /** Reads served, by kind (shard | chunk). */
  readonly served: Counter<"kind">;
  /** Time from the end of an upload's body to the signature, seconds. */
  readonly signDuration: Histogram;
  /** Availability challenges against this node, by outcome (answered | unanswerable | expired). */
  readonly challenges: Counter<"outcome">;
  /** Epoch samplings this node sent. */
  readonly epochsSampled: Counter;
  /** Fee claims sent and the blobs they covered. */
  readonly feeClaims: Counter;
  readonly blobsClaimed: Counter;
}

export function daNodeMetrics(registry: Registry): DaNodeMetrics {
  const registers = [registry];
  return {
    shardsStored: new Counter({ name: "daios_da_shards_stored_total", help: "Shards verified against their root, stored and signed", registers }),
    shardsRejected: new Counter({ name: "daios_da_shards_rejected_total", help: "Shard uploads refused, by reason", labelNames: ["reason"], registers }),
    bytesStored: new Counter({ name: "daios_da_bytes_stored_total", help: "Bytes of shards stored", registers }),
    served: new Counter({ name: "daios_da_reads_served_total", help: "Shards and chunks served", labelNames: ["kind"], registers }),
    signDuration: new Histogram({
      name: "daios_da_store_and_sign_seconds",
      help: "Time to check a shard, store it durably and sign",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    challenges: new Counter({ name: "daios_da_challenges_total", help: "Availability challenges against this node, by outcome", labelNames: ["outcome"], registers }),
    epochsSampled: new Counter({ name: "daios_da_epochs_sampled_total", help: "sampleEpoch transactions sent by this node", registers }),
    feeClaims: new Counter({ name: "daios_da_fee_claims_total", help: "claimFees transactions sent", registers }),
    blobsClaimed: new Counter({ name: "daios_da_blobs_claimed_total", help: "Blobs whose fee share was claimed", registers }),
  };
}
