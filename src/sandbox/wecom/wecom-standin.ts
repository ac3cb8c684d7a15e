// The local stand-in for WeCom's server API, written from WeCom's documentation, for the tests, the
// sandbox page and the benchmark: one corp with one application, its directory, gettoken with tokens that
// really expire (on the stand-in's clock), message/send (text, markdown, template_card, file) checked as
// WeCom checks it, update_template_card with response_codes that work once and for 72 hours,
// media/upload, WeCom's frequency limits (switchable off), and signed, encrypted callbacks to the
// product with WeCom's retries. It listens on 127.0.0.1 on a free port.
//
// Its parts change for different reasons, so each has a module: the shared state (wecom-world.ts), the
// limits and faults (wecom-rules.ts), the card rules (wecom-cards.ts), the API methods
// (wecom-methods.ts), the HTTP routing (wecom-routes.ts), the callbacks (wecom-callbacks.ts), what tests
// and the page drive (wecom-driver.ts, wecom-control.ts). This file puts them together and owns the
// HTTP server's life.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CallbackSender } from './wecom-callbacks.js';
import { createControlHandler } from './wecom-control.js';
import { WecomDriver } from './wecom-driver.js';
import { WecomMethods } from './wecom-methods.js';
import { sendJson, WecomRoutes } from './wecom-routes.js';
import { WecomWorld, type WecomStandInConfig, type WecomStandInOptions } from './wecom-world.js';

export interface WecomStandIn {
  /** The API root to configure (WECOM_API_ROOT), e.g. http://127.0.0.1:41234. */
  url: string;
  driver: WecomDriver;
  /** What the product is configured with: corp id, secret, agent id, Token, EncodingAESKey. */
  config: WecomStandInConfig;
  stop(): Promise<void>;
}

export async function startWecomStandIn(opts: WecomStandInOptions = {}): Promise<WecomStandIn> {
  const world = new WecomWorld(opts);
  const sender = new CallbackSender(world);
  const driver = new WecomDriver(world, sender);
  const methods = new WecomMethods(world);
  const control = createControlHandler(driver, () => [...world.members.values()].map((m) => m.userId));
  const routes = new WecomRoutes(world, methods, control);
  const server = http.createServer((req, res) => {
    routes.route(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { errcode: -1, errmsg: `system busy: ${String(err)}` });
      else res.destroy();
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let stopped = false;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    driver,
    config: { ...world.config },
    async stop() {
      if (stopped) return;
      stopped = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      world.removeAllListeners();
    },
  };
}

export type { WecomStandInConfig, WecomStandInOptions } from './wecom-world.js';
