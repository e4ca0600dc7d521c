import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { GENERATED_FILES, staleFiles } from "../../../agents/src/tools/gen-constants.js";
import { STORAGE } from "../../../agents/src/generated/constants.js";

const root = path.resolve(import.meta.dirname, "../../..");

describe("protocol constants", () => {
  it("generated Solidity, circom and TypeScript files are up to date with constants.json", () => {
    expect(staleFiles(), "run `npm run gen:constants` and commit the result").to.deep.equal([]);
  });

  it("detects a stale generated file", () => {
    const file = "circuits/generated/constants.circom";
    expect(GENERATED_FILES).to.have.property(file);
    const original = readFileSync(path.join(root, file), "utf8");
    try {
      writeFileSync(path.join(root, file), original.replace("return 256;", "return 512;"));
      expect(staleFiles()).to.include(file);
    } finally {
      writeFileSync(path.join(root, file), original);
    }
  });

  it("holds the values every layer relies on", () => {
    const solidity = readFileSync(path.join(root, "contracts/generated/ProtocolConstants.sol"), "utf8");
    const circom = readFileSync(path.join(root, "circuits/generated/constants.circom"), "utf8");
    for (const [key, value] of Object.entries(STORAGE)) {
      expect(solidity).to.contain(`uint256 internal constant ${key} = ${value};`);
    }
    for (const key of ["CHUNK_SIZE", "ELEMENTS_PER_CHUNK", "TREE_DEPTH", "CHALLENGES_PER_PROOF", "CHALLENGE_INDEX_BITS"] as const) {
      expect(circom).to.contain(`function STORAGE_${key}() { return ${STORAGE[key]}; }`);
    }
    expect(circom, "window constants are not compiled into circuits").to.not.contain("PERIOD_BLOCKS");
  });
});
