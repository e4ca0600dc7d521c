/**
 * The native DA coding addon (agents/native/erasure, a Node-API addon built by node-gyp at
 * `npm install`): the Reed–Solomon hot loop (a GF(2^8) matrix times shard buffers, with AVX-512 or
 * AVX2 GFNI, AVX2 PSHUFB or portable kernels) and the SHA-256 leaf and node hashing of the
 * commitment tree (SHA-NI or portable). Both agree bit for bit with the TypeScript references
 * (gf256.ts, commitment.ts); test/mocha/sdk/da-native.test.ts checks every kernel this CPU has.
 *
 * - `loadErasureAddon()` needs the addon and throws `NativeErasureUnavailableError` (with the build
 *   command) when it cannot be loaded.
 * - `optionalErasureAddon()` is for callers that just want the fastest code available: the addon,
 *   or `undefined` after a one-line warning (once per process) that names the build command.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { DaiosError } from "../../core/errors.js";
import { checkMulArguments, type GfKernel } from "./gf256.js";

const require = createRequire(import.meta.url);

/** Where node-gyp puts the addon (agents/native/erasure/build/Release). */
export const DEFAULT_ADDON_PATH = fileURLToPath(
  new URL("../../../native/erasure/build/Release/daios_erasure.node", import.meta.url),
);
/** The addon loaded by this process: DAIOS_ERASURE_ADDON (a prebuilt binary) or the built one. */
export const ADDON_PATH = process.env.DAIOS_ERASURE_ADDON || DEFAULT_ADDON_PATH;

/** The command that builds the addon from a clone (what `npm install` runs). */
export const BUILD_COMMAND = "npm run build:native";

/** The addon's GF(2^8) kernels, fastest first; "best" picks the first this CPU supports. */
export const NATIVE_KERNELS = ["avx512-gfni", "avx2-gfni", "avx2", "portable"] as const;
export type NativeKernel = (typeof NATIVE_KERNELS)[number];

/** The addon's SHA-256 block functions, fastest first. */
export const NATIVE_SHAS = ["sha-ni", "portable"] as const;
export type NativeSha = (typeof NATIVE_SHAS)[number];

/** The functions of the Node-API addon (agents/native/erasure/src/addon.cc). */
export interface ErasureAddon {
  /**
   * outputs[r][start, end) = XOR over c of matrix[r * cols + c] * inputs[c][start, end) in
   * GF(2^8)/0x11d (overwriting; outputs must not overlap inputs). `end` defaults to the shortest shard.
   */
  mulMatrix(
    matrix: Uint8Array,
    rows: number,
    cols: number,
    inputs: readonly Uint8Array[],
    outputs: readonly Uint8Array[],
    start?: number,
    end?: number,
  ): void;
  /** Selects ("best" or a kernel) or reports the kernel of this thread. */
  kernel(name?: "best" | NativeKernel): NativeKernel;
  /** The kernels this CPU supports, fastest first. */
  kernels(): NativeKernel[];
  sha256(data: Uint8Array): Uint8Array;
  /** Leaves [start, end): sha256(0x00 || chunk), the last chunk zero-padded to chunkSize; 32 bytes each. */
  hashLeaves(data: Uint8Array, chunkSize: number, start?: number, end?: number, out?: Uint8Array): Uint8Array;
  /** Parents [start, end) of a level: sha256(0x01 || left || right), an odd last node paired with `zero`. */
  hashNodes(level: Uint8Array, zero: Uint8Array, start?: number, end?: number, out?: Uint8Array): Uint8Array;
  /** Selects ("best" or an implementation) or reports the SHA-256 of this thread. */
  sha(name?: "best" | NativeSha): NativeSha;
  /** The SHA-256 implementations this CPU supports, fastest first. */
  shas(): NativeSha[];
}

/** The addon could not be loaded (not built, or built for another platform). */
export class NativeErasureUnavailableError extends DaiosError {
  constructor(cause: unknown) {
    const reason = cause instanceof Error ? cause.message.split("\n")[0] : String(cause);
    super(`The native DA coding addon could not be loaded from ${ADDON_PATH} (${reason})`, {
      hint:
        `Build it with \`${BUILD_COMMAND}\` (node-gyp; needs python3, make and a C++ compiler); ` +
        "without it blobs are encoded and committed by the much slower TypeScript reference",
      cause,
    });
  }
}

let addon: ErasureAddon | undefined;
let loadError: unknown;
let warned = false;

/** The addon of this thread; throws NativeErasureUnavailableError. */
export function loadErasureAddon(): ErasureAddon {
  if (addon) return addon;
  if (loadError === undefined) {
    try {
      const loaded = require(ADDON_PATH) as ErasureAddon;
      if (typeof loaded.mulMatrix !== "function" || typeof loaded.hashLeaves !== "function") {
        throw new Error("it does not export mulMatrix and hashLeaves (an old build? rebuild it)");
      }
      addon = loaded;
    } catch (error) {
      loadError = error;
    }
  }
  if (!addon) throw new NativeErasureUnavailableError(loadError);
  return addon;
}

/** Whether the addon can be loaded here. */
export function nativeErasureAvailable(): boolean {
  try {
    loadErasureAddon();
    return true;
  } catch {
    return false;
  }
}

/**
 * The addon, or undefined when it cannot be loaded: then `warn` (default process.emitWarning) is
 * told once per process that the TypeScript reference is used and how to build the addon.
 */
export function optionalErasureAddon(warn?: (message: string) => void): ErasureAddon | undefined {
  try {
    return loadErasureAddon();
  } catch (error) {
    if (!(error instanceof NativeErasureUnavailableError)) throw error;
    if (!warned) {
      warned = true;
      const emit = warn ?? ((message: string) => process.emitWarning(message, { code: "DAIOS_NATIVE_ERASURE" }));
      emit(`native DA coding addon unavailable, using the much slower TypeScript reference: run \`${BUILD_COMMAND}\` to build it`);
    }
    return undefined;
  }
}

/**
 * The native GF(2^8) kernel as a `GfKernel`: it runs whatever kernel this thread has selected
 * (`selectKernel`, default the fastest), on the calling thread.
 */
export function nativeKernel(): GfKernel {
  const native = loadErasureAddon();
  return {
    get name() {
      return native.kernel();
    },
    mulMatrix(matrix, rows, cols, inputs, outputs) {
      checkMulArguments(matrix, rows, cols, inputs, outputs);
      if (rows === 0) return;
      native.mulMatrix(matrix, rows, cols, inputs, outputs, 0, outputs[0].length);
    },
  };
}

/** Selects the kernel of this thread ("best": the fastest this CPU has); returns the one in use. */
export function selectKernel(name: "best" | NativeKernel): NativeKernel {
  return loadErasureAddon().kernel(name);
}

/** Selects the SHA-256 of this thread ("best": SHA-NI where the CPU has it); returns the one in use. */
export function selectSha(name: "best" | NativeSha): NativeSha {
  return loadErasureAddon().sha(name);
}

/** The kernels this CPU supports, fastest first. */
export function supportedKernels(): NativeKernel[] {
  return loadErasureAddon().kernels();
}

/** The SHA-256 implementations this CPU supports, fastest first. */
export function supportedShas(): NativeSha[] {
  return loadErasureAddon().shas();
}
