/**
 * The DA client's contract-error decoding (decodeRevert in agents/src/sdk/da/client.ts) on ethers
 * errors shaped as a Wallet's estimateGas and send throw them, where ethers leaves `error.revert` null,
 * and the epoch a transaction sent at a given head lands in.
 *
 *   npx hardhat test mocha test/mocha/sdk/da-client-revert.test.ts
 */
import { expect } from "chai";
import { AbiCoder, Interface, makeError, type Result } from "ethers";
import { DaiosError } from "../../../agents/src/core/errors.js";
import { DA } from "../../../agents/src/generated/constants.js";
import { decodeRevert, epochOfNextBlock } from "../../../agents/src/sdk/da/client.js";
import { DABlobs__factory, DARegistry__factory, DaiosToken__factory, ProviderRegistry__factory } from "../../../types/ethers-contracts/index.js";

const blobs = DABlobs__factory.createInterface();
const daRegistry = DARegistry__factory.createInterface();
const INTERFACES: Interface[] = [blobs, daRegistry, ProviderRegistry__factory.createInterface(), DaiosToken__factory.createInterface()];
const FROM = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const TO = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

/** Hardhat's JSON-RPC error for a revert with custom-error data. */
const rpcError = (data: string) => ({ code: 3, message: `VM Exception while processing transaction: reverted with an unrecognized custom error (return data: ${data})`, data });

/** What a Wallet's estimateGas throws when the call reverts (ethers v6, Hardhat node): revert is null. */
function estimateGasRevert(data: string) {
  return makeError("execution reverted (unknown custom error)", "CALL_EXCEPTION", {
    action: "estimateGas",
    data,
    reason: null,
    transaction: { from: FROM, to: TO, data: "0x" },
    invocation: null,
    revert: null,
    info: { error: rpcError(data), payload: { method: "eth_estimateGas", params: [{ from: FROM, to: TO }], id: 5, jsonrpc: "2.0" } },
  });
}

/** What a Wallet's send with a gas limit throws when an automining node mines it reverting. */
function sendRevert(data: string) {
  return makeError("could not coalesce error", "UNKNOWN_ERROR", {
    error: rpcError(data),
    payload: { method: "eth_sendRawTransaction", params: ["0x02f8"], id: 6, jsonrpc: "2.0" },
  });
}

describe("DA client: contract errors and epochs", () => {
  const wrongEpoch = blobs.encodeErrorResult("DABlobsWrongEpoch", [7n, 8n]);

  it("names DABlobsWrongEpoch and its arguments from a Wallet's estimateGas revert (error.revert null)", () => {
    const error = estimateGasRevert(wrongEpoch);
    expect(error.revert).to.equal(null);
    const decoded = decodeRevert(error, INTERFACES);
    expect(decoded?.name).to.equal("DABlobsWrongEpoch");
    expect(decoded?.args).to.deep.equal([7n, 8n]);
    expect(decoded?.text).to.equal("DABlobsWrongEpoch(epoch=7, currentEpoch=8)");
  });

  it("finds the data in error.error.data of a send's 'could not coalesce error'", () => {
    const data = daRegistry.encodeErrorResult("DARegistryEpochAlreadySampled", [12n]);
    expect(decodeRevert(sendRevert(data), INTERFACES)?.text).to.equal("DARegistryEpochAlreadySampled(epoch=12)");
  });

  it("finds the data in info.error.data only, and inside a wrapping error's cause", () => {
    const data = daRegistry.encodeErrorResult("DARegistryEpochNotSampleable", [5n, 3n]);
    const deep = makeError("execution reverted", "CALL_EXCEPTION", {
      action: "sendTransaction",
      data: null,
      reason: null,
      transaction: { to: TO, from: FROM, data: "0x" },
      invocation: null,
      revert: null,
      info: { error: rpcError(data) },
    });
    expect(decodeRevert(deep, INTERFACES)?.text).to.equal("DARegistryEpochNotSampleable(epoch=5, currentEpoch=3)");
    const wrapped = new DaiosError("submit failed", { cause: deep });
    expect(decodeRevert(wrapped, INTERFACES)?.name).to.equal("DARegistryEpochNotSampleable");
  });

  it("decodes a token error bubbled up through DABlobs with the token's interface", () => {
    const token = DaiosToken__factory.createInterface();
    const data = token.encodeErrorResult("ERC20InsufficientAllowance", [TO, 1n, 2n]);
    expect(decodeRevert(estimateGasRevert(data), INTERFACES)?.text).to.equal(`ERC20InsufficientAllowance(spender=${TO}, allowance=1, needed=2)`);
    // Without the token's interface it is not guessed at.
    expect(decodeRevert(estimateGasRevert(data), [blobs, daRegistry])).to.equal(undefined);
  });

  it("decodes require messages and panics, and keeps what ethers decoded itself", () => {
    const message = "0x08c379a0" + AbiCoder.defaultAbiCoder().encode(["string"], ["not allowed"]).slice(2);
    expect(decodeRevert(sendRevert(message), INTERFACES)).to.deep.include({ name: "Error", text: "Error(not allowed)" });
    const panic = "0x4e487b71" + AbiCoder.defaultAbiCoder().encode(["uint256"], [0x11]).slice(2);
    expect(decodeRevert(estimateGasRevert(panic), INTERFACES)?.text).to.equal("Panic(17)");
    // A Contract's staticCall decodes into error.revert (and its data is there too).
    const staticCall = Object.assign(new Error("execution reverted"), { revert: { name: "DABlobsInvalidRoot", args: [] as unknown as Result } });
    expect(decodeRevert(staticCall, INTERFACES)?.text).to.equal("DABlobsInvalidRoot()");
  });

  it("returns undefined without revert data or for an unknown selector", () => {
    expect(decodeRevert(new Error("connect ECONNREFUSED 127.0.0.1:8545"), INTERFACES)).to.equal(undefined);
    expect(decodeRevert(makeError("could not coalesce error", "UNKNOWN_ERROR", { error: { code: -32000, message: "nonce too low" } }), INTERFACES)).to.equal(undefined);
    expect(decodeRevert(estimateGasRevert("0xdeadbeef"), INTERFACES)).to.equal(undefined);
    expect(decodeRevert(undefined, INTERFACES)).to.equal(undefined);
  });

  it("a transaction sent at an epoch's last block lands in the next epoch", () => {
    const E = DA.EPOCH_BLOCKS;
    expect(epochOfNextBlock(0)).to.equal(0n);
    expect(epochOfNextBlock(E - 2)).to.equal(0n);
    expect(epochOfNextBlock(E - 1)).to.equal(1n);
    expect(epochOfNextBlock(E)).to.equal(1n);
    expect(epochOfNextBlock(5 * E - 1)).to.equal(5n);
  });
});
