// Builds one of daios's native addons with node-gyp: the shared body of agents/native/*/build.mjs,
// which `npm install` (the root package's install script) and `npm run build:native` run. A failed
// build does not fail `npm install`: daios then falls back to a slower TypeScript implementation, and
// this module says why and how to fix it. With `--require` (what `npm run build:native` passes) or
// DAIOS_REQUIRE_NATIVE=1 (e.g. in CI) a failed build is an error (exit status 1).
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";

/**
 * Runs `node-gyp rebuild` in `dir`, loads build/Release/<target>.node and reports it.
 *
 * @param {object} addon
 * @param {string} addon.dir the addon's directory (the one holding binding.gyp)
 * @param {string} addon.target the binding.gyp target name
 * @param {string} addon.label what the failure message calls it, e.g. "native Poseidon addon (agents/native/poseidon)"
 * @param {string[]} addon.fallback the failure message's lines on what daios does without it and how to build it
 * @param {(addon: any) => string} addon.describe throws if the loaded addon lacks an export; else the
 *   success message's note on the implementation picked for this CPU
 */
export function buildAddon({ dir, target, label, fallback, describe }) {
  const addonPath = path.join(dir, "build", "Release", `${target}.node`);
  const required = process.argv.includes("--require") || process.env.DAIOS_REQUIRE_NATIVE === "1";

  // npm gives scripts the path of its bundled node-gyp (and the nodedir setting in npm_config_nodedir,
  // which node-gyp reads, so no headers are downloaded when it is set).
  const gyp = process.env.npm_config_node_gyp;
  const [command, args] = gyp ? [process.execPath, [gyp, "rebuild"]] : ["node-gyp", ["rebuild"]];

  function fail(reason) {
    console.error(["", `daios: the ${label} was not built: ${reason}.`, ...fallback, ""].join("\n"));
    process.exit(required ? 1 : 0);
  }

  const build = spawnSync(command, args, { cwd: dir, stdio: "inherit" });
  if (build.error) fail(`could not run node-gyp (${build.error.message})`);
  if (build.status !== 0) fail(`node-gyp exited with ${build.status ?? build.signal}; its output is above`);

  try {
    const note = describe(createRequire(import.meta.url)(addonPath));
    console.log(`daios: built ${path.relative(process.cwd(), addonPath)} (${note})`);
  } catch (error) {
    fail(`the built addon does not load (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`);
  }
}
