import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import {
  CursorConflictError,
  CursorRewindError,
  CursorStore,
  type CursorKey,
} from "../../../../agents/src/core/cursor-store.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

function hash(n: number): string {
  return `0x${n.toString(16).padStart(64, "0")}`;
}

function randomAddress(): string {
  return `0x${randomBytes(20).toString("hex")}`;
}

describe("agents/core CursorStore (real Redis)", function () {
  this.timeout(60_000);
  let redis: Redis;
  let store: CursorStore;
  const runId = randomBytes(4).toString("hex");
  let counter = 0;
  const created: CursorKey[] = [];

  /** A key unique to this run and test, removed in `after`. */
  function freshKey(overrides: Partial<CursorKey> = {}): CursorKey {
    const key = { chainId: 31337n, contract: randomAddress(), name: `test-${runId}-${counter++}`, ...overrides };
    created.push(key);
    return key;
  }

  before(async function () {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2, lazyConnect: true });
    await redis.connect();
    store = new CursorStore(redis, { ringSize: 8 });
  });

  after(async function () {
    for (const k of created) await store.delete(k);
    await redis.quit();
  });

  it("stores the cursor as JSON under daios:cursor:<chainId>:<contractLowercase>:<name>", async function () {
    const contract = "0xAbCdEf0123456789aBcDeF0123456789ABCDEF01";
    const key = freshKey({ chainId: 8453, contract });
    await store.set(key, { block: 42, hash: hash(42) });
    const redisKey = `daios:cursor:8453:${contract.toLowerCase()}:${key.name}`;
    expect(store.key(key)).to.equal(redisKey);
    expect(JSON.parse((await redis.get(redisKey)) as string)).to.deep.equal({ block: 42, hash: hash(42) });
    expect(await redis.zrange(`${redisKey}:ring`, 0, "-1")).to.deep.equal([`42:${hash(42)}`]);
  });

  it("returns null for a cursor never written, then what set wrote", async function () {
    const key = freshKey();
    expect(await store.get(key)).to.equal(null);
    await store.set(key, { block: 10, hash: hash(10) });
    expect(await store.get(key)).to.deep.equal({ block: 10, hash: hash(10) });
    await store.set(key, { block: 15, hash: hash(15) }, { processed: [{ block: 12, hash: hash(12) }] });
    expect(await store.get(key)).to.deep.equal({ block: 15, hash: hash(15) });
    expect(await store.recent(key)).to.deep.equal([
      { block: 15, hash: hash(15) },
      { block: 12, hash: hash(12) },
      { block: 10, hash: hash(10) },
    ]);
  });

  it("keeps only the newest ringSize blocks in the ring", async function () {
    const key = freshKey();
    for (let b = 1; b <= 20; b++) await store.set(key, { block: b, hash: hash(b) });
    const ring = await store.recent(key);
    expect(ring.map((r) => r.block)).to.deep.equal([20, 19, 18, 17, 16, 15, 14, 13]);
    expect(await store.recent(key, 3)).to.deep.equal([20, 19, 18].map((b) => ({ block: b, hash: hash(b) })));
  });

  it("rewinds: moves the cursor back and drops ring entries above it; refuses to move forward", async function () {
    const key = freshKey();
    for (let b = 1; b <= 6; b++) await store.set(key, { block: b, hash: hash(b) });
    await store.rewind(key, { block: 3, hash: hash(3) });
    expect(await store.get(key)).to.deep.equal({ block: 3, hash: hash(3) });
    expect((await store.recent(key)).map((r) => r.block)).to.deep.equal([3, 2, 1]);

    // A new block 4 on the new chain replaces nothing stale.
    await store.set(key, { block: 4, hash: hash(404) });
    expect(await store.recent(key, 2)).to.deep.equal([
      { block: 4, hash: hash(404) },
      { block: 3, hash: hash(3) },
    ]);

    const error = await store.rewind(key, { block: 9, hash: hash(9) }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(CursorRewindError);
    expect(await store.get(key)).to.deep.equal({ block: 4, hash: hash(404) });

    // Rewinding below everything known (hash unknown) empties the ring.
    await store.rewind(key, { block: 0, hash: null });
    expect(await store.get(key)).to.deep.equal({ block: 0, hash: null });
    expect(await store.recent(key)).to.deep.equal([]);
  });

  it("a set with a failed expectation writes nothing (compare-and-set)", async function () {
    const key = freshKey();
    await store.set(key, { block: 5, hash: hash(5) }, { expect: null });
    const conflict = await store
      .set(key, { block: 9, hash: hash(9) }, { expect: null })
      .catch((e: unknown) => e);
    expect(conflict).to.be.instanceOf(CursorConflictError);
    expect((conflict as CursorConflictError).actual).to.deep.equal({ block: 5, hash: hash(5) });
    const stale = await store
      .set(key, { block: 9, hash: hash(9) }, { expect: { block: 4, hash: hash(4) } })
      .catch((e: unknown) => e);
    expect(stale).to.be.instanceOf(CursorConflictError);
    expect(await store.get(key)).to.deep.equal({ block: 5, hash: hash(5) });
    expect((await store.recent(key)).map((r) => r.block)).to.deep.equal([5]);
    await store.set(key, { block: 9, hash: hash(9) }, { expect: { block: 5, hash: hash(5) } });
    expect(await store.get(key)).to.deep.equal({ block: 9, hash: hash(9) });
  });

  it("a multi-contract commit is all-or-nothing", async function () {
    const a = freshKey();
    const b = freshKey();
    await store.set(a, { block: 7, hash: hash(7) });
    await store.set(b, { block: 7, hash: hash(7) });
    const error = await store
      .commit([
        { key: a, cursor: { block: 9, hash: hash(9) }, expect: { block: 7, hash: hash(7) } },
        { key: b, cursor: { block: 9, hash: hash(9) }, expect: { block: 6, hash: hash(6) } },
      ])
      .catch((e: unknown) => e);
    expect(error).to.be.instanceOf(CursorConflictError);
    expect(await store.get(a)).to.deep.equal({ block: 7, hash: hash(7) });
    expect((await store.recent(a)).map((r) => r.block)).to.deep.equal([7]);

    await store.commit([
      { key: a, cursor: { block: 9, hash: hash(9) }, expect: { block: 7, hash: hash(7) } },
      { key: b, cursor: { block: 9, hash: hash(9) }, expect: { block: 7, hash: hash(7) } },
    ]);
    expect(await store.get(a)).to.deep.equal({ block: 9, hash: hash(9) });
    expect(await store.get(b)).to.deep.equal({ block: 9, hash: hash(9) });
  });

  it("cursor and ring stay consistent under concurrent writers on separate connections", async function () {
    const key = freshKey();
    const clients = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const c = new Redis(REDIS_URL, { lazyConnect: true });
        await c.connect();
        return c;
      }),
    );
    try {
      const stores = clients.map((c) => new CursorStore(c, { ringSize: 8 }));
      const writes: Promise<void>[] = [];
      for (let round = 0; round < 40; round++) {
        stores.forEach((s, i) => {
          const block = 1000 + ((round * 7 + i * 13) % 50);
          const h = hash(block * 10 + i);
          const op =
            (round + i) % 5 === 0
              ? s.rewind(key, { block, hash: h }).catch((e: unknown) => {
                  if (!(e instanceof CursorRewindError)) throw e;
                })
              : s.set(key, { block, hash: h }, { processed: [{ block: block - 1, hash: hash(block - 1) }] });
          writes.push(op);
        });
      }
      await Promise.all(writes);
      // Whatever order the writes landed in, the ring's newest entry is exactly the cursor and
      // nothing in the ring lies above it: each write replaced both together.
      const cursor = await store.get(key);
      const ring = await store.recent(key);
      expect(cursor).to.not.equal(null);
      expect(ring[0]).to.deep.equal(cursor);
      expect(ring.every((r) => r.block <= (cursor as { block: number }).block)).to.equal(true);
      expect(ring.length).to.be.at.most(8);
    } finally {
      await Promise.all(clients.map((c) => c.quit()));
    }
  });

  it("isolates cursors by chain, contract and name", async function () {
    const contract = randomAddress();
    const base = freshKey({ contract });
    const otherChain = freshKey({ contract, name: base.name, chainId: 1 });
    const otherContract = freshKey({ name: base.name });
    const otherName = freshKey({ contract });
    await store.set(base, { block: 100, hash: hash(100) });
    await store.set(otherChain, { block: 200, hash: hash(200) });
    await store.set(otherContract, { block: 300, hash: hash(300) });
    await store.set(otherName, { block: 400, hash: hash(400) });
    await store.rewind(base, { block: 50, hash: hash(50) });
    expect(await store.get(base)).to.deep.equal({ block: 50, hash: hash(50) });
    expect(await store.get(otherChain)).to.deep.equal({ block: 200, hash: hash(200) });
    expect(await store.get(otherContract)).to.deep.equal({ block: 300, hash: hash(300) });
    expect(await store.get(otherName)).to.deep.equal({ block: 400, hash: hash(400) });
    expect((await store.recent(otherChain)).map((r) => r.block)).to.deep.equal([200]);
    // Address case does not matter.
    expect(await store.get({ ...base, contract: contract.toUpperCase().replace("0X", "0x") })).to.deep.equal({
      block: 50,
      hash: hash(50),
    });
  });

  it("rejects malformed keys and cursors with a clear message", async function () {
    expect(() => store.key({ chainId: 1, contract: "0x1234", name: "x" })).to.throw(/20-byte address/);
    expect(() => store.key({ chainId: 1, contract: randomAddress(), name: "a:b" })).to.throw(/name/);
    const error = await store.set(freshKey(), { block: 1, hash: "0xabc" }).catch((e: unknown) => e);
    expect((error as Error).message).to.match(/32-byte/);
  });
});
