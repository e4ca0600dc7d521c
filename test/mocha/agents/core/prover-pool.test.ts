import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

import { expect } from "chai";
import * as snarkjs from "snarkjs";

import { createRegistry, proofMetrics } from "../../../../agents/src/core/metrics.js";
import { ProofError, ProverPool, toSolidityCalldata } from "../../../../agents/src/core/prover-pool.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const SNARKJS = path.join(ROOT, "node_modules/snarkjs/cli.js");
const CIRCOM = path.join(ROOT, "node_modules/circom2/cli.js");
const POOL_MODULE = path.join(ROOT, "agents/src/core/prover-pool.ts");
const WORKER_MODULE = path.join(ROOT, "agents/src/core/prover-worker.ts");

// c = a·b with b public; a must be non-zero (it has an inverse), so a = 0 breaks a constraint.
const CIRCUIT = `pragma circom 2.1.0;
template Mul() {
  signal input a;
  signal input b;
  signal output c;
  signal inv;
  inv <-- a != 0 ? 1 / a : 0;
  inv * a === 1;
  c <== a * b;
}
component main {public [b]} = Mul();
`;

interface Artifacts {
  dir: string;
  wasmPath: string;
  zkeyPath: string;
  vkey: unknown;
}

/** Compiles the circuit and runs a tiny deterministic Groth16 setup (2^4 powers of tau). */
async function buildArtifacts(): Promise<Artifacts> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "daios-prover-test-"));
  const node = process.execPath;
  const snark = (...args: string[]) => run(node, [SNARKJS, ...args], { cwd: dir });
  await writeFile(path.join(dir, "mul.circom"), CIRCUIT);
  await run(node, [CIRCOM, "mul.circom", "--r1cs", "--wasm", "-o", "."], { cwd: dir });
  const beacon = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
  await snark("powersoftau", "new", "bn128", "4", "pot0.ptau");
  await snark("powersoftau", "beacon", "pot0.ptau", "pot1.ptau", beacon, "10");
  await snark("powersoftau", "prepare", "phase2", "pot1.ptau", "pot.ptau");
  await snark("groth16", "setup", "mul.r1cs", "pot.ptau", "mul.zkey");
  await snark("zkey", "export", "verificationkey", "mul.zkey", "vk.json");
  return {
    dir,
    wasmPath: path.join(dir, "mul_js", "mul.wasm"),
    zkeyPath: path.join(dir, "mul.zkey"),
    vkey: JSON.parse(await readFile(path.join(dir, "vk.json"), "utf8")),
  };
}

function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (err: unknown) => err,
  );
}

describe("core/prover-pool", function () {
  this.timeout(120_000);

  let art: Artifacts;
  const pools: ProverPool[] = [];
  const newPool = (...args: ConstructorParameters<typeof ProverPool>) => {
    const pool = new ProverPool(...args);
    pools.push(pool);
    return pool;
  };

  before(async () => {
    art = await buildArtifacts();
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
  });
  after(async () => {
    // snarkjs.groth16.verify() in this process started snarkjs's curve threads: end them.
    const curve = (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128;
    if (curve) await curve.terminate();
    if (art) await rm(art.dir, { recursive: true, force: true });
  });

  it("computes a proof that snarkjs verifies, with calldata in the Solidity verifier's order", async () => {
    const registry = createRegistry({ defaultMetrics: false });
    const pool = newPool({ size: 1, metrics: proofMetrics(registry) });
    const result = await pool.prove({ wasmPath: art.wasmPath, zkeyPath: art.zkeyPath, input: { a: 3, b: 11n } });

    expect(result.circuit).to.equal("mul");
    expect(result.publicSignals).to.deep.equal(["33", "11"]);
    expect(result.durationMs).to.be.greaterThan(0);
    expect(await snarkjs.groth16.verify(art.vkey, result.publicSignals, result.proof)).to.equal(true);
    // A changed public signal must not verify (the check above can fail).
    expect(await snarkjs.groth16.verify(art.vkey, ["34", "11"], result.proof)).to.equal(false);

    const exported = JSON.parse(`[${await snarkjs.groth16.exportSolidityCallData(result.proof, result.publicSignals)}]`) as unknown[];
    const asBigints = (v: unknown): unknown => (Array.isArray(v) ? v.map(asBigints) : BigInt(v as string));
    expect(asBigints(exported)).to.deep.equal([result.calldata.pA, result.calldata.pB, result.calldata.pC, result.calldata.pubSignals]);
    expect(result.calldata.pubSignals).to.deep.equal([33n, 11n]);
    // B's coordinates are swapped relative to snarkjs's proof object.
    expect(result.calldata.pB[0]).to.deep.equal([BigInt(result.proof.pi_b[0]![1]!), BigInt(result.proof.pi_b[0]![0]!)]);

    const text = await registry.metrics();
    expect(text).to.include('daios_proofs_total{circuit="mul",outcome="ok"} 1');
    expect(text).to.include('daios_proof_duration_seconds_count{circuit="mul",outcome="ok"} 1');
  });

  it("rejects an input that breaks a constraint with a clear, permanent ProofError", async () => {
    const pool = newPool();
    const err = await rejection(pool.prove({ wasmPath: art.wasmPath, zkeyPath: art.zkeyPath, input: { a: 0, b: 5 }, circuit: "mul-test" }));
    expect(err).to.be.instanceOf(ProofError);
    const proofError = err as ProofError;
    expect(proofError.message).to.match(/^Proof of mul-test failed: Assert Failed\.\s+Error in template Mul_0 line: 8\. The input/);
    expect(proofError.hint).to.equal("The input does not satisfy the circuit's constraints: check the values");
    expect(proofError.permanent).to.equal(true);
    expect(proofError.circuit).to.equal("mul-test");
    // The thread survives a bad input.
    const ok = await pool.prove({ wasmPath: art.wasmPath, zkeyPath: art.zkeyPath, input: { a: 2, b: 2 } });
    expect(ok.publicSignals).to.deep.equal(["4", "2"]);
  });

  it("rejects a missing signal and a missing artifact with what to do", async () => {
    const pool = newPool();
    const missing = (await rejection(pool.prove({ wasmPath: art.wasmPath, zkeyPath: art.zkeyPath, input: { a: 3 } }))) as ProofError;
    expect(missing).to.be.instanceOf(ProofError);
    expect(missing.message).to.match(/^Proof of mul failed: /);
    expect(missing.hint).to.match(/signal names or sizes do not match the circuit/);

    const noFile = path.join(art.dir, "nope.zkey");
    const absent = (await rejection(pool.prove({ wasmPath: art.wasmPath, zkeyPath: noFile, input: { a: 3, b: 1 } }))) as ProofError;
    expect(absent).to.be.instanceOf(ProofError);
    expect(absent.message).to.include(`Cannot prove mul: its proving key (.zkey) ${noFile} cannot be read`);
    expect(absent.message).to.include("npm run circuits:setup");
    expect(absent.permanent).to.equal(true);
  });

  it("completes two concurrent proofs on two threads", async () => {
    const pool = newPool({ size: 2 });
    const [x, y] = await Promise.all([
      pool.prove({ wasmPath: art.wasmPath, zkeyPath: art.zkeyPath, input: { a: 5, b: 7 } }),
      pool.prove({ wasmPath: art.wasmPath, zkeyPath: art.zkeyPath, input: { a: 6, b: 7 } }),
    ]);
    expect(x.publicSignals).to.deep.equal(["35", "7"]);
    expect(y.publicSignals).to.deep.equal(["42", "7"]);
    expect(await snarkjs.groth16.verify(art.vkey, x.publicSignals, x.proof)).to.equal(true);
    expect(await snarkjs.groth16.verify(art.vkey, y.publicSignals, y.proof)).to.equal(true);
  });

  it("queues requests while every thread is busy and serves them in order", async () => {
    const pool = newPool({ size: 1 });
    const order: number[] = [];
    const proofs = [1, 2, 3].map((a) =>
      pool.prove({ wasmPath: art.wasmPath, zkeyPath: art.zkeyPath, input: { a, b: 10 } }).then((r) => {
        order.push(a);
        return r;
      }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(pool.busy).to.equal(1);
    expect(pool.waiting).to.equal(2);
    const results = await Promise.all(proofs);
    expect(results.map((r) => r.publicSignals[0])).to.deep.equal(["10", "20", "30"]);
    expect(order).to.deep.equal([1, 2, 3]);
  });

  it("fails only the request whose thread died, and replaces the thread", async () => {
    // A thread script that runs the real prover but dies on an input with `crash` set.
    const script = path.join(art.dir, "crashing-worker.mts");
    await writeFile(
      script,
      `import { parentPort } from "node:worker_threads";\n` +
        `import ${JSON.stringify(pathToFileURL(WORKER_MODULE).href)};\n` +
        `parentPort!.on("message", (m: { type: string; input?: { crash?: number } }) => {\n` +
        `  if (m.type === "prove" && m.input?.crash) throw new Error("simulated crash");\n` +
        `});\n`,
    );
    const registry = createRegistry({ defaultMetrics: false });
    const pool = newPool({ size: 1, workerScript: pathToFileURL(script), metrics: proofMetrics(registry) });
    const doomed = pool.prove({ wasmPath: art.wasmPath, zkeyPath: art.zkeyPath, input: { a: 1, b: 1, crash: 1 } });
    const fine = pool.prove({ wasmPath: art.wasmPath, zkeyPath: art.zkeyPath, input: { a: 4, b: 4 } });
    const err = (await rejection(doomed)) as ProofError;
    expect(err).to.be.instanceOf(ProofError);
    expect(err.message).to.include("The prover thread died while proving mul (simulated crash)");
    expect(err.permanent).to.equal(false);
    expect((await fine).publicSignals).to.deep.equal(["16", "4"]);
    expect(await registry.metrics()).to.include("daios_prover_thread_crashes_total 1");
  });

  it("stops a proof that outlives its time limit, and keeps serving", async () => {
    const pool = newPool({ size: 1 });
    const err = (await rejection(
      pool.prove({ wasmPath: art.wasmPath, zkeyPath: art.zkeyPath, input: { a: 1, b: 1 }, timeoutMs: 1 }),
    )) as ProofError;
    expect(err).to.be.instanceOf(ProofError);
    expect(err.message).to.equal("Proof of mul took longer than 1 ms; its thread was stopped. Raise the time limit, or check the machine's load");
    const ok = await pool.prove({ wasmPath: art.wasmPath, zkeyPath: art.zkeyPath, input: { a: 3, b: 3 } });
    expect(ok.publicSignals).to.deep.equal(["9", "3"]);
  });

  it("drops a waiting request when its signal aborts", async () => {
    const pool = newPool({ size: 1 });
    const first = pool.prove({ wasmPath: art.wasmPath, zkeyPath: art.zkeyPath, input: { a: 2, b: 3 } });
    const controller = new AbortController();
    const second = pool.prove({ wasmPath: art.wasmPath, zkeyPath: art.zkeyPath, input: { a: 2, b: 4 }, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort(new Error("job cancelled"));
    const err = (await rejection(second)) as ProofError;
    expect(err.message).to.equal("Proof of mul aborted: job cancelled");
    expect((await first).publicSignals).to.deep.equal(["6", "3"]);
  });

  it("close() rejects waiting requests and later calls", async () => {
    const pool = newPool({ size: 1 });
    const running = rejection(pool.prove({ wasmPath: art.wasmPath, zkeyPath: art.zkeyPath, input: { a: 2, b: 3 } }));
    const waiting = rejection(pool.prove({ wasmPath: art.wasmPath, zkeyPath: art.zkeyPath, input: { a: 2, b: 4 } }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await pool.close();
    expect(((await waiting) as Error).message).to.include("the prover pool was closed before it started");
    expect(((await running) as Error).message).to.include("cancelled: the prover pool was closed");
    const late = (await rejection(pool.prove({ wasmPath: art.wasmPath, zkeyPath: art.zkeyPath, input: { a: 1, b: 1 } }))) as Error;
    expect(late.message).to.include("the prover pool is closed");
  });

  for (const closes of [true, false]) {
    it(`lets the process exit after proofs ${closes ? "once close() returns" : "even without close()"}`, async () => {
      const script = path.join(art.dir, `owner-${closes}.mts`);
      await writeFile(
        script,
        `import { ProverPool } from ${JSON.stringify(pathToFileURL(POOL_MODULE).href)};\n` +
          `const pool = new ProverPool({ size: 2 });\n` +
          `const input = { a: 3, b: 4 };\n` +
          `const req = { wasmPath: ${JSON.stringify(art.wasmPath)}, zkeyPath: ${JSON.stringify(art.zkeyPath)}, input };\n` +
          `const [r] = await Promise.all([pool.prove(req), pool.prove(req)]);\n` +
          `console.log("proved", r.publicSignals.join(","));\n` +
          (closes ? "await pool.close();\nconsole.log('closed');\n" : ""),
      );
      const child = spawn(process.execPath, ["--import", "tsx", script], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
      clearTimeout(timer);
      expect(signal, `the process did not exit by itself; output:\n${out}`).to.equal(null);
      expect(code, out).to.equal(0);
      expect(out).to.include("proved 12,4");
      if (closes) expect(out).to.include("closed");
    });
  }

  it("toSolidityCalldata() swaps the coordinates of B", () => {
    const calldata = toSolidityCalldata(
      { pi_a: ["1", "2", "1"], pi_b: [["3", "4"], ["5", "6"], ["1", "0"]], pi_c: ["7", "8", "1"], protocol: "groth16", curve: "bn128" },
      ["9", "10"],
    );
    expect(calldata).to.deep.equal({ pA: [1n, 2n], pB: [[4n, 3n], [6n, 5n]], pC: [7n, 8n], pubSignals: [9n, 10n] });
  });
});
