/**
 * What the memory node knows of the chain's streams and writer sets, kept current without restarts.
 *
 * A stream or a (stream, writer) pair seen for the first time is read from the MemoryRegistry
 * (getStream, isWriter) and cached; the role's chain watcher then feeds every StreamCreated,
 * WriterGranted, WriterRevoked, StreamClosed and StreamSlashed event to `apply`, which updates the
 * cache, so a revocation takes effect as soon as the watcher sees it. A read that started before an
 * event about the same entry does not overwrite what the event set. Unknown stream ids are
 * remembered for a short while only (a stream may be created a moment later).
 */
import { getAddress } from "ethers";
import type { ChainEvent } from "../../core/chain-watcher.js";
import type { MemoryAuthority, StreamView } from "./http-api.js";

const STATUS = ["None", "Active", "Closed", "Slashed"] as const;

/** The MemoryRegistry calls this needs (a TypeChain MemoryRegistry fits). */
export interface MemoryRegistryReader {
  streamCount(): Promise<bigint>;
  getStream(stream: bigint): Promise<{ node: string; status: bigint }>;
  isWriter(stream: bigint, account: string): Promise<boolean>;
}

export interface ChainAuthorityOptions {
  registry: MemoryRegistryReader;
  /** The registered endpoint of a memory node, for the hint of a request sent to the wrong node. */
  endpointOf?: (node: string) => Promise<string | undefined>;
  /** How long an unknown stream id is remembered as unknown (default 2 s). */
  unknownTtlMs?: number;
}

/** The events `apply` handles. */
export const AUTHORITY_EVENTS = ["StreamCreated", "WriterGranted", "WriterRevoked", "StreamClosed", "StreamSlashed"];

export class ChainAuthority implements MemoryAuthority {
  private readonly streams = new Map<bigint, StreamView>();
  private readonly unknown = new Map<bigint, number>();
  private readonly writers = new Map<string, boolean>();
  /** Bumped by every event about an entry: a read started before it must not overwrite it. */
  private readonly generation = new Map<string, number>();

  constructor(private readonly options: ChainAuthorityOptions) {}

  private gen(key: string): number {
    return this.generation.get(key) ?? 0;
  }

  private bump(key: string): void {
    this.generation.set(key, this.gen(key) + 1);
  }

  async stream(stream: bigint): Promise<StreamView | undefined> {
    const cached = this.streams.get(stream);
    if (cached) return cached;
    const until = this.unknown.get(stream);
    if (until !== undefined && until > Date.now()) return undefined;
    const key = `s${stream}`;
    const before = this.gen(key);
    if (stream < 1n || stream > (await this.options.registry.streamCount())) {
      this.unknown.set(stream, Date.now() + (this.options.unknownTtlMs ?? 2000));
      return undefined;
    }
    const info = await this.options.registry.getStream(stream);
    const view: StreamView = { node: getAddress(info.node), status: statusName(info.status) };
    view.endpoint = await this.options.endpointOf?.(view.node).catch(() => undefined);
    if (this.gen(key) === before) this.streams.set(stream, view);
    this.unknown.delete(stream);
    return this.streams.get(stream) ?? view;
  }

  async isWriter(stream: bigint, account: string): Promise<boolean> {
    const key = `w${stream}:${getAddress(account)}`;
    const cached = this.writers.get(key);
    if (cached !== undefined) return cached && (await this.stream(stream))?.status === "Active";
    const before = this.gen(key);
    const allowed = await this.options.registry.isWriter(stream, getAddress(account));
    if (this.gen(key) === before) this.writers.set(key, allowed);
    return this.writers.get(key) ?? allowed;
  }

  /** Updates the cache from one MemoryRegistry event (idempotent; events arrive in chain order). */
  async apply(event: ChainEvent): Promise<void> {
    const stream = event.args.stream as bigint;
    switch (event.name) {
      case "StreamCreated": {
        const node = getAddress(event.args.node as string);
        this.bump(`s${stream}`);
        this.unknown.delete(stream);
        const previous = this.streams.get(stream);
        this.streams.set(stream, { node, status: previous?.status === "Closed" || previous?.status === "Slashed" ? previous.status : "Active", endpoint: previous?.endpoint ?? (await this.options.endpointOf?.(node).catch(() => undefined)) });
        return;
      }
      case "WriterGranted":
      case "WriterRevoked": {
        const key = `w${stream}:${getAddress(event.args.writer as string)}`;
        this.bump(key);
        this.writers.set(key, event.name === "WriterGranted");
        return;
      }
      case "StreamClosed":
      case "StreamSlashed": {
        this.bump(`s${stream}`);
        const previous = this.streams.get(stream);
        if (previous) this.streams.set(stream, { ...previous, status: event.name === "StreamClosed" ? "Closed" : "Slashed" });
        else this.streams.delete(stream); // read again on first use
        return;
      }
      default:
        return;
    }
  }
}

function statusName(status: bigint): StreamView["status"] {
  const name = STATUS[Number(status)];
  return name === "Closed" || name === "Slashed" ? name : "Active";
}
