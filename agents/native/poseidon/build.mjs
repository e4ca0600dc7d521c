#!/usr/bin/env node
// Builds the native Poseidon addon with node-gyp: run by `npm install` (the root package's install
// script) and by `npm run build:native`. A failed build does not fail `npm install`: daios then runs
// with the slower ReferenceHasher, and this script says why and how to fix it. With `--require` (what
// `npm run build:native` passes) or DAIOS_REQUIRE_NATIVE=1 (e.g. in CI) a failed build is an error.
import path from "node:path";
import { fileURLToPath } from "node:url";

import { buildAddon } from "../common/build-addon.mjs";

buildAddon({
  dir: path.dirname(fileURLToPath(import.meta.url)),
  target: "daios_poseidon",
  label: "native Poseidon addon (agents/native/poseidon)",
  fallback: [
    "  daios still works: createTreeHasher() falls back to the much slower ReferenceHasher, and",
    "  createFastHasher() throws until the addon is built. To build it, install python3, make and a",
    "  C++ compiler (Debian/Ubuntu: apt-get install -y python3 make g++), then run `npm run build:native`.",
  ],
  describe(addon) {
    if (typeof addon.hashLeaves !== "function") throw new Error("it does not export hashLeaves");
    let best = "unknown";
    try {
      best = addon.arithmetic("best");
    } catch {
      // constants are not needed to report the arithmetic; anything else is reported below
    }
    return `field arithmetic on this CPU: ${best}`;
  },
});
