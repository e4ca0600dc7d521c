import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { defineConfig } from "hardhat/config";
import { exitGuard } from "./test/helpers/exit-guard.js";

// Hardhat downloads solc from the internet by default; these machines have no internet, so the
// compiler is the wasm build shipped in the npm `solc` package, pinned in package.json.
const require = createRequire(import.meta.url);
const solcPath = require.resolve("solc/soljson.js");
const solcVersion = (JSON.parse(readFileSync(require.resolve("solc/package.json"), "utf8")) as { version: string })
  .version;

// The optimizer is on in every profile so that tests, gas snapshots and benches measure the code
// that gets deployed.
const compiler = {
  version: solcVersion,
  path: solcPath,
  settings: { optimizer: { enabled: true, runs: 10_000 }, evmVersion: "cancun" },
};

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    profiles: {
      default: compiler,
      production: compiler,
    },
  },
  paths: {
    tests: { mocha: "test/mocha", solidity: "test/contracts" },
    ignition: "deploy/ignition",
  },
  test: {
    mocha: { timeout: 900_000, rootHooks: exitGuard },
    solidity: {
      fuzz: { runs: 256 },
      invariant: { runs: 64, depth: 32, failOnRevert: false },
      // Shared TypeScript-written vectors (BLS, quorum sampling, DA commitments) are read by vm.readFile.
      fsPermissions: { readDirectory: ["test/vectors"] },
    },
  },
  networks: {
    localhost: {
      type: "http",
      chainType: "l1",
      url: process.env.RPC_URL ?? "http://127.0.0.1:8545",
    },
  },
});
