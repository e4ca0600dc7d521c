/**
 * The messages DA nodes sign, computed exactly as the contracts compute them:
 *
 * - certificate: keccak256(abi.encode("daios.da.cert.v1", chainId, DABlobs address, blobId, root, epoch)),
 *   hashed to G1 with DA_CERT_DST (DABlobs.certificateMessage / messagePoint);
 * - proof of possession: keccak256(abi.encode("daios.da.pop.v1", chainId, DARegistry address, account,
 *   pkG1.x, pkG1.y, pkG2.x1, pkG2.x0, pkG2.y1, pkG2.y0)), hashed to G1 with DA_POP_DST
 *   (DARegistry.popMessage).
 *
 * A node signs the certificate message of a blob once it holds its shard; the client checks every
 * signature against the node's registered G2 key before aggregating it.
 */
import { AbiCoder, getBytes, keccak256 } from "ethers";
import {
  DA_CERT_DST,
  aggregateG1,
  aggregateG2,
  g1FromBytes,
  g1ToBytes,
  hashToPoint,
  keypairFromSecret,
  sign,
  toHex,
  verify,
  type G1,
  type G2,
  type Keypair,
  type SolidityG1,
  type SolidityG2,
} from "../bls/index.js";

export { DA_CERT_DST };
/** Domain separation tag of proofs of possession (DARegistry.POP_DST). */
export const DA_POP_DST = "DAIOS-DA-POP-V1_BN254G1_XMD:KECCAK-256_SVDW_RO_";

const abi = AbiCoder.defaultAbiCoder();

/** What a certificate commits to: the blob as the chain recorded it. */
export interface CertificateSubject {
  chainId: bigint;
  /** The DABlobs contract. */
  blobs: string;
  blobId: bigint;
  /** bytes32 hex. */
  root: string;
  epoch: bigint;
}

/** DABlobs.certificateMessage(blobId), computed off-chain. */
export function certificateMessage(subject: CertificateSubject): string {
  return keccak256(
    abi.encode(
      ["string", "uint256", "address", "uint256", "bytes32", "uint256"],
      ["daios.da.cert.v1", subject.chainId, subject.blobs, subject.blobId, subject.root, subject.epoch],
    ),
  );
}

/** DABlobs.messagePoint(blobId): the certificate message hashed to G1. */
export function certificatePoint(subject: CertificateSubject): G1 {
  return hashToPoint(DA_CERT_DST, getBytes(certificateMessage(subject)));
}

/** DARegistry.popMessage(account, pkG1, pkG2), computed off-chain. */
export function popMessage(chainId: bigint, registry: string, account: string, pkG1: SolidityG1, pkG2: SolidityG2): string {
  return keccak256(
    abi.encode(
      ["string", "uint256", "address", "address", "uint256", "uint256", "uint256", "uint256", "uint256", "uint256"],
      ["daios.da.pop.v1", chainId, registry, account, pkG1.x, pkG1.y, pkG2.x1, pkG2.x0, pkG2.y1, pkG2.y0],
    ),
  );
}

/** The proof of possession DARegistry.registerKeys expects for a message from `popMessage`. */
export function proofOfPossession(keys: Keypair, message: string): G1 {
  return sign(keys.secretKey, hashToPoint(DA_POP_DST, getBytes(message)));
}

/** A node's signature over a blob's certificate message. */
export function signCertificate(keys: Keypair, subject: CertificateSubject): G1 {
  return sign(keys.secretKey, certificatePoint(subject));
}

/** Whether `signature` is `publicKey`'s signature over the certificate message point `point`. */
export function verifyCertificateSignature(signature: G1, publicKey: G2, point: G1): boolean {
  return verify(signature, publicKey, point);
}

/** Signature wire format: 0x + 64 bytes x || y (big-endian), as the HTTP API carries it. */
export function signatureToHex(signature: G1): string {
  return toHex(g1ToBytes(signature));
}

/** A signature from its wire format; throws a BlsError naming the problem when malformed or off the curve. */
export function signatureFromHex(hex: string): G1 {
  return g1FromBytes(hex, "signature");
}

/** The key pair of a 32-byte hex secret key. */
export function blsKeypair(secretHex: string): Keypair {
  return keypairFromSecret(BigInt(secretHex));
}

/** Sum of signatures and sum of the signers' G2 keys, as DABlobs.certify takes them. */
export function aggregateCertificate(signatures: readonly G1[], publicKeys: readonly G2[]): { sigma: G1; apkG2: G2 } {
  return { sigma: aggregateG1(signatures), apkG2: aggregateG2(publicKeys) };
}
