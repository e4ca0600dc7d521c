#!/usr/bin/env node
// Builds the native DA coding addon (Reed–Solomon kernels and SHA-256 commitment hashing) with
// node-gyp: run by `npm install` (the root package's install script) and by `npm run build:native`.
// A failed build does not fail `npm install`: daios then encodes blobs with the slower TypeScript
// reference, and this script says why and how to fix it. With `--require` (what `npm run
// build:native` passes) or DAIOS_REQUIRE_NATIVE=1 (e.g. in CI) a failed build is an error.
import path from "node:path";
import { fileURLToPath } from "node:url";

import { buildAddon } from "../common/build-addon.mjs";

buildAddon({
  dir: path.dirname(fileURLToPath(import.meta.url)),
  target: "daios_erasure",
  label: "native DA coding addon (agents/native/erasure)",
  fallback: [
    "  daios still works: blob encoding and commitments fall back to the much slower TypeScript",
    "  reference (with a warning). To build it, install python3, make and a C++ compiler",
    "  (Debian/Ubuntu: apt-get install -y python3 make g++), then run `npm run build:native`.",
  ],
  describe(addon) {
    if (typeof addon.mulMatrix !== "function" || typeof addon.hashLeaves !== "function") {
      throw new Error("it does not export mulMatrix and hashLeaves");
    }
    return `erasure kernel on this CPU: ${addon.kernel()}, SHA-256: ${addon.sha()}`;
  },
});
