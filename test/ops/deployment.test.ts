/**
 * Docker cannot run here, so the deployment files are checked for what they must say: compose.yaml has
 * PostgreSQL, Redis with AOF and noeviction, one bot in webhook mode and two workers, and every variable
 * it gives the app is one the config schema knows (and parses, with sample secrets); the Dockerfile is
 * multi-stage, runs as a non-root user and has a health check.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, parseConfig } from '../../src/config.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (f: string) => readFileSync(`${root}${f}`, 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean> | string[];
  deploy?: { replicas?: number };
  healthcheck?: { test?: unknown };
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition?: string }> | string[];
}

const compose = parse(read('compose.yaml'), { merge: true }) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
const services = compose.services;

function env(s: Service): Record<string, string> {
  const e = s.environment ?? {};
  if (Array.isArray(e)) return Object.fromEntries(e.map((kv) => [kv.split('=')[0]!, kv.slice(kv.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, String(v)]));
}

/** Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error}, $$ as a literal $. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value
    .replace(/\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}/g, (_m, name: string, op: string | undefined, arg: string) => {
      const v = vars[name];
      if (op?.endsWith('-')) return v === undefined || v === '' ? arg : v;
      if (op?.endsWith('?')) {
        if (v === undefined || v === '') throw new Error(`compose needs ${name}: ${arg}`);
        return v;
      }
      return v ?? '';
    })
    .replace(/\$\$/g, '$');
}

const appServices = Object.entries(services).filter(([, s]) => s.build !== undefined || /corrections-bot/.test(s.image ?? ''));
const role = (s: Service) => {
  const c = Array.isArray(s.command) ? s.command : String(s.command ?? '').split(/\s+/);
  return c[c.indexOf('--role') + 1];
};

describe('compose.yaml', () => {
  it('has PostgreSQL and Redis with health checks and persistent volumes', () => {
    const pg = services.postgres!;
    expect(pg.image).toMatch(/^postgres:\d+/);
    expect(pg.healthcheck?.test).toBeDefined();
    expect(pg.volumes?.some((v) => v.endsWith(':/var/lib/postgresql/data'))).toBe(true);
    const redis = services.redis!;
    expect(redis.image).toMatch(/^redis:\d/);
    expect(redis.healthcheck?.test).toBeDefined();
    expect(redis.volumes?.some((v) => v.endsWith(':/data'))).toBe(true);
  });

  it('runs Redis with AOF on and maxmemory-policy noeviction', () => {
    const cmd = services.redis!.command as string[];
    const opt = (name: string) => cmd[cmd.indexOf(name) + 1];
    expect(cmd[0]).toBe('redis-server');
    expect(opt('--appendonly')).toBe('yes');
    expect(opt('--appendfsync')).toBe('everysec');
    expect(opt('--maxmemory-policy')).toBe('noeviction');
  });

  it('runs one bot process in webhook mode and two worker processes, from one image', () => {
    const bots = appServices.filter(([, s]) => role(s) === 'bot');
    const workers = appServices.filter(([, s]) => role(s) === 'worker');
    expect(bots).toHaveLength(1);
    const [, bot] = bots[0]!;
    expect(bot.deploy?.replicas ?? 1).toBe(1);
    expect(env(bot).BOT_MODE).toBe('webhook');
    expect(env(bot).WEBHOOK_URL).toBeDefined();
    expect(env(bot).WEBHOOK_SECRET).toBeDefined();
    expect(bot.ports?.some((p) => /:8080$/.test(p))).toBe(true);
    const workerProcesses = workers.reduce((n, [, s]) => n + (s.deploy?.replicas ?? 1), 0);
    expect(workerProcesses).toBe(2);
    for (const [, w] of workers) expect(env(w).BOT_MODE ?? 'polling').not.toBe('webhook');
    expect(new Set(appServices.map(([, s]) => s.image)).size).toBe(1);
    // The app waits for healthy dependencies.
    for (const [, s] of appServices) {
      const deps = s.depends_on as Record<string, { condition?: string }>;
      expect(deps.postgres?.condition).toBe('service_healthy');
      expect(deps.redis?.condition).toBe('service_healthy');
    }
  });

  it('sets only variables the config schema knows', () => {
    const known = new Set<string>(CONFIG_VARIABLES);
    for (const [name, s] of appServices) {
      const unknown = Object.keys(env(s)).filter((k) => !known.has(k));
      expect(unknown, `service ${name}`).toEqual([]);
    }
  });

  it('gives each app process a configuration that parses, once the secrets are supplied', () => {
    const secrets = {
      POSTGRES_PASSWORD: 'pw',
      BOT_TOKEN: '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ',
      WEBHOOK_URL: 'https://bot.example.org/telegram/webhook',
      WEBHOOK_SECRET: 'a-long-enough-secret-value',
      PII_KEY: Buffer.alloc(32, 7).toString('base64'),
    };
    for (const [name, s] of appServices) {
      const e = Object.fromEntries(Object.entries(env(s)).map(([k, v]) => [k, interpolate(v, secrets)]));
      const cfg = parseConfig(e);
      expect(cfg.databaseUrl, name).toMatch(/^postgres:\/\/corrections:pw@postgres:5432\//);
      expect(cfg.redisUrl, name).toBe('redis://redis:6379');
      expect(cfg.botToken, name).toBeDefined();
      expect(cfg.piiKey?.length, name).toBe(32);
      expect(cfg.port, name).toBe(8080);
    }
    // Without the secrets, compose refuses to start rather than run half-configured.
    const [, bot] = appServices.find(([, s]) => role(s) === 'bot')!;
    expect(() => interpolate(env(bot).BOT_TOKEN!, {})).toThrow(/BOT_TOKEN/);
  });
});

describe('Dockerfile', () => {
  const lines = read('Dockerfile')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages: string[][] = [];
  for (const l of lines) {
    if (/^FROM\s/i.test(l)) stages.push([l]);
    else stages.at(-1)?.push(l);
  }
  const final = stages.at(-1)!;

  it('is multi-stage, and the final stage copies from an earlier one', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages.slice(0, -1).every((s) => /\sAS\s+\S+/i.test(s[0]!))).toBe(true);
    expect(final.some((l) => /^COPY\s+--from=/i.test(l))).toBe(true);
  });

  it('runs as a non-root user', () => {
    const users = final.filter((l) => /^USER\s/i.test(l)).map((l) => l.split(/\s+/)[1]);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
  });

  it('has a health check against /healthz and starts the bundle the build stage made', () => {
    const hc = final.find((l) => /^HEALTHCHECK\s/i.test(l));
    expect(hc).toBeDefined();
    expect(read('Dockerfile')).toMatch(/\/healthz/);
    expect(final.some((l) => /^ENTRYPOINT\s.*dist\/bundle\/main\.mjs/.test(l))).toBe(true);
    expect(final.some((l) => /^COPY\s+--from=build\s+\/app\/dist\s/.test(l))).toBe(true);
    expect(stages.find((s) => /\sAS\s+build$/i.test(s[0]!))?.some((l) => /npm run build/.test(l))).toBe(true);
  });

  it('keeps secrets and local state out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const p of ['node_modules', 'data', '.env', '.git', 'artifacts']) expect(ignored).toContain(p);
  });
});
