/**
 * Deploys the daios contracts with Ignition and writes deploy/deployments/<chainId>.json, the file
 * every agent role, the SDK and the CLI read.
 *
 *   npx hardhat run deploy/deploy.ts --network localhost        (RPC_URL, default http://127.0.0.1:8545)
 *   npx hardhat run deploy/deploy.ts --network <name>
 */
import { network } from "hardhat";
import { deployDaios } from "./deploy-daios.js";

const connection = await network.create();
const { deployment, file } = await deployDaios(connection, connection.networkName);
console.log(`deployed to chain ${deployment.chainId}; wrote ${file}`);
for (const [name, c] of Object.entries(deployment.contracts)) console.log(`  ${name.padEnd(20)} ${c.address}`);
if (deployment.beacon) console.log(`  beacon: ${deployment.beacon.network} key, genesis ${deployment.beacon.genesis}, a round every ${deployment.beacon.period} s`);
await connection.close();
