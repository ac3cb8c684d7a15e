/**
 * The CLI's commands run in-process through runCli (the same code `npm run cli` runs), and
 * `invite create` in detail: a single-use, expiring code in a t.me deep link.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminRefusal } from '../../src/admin/errors.js';
import { createInvite, MAX_INVITE_HOURS } from '../../src/admin/invite.js';
import { importOrg, parseOrgFile } from '../../src/admin/org-import.js';
import { runCli } from '../../src/cli.js';
import { DEFAULT_POLICY, HOUR } from '../../src/domain/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let t: TestDatabase;
const NOW = new Date('2026-11-29T02:00:00Z');
const clock = { now: () => NOW };

beforeAll(async () => {
  t = await createTestDatabase();
  await importOrg(t.db, parseOrgFile(await readFile(new URL('../../examples/org.yaml', import.meta.url), 'utf8')), { now: NOW });
});
afterAll(async () => t?.drop());

async function cli(args: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { DATABASE_URL: t.url, ...env }, { out: (l) => out.push(l), err: (l) => err.push(l) }, clock);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const LINK = /^https:\/\/t\.me\/(\w+)\?start=([A-Za-z0-9_-]+)$/;

describe('invite create', () => {
  it('prints a deep link with a fresh single-use code that expires in 72 hours by default', async () => {
    const r = await cli(['invite', 'create', '--unit', 'office-hushu', '--position', 'officer']);
    expect(r.code).toBe(0);
    const [, bot, code] = LINK.exec(r.out)!;
    expect(bot).toBe('corrections_bot');
    expect(code!.length).toBeGreaterThanOrEqual(16);
    expect(code!.length).toBeLessThanOrEqual(64);
    const [invite] = await t.sql`select i.*, u.code as unit from invites i join units u on u.id = i.unit_id where i.code = ${code!}`;
    expect(invite).toMatchObject({ unit: 'office-hushu', position_kind: 'officer', staff_id: null, used_at: null, created_by: 'cli' });
    // drizzle sets postgres.js to return timestamps as text; read them back as instants.
    expect(new Date(invite!.expires_at as string)).toEqual(new Date(NOW.getTime() + 72 * HOUR));
  });

  it('uses BOT_USERNAME, binds to a staff member, and takes --hours', async () => {
    const r = await cli(['invite', 'create', '--unit', 'office-xiaohe', '--position', 'office_head', '--staff', 'gs-301', '--hours', '24'], { BOT_USERNAME: 'gongshu_jz_bot' });
    expect(r.code).toBe(0);
    const [, bot, code] = LINK.exec(r.out)!;
    expect(bot).toBe('gongshu_jz_bot');
    const [invite] = await t.sql`select i.expires_at, s.code as staff from invites i join staff s on s.id = i.staff_id where i.code = ${code!}`;
    expect(invite!.staff).toBe('gs-301');
    expect(new Date(invite!.expires_at as string)).toEqual(new Date(NOW.getTime() + 24 * HOUR));
  });

  it('audits the invite without its code', async () => {
    const invite = await createInvite(t.db, { unitCode: 'section', position: 'section', now: NOW });
    const [entry] = await t.sql`select entity_id, data::text as data from audit_log where action = 'invite.created' and entity_id = ${invite.id}`;
    expect(entry).toBeDefined();
    expect(entry!.data).not.toContain(invite.code);
  });

  it('makes a different code every time', async () => {
    const codes = new Set<string>();
    for (let i = 0; i < 20; i++) codes.add((await createInvite(t.db, { unitCode: 'office-hushu', position: 'officer', now: NOW })).code);
    expect(codes.size).toBe(20);
    for (const c of codes) expect(c).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it.each<[string, Parameters<typeof createInvite>[1], string, RegExp]>([
    ['an unknown unit', { unitCode: 'office-nowhere', position: 'officer', now: NOW }, '--unit', /no unit/],
    ['an unknown position', { unitCode: 'office-hushu', position: 'janitor', now: NOW }, '--position', /must be one of/],
    ['a position that does not sit in that unit', { unitCode: 'section', position: 'office_head', now: NOW }, '--position', /belongs in a unit of kind office/],
    ['an unknown staff member', { unitCode: 'office-hushu', position: 'officer', staffCode: 'gs-999', now: NOW }, '--staff', /no staff member/],
    ['zero hours', { unitCode: 'office-hushu', position: 'officer', hours: 0, now: NOW }, '--hours', /between/],
    ['too many hours', { unitCode: 'office-hushu', position: 'officer', hours: MAX_INVITE_HOURS + 1, now: NOW }, '--hours', /between/],
    ['a bad bot username', { unitCode: 'office-hushu', position: 'officer', botUsername: '@bot name', now: NOW }, 'BOT_USERNAME', /username/],
  ])('refuses %s', async (_, req, field, message) => {
    const before = (await t.sql`select count(*)::int as n from invites`)[0]!.n;
    const e = await createInvite(t.db, req).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AdminRefusal);
    expect(e).toMatchObject({ field, message: expect.stringMatching(message) });
    expect((await t.sql`select count(*)::int as n from invites`)[0]!.n).toBe(before);
  });

  it('refuses to invite someone already bound to Telegram', async () => {
    await t.sql`update staff set telegram_user_id = 7770001 where code = 'gs-203'`;
    await expect(createInvite(t.db, { unitCode: 'office-hushu', position: 'officer', staffCode: 'gs-203', now: NOW })).rejects.toThrow(/already bound/);
  });

  it('through runCli: a refusal exits 1 with the reason on stderr', async () => {
    const r = await cli(['invite', 'create', '--unit', 'nowhere', '--position', 'officer']);
    expect(r).toMatchObject({ code: 1, out: '' });
    expect(r.err).toContain("--unit: no unit with code 'nowhere'");
  });
});

describe('runCli', () => {
  it('audit verify prints OK with the row count', async () => {
    const n = (await t.sql`select count(*)::int as n from audit_log`)[0]!.n as number;
    const r = await cli(['audit', 'verify']);
    expect(r).toMatchObject({ code: 0, out: `OK: audit chain intact, ${n} rows` });
  });

  it('policy show --json prints the effective policy as JSON, scaled like the running bot', async () => {
    const r = await cli(['policy', 'show', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual(DEFAULT_POLICY);
    const scaled = await cli(['policy', 'show', '--json'], { POLICY_TIME_SCALE: String(1 / 60) });
    expect(JSON.parse(scaled.out).ackSeconds).toEqual({ critical: 5, standard: 15 });
  });

  it('org import through runCli reports the counts', async () => {
    const r = await cli(['org', 'import', 'examples/org.yaml']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('units 0 new, 0 changed, 7 unchanged');
  });

  it.each([
    [[], 2],
    [['help'], 0],
    [['org'], 2],
    [['org', 'import'], 2],
    [['org', 'import', 'a.yaml', 'b.yaml'], 2],
    [['org', 'export', 'x'], 2],
    [['audit', 'verify', 'now'], 2],
    [['invite', 'create', '--unit', 'section'], 2],
    [['invite', 'create', '--unit', 'section', '--position', 'section', '--colour', 'red'], 2],
  ])('usage: %j exits %i and prints the usage', async (args, code) => {
    const r = await cli(args as string[]);
    expect(r.code).toBe(code);
    expect(r.out + r.err).toContain('usage: npm run cli');
  });

  it('a missing file exits 1 and names it', async () => {
    const r = await cli(['subjects', 'import', '/nonexistent/subjects.csv']);
    expect(r).toMatchObject({ code: 1 });
    expect(r.err).toContain('cannot read /nonexistent/subjects.csv: ENOENT');
  });

  it('bad configuration exits 2, naming the variable and not its value', async () => {
    const r = await cli(['audit', 'verify'], { DATABASE_URL: 'mysql://root:TopSecretPw@db/x' });
    expect(r.code).toBe(2);
    expect(r.err).toContain('DATABASE_URL');
    expect(r.err).not.toContain('TopSecretPw');
  });
});
