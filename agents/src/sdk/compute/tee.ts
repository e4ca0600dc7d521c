/**
 * TEE mode of the compute market: the result a provider's enclave signs, and the devnet's software
 * enclave.
 *
 *   const enclave = new SoftwareEnclave(process.env.COMPUTE_TEE_KEY);   // key + devnetMeasurement()
 *   const domain = computeMarketDomain(chainId, marketAddress);
 *   const signature = await enclave.signResult(domain, { jobId, modelId, weightsCommitment, inputCommitment, output, provider });
 *   await market.submitResultTee(jobId, output, signature);
 *
 * What is signed: EIP-712 typed data
 *   ComputeResult(uint256 jobId,uint256 modelId,uint256 weightsCommitment,uint256 inputCommitment,uint256 output,address provider)
 * in the domain ("daios ComputeMarket", "1", chainId, the ComputeMarket's address). The market recovers
 * the signer and accepts the result only when the registry owner acknowledged that key together with a
 * measurement equal to the model's teeMeasurement as it was when the job was posted (the market
 * snapshots it), and has not revoked it. Binding the weights commitment (the model's, from the
 * registry) ties the output to the weights the enclave ran; binding the provider's address stops
 * another provider from submitting the signature; the job id stops a replay on another job; the chain
 * id and the market's address stop a replay on another deployment.
 *
 * THE DEVNET ENCLAVE IS SOFTWARE. A real TEE (Intel TDX, SGX, AMD SEV-SNP) generates its signing key
 * inside the enclave, and the hardware produces a quote: the enclave's measurement (a hash of the code
 * and data loaded into it) and the public key, signed by a key chained to the CPU vendor's root. The
 * registry owner acknowledges a key only after checking such a quote (vendor certificate chain, TCB
 * status, the measurement equal to a reproducible build of the inference code). Here the key is an
 * ordinary private key held by the provider process, and `devnetMeasurement()` is a sha256 of the files
 * the enclave would run, standing in for the hardware measurement: nothing stops the holder of the key
 * from signing any output. It exercises the contract path (acknowledge, sign, recover, revoke), not
 * the trust that hardware gives.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { TypedDataEncoder, Wallet, getAddress, verifyTypedData, type TypedDataDomain, type TypedDataField } from "ethers";
import { DaiosError } from "../../core/errors.js";

/** The result an enclave vouches for: the fields of the EIP-712 struct ComputeResult. */
export interface ComputeResultMessage {
  jobId: bigint;
  modelId: bigint;
  /** The model's weightsCommitment (ModelRegistry.model(modelId).weightsCommitment). */
  weightsCommitment: bigint;
  inputCommitment: bigint;
  output: bigint;
  /** The provider that submits the result (msg.sender of submitResultTee). */
  provider: string;
}

export const COMPUTE_MARKET_DOMAIN_NAME = "daios ComputeMarket";
export const COMPUTE_MARKET_DOMAIN_VERSION = "1";

/** The EIP-712 types of a TEE result; the primary type is ComputeResult. */
export const COMPUTE_RESULT_TYPES: Record<string, TypedDataField[]> = {
  ComputeResult: [
    { name: "jobId", type: "uint256" },
    { name: "modelId", type: "uint256" },
    { name: "weightsCommitment", type: "uint256" },
    { name: "inputCommitment", type: "uint256" },
    { name: "output", type: "uint256" },
    { name: "provider", type: "address" },
  ],
};

/** The EIP-712 domain of the ComputeMarket at `market` on chain `chainId`. */
export function computeMarketDomain(chainId: bigint | number, market: string): TypedDataDomain {
  return { name: COMPUTE_MARKET_DOMAIN_NAME, version: COMPUTE_MARKET_DOMAIN_VERSION, chainId: BigInt(chainId), verifyingContract: getAddress(market) };
}

/** The EIP-712 digest of a result (what ComputeMarket.resultDigest returns for the same fields). */
export function resultDigest(domain: TypedDataDomain, result: ComputeResultMessage): string {
  return TypedDataEncoder.hash(domain, COMPUTE_RESULT_TYPES, message(result));
}

/** The address whose key signed `result` (the enclave key the market will look up). */
export function recoverResultSigner(domain: TypedDataDomain, result: ComputeResultMessage, signature: string): string {
  return verifyTypedData(domain, COMPUTE_RESULT_TYPES, message(result), signature);
}

function message(result: ComputeResultMessage): Record<string, unknown> {
  return { jobId: result.jobId, modelId: result.modelId, weightsCommitment: result.weightsCommitment, inputCommitment: result.inputCommitment, output: result.output, provider: getAddress(result.provider) };
}

// ---------------------------------------------------------------------------------------------
// The devnet measurement

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");

/**
 * What the software enclave "runs", relative to the project root: the integer inference, the
 * commitments it signs over, the signer itself, and the model's weights file as stored.
 */
export const DEVNET_ENCLAVE_FILES = [
  "agents/src/sdk/compute/model.ts",
  "agents/src/sdk/compute/commitment.ts",
  "agents/src/sdk/compute/tee.ts",
  "agents/models/digits/digits.weights",
] as const;

/** Domain separator of the measurement, so that it can never equal another hash of the same files. */
export const DEVNET_MEASUREMENT_TAG = "daios devnet software enclave v1";

export interface MeasurementOptions {
  /** Directory the file names are relative to (default: the project root). */
  root?: string;
  /** The files, in order (default DEVNET_ENCLAVE_FILES). */
  files?: readonly string[];
}

/**
 * The devnet enclave's measurement, standing in for a TDX MRTD / SGX MRENCLAVE:
 *
 *   sha256( TAG || 0x00 || for each file in order: name || 0x00 || uint64_be(length) || bytes )
 *
 * with TAG = DEVNET_MEASUREMENT_TAG and names as listed (relative, forward slashes). Any change to the
 * inference code, the commitments, the signer or the weights changes it, so a model registered with
 * an older measurement no longer accepts the key until the registry owner acknowledges the new one.
 * Returned as bytes32 hex (ModelRegistry.teeMeasurement, acknowledgeEnclave's measurement).
 */
export function devnetMeasurement(options: MeasurementOptions = {}): string {
  const root = options.root ?? PROJECT_ROOT;
  const hash = createHash("sha256");
  hash.update(DEVNET_MEASUREMENT_TAG);
  hash.update(Buffer.of(0));
  for (const name of options.files ?? DEVNET_ENCLAVE_FILES) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path.join(root, name));
    } catch (error) {
      throw new DaiosError(`cannot measure the devnet enclave: ${name} is missing under ${root} (${(error as Error).message})`, {
        hint: "run from a complete checkout (the model's weights are written by `npm run train`)",
      });
    }
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(bytes.length));
    hash.update(name);
    hash.update(Buffer.of(0));
    hash.update(length);
    hash.update(bytes);
  }
  return `0x${hash.digest("hex")}`;
}

// ---------------------------------------------------------------------------------------------
// The software enclave

/**
 * The devnet's stand-in for an enclave: a secp256k1 key and the measurement it claims. Its address
 * is what the registry owner acknowledges (ModelRegistry.acknowledgeEnclave(address, measurement)).
 */
export class SoftwareEnclave {
  readonly address: string;
  readonly measurement: string;
  private readonly wallet: Wallet;

  /**
   * @param privateKey the enclave key (hex, 32 bytes); a new random key when omitted
   * @param measurement bytes32 hex; default devnetMeasurement()
   */
  constructor(privateKey?: string, measurement?: string) {
    if (privateKey !== undefined && !/^(0x)?[0-9a-fA-F]{64}$/.test(privateKey)) {
      throw new DaiosError("the enclave key is not a 32-byte hex private key", { hint: "set COMPUTE_TEE_KEY to 0x and 64 hex digits" });
    }
    this.wallet = privateKey === undefined ? new Wallet(Wallet.createRandom().privateKey) : new Wallet(privateKey.startsWith("0x") ? privateKey : `0x${privateKey}`);
    this.address = this.wallet.address;
    const m = measurement ?? devnetMeasurement();
    if (!/^0x[0-9a-fA-F]{64}$/.test(m) || /^0x0{64}$/.test(m)) throw new DaiosError(`enclave measurement ${m} is not a nonzero bytes32`);
    this.measurement = m.toLowerCase();
  }

  /** What the registry owner checks before acknowledging the key; `kind` says there is no hardware quote. */
  attestation(): { kind: "software"; key: string; measurement: string } {
    return { kind: "software", key: this.address, measurement: this.measurement };
  }

  /** Signs a result for submitResultTee (a 65-byte r || s || v signature, hex). */
  signResult(domain: TypedDataDomain, result: ComputeResultMessage): Promise<string> {
    return this.wallet.signTypedData(domain, COMPUTE_RESULT_TYPES, message(result));
  }
}
