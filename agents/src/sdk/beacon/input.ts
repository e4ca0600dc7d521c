/**
 * Checks of user input about beacon rounds (CLI arguments, configuration), each failing with a
 * BeaconInputError that says what is wrong with which value.
 */
import { g2FromBytes } from "../bls/index.js";

/** Input that is not a round, a signature or a key; the message names the value and the problem. */
export class BeaconInputError extends Error {
  override name = "BeaconInputError";
}

const HEX = /^(0x)?[0-9a-fA-F]*$/;

function shown(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}

/** Bytes of a hex string (0x optional) of exactly `bytes` bytes. */
export function parseHexBytes(value: string, bytes: number, what: string): Uint8Array {
  const trimmed = value.trim();
  if (trimmed === "" || !HEX.test(trimmed)) throw new BeaconInputError(`${what} ${shown(value)} is not hex: use ${bytes * 2} hex digits, with or without 0x`);
  const body = trimmed.replace(/^0x/, "");
  if (body.length !== bytes * 2) {
    throw new BeaconInputError(`${what} has ${body.length} hex digits (${body.length / 2} bytes); it must have ${bytes * 2} (${bytes} bytes)`);
  }
  return Uint8Array.from(Buffer.from(body, "hex"));
}

/** A round number: a whole number from 1 to 2^64 - 1 (drand rounds start at 1). */
export function parseRound(value: string | number | bigint): bigint {
  const text = String(value).trim();
  if (!/^\d+$/.test(text)) throw new BeaconInputError(`round ${shown(String(value))} is not a whole number`);
  const round = BigInt(text);
  if (round === 0n) throw new BeaconInputError("round 0 does not exist: drand rounds start at 1");
  if (round >= 1n << 64n) throw new BeaconInputError(`round ${round} does not fit in 64 bits`);
  return round;
}

/** A round signature: 64 bytes x || y (kyber G1 encoding), as two field-size integers. */
export function parseSignature(value: string): { x: bigint; y: bigint } {
  const bytes = parseHexBytes(value, 64, "signature");
  const word = (i: number) => BigInt(`0x${Buffer.from(bytes.subarray(32 * i, 32 * (i + 1))).toString("hex")}`);
  return { x: word(0), y: word(1) };
}

/** A group public key: 128 bytes x1 || x0 || y1 || y0 (kyber G2 encoding) that is a point of G2. Returns 0x hex. */
export function parsePublicKeyHex(value: string): string {
  const bytes = parseHexBytes(value, 128, "public key");
  const hex = `0x${Buffer.from(bytes).toString("hex")}`;
  try {
    g2FromBytes(hex, "public key");
  } catch (error) {
    throw new BeaconInputError(`public key is 128 bytes but not a point of G2: ${(error as Error).message}`);
  }
  return hex;
}
