/**
 * The da-node role refuses to start without a usable BLS secret key and says which variable to fix and
 * how (configuration is checked before anything connects, so no chain is needed).
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { PROJECT_ROOT } from "../../../../agents/src/core/config.js";
import { GROUP_ORDER } from "../../../../agents/src/sdk/bls/index.js";

const run = promisify(execFile);

async function startRole(env: Record<string, string>) {
  return run(process.execPath, ["--import", "tsx", path.join(PROJECT_ROOT, "agents/src/index.ts"), "--role", "da-node"], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", PRIVATE_KEY: `0x${"11".repeat(32)}`, RPC_URL: "http://127.0.0.1:9", ...env },
    timeout: 60_000,
  }).then(
    () => ({ code: 0, output: "" }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, output: `${e.stdout}${e.stderr}` }),
  );
}

describe("da-node configuration", function () {
  this.timeout(120_000);

  it("names DA_BLS_SECRET_KEY when it is missing, malformed or not a BN254 scalar, and never prints it", async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /DA_BLS_SECRET_KEY is not set: set DA_BLS_SECRET_KEY to 0x followed by 64 hex digits/],
      [{ DA_BLS_SECRET_KEY: "0x1234" }, /DA_BLS_SECRET_KEY=<redacted, 6 characters> is not 0x followed by 64 hex digits/],
      [{ DA_BLS_SECRET_KEY: `0x${GROUP_ORDER.toString(16)}` }, /DA_BLS_SECRET_KEY=<redacted, 66 characters> is not in \[1, r - 1\]/],
      [{ DA_BLS_SECRET_KEY: `0x${"00".repeat(32)}`, DA_NODE_PORT: "seventy" }, /DA_BLS_SECRET_KEY=<redacted[\s\S]*DA_NODE_PORT=\\?"seventy\\?" is not an integer/],
    ];
    for (const [env, message] of cases) {
      const { code, output } = await startRole(env);
      expect(code, output).to.equal(1);
      expect(output).to.match(message);
      expect(output).to.not.include(GROUP_ORDER.toString(16));
    }
  });

  it("refuses the account key as the BLS key", async () => {
    const { code, output } = await startRole({ DA_BLS_SECRET_KEY: `0x${"11".repeat(32)}` });
    expect(code).to.equal(1);
    expect(output).to.match(/DA_BLS_SECRET_KEY is the account's PRIVATE_KEY: set DA_BLS_SECRET_KEY to a separate BLS key/);
    expect(output).to.not.include("11".repeat(32));
  });
});
