/**
 * A round-robin HTTP load balancer in front of several bot processes, as a deployment puts one in front of
 * its webhook: Telegram calls one URL, each call goes to the next process. Headers (the secret) and body
 * pass through untouched; the backend's status comes back.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Balancer {
  url: string;
  /** Calls forwarded to each backend. */
  counts: number[];
  close(): Promise<void>;
}

export async function startBalancer(backends: readonly string[], path: string): Promise<Balancer> {
  let next = 0;
  const counts = backends.map(() => 0);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
    const i = next++ % backends.length;
    counts[i]!++;
    const target = new URL(backends[i]!);
    const up = http.request(
      { hostname: target.hostname, port: target.port, path: target.pathname, method: req.method, headers: req.headers, agent },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
