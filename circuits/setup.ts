/**
 * Compiles a circuit and runs its Groth16 setup, then writes the committed proving artifacts
 * (wasm, zkey, verification key), the generated Solidity verifier and a manifest of their hashes.
 *
 *   npm run circuits:setup                      reproducible dev ceremony (deterministic beacons)
 *   npm run circuits:setup -- --ptau FILE       phase 1 from an external powers-of-tau file
 *   npm run circuits:setup -- --circuit pora    one circuit (default: all)
 *   npm run circuits:setup -- --verifier-only   only regenerate the Solidity verifiers from the committed
 *                                               zkeys (after a change of a verifier generator)
 *
 * The dev ceremony is deterministic: the same sources give bit-identical artifacts, so anybody can
 * regenerate and compare them. It is NOT secure (its toxic waste is derivable from public beacons);
 * README.md ("Trusted setup") says how to run a real one.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { CIRCUITS, ROOT, artifactPaths, type CircuitSpec } from "./circuits.js";
import { sha256File, sourceHash, verifierFromZkey } from "./artifacts.js";

/** Public, fixed beacon values of the dev ceremony: sha256("daios dev ceremony v1"). */
const DEV_BEACON = createHash("sha256").update("daios dev ceremony v1").digest("hex");
const BEACON_ITERATIONS_EXP = "10";

const snarkjs = path.join(ROOT, "node_modules", "snarkjs", "build", "cli.cjs");
const circom = path.join(ROOT, "node_modules", "circom2", "cli.js");

function run(cmd: string, args: string[]): string {
  console.log(`$ ${path.basename(cmd)} ${args.map((a) => path.relative(ROOT, a) || a).join(" ")}`);
  return execFileSync(process.execPath, [cmd, ...args], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
}

function devPtau(power: number): string {
  const dir = path.join(ROOT, "circuits", "build", "ptau");
  mkdirSync(dir, { recursive: true });
  const final = path.join(dir, `dev_${power}.ptau`);
  if (existsSync(final)) {
    console.log(`using cached dev powers of tau ${path.relative(ROOT, final)}`);
    return final;
  }
  const fresh = path.join(dir, `dev_${power}_0.ptau`);
  const beacon = path.join(dir, `dev_${power}_beacon.ptau`);
  console.log(`dev powers of tau 2^${power}: this takes several minutes (prepare phase2 dominates)`);
  run(snarkjs, ["powersoftau", "new", "bn128", String(power), fresh]);
  run(snarkjs, ["powersoftau", "beacon", fresh, beacon, DEV_BEACON, BEACON_ITERATIONS_EXP, "-n=daios dev beacon"]);
  run(snarkjs, ["powersoftau", "prepare", "phase2", beacon, final]);
  return final;
}

async function setup(spec: CircuitSpec, ptauFile: string | undefined): Promise<void> {
  const paths = artifactPaths(spec.name);
  const build = path.join(ROOT, "circuits", "build", spec.name);
  mkdirSync(build, { recursive: true });
  mkdirSync(paths.dir, { recursive: true });
  mkdirSync(path.dirname(paths.verifier), { recursive: true });

  const started = Date.now();
  run(circom, [path.join(ROOT, spec.source), "--r1cs", "--wasm", "--O2", "-o", build]);
  const r1cs = path.join(build, `${spec.name}.r1cs`);
  const info = run(snarkjs, ["r1cs", "info", r1cs]);
  const constraints = Number(/# of Constraints: (\d+)/.exec(info)?.[1]);
  if (!(constraints < 2 ** spec.ptauPower)) {
    throw new Error(`${spec.name} has ${constraints} constraints: raise ptauPower in circuits/circuits.ts above ${spec.ptauPower}`);
  }

  const ptau = ptauFile ? path.resolve(ptauFile) : devPtau(spec.ptauPower);
  const zkey0 = path.join(build, `${spec.name}_0.zkey`);
  run(snarkjs, ["groth16", "setup", r1cs, ptau, zkey0]);
  run(snarkjs, ["zkey", "beacon", zkey0, paths.zkey, DEV_BEACON, BEACON_ITERATIONS_EXP, "-n=daios dev phase 2 beacon"]);
  run(snarkjs, ["zkey", "export", "verificationkey", paths.zkey, paths.vkey]);
  copyFileSync(path.join(build, `${spec.name}_js`, `${spec.name}.wasm`), paths.wasm);
  writeFileSync(paths.verifier, await verifierFromZkey(spec, paths.zkey));

  const manifest = {
    circuit: spec.name,
    constraints,
    publicInputs: spec.publicInputs,
    ceremony: ptauFile ? { phase1: "external", ptauSha256: sha256File(ptau) } : { phase1: "dev", beacon: DEV_BEACON },
    sourceSha256: sourceHash(spec),
    r1csSha256: sha256File(r1cs),
    wasmSha256: sha256File(paths.wasm),
    zkeySha256: sha256File(paths.zkey),
    vkeySha256: sha256File(paths.vkey),
    verifierSha256: sha256File(paths.verifier),
  };
  writeFileSync(paths.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`${spec.name}: ${constraints} constraints, artifacts in ${path.relative(ROOT, paths.dir)}, ` +
    `verifier ${path.relative(ROOT, paths.verifier)} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

/** Rewrites a circuit's verifier from its committed zkey and records the new hash in its manifest. */
async function regenerateVerifier(spec: CircuitSpec): Promise<void> {
  const paths = artifactPaths(spec.name);
  writeFileSync(paths.verifier, await verifierFromZkey(spec, paths.zkey));
  const manifest = JSON.parse(readFileSync(paths.manifest, "utf8")) as Record<string, unknown>;
  manifest.verifierSha256 = sha256File(paths.verifier);
  writeFileSync(paths.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`${spec.name}: verifier ${path.relative(ROOT, paths.verifier)} regenerated from the committed zkey`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const ptau = value("--ptau");
  if (ptau && !existsSync(ptau)) throw new Error(`--ptau ${ptau}: no such file`);
  const only = value("--circuit");
  if (only && !CIRCUITS[only]) throw new Error(`--circuit ${only}: unknown; known: ${Object.keys(CIRCUITS).join(", ")}`);
  const verifierOnly = args.includes("--verifier-only");
  for (const spec of Object.values(CIRCUITS)) {
    if (only && spec.name !== only) continue;
    await (verifierOnly ? regenerateVerifier(spec) : setup(spec, ptau));
  }
  // snarkjs's curve keeps worker threads alive.
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
