// Structured logging: one JSON line per event, tagged with the role, and child loggers that add a
// job id or a transaction hash to every line they write.

import pino from "pino";

import type { LogLevel } from "./config.js";

export type Logger = pino.Logger;

export interface CreateLoggerOptions {
  /** Where lines are written (default: standard output). Tests pass a stream to read them back. */
  destination?: pino.DestinationStream;
  /** Fields added to every line. */
  base?: Record<string, unknown>;
}

/**
 * A logger for one role. Each line is a JSON object with `level` (as a word), `time` (ISO 8601),
 * `role`, `pid`, `msg` and the fields of the call; errors under `err` keep their type, message,
 * stack, cause and, for DaiosError, hint.
 */
export function createLogger(role: string, level: LogLevel = "info", options: CreateLoggerOptions = {}): Logger {
  const loggerOptions: pino.LoggerOptions = {
    level,
    base: { role, pid: process.pid, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    serializers: { err: pino.stdSerializers.errWithCause },
  };
  return options.destination ? pino(loggerOptions, options.destination) : pino(loggerOptions);
}

/** A logger that writes nothing, for library callers that pass none. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/** A child logger whose lines carry `jobId` (and `queue`, when given). */
export function jobLogger(log: Logger, jobId: string, fields: Record<string, unknown> = {}): Logger {
  return log.child({ jobId, ...fields });
}

/** A child logger whose lines carry `txHash`. */
export function txLogger(log: Logger, txHash: string, fields: Record<string, unknown> = {}): Logger {
  return log.child({ txHash, ...fields });
}
