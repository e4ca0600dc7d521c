import { expect } from "chai";
import { readFileSync } from "node:fs";
import net from "node:net";
import { freePort, portTaken } from "../../../../agents/src/core/ports.js";

function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

describe("agents/core ports", () => {
  it("hands out a port that can be bound, below the kernel's ephemeral range where there is one", async () => {
    const port = await freePort();
    const [ephemeralLow] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    expect(port).to.be.at.least(20_000);
    expect(port).to.be.below(ephemeralLow);
    const server = await listen(port);
    await new Promise((resolve) => server.close(resolve));
  });

  it("does not hand out a port something listens on", async () => {
    const held = await Promise.all(Array.from({ length: 20 }, async () => listen(await freePort())));
    const taken = new Set(held.map((s) => (s.address() as net.AddressInfo).port));
    for (let i = 0; i < 50; i++) expect(taken.has(await freePort())).to.equal(false);
    await Promise.all(held.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  it("recognises a start-up that failed on a taken port", () => {
    expect(portTaken('{"msg":"error: listen EADDRINUSE: address already in use 127.0.0.1:39929"}')).to.equal(true);
    expect(portTaken('{"msg":"error: RPC_URL is not reachable"}')).to.equal(false);
  });
});
