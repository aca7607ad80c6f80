// A tiny static file server for the browser scripts and tests: serves the repository (pkg/, www/,
// models/, tests/, node_modules/) on localhost with the cross-origin-isolation headers WebGPU pages
// want, streams files from disk (never reads a whole model into memory), honours single Range
// requests and counts the body bytes it sends per URL path (for "bytes fetched" in benchmarks).
// Small files get an ETag (a reload revalidates them with a 304, as a static host would); model
// files (.gguf) are `no-store`, so only a runtime's own cache can keep them.
import { createServer } from 'node:http';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.txt': 'text/plain; charset=utf-8',
  '.raw': 'text/plain; charset=utf-8',
};

const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** The Content-Security-Policy of `/__csp`: same-origin code and connections, no `unsafe-eval`. */
export const STRICT_CSP =
  "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'";

/** An empty cross-origin-isolated page that scripts drive with `page.evaluate`. */
const BLANK = '<!doctype html><meta charset="utf-8"><title>brasa harness</title>';

/**
 * Starts the server on an ephemeral localhost port.
 * @param {{ root?: string, files?: Record<string, string>,
 *           faults?: Record<string, { dropAfter: number, times?: number }> }} [opts]
 *   root: directory served at `/` (default: the repository); files: extra URL path → file path;
 *   faults: for tests, URL paths whose next `times` (default 1) responses break the connection
 *   after `dropAfter` body bytes.
 * @returns {Promise<{ url: string, close: () => Promise<void>, traffic: Traffic }>}
 */
export async function startServer({ root = repoRoot, files = {}, faults = {} } = {}) {
  const traffic = new Traffic();
  const drops = new Map(Object.entries(faults).map(([p, f]) => [p, { ...f, times: f.times ?? 1 }]));
  const server = createServer((req, res) => {
    handle(req, res, root, files, traffic, drops).catch((e) => {
      if (!res.headersSent) send(res, 500, String(e));
      else res.destroy(e);
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    traffic,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/**
 * Body bytes sent, per URL path, for requests that arrived since the last reset() (a download
 * cancelled before the reset may go on sending, but is not counted after it).
 */
export class Traffic {
  constructor() {
    this.byPath = new Map();
    this.epoch = 0;
  }
  /** A byte counter for one request that arrives now. */
  counter(urlPath) {
    const epoch = this.epoch;
    return (n) => {
      if (this.epoch === epoch) this.add(urlPath, n);
    };
  }
  /** @param {string} urlPath @param {number} n */
  add(urlPath, n) {
    this.byPath.set(urlPath, (this.byPath.get(urlPath) ?? 0) + n);
  }
  /** Total bytes for paths that `match` accepts (all paths by default). */
  bytes(match = () => true) {
    let sum = 0;
    for (const [p, n] of this.byPath) if (match(p)) sum += n;
    return sum;
  }
  reset() {
    this.byPath.clear();
    this.epoch += 1;
  }
}

async function handle(req, res, root, files, traffic, drops) {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
  const urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  if (urlPath === '/' || urlPath === '/__blank') {
    return send(res, 200, BLANK, { 'Content-Type': TYPES['.html'] });
  }
  if (urlPath === '/__csp') {
    // The blank page under the strictest policy brasa supports: no eval, wasm only.
    return send(res, 200, BLANK, { 'Content-Type': TYPES['.html'], 'Content-Security-Policy': STRICT_CSP });
  }
  if (urlPath === '/favicon.ico') return send(res, 204, '');
  let file = files[urlPath];
  if (!file) {
    file = path.join(root, urlPath);
    // Never serve anything outside the root (`..` in the URL).
    if (!file.startsWith(root + path.sep)) return send(res, 403, 'forbidden');
  }
  const drop = drops.get(urlPath);
  const dropAfter = drop?.times > 0 ? (drop.times--, drop.dropAfter) : undefined;
  return serveFile(req, res, file, urlPath, traffic.counter(urlPath), dropAfter);
}

/**
 * Sends one file (streamed from disk, with Range support and the isolation headers); usable as a
 * middleware step in other servers (vite.config.ts serves models/ with it).
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {string} file path on disk
 * @param {string} [label] name used in error messages
 * @param {(bytes: number) => void} [onBytes] called with the size of every body chunk sent
 * @param {number} [dropAfter] break the connection after this many body bytes (fault injection)
 */
export async function serveFile(req, res, file, label = path.basename(file), onBytes, dropAfter) {
  let stat;
  try {
    stat = await fs.stat(file);
  } catch {
    return send(res, 404, `not found: ${label}`);
  }
  if (!stat.isFile()) return send(res, 404, `not a file: ${label}`);

  const headers = {
    ...ISOLATION,
    'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'Accept-Ranges': 'bytes',
  };
  if (path.extname(file) === '.gguf') {
    headers['Cache-Control'] = 'no-store';
  } else {
    headers['Cache-Control'] = 'no-cache';
    headers.ETag = `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
    if (req.headers['if-none-match'] === headers.ETag && !req.headers.range) {
      res.writeHead(304, headers);
      return res.end();
    }
  }
  let start = 0;
  let end = stat.size - 1;
  let status = 200;
  const range = req.headers.range;
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range);
    if (!m || (m[1] === '' && m[2] === '')) return send(res, 416, 'bad range', { 'Content-Range': `bytes */${stat.size}` });
    if (m[1] === '') {
      start = Math.max(0, stat.size - Number(m[2])); // suffix range: the last N bytes
    } else {
      start = Number(m[1]);
      if (m[2] !== '') end = Math.min(end, Number(m[2]));
    }
    if (start > end || start >= stat.size) {
      return send(res, 416, 'range not satisfiable', { 'Content-Range': `bytes */${stat.size}` });
    }
    status = 206;
    headers['Content-Range'] = `bytes ${start}-${end}/${stat.size}`;
  }
  headers['Content-Length'] = String(end - start + 1);
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || stat.size === 0) return res.end();
  const cut = dropAfter !== undefined && start + dropAfter <= end;
  const stream = createReadStream(file, { start, end: cut ? start + dropAfter - 1 : end });
  stream.on('error', (e) => res.destroy(e));
  if (onBytes) stream.on('data', (chunk) => onBytes(chunk.length));
  if (!cut) return void stream.pipe(res);
  // Fewer bytes than Content-Length, then a dead socket: what a dropped connection looks like.
  stream.pipe(res, { end: false });
  stream.on('end', () => res.socket?.destroy());
}

function send(res, status, body, extra = {}) {
  res.writeHead(status, { ...ISOLATION, 'Content-Type': 'text/plain; charset=utf-8', ...extra });
  res.end(body);
}
