/**
 * Free TCP ports for the processes the devnet and the tests start.
 *
 * A port found by binding port 0 comes from the kernel's ephemeral range, the same range every
 * outgoing connection takes its source port from: between the probe closing it and the child
 * binding it, any HTTP or JSON-RPC request on the machine may take it (CI saw exactly that,
 * EADDRINUSE at a da-node's start). So the probe picks from below the ephemeral range, where
 * only listeners live, and checks the pick by binding it. Callers that start a process on the
 * port still retry with another one when the process reports the port taken.
 */
import { readFileSync } from "node:fs";
import net from "node:net";

/** The lowest port we hand out; below it sit well-known and registered services. */
const LOW = 20_000;

/** The first port of the kernel's ephemeral range (Linux default 32768; others: none known). */
function ephemeralStart(): number | undefined {
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    return Number.isInteger(low) ? low : undefined;
  } catch {
    return undefined;
  }
}

function probe(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once("error", () => resolve(undefined));
    server.listen(port, "127.0.0.1", () => {
      const { port: bound } = server.address() as net.AddressInfo;
      server.close(() => resolve(bound));
    });
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago, outside the ephemeral range where there is room. */
export async function freePort(): Promise<number> {
  const high = ephemeralStart();
  if (high !== undefined && high - LOW >= 1000) {
    for (let attempt = 0; attempt < 20; attempt++) {
      const port = await probe(LOW + Math.floor(Math.random() * (high - LOW)));
      if (port !== undefined) return port;
    }
  }
  const port = await probe(0);
  if (port === undefined) throw new Error("could not bind any TCP port on 127.0.0.1");
  return port;
}

/** Whether a process's start-up output says its listening port was taken. */
export function portTaken(output: string): boolean {
  return /EADDRINUSE/.test(output);
}
