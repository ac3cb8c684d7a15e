// The HTTP side of the WeCom stand-in: WeCom's paths (/cgi-bin/…), the access token checked before the
// method, the per-minute limit of the APIs other than message/send, injected faults, and the request
// log (api, status, errcode — never a token). Paths under /__sandbox/ go to the control API of the
// sandbox page.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WecomMethods } from './wecom-methods.js';
import type { Json, RequestLogEntry, WecomWorld } from './wecom-world.js';

/** Largest request body taken (a 20 MB file and its multipart framing). */
const MAX_BODY_BYTES = 21 * 1024 * 1024;

const API_METHODS: Record<string, 'GET' | 'POST'> = {
  gettoken: 'GET',
  'message/send': 'POST',
  'message/update_template_card': 'POST',
  'media/upload': 'POST',
};

export type ControlHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export class WecomRoutes {
  constructor(
    private readonly world: WecomWorld,
    private readonly methods: WecomMethods,
    private readonly control: ControlHandler,
  ) {}

  async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://standin.invalid');
    if (url.pathname.startsWith('/__sandbox/')) return this.control(req, res, url);
    const api = url.pathname.startsWith('/cgi-bin/') ? url.pathname.slice('/cgi-bin/'.length) : undefined;
    const method = api !== undefined ? API_METHODS[api] : undefined;
    if (api === undefined || method === undefined) return sendJson(res, 404, { errcode: 404, errmsg: 'not found' });
    if (req.method !== method) return sendJson(res, 405, { errcode: 405, errmsg: `${method} only` });

    const entry: RequestLogEntry = { api, at: this.world.nowMs(), httpStatus: 200 };
    this.world.requests.push(entry);
    const fault = this.world.faults.take(api);
    if (fault && 'hangUp' in fault) {
      entry.fault = 'hang_up';
      entry.httpStatus = 0;
      req.socket.destroy();
      return;
    }
    if (fault && 'httpStatus' in fault) {
      entry.fault = `http_${fault.httpStatus}`;
      entry.httpStatus = fault.httpStatus;
      res.writeHead(fault.httpStatus, { 'content-type': 'text/html' });
      res.end(`<html><body>${fault.httpStatus}</body></html>`);
      return;
    }
    if (fault && 'errcode' in fault) {
      entry.fault = `errcode_${fault.errcode}`;
      entry.errcode = fault.errcode;
      return sendJson(res, 200, { errcode: fault.errcode, errmsg: fault.errmsg ?? 'injected fault' });
    }
    // The whole request has arrived before WeCom works on it, even if the caller stops waiting.
    const body = method === 'POST' ? await readBody(req) : Buffer.alloc(0);
    if (fault && 'delayMs' in fault) {
      entry.fault = `delay_${fault.delayMs}`;
      await new Promise((r) => setTimeout(r, fault.delayMs));
    }

    const answer = await this.answer(api, req, url, body);
    entry.errcode = Number(answer['errcode'] ?? 0);
    if (typeof answer['msgid'] === 'string') entry.msgId = answer['msgid'];
    if (res.destroyed) return;
    sendJson(res, 200, answer);
  }

  private async answer(api: string, req: IncomingMessage, url: URL, body: Buffer): Promise<Json> {
    const overLimit = (): boolean => api !== 'message/send' && this.world.limits !== undefined && !this.world.limits.takeApi(api, this.world.nowMs());
    if (api === 'gettoken') return overLimit() ? { errcode: 45009, errmsg: 'api freq out of limit' } : this.methods.gettoken(url.searchParams);
    const refusal = this.methods.tokenRefusal(url.searchParams);
    if (refusal) return refusal;
    if (overLimit()) return { errcode: 45009, errmsg: 'api freq out of limit' };
    if (api === 'media/upload') {
      let form: FormData | undefined;
      try {
        form = await new Request('http://standin.invalid/', { method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '' }, body }).formData();
      } catch {
        form = undefined;
      }
      return this.methods.mediaUpload(url.searchParams, form);
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return { errcode: 40058, errmsg: 'Warning: wrong json format.' };
    }
    return api === 'message/send' ? this.methods.messageSend(json) : this.methods.updateTemplateCard(json);
  }
}
