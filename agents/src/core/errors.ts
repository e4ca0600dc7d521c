// Error types shared by every agent role.
//
// A DaiosError says what failed, with which value, and what the user should do about it. The
// message carries all three so that it is useful even where only `err.message` is printed; the
// `hint` is also kept on its own for callers (the CLI, structured logs) that show it separately.

export interface DaiosErrorOptions {
  /** What the user should do next, e.g. "set REDIS_URL to a reachable server". */
  hint?: string;
  /** The lower-level error this one wraps. */
  cause?: unknown;
}

export class DaiosError extends Error {
  /** What the user should do next, or undefined when there is nothing to suggest. */
  readonly hint: string | undefined;
  /** The failure without the hint. */
  readonly problem: string;

  constructor(problem: string, options: DaiosErrorOptions = {}) {
    super(options.hint ? `${problem}. ${options.hint}` : problem, { cause: options.cause });
    this.name = new.target.name;
    this.problem = problem;
    this.hint = options.hint;
  }
}

/**
 * Configuration was missing or invalid. `problems` holds one line per bad value, each naming the
 * variable, the (redacted where secret) value and the fix; the message lists them all.
 */
export class ConfigError extends DaiosError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    super(`Invalid configuration (${count}):\n${problems.map((p) => `  - ${p}`).join("\n")}\n`, {
      hint: "Fix the values above (environment variables or command-line options) and start again",
    });
    this.problems = [...problems];
  }
}

/** The message of anything thrown, for logs and wrapped errors. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === "string") return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

/** Wraps an unknown thrown value as an Error, keeping Errors as they are. */
export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(errorMessage(err));
}

/** Whether `err` is a DaiosError (also across module copies, by name). */
export function isDaiosError(err: unknown): err is DaiosError {
  return err instanceof DaiosError || (err instanceof Error && "hint" in err && "problem" in err);
}

/**
 * Renders an error for a person at a terminal: the message, and the causes it wraps, one per line.
 * Stack traces are left to the structured logs.
 */
export function formatError(err: unknown): string {
  const lines = [`error: ${errorMessage(err)}`];
  let cause = err instanceof Error ? err.cause : undefined;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    lines.push(`  caused by: ${errorMessage(cause)}`);
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return lines.join("\n");
}

/** Shows a secret as its length only, for messages and logs. */
export function redactSecret(value: string): string {
  return `<redacted, ${value.length} characters>`;
}

/**
 * Hides the password of a URL such as redis://user:pass@host:6379 (as redis://user:***@host:6379),
 * leaving the rest of the text exactly as it was; text without a password is returned unchanged.
 */
export function redactUrl(value: string): string {
  return value.replace(/(\/\/[^/?#@:]*:)[^/?#]*@/, "$1***@");
}
