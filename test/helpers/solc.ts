// Compiles small test contracts with the npm solc (no network, no Hardhat build).

export interface CompiledContract {
  abi: unknown[];
  bytecode: string;
}

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
}

/** Compiles one Solidity source (a single file) and returns the named contract's ABI and bytecode. */
export async function compileSolidity(source: string, contractName: string): Promise<CompiledContract> {
  const { default: solc } = (await import("solc")) as { default: { compile(input: string): string } };
  const input = {
    language: "Solidity",
    sources: { "Test.sol": { content: source } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "cancun",
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join("\n")}`);
  const contract = output.contracts?.["Test.sol"]?.[contractName];
  if (!contract) throw new Error(`solc output has no contract ${contractName}`);
  return { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` };
}
