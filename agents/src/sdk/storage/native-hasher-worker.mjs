// Worker thread of the native hasher (native-hasher.ts): loads the Poseidon addon, installs the
// constants it is given, then hashes ranges of shared buffers on request. Plain JavaScript so that
// it starts under any loader (tsx, node's type stripping, or none).
//
// workerData: { addonPath, widths: [{ t, fullRounds, partialRounds, C, M, P, S }], arithmetic }
// message in:  { op: "leaves", input, chunkSize, start, end, output }
//            | { op: "pairs", input, zero, start, end, output }
//              (input and output are views of SharedArrayBuffers; output holds (end - start) * 32 bytes)
// message out: {} when done, or { error } with the addon's message.
import { createRequire } from "node:module";
import { parentPort, workerData } from "node:worker_threads";

const require = createRequire(import.meta.url);
const addon = require(workerData.addonPath);
for (const w of workerData.widths) addon.init(w.t, w.fullRounds, w.partialRounds, w.C, w.M, w.P, w.S);
addon.arithmetic(workerData.arithmetic);

parentPort.on("message", (task) => {
  try {
    if (task.op === "leaves") {
      addon.hashLeaves(task.input, task.chunkSize, task.start, task.end, task.output);
    } else if (task.op === "pairs") {
      addon.hashPairs(task.input, task.zero, task.start, task.end, task.output);
    } else {
      throw new Error(`unknown task ${String(task.op)}`);
    }
    parentPort.postMessage({});
  } catch (error) {
    parentPort.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
});
