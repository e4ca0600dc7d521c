import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { inspect } from "node:util";

import { expect } from "chai";

import {
  confirmationsFor,
  DEFAULT_CONFIRMATIONS,
  deploymentFileFor,
  field,
  loadConfig,
  PROJECT_ROOT,
  redactConfig,
  type Infer,
} from "../../../../agents/src/core/config.js";
import { ConfigError, DaiosError, formatError } from "../../../../agents/src/core/errors.js";

const KEY = "0x" + "1f".repeat(32);

/** The ConfigError thrown by `fn` (fails the test when nothing is thrown). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("core/config", () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "daios-config-"));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it("fills in the defaults when only the key is set", () => {
    const config = loadConfig({ env: { PRIVATE_KEY: KEY } });
    expect({ ...config }).to.deep.equal({
      rpcUrl: "http://127.0.0.1:8545",
      redisUrl: "redis://127.0.0.1:6379",
      privateKey: KEY,
      metricsPort: 0,
      metricsHost: "127.0.0.1",
      logLevel: "info",
      deploymentFile: undefined,
      confirmations: undefined,
      pollIntervalMs: 1000,
      maxBlockRange: 2000,
      role: {},
    });
  });

  it("reads every common variable", async () => {
    const deployment = path.join(tmp, "31337.json");
    await writeFile(deployment, "{}");
    const config = loadConfig({
      env: {
        RPC_URL: "wss://rpc.example.org/ws",
        REDIS_URL: "rediss://user:pw@redis.example.org:6380/2",
        PRIVATE_KEY: ` ${KEY} `,
        METRICS_PORT: "9464",
        METRICS_HOST: "0.0.0.0",
        LOG_LEVEL: "debug",
        DEPLOYMENT_FILE: deployment,
        CONFIRMATIONS: "3",
        POLL_INTERVAL_MS: "250",
        MAX_BLOCK_RANGE: "500",
      },
    });
    expect(config).to.deep.include({
      rpcUrl: "wss://rpc.example.org/ws",
      redisUrl: "rediss://user:pw@redis.example.org:6380/2",
      privateKey: KEY,
      metricsPort: 9464,
      metricsHost: "0.0.0.0",
      logLevel: "debug",
      deploymentFile: deployment,
      confirmations: 3,
      pollIntervalMs: 250,
      maxBlockRange: 500,
    });
  });

  it("treats an empty variable as unset", () => {
    const config = loadConfig({ env: { PRIVATE_KEY: KEY, RPC_URL: "", METRICS_PORT: "  " } });
    expect(config.rpcUrl).to.equal("http://127.0.0.1:8545");
    expect(config.metricsPort).to.equal(0);
  });

  it("reports every bad value in one error, one line each naming the variable, the value and the fix", () => {
    const err = configError(() =>
      loadConfig({
        env: {
          RPC_URL: "ftp://example.org",
          REDIS_URL: "localhost:6379",
          PRIVATE_KEY: "0x1234",
          METRICS_PORT: "70000",
          METRICS_HOST: "bad host!",
          LOG_LEVEL: "loud",
          DEPLOYMENT_FILE: path.join(tmp, "missing.json"),
          CONFIRMATIONS: "-1",
          POLL_INTERVAL_MS: "1.5",
          MAX_BLOCK_RANGE: "0",
        },
      }),
    );
    const missing = path.join(tmp, "missing.json");
    expect(err.problems).to.deep.equal([
      'RPC_URL="ftp://example.org" has scheme "ftp", which is not allowed: set RPC_URL to a http or https or ws or wss URL, e.g. http://127.0.0.1 (the chain\'s JSON-RPC endpoint)',
      'REDIS_URL="localhost:6379" has scheme "localhost", which is not allowed: set REDIS_URL to a redis or rediss URL, e.g. redis://127.0.0.1 (the Redis server holding queues and cursors)',
      "PRIVATE_KEY=<redacted, 6 characters> has 4 hex digits instead of 64: set PRIVATE_KEY to 0x followed by 64 hex digits (the agent's signing key)",
      'METRICS_PORT="70000" is out of range: set METRICS_PORT to an integer from 0 to 65535 (Prometheus /metrics port, 0 turns it off)',
      'METRICS_HOST="bad host!" is not valid: set METRICS_HOST to a host name or IP address to bind, e.g. 127.0.0.1 or 0.0.0.0',
      'LOG_LEVEL="loud" is not valid: set LOG_LEVEL to one of fatal, error, warn, info, debug, trace, silent',
      `DEPLOYMENT_FILE=${JSON.stringify(missing)} does not exist (resolved to ${missing}): set DEPLOYMENT_FILE to the path of an existing file (defaults to deploy/deployments/<chainId>.json)`,
      `CONFIRMATIONS="-1" is out of range: set CONFIRMATIONS to an integer from 0 to 10000 (blocks to wait; defaults to 0 on devnets, ${DEFAULT_CONFIRMATIONS} elsewhere)`,
      'POLL_INTERVAL_MS="1.5" is not an integer: set POLL_INTERVAL_MS to an integer from 10 to 3600000 (how often to poll the chain)',
      'MAX_BLOCK_RANGE="0" is out of range: set MAX_BLOCK_RANGE to an integer from 1 to 100000 (the most blocks asked for in one eth_getLogs call)',
    ]);
    expect(err.message).to.match(/^Invalid configuration \(10 problems\):\n {2}- RPC_URL=/);
    for (const problem of err.problems) expect(err.message).to.include(`  - ${problem}\n`);
    expect(err.hint).to.equal("Fix the values above (environment variables or command-line options) and start again");
    expect(err).to.be.instanceOf(DaiosError);
  });

  it("says when the key is missing, and never shows a key", () => {
    expect(configError(() => loadConfig({ env: {} })).problems).to.deep.equal([
      "PRIVATE_KEY is not set: set PRIVATE_KEY to 0x followed by 64 hex digits (the agent's signing key)",
    ]);
    const secret = "0x" + "zz".repeat(32);
    const err = configError(() => loadConfig({ env: { PRIVATE_KEY: secret } }));
    expect(err.problems).to.deep.equal([
      "PRIVATE_KEY=<redacted, 66 characters> is not 0x-prefixed hex: set PRIVATE_KEY to 0x followed by 64 hex digits (the agent's signing key)",
    ]);
    expect(err.message).to.not.include("zz");
    expect(formatError(err)).to.not.include("zz");
  });

  it("hides the password of a bad URL in messages", () => {
    const err = configError(() => loadConfig({ env: { PRIVATE_KEY: KEY, REDIS_URL: "http://user:hunter2@host:6379" } }));
    expect(err.problems[0]).to.equal(
      'REDIS_URL="http://user:***@host:6379" has scheme "http", which is not allowed: set REDIS_URL to a redis or rediss URL, e.g. redis://127.0.0.1 (the Redis server holding queues and cursors)',
    );
    expect(err.message).to.not.include("hunter2");
  });

  it("never shows the key or a URL password when the configuration is logged or printed", () => {
    const config = loadConfig({ env: { PRIVATE_KEY: KEY, REDIS_URL: "redis://:hunter2@127.0.0.1:6379" } });
    const json = JSON.stringify({ config });
    expect(json).to.not.include(KEY.slice(2));
    expect(json).to.not.include("hunter2");
    expect(JSON.parse(json).config.privateKey).to.equal("<redacted, 66 characters>");
    expect(JSON.parse(json).config.redisUrl).to.equal("redis://:***@127.0.0.1:6379");
    expect(inspect(config)).to.not.include(KEY.slice(2));
    // The values themselves are intact.
    expect(config.privateKey).to.equal(KEY);
    expect(config.redisUrl).to.equal("redis://:hunter2@127.0.0.1:6379");
  });

  it("lets overrides (command-line options) win over the environment, and checks them too", () => {
    const config = loadConfig({ env: { PRIVATE_KEY: KEY, METRICS_PORT: "1" }, overrides: { metricsPort: 9000, logLevel: "warn" } });
    expect(config.metricsPort).to.equal(9000);
    expect(config.logLevel).to.equal("warn");

    const err = configError(() => loadConfig({ env: { PRIVATE_KEY: KEY }, overrides: { metricsPort: "abc", rpcUrls: "x" } }));
    expect(err.problems).to.deep.equal([
      'option metricsPort="abc" is not an integer: give an integer from 0 to 65535 (Prometheus /metrics port, 0 turns it off)',
      "option rpcUrls is not a configuration field: use one of rpcUrl, redisUrl, privateKey, metricsPort, metricsHost, logLevel, deploymentFile, confirmations, pollIntervalMs, maxBlockRange",
    ]);
  });

  it("lets a read-only process run without a key", () => {
    const config = loadConfig({ env: {}, requirePrivateKey: false });
    expect(config.privateKey).to.equal(undefined);
  });

  describe("role sections", () => {
    const schema = {
      minDealSize: field.int("MIN_DEAL_SIZE", { min: 1, what: "smallest deal accepted, in bytes" }).default(1024),
      dataDir: field.path("DATA_DIR", { mustExist: "directory" }),
      payout: field.address("PAYOUT_ADDRESS").optional(),
      mode: field.oneOf("PROVIDER_MODE", ["full", "light"] as const).default("full"),
      apiToken: field.string("API_TOKEN").secret().optional(),
      verbose: field.bool("VERBOSE").default(false),
    };

    it("are validated with the common fields and typed", () => {
      const config = loadConfig({
        env: { PRIVATE_KEY: KEY, DATA_DIR: tmp, PAYOUT_ADDRESS: "0x" + "ab".repeat(20), VERBOSE: "yes", API_TOKEN: "s3cret" },
        role: schema,
      });
      const role: Infer<typeof schema> = config.role;
      const size: number = role.minDealSize;
      const mode: "full" | "light" = role.mode;
      expect(size).to.equal(1024);
      expect(mode).to.equal("full");
      expect(role.dataDir).to.equal(tmp);
      expect(role.payout).to.equal("0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB");
      expect(role.verbose).to.equal(true);
      expect(role.apiToken).to.equal("s3cret");
      expect(JSON.stringify(config)).to.not.include("s3cret");
      expect(redactConfig(config, schema).role).to.deep.include({ apiToken: "<redacted, 6 characters>", minDealSize: 1024 });
      // Without the schema, role values are all hidden.
      expect(redactConfig(config).role).to.deep.include({ apiToken: "<redacted>", minDealSize: "<redacted>" });
    });

    it("report their problems together with the common ones", async () => {
      const file = path.join(tmp, "a-file");
      await writeFile(file, "");
      const err = configError(() =>
        loadConfig({
          env: {
            METRICS_PORT: "x",
            MIN_DEAL_SIZE: "0",
            DATA_DIR: file,
            PAYOUT_ADDRESS: "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaC",
            PROVIDER_MODE: "heavy",
            VERBOSE: "maybe",
          },
          role: schema,
        }),
      );
      expect(err.problems).to.deep.equal([
        "PRIVATE_KEY is not set: set PRIVATE_KEY to 0x followed by 64 hex digits (the agent's signing key)",
        'METRICS_PORT="x" is not an integer: set METRICS_PORT to an integer from 0 to 65535 (Prometheus /metrics port, 0 turns it off)',
        'MIN_DEAL_SIZE="0" is out of range: set MIN_DEAL_SIZE to an integer of at least 1 (smallest deal accepted, in bytes)',
        `DATA_DIR=${JSON.stringify(file)} is not a directory (resolved to ${file}): set DATA_DIR to the path of an existing directory`,
        'PAYOUT_ADDRESS="0xABaBaBaBABabABabAbAbABAbABabababaBaBABaC" has a wrong checksum (mixed case that does not match): set PAYOUT_ADDRESS to a 0x-prefixed 20-byte address',
        'PROVIDER_MODE="heavy" is not valid: set PROVIDER_MODE to one of full, light',
        'VERBOSE="maybe" is not a boolean: set VERBOSE to true or false',
      ]);
    });

    it("report a missing required role value", () => {
      expect(configError(() => loadConfig({ env: { PRIVATE_KEY: KEY }, role: schema })).problems).to.deep.equal([
        "DATA_DIR is not set: set DATA_DIR to the path of an existing directory",
      ]);
    });

    it("may not reuse a common field's name or variable", () => {
      expect(() => loadConfig({ env: { PRIVATE_KEY: KEY }, role: { rpcUrl: field.string("OTHER_RPC") } })).to.throw(
        TypeError,
        'role configuration field "rpcUrl" has the name of a common field',
      );
      expect(() => loadConfig({ env: { PRIVATE_KEY: KEY }, role: { other: field.string("RPC_URL") } })).to.throw(
        TypeError,
        'role configuration field "other" reads RPC_URL, which "rpcUrl" already reads',
      );
      expect(() => field.int("lower_case")).to.throw(TypeError, "must be UPPER_SNAKE_CASE");
    });
  });

  describe("field builders", () => {
    const one = (f: ReturnType<typeof field.int> | ReturnType<typeof field.hex> | ReturnType<typeof field.string>, raw: string) =>
      f.resolve(raw);

    it("int() takes signs and rejects what is not a safe whole number", () => {
      expect(one(field.int("N"), "-5")).to.deep.equal({ ok: true, value: -5 });
      expect(one(field.int("N"), "+7")).to.deep.equal({ ok: true, value: 7 });
      expect(one(field.int("N"), "1e3")).to.deep.include({ ok: false });
      expect(one(field.int("N"), "99999999999999999999")).to.deep.equal({
        ok: false,
        problem: 'N="99999999999999999999" is out of range: set N to an integer',
      });
      expect(one(field.int("N", { max: 3 }), "4")).to.deep.equal({
        ok: false,
        problem: 'N="4" is out of range: set N to an integer of at most 3',
      });
    });

    it("hex() checks the prefix, the digits and the length", () => {
      const f = field.hex("ROOT", { bytes: 4 });
      expect(one(f, "0xdeadBEEF")).to.deep.equal({ ok: true, value: "0xdeadBEEF" });
      expect(one(f, "deadbeef")).to.deep.equal({
        ok: false,
        problem: 'ROOT="deadbeef" is not 0x-prefixed hex: set ROOT to 0x followed by 8 hex digits',
      });
      expect(one(f, "0xdeadbee")).to.deep.include({ ok: false });
    });

    it("string() checks a pattern; path() resolves relative paths", () => {
      expect(one(field.string("S", { pattern: /^a+$/ }), "aaa")).to.deep.equal({ ok: true, value: "aaa" });
      expect(one(field.string("S", { pattern: /^a+$/ }), "b")).to.deep.equal({
        ok: false,
        problem: 'S="b" is not valid: set S to a value matching /^a+$/',
      });
      expect(field.path("P", { base: "/srv" }).resolve("data")).to.deep.equal({ ok: true, value: "/srv/data" });
    });
  });

  it("deploymentFileFor() and confirmationsFor() fill in per-chain defaults", () => {
    expect(deploymentFileFor({ deploymentFile: undefined }, 31337n)).to.equal(path.join(PROJECT_ROOT, "deploy/deployments/31337.json"));
    expect(deploymentFileFor({ deploymentFile: "/x.json" }, 1)).to.equal("/x.json");
    expect(confirmationsFor({ confirmations: undefined }, 31337n)).to.equal(0);
    expect(confirmationsFor({ confirmations: undefined }, 1337)).to.equal(0);
    expect(confirmationsFor({ confirmations: undefined }, 11155111n)).to.equal(DEFAULT_CONFIRMATIONS);
    expect(confirmationsFor({ confirmations: 2 }, 1)).to.equal(2);
    expect(confirmationsFor({ confirmations: 0 }, 1)).to.equal(0);
  });
});
