// HTTP routing of the Bot API stand-in: `/bot<token>/<method>` (the body read and parsed, the call
// run, a late answer held back), `/file/bot<token>/<path>` downloads, the page's own download link
// `/sandbox/files/<file_id>`, the control API `/sandbox/api/*` (bot-api-control.ts, with its CORS)
// and the page's static files. The methods themselves are in bot-api-methods.ts.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLargeError, parseParams, readBody, sendJson, serveStatic } from './bot-api-http.js';
import type { BotApiMethods } from './bot-api-methods.js';
import type { BotApiWorld } from './bot-api-world.js';

const MAX_BODY_BYTES = 50 * 1024 * 1024;

export interface BotApiRoutesDeps {
  world: BotApiWorld;
  methods: BotApiMethods;
  /** Answers `/sandbox/api/*`. */
  control(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
}

export class BotApiRoutes {
  private readonly world: BotApiWorld;
  private readonly methods: BotApiMethods;
  private readonly staticRoutes: Array<{ prefix: string; dir: string }> = [];

  constructor(private readonly deps: BotApiRoutesDeps) {
    this.world = deps.world;
    this.methods = deps.methods;
  }

  /** Serves `dir` under `prefix`; routes registered first win. */
  registerStaticRoute(prefix: string, dir: string): void {
    const p = prefix === '/' ? '/' : `/${prefix.replace(/^\/+|\/+$/g, '')}`;
    this.staticRoutes.push({ prefix: p, dir });
  }

  async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const api = /^\/bot([^/]+)\/([^/]*)\/?$/.exec(path);
    if (api) {
      await this.handleBotApi(req, res, decodeURIComponent(api[1] ?? ''), api[2] ?? '', url);
      return;
    }
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(path);
    if (file) {
      this.handleFileDownload(res, decodeURIComponent(file[1] ?? ''), decodeURIComponent(file[2] ?? ''));
      return;
    }
    const pageFile = /^\/sandbox\/files\/([^/]+)$/.exec(path);
    if (pageFile && (req.method === 'GET' || req.method === 'HEAD')) {
      this.handlePageFileDownload(res, decodeURIComponent(pageFile[1] ?? ''));
      return;
    }
    if (path.startsWith('/sandbox/api/')) {
      await this.deps.control(req, res, url);
      return;
    }
    for (const r of this.staticRoutes) {
      if (await serveStatic(req, res, path, r.prefix, r.dir)) return;
    }
    sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
  }

  private handleFileDownload(res: ServerResponse, token: string, filePath: string): void {
    if (!this.world.bots.has(token)) {
      sendJson(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
      return;
    }
    const f = this.world.state.fileByPath(filePath);
    if (!f) {
      sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      return;
    }
    res.writeHead(200, { 'content-type': f.mime_type, 'content-length': f.data.length });
    res.end(f.data);
  }

  /**
   * A file of a chat, for the page's download link: by file_id, on the page's own origin and without the
   * bot's token (the page, like the control API, is served on 127.0.0.1 only), as an attachment under
   * the name it was sent with.
   */
  private handlePageFileDownload(res: ServerResponse, fileId: string): void {
    const f = this.world.state.files.get(fileId);
    if (!f) {
      sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      return;
    }
    let name = f.file_path.split('/').pop() ?? 'file';
    for (const rec of this.world.state.chats.values()) {
      const sent = rec.messages.find((m) => !m.deleted && m.msg.document?.file_id === fileId);
      if (sent?.msg.document?.file_name) {
        name = sent.msg.document.file_name;
        break;
      }
    }
    // RFC 6266: a plain ASCII fallback, and the real name (Chinese, say) percent-encoded as UTF-8 (RFC 8187).
    const fallback = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
    const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    res.writeHead(200, {
      'content-type': f.mime_type,
      'content-length': f.data.length,
      'content-disposition': `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(f.data);
  }

  private async handleBotApi(req: IncomingMessage, res: ServerResponse, token: string, methodRaw: string, url: URL): Promise<void> {
    const started = Date.now();
    const bot = this.world.bots.get(token);
    if (!bot) {
      sendJson(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
      return;
    }
    const entry = this.methods.find(methodRaw);
    const isPoll = entry?.name === 'getUpdates';
    if (!isPoll) {
      this.world.inflightRequests++;
      this.world.touch();
    }
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      if (!isPoll) {
        this.world.inflightRequests--;
        this.world.touch();
      }
    };
    res.on('close', finish);
    try {
      let body: Buffer;
      try {
        body = await readBody(req, MAX_BODY_BYTES);
      } catch (err) {
        if (err instanceof BodyTooLargeError) {
          sendJson(res, 413, { ok: false, error_code: 413, description: 'Request Entity Too Large' });
          return;
        }
        throw err;
      }
      if (!entry) {
        this.world.logRequest(bot, methodRaw, undefined, 404, started, 'http', 'Not Found');
        sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
        return;
      }
      const params = parseParams(url, req.headers['content-type'], body);
      const ac = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) ac.abort();
      });
      const outcome = await this.methods.execute(bot, entry.name, entry.handler, params, { via: 'http', signal: ac.signal });
      if (outcome.delayMs > 0) await this.sleepUnlessClosed(outcome.delayMs, res);
      if (outcome.html !== undefined) {
        if (!res.writableEnded && !res.destroyed) {
          res.writeHead(outcome.status, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(outcome.html) });
          res.end(outcome.html);
        }
      } else {
        sendJson(res, outcome.status, outcome.body);
      }
    } finally {
      if (res.writableEnded || res.destroyed) finish();
    }
  }

  private sleepUnlessClosed(ms: number, res: ServerResponse): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        res.off('close', done);
        resolve();
      }
      res.on('close', done);
    });
  }

}
