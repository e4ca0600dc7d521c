import { expect } from "chai";
import { readFileSync } from "node:fs";
import { circomlibPoseidon } from "../../../agents/src/sdk/storage/poseidon.js";
import { VECTORS_FILE, fileVectors } from "../../vectors/storage-vectors.js";

describe("storage test vectors", function () {
  this.timeout(120_000);
  it("test/vectors/storage.json matches the TypeScript reference", async () => {
    const committed = JSON.parse(readFileSync(VECTORS_FILE, "utf8")) as Record<string, unknown>;
    const fresh = await fileVectors(await circomlibPoseidon());
    expect({ zeroRoot: committed.zeroRoot, files: committed.files }, "run `npx tsx test/vectors/storage-vectors.ts`").to.deep.equal(fresh);
  });
});
