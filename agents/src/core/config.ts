// Typed configuration for every agent role, read from environment variables (and an optional
// overrides object filled from command-line options or by tests) and validated once at start-up.
//
// Each role describes its own section with the same small field builders used for the common
// fields below:
//
//   const schema = {
//     minDealSize: field.int("MIN_DEAL_SIZE", { min: 1 }).default(1024),
//     dataDir: field.path("DATA_DIR", { what: "where the provider keeps stored data" }),
//   };
//   const config = loadConfig({ role: schema });   // config.role.minDealSize: number
//
// Every bad value becomes one line naming the variable, the value (secrets redacted) and the fix;
// all lines are thrown together in one ConfigError.

import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { inspect } from "node:util";

import { getAddress } from "ethers";

import { ConfigError, redactSecret, redactUrl } from "./errors.js";

/** A value given in the overrides object; it is turned into a string and parsed like an env value. */
export type RawValue = string | number | bigint | boolean;

type Parsed<T> = { ok: true; value: T } | { ok: false; expected: string };

type Missing<T> = { kind: "required" } | { kind: "optional" } | { kind: "default"; value: T };

interface FieldSpec<T> {
  env: string;
  /** What a valid value looks like, used in every message about this field. */
  expect: string;
  /** What the value is for, e.g. "the agent's signing key"; optional. */
  what?: string;
  secret: boolean;
  parse(raw: string): Parsed<T>;
  missing: Missing<T>;
}

/**
 * One configuration value: the environment variable it comes from, how to parse and check it,
 * and what happens when it is not set (required by default; see default() and optional()).
 */
export class Field<T> {
  readonly #spec: FieldSpec<T>;

  constructor(spec: FieldSpec<T>) {
    this.#spec = spec;
  }

  /** The environment variable this field is read from. */
  get env(): string {
    return this.#spec.env;
  }

  /** Whether the value is secret (redacted in messages and in logged configuration). */
  get isSecret(): boolean {
    return this.#spec.secret;
  }

  /** Use `value` when the variable is not set. */
  default(value: T): Field<T> {
    return new Field<T>({ ...this.#spec, missing: { kind: "default", value } });
  }

  /** Leave the value undefined when the variable is not set. */
  optional(): Field<T | undefined> {
    return new Field<T | undefined>({ ...this.#spec, missing: { kind: "optional" } } as FieldSpec<T | undefined>);
  }

  /** Mark the value as secret: it is never shown, only its length. */
  secret(): Field<T> {
    return new Field<T>({ ...this.#spec, secret: true });
  }

  /** Says what the value is for, shown in messages. */
  describe(what: string): Field<T> {
    return new Field<T>({ ...this.#spec, what });
  }

  /**
   * Parses a raw value, which came from the environment or, when `option` is given, from the
   * overrides object under that key. Returns the value or one line describing the problem.
   */
  resolve(raw: string | undefined, option?: string): { ok: true; value: T } | { ok: false; problem: string } {
    const spec = this.#spec;
    const valid = `${spec.expect}${spec.what ? ` (${spec.what})` : ""}`;
    const value = raw?.trim();
    if (value === undefined || value === "") {
      if (spec.missing.kind === "default") return { ok: true, value: spec.missing.value };
      if (spec.missing.kind === "optional") return { ok: true, value: undefined as T };
      return { ok: false, problem: `${option ?? spec.env} is not set: set ${spec.env} to ${valid}` };
    }
    const parsed = spec.parse(value);
    if (parsed.ok) return parsed;
    const shown = spec.secret ? redactSecret(value) : JSON.stringify(redactUrl(value));
    const why = parsed.expected === spec.expect ? "is not valid" : parsed.expected;
    return option === undefined
      ? { ok: false, problem: `${spec.env}=${shown} ${why}: set ${spec.env} to ${valid}` }
      : { ok: false, problem: `option ${option}=${shown} ${why}: give ${valid}` };
  }

  /** A copy of `value` fit for logs: secrets replaced by their length, URL passwords hidden. */
  redact(value: T): T | string {
    if (value === undefined) return value;
    if (this.#spec.secret) return redactSecret(String(value));
    return typeof value === "string" ? redactUrl(value) : value;
  }
}

/** A role's configuration section: field name → Field. */
export type Schema = Record<string, Field<unknown>>;

/** The typed values a schema produces. */
export type Infer<S extends Schema> = { [K in keyof S]: S[K] extends Field<infer T> ? T : never };

// ---------------------------------------------------------------------------------------------
// Field builders

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(expected: string): Parsed<T> => ({ ok: false, expected });

function make<T>(env: string, expect: string, parse: (raw: string) => Parsed<T>, what?: string): Field<T> {
  if (!/^[A-Z][A-Z0-9_]*$/.test(env)) {
    throw new TypeError(`configuration variable name ${JSON.stringify(env)} must be UPPER_SNAKE_CASE`);
  }
  return new Field<T>({ env, expect, what, secret: false, parse, missing: { kind: "required" } });
}

export interface IntOptions {
  min?: number;
  max?: number;
  what?: string;
}

export interface UrlOptions {
  /** Allowed schemes without the colon, e.g. ["http", "https"]. */
  protocols: readonly string[];
  what?: string;
}

export interface HexOptions {
  /** Exact length in bytes (the value has 2 × bytes hex digits after 0x). */
  bytes: number;
  what?: string;
}

export interface PathOptions {
  /** Require the path to exist as a file or a directory. */
  mustExist?: "file" | "directory";
  /** Relative paths are resolved against this directory (default: the working directory). */
  base?: string;
  what?: string;
}

export interface StringOptions {
  pattern?: RegExp;
  /** How to describe a valid value when `pattern` is given, e.g. "a host name". */
  expect?: string;
  what?: string;
}

export const field = {
  /** A whole number in [min, max]. */
  int(env: string, options: IntOptions = {}): Field<number> {
    const min = options.min ?? Number.MIN_SAFE_INTEGER;
    const max = options.max ?? Number.MAX_SAFE_INTEGER;
    const range =
      options.min !== undefined && options.max !== undefined
        ? `from ${min} to ${max}`
        : options.min !== undefined
          ? `of at least ${min}`
          : options.max !== undefined
            ? `of at most ${max}`
            : "";
    const expect = `an integer ${range}`.trim();
    return make(
      env,
      expect,
      (raw) => {
        if (!/^[+-]?\d+$/.test(raw)) return bad(`is not an integer`);
        const n = Number(raw);
        if (!Number.isSafeInteger(n) || n < min || n > max) return bad(`is out of range`);
        return ok(n);
      },
      options.what,
    );
  },

  /** A URL with one of the given schemes. */
  url(env: string, options: UrlOptions): Field<string> {
    const schemes = options.protocols.map((p) => p.replace(/:$/, ""));
    const expect = `a ${schemes.join(" or ")} URL, e.g. ${schemes[0]}://127.0.0.1`;
    return make(
      env,
      expect,
      (raw) => {
        let url: URL;
        try {
          url = new URL(raw);
        } catch {
          return bad("is not a URL");
        }
        const scheme = url.protocol.replace(/:$/, "");
        if (!schemes.includes(scheme)) return bad(`has scheme "${scheme}", which is not allowed`);
        if (url.hostname === "") return bad("has no host");
        return ok(raw);
      },
      options.what,
    );
  },

  /** 0x followed by exactly 2 × bytes hex digits; returned as given (lower/upper case kept). */
  hex(env: string, options: HexOptions): Field<string> {
    const digits = options.bytes * 2;
    const expect = `0x followed by ${digits} hex digits`;
    return make(
      env,
      expect,
      (raw) => {
        if (!/^0x[0-9a-fA-F]*$/.test(raw)) return bad("is not 0x-prefixed hex");
        if (raw.length !== digits + 2) return bad(`has ${raw.length - 2} hex digits instead of ${digits}`);
        return ok(raw);
      },
      options.what,
    );
  },

  /** A secp256k1 private key: 32 bytes of hex, secret. */
  privateKey(env: string, what = "the agent's signing key"): Field<string> {
    return field.hex(env, { bytes: 32, what }).secret();
  },

  /** An Ethereum address, returned in checksummed form; a mixed-case address must have a valid checksum. */
  address(env: string, what?: string): Field<string> {
    return make(
      env,
      "a 0x-prefixed 20-byte address",
      (raw) => {
        if (!/^0x[0-9a-fA-F]{40}$/.test(raw)) return bad("is not a 20-byte hex address");
        try {
          return ok(getAddress(raw));
        } catch {
          return bad("has a wrong checksum (mixed case that does not match)");
        }
      },
      what,
    );
  },

  /** One of a fixed list of words (compared exactly). */
  oneOf<const V extends string>(env: string, values: readonly V[], what?: string): Field<V> {
    const expect = `one of ${values.join(", ")}`;
    return make(env, expect, (raw) => ((values as readonly string[]).includes(raw) ? ok(raw as V) : bad(expect)), what);
  },

  /** true/false (also 1/0, yes/no, on/off). */
  bool(env: string, what?: string): Field<boolean> {
    return make(
      env,
      "true or false",
      (raw) => {
        const v = raw.toLowerCase();
        if (["true", "1", "yes", "on"].includes(v)) return ok(true);
        if (["false", "0", "no", "off"].includes(v)) return ok(false);
        return bad("is not a boolean");
      },
      what,
    );
  },

  /** A file-system path, returned absolute. */
  path(env: string, options: PathOptions = {}): Field<string> {
    const expect = options.mustExist ? `the path of an existing ${options.mustExist}` : "a file-system path";
    return make(
      env,
      expect,
      (raw) => {
        const resolved = path.resolve(options.base ?? process.cwd(), raw);
        if (options.mustExist) {
          if (!existsSync(resolved)) return bad(`does not exist (resolved to ${resolved})`);
          const stat = statSync(resolved);
          const isRight = options.mustExist === "file" ? stat.isFile() : stat.isDirectory();
          if (!isRight) return bad(`is not a ${options.mustExist} (resolved to ${resolved})`);
        }
        return ok(resolved);
      },
      options.what,
    );
  },

  /** Any non-empty string, optionally matching a pattern. */
  string(env: string, options: StringOptions = {}): Field<string> {
    const expect = options.expect ?? (options.pattern ? `a value matching ${options.pattern}` : "a non-empty value");
    return make(env, expect, (raw) => (!options.pattern || options.pattern.test(raw) ? ok(raw) : bad("is not valid")), options.what);
  },
};

// ---------------------------------------------------------------------------------------------
// The common configuration

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Chain ids of local development chains (Hardhat, Ganache-style). */
export const DEVNET_CHAIN_IDS: readonly number[] = [31337, 1337];

/** Confirmations waited for on a chain that is not a devnet when CONFIRMATIONS is not set. */
export const DEFAULT_CONFIRMATIONS = 12;

/** The repository root (three levels above this file). */
export const PROJECT_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

function commonSchema(requirePrivateKey: boolean) {
  const key = field.privateKey("PRIVATE_KEY");
  return {
    rpcUrl: field
      .url("RPC_URL", { protocols: ["http", "https", "ws", "wss"], what: "the chain's JSON-RPC endpoint" })
      .default("http://127.0.0.1:8545"),
    redisUrl: field
      .url("REDIS_URL", { protocols: ["redis", "rediss"], what: "the Redis server holding queues and cursors" })
      .default("redis://127.0.0.1:6379"),
    privateKey: requirePrivateKey ? key : key.optional(),
    metricsPort: field.int("METRICS_PORT", { min: 0, max: 65535, what: "Prometheus /metrics port, 0 turns it off" }).default(0),
    metricsHost: field
      .string("METRICS_HOST", {
        pattern: /^[A-Za-z0-9.:\-[\]]+$/,
        expect: "a host name or IP address to bind, e.g. 127.0.0.1 or 0.0.0.0",
      })
      .default("127.0.0.1"),
    logLevel: field.oneOf("LOG_LEVEL", LOG_LEVELS).default("info"),
    deploymentFile: field
      .path("DEPLOYMENT_FILE", { mustExist: "file", what: "defaults to deploy/deployments/<chainId>.json" })
      .optional(),
    confirmations: field
      .int("CONFIRMATIONS", { min: 0, max: 10_000, what: `blocks to wait; defaults to 0 on devnets, ${DEFAULT_CONFIRMATIONS} elsewhere` })
      .optional(),
    pollIntervalMs: field.int("POLL_INTERVAL_MS", { min: 10, max: 3_600_000, what: "how often to poll the chain" }).default(1000),
    maxBlockRange: field
      .int("MAX_BLOCK_RANGE", { min: 1, max: 100_000, what: "the most blocks asked for in one eth_getLogs call" })
      .default(2000),
  };
}

/** The configuration every role has. */
export interface CommonConfig {
  rpcUrl: string;
  redisUrl: string;
  privateKey: string;
  metricsPort: number;
  metricsHost: string;
  logLevel: LogLevel;
  /** Absolute path of the deployment file, or undefined for the default; see deploymentFileFor(). */
  deploymentFile: string | undefined;
  /** Explicit confirmations, or undefined for the chain's default; see confirmationsFor(). */
  confirmations: number | undefined;
  pollIntervalMs: number;
  maxBlockRange: number;
}

/** A loaded configuration: the common fields and the role's own section under `role`. */
export type Config<R = Record<string, never>> = Readonly<CommonConfig> & { readonly role: Readonly<R> };

/** A configuration for a process that may run without a signing key. */
export type KeylessConfig<R = Record<string, never>> = Omit<Config<R>, "privateKey"> & {
  readonly privateKey: string | undefined;
};

export type Overrides = Readonly<Record<string, RawValue | undefined>>;

export interface LoadConfigOptions<S extends Schema> {
  /** The environment to read (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Values keyed by field name (e.g. { metricsPort: 9464 }) that take precedence over the environment. */
  overrides?: Overrides;
  /** The role's own fields, returned under `config.role`. */
  role?: S;
  /** When false, PRIVATE_KEY may be left unset (read-only tools). Default true. */
  requirePrivateKey?: boolean;
}

type EmptySchema = Record<string, never>;

/**
 * Reads and validates the configuration. Throws one ConfigError listing every problem.
 * Precedence: overrides, then the environment, then defaults.
 */
export function loadConfig<S extends Schema = EmptySchema>(
  options: LoadConfigOptions<S> & { requirePrivateKey: false },
): KeylessConfig<Infer<S>>;
export function loadConfig<S extends Schema = EmptySchema>(options?: LoadConfigOptions<S>): Config<Infer<S>>;
export function loadConfig<S extends Schema>(options: LoadConfigOptions<S> = {}): Config<Infer<S>> {
  const env = options.env ?? process.env;
  const overrides = options.overrides ?? {};
  const common: Schema = commonSchema(options.requirePrivateKey ?? true);
  const role: Schema = options.role ?? {};

  checkSchemas(common, role);

  const problems: string[] = [];
  const read = (schema: Schema): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [key, f] of Object.entries(schema)) {
      const override = overrides[key];
      const result = override !== undefined ? f.resolve(String(override), key) : f.resolve(env[f.env]);
      if (result.ok) out[key] = result.value;
      else problems.push(result.problem);
    }
    return out;
  };
  const values = read(common);
  const roleValues = read(role);

  const known = new Set([...Object.keys(common), ...Object.keys(role)]);
  for (const key of Object.keys(overrides)) {
    if (!known.has(key) && overrides[key] !== undefined) {
      problems.push(`option ${key} is not a configuration field: use one of ${[...known].join(", ")}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const config = { ...values, role: roleValues };
  // Logging or printing the configuration never shows the key: both go through redactConfig().
  const redacted = () => redactConfig(config as unknown as Config<Infer<S>>, role as S);
  Object.defineProperty(config, "toJSON", { value: redacted, enumerable: false });
  Object.defineProperty(config, inspect.custom, { value: () => redacted(), enumerable: false });
  return config as unknown as Config<Infer<S>>;
}

function checkSchemas(common: Schema, role: Schema): void {
  const envs = new Map<string, string>();
  for (const [key, f] of Object.entries(common)) envs.set(f.env, key);
  for (const [key, f] of Object.entries(role)) {
    if (!(f instanceof Field)) throw new TypeError(`role configuration field "${key}" is not built with field.*()`);
    if (key in common) throw new TypeError(`role configuration field "${key}" has the name of a common field`);
    const owner = envs.get(f.env);
    if (owner !== undefined) {
      throw new TypeError(`role configuration field "${key}" reads ${f.env}, which "${owner}" already reads`);
    }
    envs.set(f.env, key);
  }
}

/** A plain copy of the configuration fit for logs: secrets show only their length, URL passwords are hidden. */
export function redactConfig<S extends Schema>(
  config: Config<Infer<S>> | KeylessConfig<Infer<S>>,
  roleSchema?: S,
): Record<string, unknown> {
  const common: Schema = commonSchema(false);
  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(common)) out[key] = f.redact((config as Record<string, unknown>)[key]);
  const role: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config.role as Record<string, unknown>)) {
    const f = roleSchema?.[key];
    // Without the schema we cannot know which role values are secret: hide them all.
    role[key] = f ? f.redact(value) : value === undefined ? undefined : "<redacted>";
  }
  out.role = role;
  return out;
}

/** The deployment file for a chain: DEPLOYMENT_FILE when set, else deploy/deployments/<chainId>.json. */
export function deploymentFileFor(config: Pick<CommonConfig, "deploymentFile">, chainId: bigint | number): string {
  return config.deploymentFile ?? path.join(PROJECT_ROOT, "deploy", "deployments", `${chainId}.json`);
}

/** Confirmations to wait for: CONFIRMATIONS when set, else 0 on devnets and DEFAULT_CONFIRMATIONS elsewhere. */
export function confirmationsFor(config: Pick<CommonConfig, "confirmations">, chainId: bigint | number): number {
  if (config.confirmations !== undefined) return config.confirmations;
  return DEVNET_CHAIN_IDS.includes(Number(chainId)) ? 0 : DEFAULT_CONFIRMATIONS;
}
