/**
 * The committed proving artifacts agree with each other and with the circuit source: the circuit
 * compiles to the recorded r1cs and wasm, the verification key is the zkey's, the Solidity verifier
 * is the one the zkey generates, and a proof from the committed wasm + zkey verifies.
 * When this fails after a circuit change, run `npm run circuits:setup` and commit the result.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as snarkjs from "snarkjs";
import { CIRCUITS, ROOT, artifactPaths } from "../../../circuits/circuits.js";
import { sha256File, sourceHash, verifierFromZkey } from "../../../circuits/artifacts.js";

const FIX = "the committed artifacts are stale: run `npm run circuits:setup` and commit the result";

for (const spec of Object.values(CIRCUITS)) {
  describe(`${spec.name} circuit artifacts`, function () {
    this.timeout(300_000);
    const paths = artifactPaths(spec.name);
    const manifest = JSON.parse(readFileSync(paths.manifest, "utf8")) as Record<string, unknown>;

    it("were made from the current circuit source", () => {
      expect(sourceHash(spec), FIX).to.equal(manifest.sourceSha256);
    });

    it("hold the files the manifest records", () => {
      expect(sha256File(paths.wasm), FIX).to.equal(manifest.wasmSha256);
      expect(sha256File(paths.zkey), FIX).to.equal(manifest.zkeySha256);
      expect(sha256File(paths.vkey), FIX).to.equal(manifest.vkeySha256);
      expect(sha256File(paths.verifier), FIX).to.equal(manifest.verifierSha256);
      expect(manifest.publicInputs).to.deep.equal(spec.publicInputs);
    });

    it("compile from source to the recorded r1cs and wasm", () => {
      const out = mkdtempSync(path.join(os.tmpdir(), `daios-${spec.name}-`));
      try {
        execFileSync(process.execPath, [path.join(ROOT, "node_modules/circom2/cli.js"), path.join(ROOT, spec.source), "--r1cs", "--wasm", "--O2", "-o", out], { stdio: "pipe" });
        expect(sha256File(path.join(out, `${spec.name}.r1cs`)), FIX).to.equal(manifest.r1csSha256);
        expect(sha256File(path.join(out, `${spec.name}_js`, `${spec.name}.wasm`)), FIX).to.equal(manifest.wasmSha256);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });

    it("have the zkey's verification key and the zkey's Solidity verifier", async () => {
      const fromZkey = await snarkjs.zKey.exportVerificationKey(paths.zkey);
      expect(fromZkey, FIX).to.deep.equal(JSON.parse(readFileSync(paths.vkey, "utf8")));
      expect(await verifierFromZkey(spec, paths.zkey), FIX).to.equal(readFileSync(paths.verifier, "utf8"));
    });
  });
}
