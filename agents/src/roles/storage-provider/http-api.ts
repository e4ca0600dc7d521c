/**
 * The storage provider's HTTP API.
 *
 *   GET  /v1/health                    liveness and the provider's address
 *   GET  /v1/files                     stored files (data root, size)
 *   PUT  /v1/deals/:dealId/data        upload a deal's file (raw body, Content-Length = deal size);
 *                                      streamed to disk while its root is recomputed, rejected on a
 *                                      mismatch; on success the provider joins a free replica slot
 *   GET  /v1/files/:root               the file's bytes; honours `Range: bytes=a-b` (206)
 *   GET  /v1/files/:root/leaves        the leaf level (32 bytes per chunk) for verified downloads
 *   GET  /v1/files/:root/meta          size, data root, chunk count
 *
 * Errors are JSON `{ error, hint }` with a status that says whose fault it is (core/http.ts).
 */
import { createReadStream } from "node:fs";
import http from "node:http";
import { STORAGE } from "../../generated/constants.js";
import { DataFormatError } from "../../sdk/storage/format.js";
import { DaiosError } from "../../core/errors.js";
import { HttpError, sendError, sendJson } from "../../core/http.js";
import { RootMismatchError, rootHex, type FileStore } from "./file-store.js";

export interface DealInfo {
  dataRoot: bigint;
  size: number;
}

export interface ProviderApiOptions {
  store: FileStore;
  address: string;
  /** Reads a deal from the market; undefined for an unknown deal id. */
  lookupDeal: (dealId: bigint) => Promise<DealInfo | undefined>;
  /** Called once a deal's file is stored and verified: joins a slot, returns what to tell the client. */
  onStored: (dealId: bigint) => Promise<Record<string, unknown>>;
  log: { info: (obj: object, msg?: string) => void; warn: (obj: object, msg?: string) => void };
  /** False while the provider is still starting (e.g. registering on-chain): health is 503, uploads wait. */
  isReady?: () => boolean;
}

function parseRoot(text: string): bigint {
  if (!/^0x[0-9a-fA-F]{1,64}$/.test(text)) {
    throw new HttpError(400, `'${text}' is not a data root`, "a data root is 0x followed by up to 64 hex digits");
  }
  return BigInt(text);
}

function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) throw new HttpError(416, `unsupported range '${header}'`, "use a single range: bytes=start-end");
  let start: number;
  let end: number;
  if (match[1] === "") {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start > end || start >= size) throw new HttpError(416, `range ${header} is outside the file of ${size} bytes`);
  return { start, end };
}

export function createProviderApi(options: ProviderApiOptions): http.Server {
  const { store } = options;

  async function upload(req: http.IncomingMessage, res: http.ServerResponse, dealIdText: string): Promise<void> {
    if (!/^\d+$/.test(dealIdText)) throw new HttpError(400, `'${dealIdText}' is not a deal id`, "deal ids are positive integers");
    const dealId = BigInt(dealIdText);
    const deal = await options.lookupDeal(dealId);
    if (!deal) throw new HttpError(404, `deal ${dealId} does not exist on the market`, "create the deal first (daios storage upload does)");
    const length = Number(req.headers["content-length"]);
    if (!Number.isInteger(length)) throw new HttpError(411, "the upload needs a Content-Length header equal to the deal's size");
    if (length !== deal.size) {
      throw new HttpError(400, `the upload is ${length} bytes but deal ${dealId} is for ${deal.size} bytes`, "upload the file the deal was created for");
    }
    if (length > STORAGE.MAX_FILE_SIZE) throw new HttpError(413, `${length} bytes is over the maximum file size ${STORAGE.MAX_FILE_SIZE}`);
    const started = Date.now();
    const stored = await store.put(req, deal.size, deal.dataRoot);
    options.log.info({ dealId: dealId.toString(), root: rootHex(stored.dataRoot), size: stored.size, ms: Date.now() - started }, "file stored");
    const joined = await options.onStored(dealId);
    sendJson(res, 201, { dealId: dealId.toString(), dataRoot: rootHex(stored.dataRoot), size: stored.size, ...joined });
  }

  function download(req: http.IncomingMessage, res: http.ServerResponse, root: bigint): void {
    const stored = store.get(root);
    if (!stored) throw new HttpError(404, `no file with data root ${rootHex(root)} is stored here`);
    const range = parseRange(req.headers.range, stored.size);
    const start = range?.start ?? 0;
    const end = range?.end ?? stored.size - 1;
    res.writeHead(range ? 206 : 200, {
      "content-type": "application/octet-stream",
      "content-length": end - start + 1,
      "accept-ranges": "bytes",
      ...(range ? { "content-range": `bytes ${start}-${end}/${stored.size}` } : {}),
      "x-daios-size": stored.size,
    });
    createReadStream(store.dataPath(root), { start, end }).pipe(res);
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://provider");
    const parts = url.pathname.split("/").filter(Boolean);
    if (parts[0] !== "v1") throw new HttpError(404, `no route ${url.pathname}`, "routes live under /v1");
    const method = req.method ?? "GET";
    const ready = options.isReady?.() ?? true;
    if (method === "GET" && parts.length === 2 && parts[1] === "health") {
      return sendJson(res, ready ? 200 : 503, { ok: ready, address: options.address });
    }
    if (!ready) throw new HttpError(503, "the provider is starting", "retry in a few seconds");
    if (method === "GET" && parts.length === 2 && parts[1] === "files") {
      return sendJson(res, 200, store.list().map((f) => ({ dataRoot: rootHex(f.dataRoot), size: f.size })));
    }
    if (method === "PUT" && parts.length === 4 && parts[1] === "deals" && parts[3] === "data") {
      return upload(req, res, parts[2]);
    }
    if (method === "GET" && parts[1] === "files" && parts.length >= 3) {
      const root = parseRoot(parts[2]);
      if (parts.length === 3) return download(req, res, root);
      const stored = store.get(root);
      if (!stored) throw new HttpError(404, `no file with data root ${rootHex(root)} is stored here`);
      if (parts[3] === "leaves" && parts.length === 4) {
        const leaves = stored.tree.levels[0];
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": leaves.length });
        res.end(Buffer.from(leaves.buffer, leaves.byteOffset, leaves.byteLength));
        return;
      }
      if (parts[3] === "meta" && parts.length === 4) {
        return sendJson(res, 200, { dataRoot: rootHex(stored.dataRoot), treeRoot: rootHex(stored.tree.treeRoot), size: stored.size, chunkCount: stored.tree.chunkCount });
      }
    }
    throw new HttpError(404, `no route ${method} ${url.pathname}`);
  }

  return http.createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      const status =
        error instanceof HttpError ? error.status
        : error instanceof RootMismatchError ? 422
        : error instanceof DataFormatError ? 400
        : 500;
      const hint = error instanceof HttpError || error instanceof DaiosError ? error.hint : undefined;
      const message = error instanceof Error ? error.message : String(error);
      if (status >= 500) options.log.warn({ err: message, url: req.url }, "request failed");
      sendError(req, res, status, message, hint);
    });
  });
}
