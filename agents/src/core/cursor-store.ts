// Cursor store: where a chain watcher remembers how far it got.
//
// For every (chain, contract, consumer name) Redis holds
//   daios:cursor:<chainId>:<contractLowercase>:<name>        JSON {"block":N,"hash":"0x…"|null}
//   daios:cursor:<chainId>:<contractLowercase>:<name>:ring   sorted set of recently processed blocks
//                                                            (score = block, member = "<block>:<hash>")
// The cursor is the last block whose events were FULLY handled, never the head. The ring keeps the
// hashes of the last `ringSize` processed blocks so that, after a reorg, the watcher can walk back
// to the newest block that is still canonical. Every write (cursor + ring, for one or several
// contracts) happens in one Lua script, so readers never see a cursor without its ring entry and a
// failed expectation leaves every key untouched.

import type { Redis } from "ioredis";

import { DaiosError } from "./errors.js";

/** A processed block: its number and hash. `hash` is null only for a start position not yet verified. */
export interface Cursor {
  block: number;
  hash: string | null;
}

/** A block reference stored in the ring (hash is always known there). */
export interface BlockRef {
  block: number;
  hash: string;
}

/** Identifies one cursor. `contract` is any-case hex; it is lower-cased in the key. */
export interface CursorKey {
  chainId: bigint | number | string;
  contract: string;
  name: string;
}

/** One cursor write inside an atomic `commit`. */
export interface CursorUpdate {
  key: CursorKey;
  /** New cursor. */
  cursor: Cursor;
  /** "advance" (default) moves forward or sideways; "rewind" refuses to move forward. */
  mode?: "advance" | "rewind";
  /** Blocks to add to the ring (the cursor block is added automatically when its hash is known). */
  processed?: BlockRef[];
  /**
   * Compare-and-set guard: `undefined` = no check, `null` = the cursor must not exist yet,
   * a Cursor = the stored cursor must equal it (block and hash).
   */
  expect?: Cursor | null;
}

export interface CursorStoreOptions {
  /** Key prefix; the house format is "daios". Tests may use another to stay out of the way. */
  prefix?: string;
  /** How many recent processed blocks to keep per cursor for reorg detection. */
  ringSize?: number;
}

/** Thrown when a compare-and-set expectation does not hold (another writer moved the cursor). */
export class CursorConflictError extends DaiosError {
  constructor(
    readonly key: string,
    readonly expected: Cursor | null,
    readonly actual: Cursor | null,
  ) {
    super(`cursor ${key} was expected to be ${formatCursor(expected)} but is ${formatCursor(actual)}`, {
      hint: "another watcher with the same name is probably running: give each consumer its own name",
    });
  }
}

/** Thrown by a "rewind" update that would move the cursor forward. */
export class CursorRewindError extends DaiosError {
  constructor(
    readonly key: string,
    readonly to: Cursor,
    readonly actual: Cursor | null,
  ) {
    super(`cannot rewind cursor ${key} forward to block ${to.block}: it is at ${formatCursor(actual)}`, {
      hint: "use set() to advance a cursor; rewind() only moves it back",
    });
  }
}

function formatCursor(c: Cursor | null): string {
  return c === null ? "absent" : `block ${c.block} (${c.hash ?? "hash unknown"})`;
}

const NAME_RE = /^[A-Za-z0-9_.-]{1,100}$/;
const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;
const HASH_RE = /^0x[0-9a-fA-F]{64}$/;

// KEYS: cursorKey_1, ringKey_1, cursorKey_2, ringKey_2, …
// ARGV[1] = ring size; then per update i (0-based), 6 values starting at 2 + 6*i:
//   expectMode ("any" | "absent" | "equal"), expectBlock, expectHash ("" = null),
//   mode ("advance" | "rewind"), new cursor JSON, ring entries "block:hash,block:hash" ("" = none)
// Checks every update first and writes nothing unless all pass.
// Returns {0} on success, or {1, index, currentJson} for a failed expectation,
// or {2, index, currentJson} for a rewind that would move forward.
const COMMIT_SCRIPT = `
local ringSize = tonumber(ARGV[1])
local n = #KEYS / 2
for i = 0, n - 1 do
  local base = 2 + 6 * i
  local current = redis.call('GET', KEYS[2 * i + 1])
  local expectMode = ARGV[base]
  if expectMode == 'absent' then
    if current then return {1, i, current} end
  elseif expectMode == 'equal' then
    if not current then return {1, i, ''} end
    local c = cjson.decode(current)
    local h = c.hash
    if h == cjson.null or h == nil then h = '' end
    if tostring(c.block) ~= ARGV[base + 1] or h ~= ARGV[base + 2] then return {1, i, current} end
  end
  if ARGV[base + 3] == 'rewind' and current then
    local c = cjson.decode(current)
    local newC = cjson.decode(ARGV[base + 4])
    if tonumber(newC.block) > tonumber(c.block) then return {2, i, current} end
  end
end
for i = 0, n - 1 do
  local base = 2 + 6 * i
  local cursorKey = KEYS[2 * i + 1]
  local ringKey = KEYS[2 * i + 2]
  local newC = cjson.decode(ARGV[base + 4])
  local newBlock = tonumber(newC.block)
  redis.call('SET', cursorKey, ARGV[base + 4])
  redis.call('ZREMRANGEBYSCORE', ringKey, '(' .. newBlock, '+inf')
  local entries = ARGV[base + 5]
  if entries ~= '' then
    for entry in string.gmatch(entries, '[^,]+') do
      local sep = string.find(entry, ':', 1, true)
      local b = tonumber(string.sub(entry, 1, sep - 1))
      if b <= newBlock then
        redis.call('ZREMRANGEBYSCORE', ringKey, b, b)
        redis.call('ZADD', ringKey, b, entry)
      end
    end
  end
  if ringSize > 0 then
    redis.call('ZREMRANGEBYRANK', ringKey, 0, -(ringSize + 1))
  end
end
return {0}
`;

/** Cursor persistence over one ioredis connection. Safe to share between watchers. */
export class CursorStore {
  readonly prefix: string;
  readonly ringSize: number;

  constructor(
    private readonly redis: Redis,
    options: CursorStoreOptions = {},
  ) {
    this.prefix = options.prefix ?? "daios";
    this.ringSize = options.ringSize ?? 128;
    if (!/^[A-Za-z0-9_.-]+$/.test(this.prefix)) {
      throw new Error(`cursor store prefix ${JSON.stringify(this.prefix)} must match [A-Za-z0-9_.-]+`);
    }
    if (!Number.isInteger(this.ringSize) || this.ringSize < 1 || this.ringSize > 10_000) {
      throw new Error(`cursor store ringSize ${this.ringSize} must be an integer between 1 and 10000`);
    }
  }

  /** The Redis key of a cursor: `<prefix>:cursor:<chainId>:<contractLowercase>:<name>`. */
  key(k: CursorKey): string {
    const chainId = String(k.chainId);
    if (!/^[0-9]+$/.test(chainId)) throw new Error(`cursor chainId ${chainId} must be a decimal integer`);
    if (!ADDRESS_RE.test(k.contract)) {
      throw new Error(`cursor contract ${JSON.stringify(k.contract)} must be a 0x-prefixed 20-byte address`);
    }
    if (!NAME_RE.test(k.name)) {
      throw new Error(`cursor name ${JSON.stringify(k.name)} must match [A-Za-z0-9_.-]{1,100}`);
    }
    return `${this.prefix}:cursor:${chainId}:${k.contract.toLowerCase()}:${k.name}`;
  }

  /** The Redis key of a cursor's ring of recent processed blocks. */
  ringKey(k: CursorKey): string {
    return `${this.key(k)}:ring`;
  }

  /** The stored cursor, or null when this consumer never processed anything. */
  async get(k: CursorKey): Promise<Cursor | null> {
    const raw = await this.redis.get(this.key(k));
    return raw === null ? null : parseCursor(raw, this.key(k));
  }

  /** Recently processed blocks, newest first (at most `limit`, default the whole ring). */
  async recent(k: CursorKey, limit = this.ringSize): Promise<BlockRef[]> {
    const members = await this.redis.zrevrange(this.ringKey(k), 0, Math.max(0, limit - 1));
    return members.map((m) => parseRingEntry(m, this.ringKey(k)));
  }

  /** Advances (or moves) one cursor and records processed blocks in its ring, atomically. */
  async set(k: CursorKey, cursor: Cursor, options: { processed?: BlockRef[]; expect?: Cursor | null } = {}): Promise<void> {
    await this.commit([{ key: k, cursor, processed: options.processed, expect: options.expect, mode: "advance" }]);
  }

  /** Moves a cursor back to `to` (never forward) and forgets ring entries above it, atomically. */
  async rewind(k: CursorKey, to: Cursor, options: { expect?: Cursor | null } = {}): Promise<void> {
    await this.commit([{ key: k, cursor: to, expect: options.expect, mode: "rewind" }]);
  }

  /** Applies several cursor updates in one atomic step: all of them or none. */
  async commit(updates: CursorUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    const keys: string[] = [];
    const args: string[] = [String(this.ringSize)];
    for (const u of updates) {
      validateCursor(u.cursor);
      const cursorKey = this.key(u.key);
      keys.push(cursorKey, `${cursorKey}:ring`);
      if (u.expect === undefined) args.push("any", "", "");
      else if (u.expect === null) args.push("absent", "", "");
      else args.push("equal", String(u.expect.block), u.expect.hash ?? "");
      args.push(u.mode ?? "advance", serializeCursor(u.cursor));
      const entries = new Map<number, string>();
      for (const p of u.processed ?? []) {
        validateRef(p);
        if (p.block <= u.cursor.block) entries.set(p.block, p.hash.toLowerCase());
      }
      if (u.cursor.hash !== null) entries.set(u.cursor.block, u.cursor.hash.toLowerCase());
      args.push(
        [...entries.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([block, hash]) => `${block}:${hash}`)
          .join(","),
      );
    }
    const reply = (await this.redis.eval(COMMIT_SCRIPT, keys.length, ...keys, ...args)) as [number, number?, string?];
    const [status, index, currentRaw] = reply;
    if (status === 0) return;
    const failed = updates[index ?? 0];
    const key = this.key(failed.key);
    const actual = currentRaw ? parseCursor(currentRaw, key) : null;
    if (status === 1) throw new CursorConflictError(key, failed.expect ?? null, actual);
    throw new CursorRewindError(key, failed.cursor, actual);
  }

  /** Removes a cursor and its ring (e.g. to re-index from the start block). */
  async delete(k: CursorKey): Promise<void> {
    await this.redis.del(this.key(k), this.ringKey(k));
  }
}

function serializeCursor(c: Cursor): string {
  // Fixed field order; hashes lower-case so comparisons are plain string equality.
  return JSON.stringify({ block: c.block, hash: c.hash === null ? null : c.hash.toLowerCase() });
}

function validateCursor(c: Cursor): void {
  if (!Number.isSafeInteger(c.block) || c.block < -1) {
    throw new Error(`cursor block ${c.block} must be an integer ≥ -1`);
  }
  if (c.hash !== null && !HASH_RE.test(c.hash)) {
    throw new Error(`cursor hash ${JSON.stringify(c.hash)} must be a 32-byte 0x-hex block hash or null`);
  }
}

function validateRef(r: BlockRef): void {
  if (!Number.isSafeInteger(r.block) || r.block < 0) throw new Error(`ring block ${r.block} must be an integer ≥ 0`);
  if (!HASH_RE.test(r.hash)) throw new Error(`ring hash ${JSON.stringify(r.hash)} must be a 32-byte 0x-hex block hash`);
}

function parseCursor(raw: string, key: string): Cursor {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error(`cursor ${key} holds ${JSON.stringify(raw)}, which is not JSON; delete the key to re-index`);
  }
  const v = value as { block?: unknown; hash?: unknown };
  if (typeof v.block !== "number" || !(v.hash === null || typeof v.hash === "string")) {
    throw new Error(`cursor ${key} holds ${raw}, expected {"block":number,"hash":string|null}; delete the key to re-index`);
  }
  return { block: v.block, hash: v.hash };
}

function parseRingEntry(member: string, key: string): BlockRef {
  const sep = member.indexOf(":");
  const block = Number(member.slice(0, sep));
  const hash = member.slice(sep + 1);
  if (sep < 1 || !Number.isSafeInteger(block) || !HASH_RE.test(hash)) {
    throw new Error(`ring ${key} holds a malformed entry ${JSON.stringify(member)}; delete the key to re-index`);
  }
  return { block, hash };
}
