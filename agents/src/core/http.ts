/**
 * HTTP helpers shared by the roles that serve an API (JSON replies, errors, listening).
 *
 * Errors are JSON `{ error, hint }` with a status that says whose fault it is: a route throws an
 * `HttpError` and the server's error handler replies with `sendError`.
 */
import type http from "node:http";
import type { AddressInfo } from "node:net";

/** A refused request: its status, what was wrong and what to do about it. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly hint?: string,
    /** A short label of the refusal for metrics, when the role counts them. */
    readonly reason?: string,
  ) {
    super(message);
  }
}

/** Replies with `body` as JSON; bigints are written as decimal strings. */
export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Replies `{ error: message, hint }` with `status` and closes the connection (the request body may
 * not have been read); a reply already under way is cut off instead.
 */
export function sendError(req: http.IncomingMessage, res: http.ServerResponse, status: number, message: string, hint: string | undefined): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.setHeader("connection", "close");
  sendJson(res, status, { error: message, hint });
  req.resume();
}

/** Starts `server` on host:port (port 0: any free port) and resolves with the port it listens on. */
export async function listen(server: http.Server, port: number, host = "127.0.0.1"): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}
