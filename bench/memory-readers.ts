/**
 * Worker thread of the memory benchmark (bench/memory.ts): the readers of the mixed load, in a thread of
 * their own as they would be separate agents, so that they do not wait on the writer's event loop.
 * `kind` "daios": MemoryClient.get(key, { verify: false }) against the memory node; "redis": GET.
 * Protocol: posts "ready" once connected; on { until } (a Date.now() deadline) runs `readers` loops until
 * then and posts { gets }.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Redis } from "ioredis";
import { MemoryClient } from "../agents/src/sdk/memory/client.js";

/** What bench/memory.ts gives the reader thread. */
export interface ReaderData {
  kind: "daios" | "redis";
  nodeUrl: string;
  stream: string;
  redisUrl: string;
  chainId: string;
  registry: string;
  entries: number;
  readers: number;
}

const data = workerData as ReaderData;
const port = parentPort;
if (!port) throw new Error("bench/memory-readers.ts runs as a worker thread of bench/memory.ts");
const key = (i: number) => `bench/${String(i).padStart(6, "0")}`;
const redis = data.kind === "redis" ? new Redis(data.redisUrl, { maxRetriesPerRequest: 1 }) : undefined;
const client = data.kind === "daios" ? new MemoryClient({ nodeUrl: data.nodeUrl, stream: BigInt(data.stream), chainId: BigInt(data.chainId), registry: data.registry }) : undefined;
const read = async (k: string) => {
  if (redis) await redis.get(k);
  else await client?.get(k, { verify: false });
};
await read(key(0));
port.on("message", (message: { until: number }) => {
  let gets = 0;
  void Promise.all(
    Array.from({ length: data.readers }, async () => {
      while (Date.now() < message.until) {
        await read(key(Math.floor(Math.random() * data.entries)));
        gets++;
      }
    }),
  ).then(() => {
    redis?.disconnect();
    port.postMessage({ gets });
  });
});
port.postMessage("ready");
