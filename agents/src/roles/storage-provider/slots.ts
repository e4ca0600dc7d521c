/**
 * The replica slots this provider holds, kept in Redis (so a restarted provider goes on proving
 * without rescanning history) and refreshed from the chain.
 */
import type { Redis } from "ioredis";

export interface HeldSlot {
  dealId: bigint;
  slot: bigint;
  dataRoot: bigint;
  startBlock: number;
  /** First period after the deal (exclusive end). */
  endPeriod: number;
}

interface Stored {
  dealId: string;
  slot: string;
  dataRoot: string;
  startBlock: number;
  endPeriod: number;
}

export class SlotBook {
  private readonly slots = new Map<string, HeldSlot>();
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    namespace: string,
    provider: string,
  ) {
    this.key = `${namespace}:storage-provider:${provider.toLowerCase()}:slots`;
  }

  static id(dealId: bigint, slot: bigint): string {
    return `${dealId}-${slot}`;
  }

  async load(): Promise<HeldSlot[]> {
    const all = await this.redis.hgetall(this.key);
    for (const [id, json] of Object.entries(all)) {
      const s = JSON.parse(json) as Stored;
      this.slots.set(id, { dealId: BigInt(s.dealId), slot: BigInt(s.slot), dataRoot: BigInt(s.dataRoot), startBlock: s.startBlock, endPeriod: s.endPeriod });
    }
    return this.list();
  }

  list(): HeldSlot[] {
    return [...this.slots.values()];
  }

  holdsDeal(dealId: bigint): boolean {
    return this.list().some((s) => s.dealId === dealId);
  }

  async add(slot: HeldSlot): Promise<void> {
    const id = SlotBook.id(slot.dealId, slot.slot);
    this.slots.set(id, slot);
    const stored: Stored = { dealId: slot.dealId.toString(), slot: slot.slot.toString(), dataRoot: slot.dataRoot.toString(), startBlock: slot.startBlock, endPeriod: slot.endPeriod };
    await this.redis.hset(this.key, id, JSON.stringify(stored));
  }

  async remove(dealId: bigint, slot: bigint): Promise<void> {
    const id = SlotBook.id(dealId, slot);
    this.slots.delete(id);
    await this.redis.hdel(this.key, id);
  }

  async setEnd(dealId: bigint, endPeriod: number): Promise<void> {
    for (const s of this.list()) if (s.dealId === dealId) await this.add({ ...s, endPeriod });
  }
}
