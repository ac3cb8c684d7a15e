// HTTP plumbing for the Bot API stand-in: request parameters from query string, JSON,
// urlencoded and multipart bodies (the four ways Telegram accepts them), JSON answers,
// and a tiny static file server for the sandbox page.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';

export interface UploadedFile {
  kind: 'upload';
  filename: string;
  contentType: string;
  data: Buffer;
}

export type Params = Record<string, unknown>;

export const isUpload = (v: unknown): v is UploadedFile =>
  typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'upload';

export class BodyTooLargeError extends Error {}

export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > maxBytes) throw new BodyTooLargeError('body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/** Merges query string and body parameters; body wins, as with Telegram. */
export function parseParams(url: URL, contentType: string | undefined, body: Buffer): Params {
  const params: Params = {};
  for (const [k, v] of url.searchParams) params[k] = v;
  const ct = (contentType ?? '').toLowerCase();
  if (body.length === 0) return params;
  if (ct.startsWith('application/json')) {
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) Object.assign(params, parsed);
    } catch {
      // Telegram ignores an unparsable JSON body; the method then complains about missing fields.
    }
    return params;
  }
  if (ct.startsWith('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params[k] = v;
    return params;
  }
  if (ct.startsWith('multipart/form-data')) {
    const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType ?? '');
    const boundary = m?.[1] ?? m?.[2];
    if (boundary) Object.assign(params, parseMultipart(body, boundary.trim()));
    return params;
  }
  return params;
}

export function parseMultipart(body: Buffer, boundary: string): Params {
  const out: Params = {};
  const delimiter = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(delimiter);
  while (pos >= 0) {
    pos += delimiter.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break; // closing "--"
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd < 0) break;
    const headers = body.subarray(pos, headerEnd).toString('utf8');
    const next = body.indexOf(delimiter, headerEnd + 4);
    if (next < 0) break;
    let dataEnd = next;
    if (body[dataEnd - 2] === 0x0d && body[dataEnd - 1] === 0x0a) dataEnd -= 2;
    const data = body.subarray(headerEnd + 4, dataEnd);
    const disposition = /content-disposition:([^\r\n]*)/i.exec(headers)?.[1] ?? '';
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
    const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
    const partType = /content-type:\s*([^\r\n]*)/i.exec(headers)?.[1]?.trim();
    if (name !== undefined) {
      if (filename !== undefined) {
        const file: UploadedFile = { kind: 'upload', filename, contentType: partType ?? 'application/octet-stream', data: Buffer.from(data) };
        out[name] = file;
      } else {
        out[name] = data.toString('utf8');
      }
    }
    pos = next;
  }
  return out;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}): void {
  if (res.writableEnded || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...extraHeaders,
  });
  res.end(text);
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
  '.ogg': 'audio/ogg',
  '.pdf': 'application/pdf',
};

export function contentTypeFor(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** Serves `dir` under `prefix`; returns false when nothing matched so routing can go on. */
export async function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string, prefix: string, dir: string): Promise<boolean> {
  const pre = prefix.endsWith('/') ? prefix : `${prefix}/`;
  if (pathname !== prefix && !pathname.startsWith(pre) && prefix !== '/') return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const rel = prefix === '/' ? pathname : pathname.slice(prefix.length);
  let decoded: string;
  try {
    decoded = decodeURIComponent(rel);
  } catch {
    return false;
  }
  const root = resolve(dir);
  let file = normalize(join(root, decoded));
  if (file !== root && !file.startsWith(root + sep)) return false;
  try {
    let st = await stat(file);
    if (st.isDirectory()) {
      file = join(file, 'index.html');
      st = await stat(file);
    }
    if (!st.isFile()) return false;
    res.writeHead(200, { 'content-type': contentTypeFor(file), 'content-length': st.size, 'cache-control': 'no-cache' });
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    await new Promise<void>((done) => {
      const stream = createReadStream(file);
      stream.on('error', () => {
        res.destroy();
        done();
      });
      stream.on('end', () => done());
      stream.pipe(res);
    });
    return true;
  } catch {
    return false;
  }
}
