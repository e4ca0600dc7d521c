/**
 * Round time of a drand-compatible beacon: round 1 is due at `genesis`, then one round every `period`
 * seconds. The same arithmetic as drand's clients and RandomnessBeacon.roundAt.
 */

export interface RoundClock {
  /** Unix time (seconds) of round 1. */
  genesis: number;
  /** Seconds between rounds. */
  period: number;
}

/** The round due at unix time `t` (seconds): floor((t - genesis) / period) + 1; 0 before genesis. */
export function roundAt(t: number, clock: RoundClock): number {
  if (!Number.isFinite(t)) throw new RangeError(`roundAt needs a finite time, got ${t}`);
  if (t < clock.genesis) return 0;
  return Math.floor((t - clock.genesis) / clock.period) + 1;
}

/** Unix time (seconds) at which `round` is due: genesis + (round - 1) * period. */
export function timeOf(round: number | bigint, clock: RoundClock): number {
  const r = Number(round);
  if (!Number.isSafeInteger(r) || r < 1) throw new RangeError(`a beacon round is a whole number from 1, got ${round}`);
  return clock.genesis + (r - 1) * clock.period;
}
