/**
 * The sandbox page as a trainer's drill ground, in a real browser, at a phone's size (390×844) and a
 * laptop's (1440×900), with the browser's clock in New York so that showing the bureau's time
 * (Asia/Shanghai) is something the test can see:
 * - the layouts: nothing wider than the screen, the header whole, the trainer's bar the first control,
 *   every pane reachable (a tab away on the phone, side by side on the laptop);
 * - the drill picker: a drill of the chosen type at the chosen office (its row, its card in the
 *   section's pane), on both;
 * - a drill's evaluation (.docx), sent in the chat, downloaded by clicking it, on both;
 * - "run now" for the 09:00 contact reminder, the 18:00 contact check and the 18:00 digest, each in its
 *   pane, and a second press that runs again and says so;
 * - starting afresh: the old incidents gone from the database and the queues, every pane empty, and a new
 *   /report that works.
 * Screenshots: artifacts/screenshots/drill-ground-*.png.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { eq, inArray } from 'drizzle-orm';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { t, type MessageKey } from '../../src/i18n/index.js';
import { listUnits } from '../../src/db/repositories/org.repository.js';
import { drills, incidents, outbox, staff, timers } from '../../src/db/schema.js';
import { localDate } from '../../src/domain/index.js';
import type { RunningSandbox } from '../../src/sandbox/run-sandbox.js';
import { docxText } from '../after-incident/helpers.js';
import { DESKTOP, openPage, panesOf, PHONE, reportAbscondingAsOfficer, SCREENSHOT_DIR, shown, startSandboxAndBrowser, startupSettled, type SandboxUnderTest } from './page-harness.js';

const BUREAU_ZONE = 'Asia/Shanghai';
/** Far from the bureau, so a time shown on the browser's clock could not pass for the bureau's. */
const BROWSER_ZONE = 'America/New_York';
const PANES = ['officer', 'office_head', 'section', 'deputy_director', 'director'] as const;
/** The example subject the seeding sends away (examples/subjects.csv marks her `away`); the officer's. */
const AWAY_SUBJECT = 'SQ-MSX-004';

let under: SandboxUnderTest;
let sandbox: RunningSandbox;
let phoneContext: BrowserContext;
let desktopContext: BrowserContext;
let phone: Page;
let desktop: Page;
const pageErrors: string[] = [];

/** A screenshot's options: its file under artifacts/screenshots/, animations finished first. */
const shot = (name: string, fullPage = false) => ({ path: path.join(SCREENSHOT_DIR, `drill-ground-${name}.png`), animations: 'disabled' as const, fullPage });

/** The longest stretch of a catalogue text without a placeholder: what every message of that kind shows. */
function fixedPart(key: MessageKey): string {
  return shown(key)
    .split(/\{\w+\}|\n/)
    .map((s) => s.trim())
    .sort((a, b) => b.length - a.length)[0]!;
}

const hhmm = (zone: string, at: Date) => new Intl.DateTimeFormat('zh-CN', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at);

interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
  width: number;
  height: number;
}

interface Measured {
  innerWidth: number;
  scrollWidth: number;
  /** The header's visible elements' outer edges. */
  headerLeft: number;
  headerRight: number;
  h1Clipped: boolean;
  /** The header's first control, by its test id. */
  firstControl: string | undefined;
  /** Each pane's box, null when it is not shown. */
  panes: Record<string, Box | null>;
}

/** Measured in the page (the tests' TypeScript has no DOM types, so the page's side is plain JS). */
const MEASURE = `(() => {
  const box = (el) => { const r = el.getBoundingClientRect(); return { left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height }; };
  const header = document.querySelector('header.topbar');
  const visible = [...header.querySelectorAll('*')].filter((el) => el.offsetParent !== null);
  const h1 = document.querySelector('h1');
  const first = header.querySelector('a[href], button, select, summary, input, textarea');
  const panes = {};
  for (const el of document.querySelectorAll('[data-testid="pane"]')) panes[el.dataset.person] = el.offsetParent !== null ? box(el) : null;
  return {
    innerWidth: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    headerLeft: Math.min(...visible.map((el) => el.getBoundingClientRect().left)),
    headerRight: Math.max(...visible.map((el) => el.getBoundingClientRect().right)),
    h1Clipped: h1.scrollWidth > h1.clientWidth || h1.getBoundingClientRect().right > window.innerWidth,
    firstControl: first ? first.dataset.testid : undefined,
    panes,
  };
})()`;

const measure = (page: Page): Promise<Measured> => page.evaluate(MEASURE) as Promise<Measured>;

beforeAll(async () => {
  under = await startSandboxAndBrowser('drill-ground-');
  sandbox = under.sandbox;
  const common = { locale: 'zh-CN', timezoneId: BROWSER_ZONE, acceptDownloads: true };
  phoneContext = await under.browser.newContext({ ...common, viewport: { ...PHONE }, isMobile: true, hasTouch: true });
  desktopContext = await under.browser.newContext({ ...common, viewport: { ...DESKTOP } });
  phone = await phoneContext.newPage();
  desktop = await desktopContext.newPage();
  for (const [name, page] of [['phone', phone], ['desktop', desktop]] as const) page.on('pageerror', (err) => pageErrors.push(`${name}: ${String(err)}`));
  await startupSettled(sandbox);
  await openPage(phone, sandbox.url);
  await openPage(desktop, sandbox.url);
}, 90_000);

afterAll(async () => {
  await under?.stop();
});

// One sandbox and one browser through a trainer's session, ending in a reset: the steps keep their order.
describe('the sandbox page as a drill ground', { shuffle: false }, () => {
  it('fits a phone: no sideways scrolling, the header whole, the trainer’s bar first, every pane a tab away', async () => {
    const folded = await measure(phone);
    expect(folded.innerWidth).toBe(PHONE.width);
    expect(folded.scrollWidth).toBeLessThanOrEqual(PHONE.width);
    expect(folded.headerLeft).toBeGreaterThanOrEqual(0);
    expect(folded.headerRight).toBeLessThanOrEqual(PHONE.width);
    expect(folded.h1Clipped).toBe(false);
    expect(folded.firstControl).toBe('trainer-toggle');
    // Folded on a phone, open on a tap.
    await expect(phone.locator('[data-testid="drill-button"]').isVisible()).resolves.toBe(false);
    await phone.locator('[data-testid="trainer-toggle"]').click();
    await expect(phone.locator('[data-testid="drill-button"]').isVisible()).resolves.toBe(true);
    const open = await measure(phone);
    expect(open.scrollWidth).toBeLessThanOrEqual(PHONE.width);
    expect(open.headerRight).toBeLessThanOrEqual(PHONE.width);
    await phone.screenshot(shot('phone-controls', true));

    // One pane at a time, each a tab away, each the width of the screen.
    const { tab } = panesOf(phone);
    for (const key of PANES) {
      await tab(key).click();
      const m = await measure(phone);
      expect(m.scrollWidth).toBeLessThanOrEqual(PHONE.width);
      expect(Object.entries(m.panes).filter(([, b]) => b !== null).map(([k]) => k)).toEqual([key]);
      const b = m.panes[key]!;
      expect(b.left).toBeGreaterThanOrEqual(0);
      expect(b.right).toBeLessThanOrEqual(PHONE.width);
      expect(b.width).toBeGreaterThan(PHONE.width - 40);
      expect(b.height).toBeGreaterThan(400);
    }
    await tab('officer').click();
    await phone.locator('[data-testid="pane-tabs"]').scrollIntoViewIfNeeded();
    await phone.screenshot(shot('phone'));
  });

  it('shows the bureau’s time, and says which, however the browser’s clock is set', async () => {
    for (const page of [phone, desktop]) {
      const clock = (await page.locator('[data-testid="zone-clock"]').textContent()) ?? '';
      expect(clock.startsWith('北京时间 ')).toBe(true);
      // The page's clock is the browser's (a faked clock in the product does not reach it): the bureau's
      // zone applied to the browser's now, never the browser's own zone.
      const browserNow = new Date(await page.evaluate(() => Date.now()));
      const candidates = [hhmm(BUREAU_ZONE, browserNow), hhmm(BUREAU_ZONE, new Date(browserNow.getTime() - 60_000))];
      expect(candidates).toContain(clock.slice('北京时间 '.length));
      expect(clock).not.toContain(hhmm(BROWSER_ZONE, browserNow));
      // A chat's times, the same way: the message's own instant, in the bureau's zone. (A message of our
      // own: before 09:00 the sandbox starts with empty chats.)
      const { pane, type, botMessages } = panesOf(page);
      const officer = pane('officer');
      const before = await botMessages(officer).count();
      await type(officer, '/help');
      await expect.poll(() => botMessages(officer).count(), { timeout: 10_000 }).toBeGreaterThan(before);
      const last = botMessages(officer).last().locator('[data-testid="message-time"]');
      const at = new Date((await last.getAttribute('datetime'))!);
      await expect(last.textContent()).resolves.toBe(hhmm(BUREAU_ZONE, at));
      await expect(last.getAttribute('title')).resolves.toContain('北京时间');
    }
  });

  it('fits a laptop: the five panes side by side, none cut off', async () => {
    const m = await measure(desktop);
    expect(m.innerWidth).toBe(DESKTOP.width);
    expect(m.scrollWidth).toBeLessThanOrEqual(DESKTOP.width);
    expect(m.headerRight).toBeLessThanOrEqual(DESKTOP.width);
    expect(m.h1Clipped).toBe(false);
    expect(m.firstControl).toBe('trainer-toggle');
    await expect(desktop.locator('[data-testid="drill-button"]').isVisible()).resolves.toBe(true);
    for (const key of PANES) {
      const b = m.panes[key];
      expect(b, key).not.toBeNull();
      expect(b!.left).toBeGreaterThanOrEqual(0);
      expect(b!.right).toBeLessThanOrEqual(DESKTOP.width);
      expect(b!.bottom).toBeLessThanOrEqual(DESKTOP.height);
      expect(b!.width).toBeGreaterThanOrEqual(260);
      expect(b!.height).toBeGreaterThanOrEqual(400);
    }
    await desktop.screenshot(shot('desktop'));
  });

  /** Picks a drill in the trainer's bar and starts it; returns the incident number the page reports. */
  async function pickDrill(page: Page, choice: { type: string; officeCode: string; scenario?: string }): Promise<string> {
    await page.locator('[data-testid="drill-type"]').selectOption(choice.type);
    if (choice.scenario) {
      await expect(page.locator('[data-testid="drill-scenario"]').isVisible()).resolves.toBe(true);
      await page.locator('[data-testid="drill-scenario"]').selectOption(choice.scenario);
    } else await expect(page.locator('[data-testid="drill-scenario"]').isVisible()).resolves.toBe(false);
    await page.locator('[data-testid="drill-office"]').selectOption(choice.officeCode);
    await page.locator('[data-testid="trainer-status"]').evaluate((el) => el.removeAttribute('data-outcome'));
    await page.locator('[data-testid="drill-button"]').click();
    const status = page.locator('[data-testid="trainer-status"][data-outcome="drill"]');
    await status.waitFor({ state: 'attached', timeout: 15_000 });
    // A drill's number is of its own series: 演练2026-0001.
    const number = /演练\d{4}-\d{4}/.exec((await status.textContent()) ?? '')?.[0];
    expect(number).toBeDefined();
    return number!;
  }

  /** Ends the drill from the section's pane (/drill), asks for its evaluation, and downloads the .docx by clicking it. */
  async function endAndDownload(page: Page, number: string): Promise<void> {
    const { pane, type, tap, expectLast, botMessages } = panesOf(page);
    const section = pane('section');
    await type(section, '/drill');
    await expectLast(section, fixedPart('drill.title'));
    await tap(section, shown('drill.button.end', { number }));
    await expectLast(section, `${t('zh', 'drill.ended').split('{')[0]}${number}`);
    await tap(section, shown('drill.button.docx', { number }));
    const link = botMessages(section).last().locator('[data-testid="document-link"]');
    await link.waitFor({ timeout: 15_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toBe(`drill-evaluation-${number.replace('演练', '')}.docx`);
    const bytes = await readFile((await download.path())!);
    expect(bytes.subarray(0, 2).toString()).toBe('PK');
    expect(docxText(bytes)).toContain('演练评估报告');
    expect(docxText(bytes)).toContain(number);
    // The same file the bot sent, byte for byte.
    const fileId = decodeURIComponent((await link.getAttribute('href'))!.split('/').pop()!);
    expect(bytes.equals(sandbox.botApi.fileContent(fileId)!)).toBe(true);
  }

  it('on a laptop, the drill picker starts a drill of the chosen type at the chosen office, and its evaluation downloads from the chat', async () => {
    const number = await pickDrill(desktop, { type: 'mass_incident', officeCode: 'office-hushu' });
    const hushu = (await listUnits(sandbox.app.db.db, 'office')).find((u) => u.code === 'office-hushu')!;
    const [row] = await sandbox.app.db.db.select().from(incidents).where(eq(incidents.number, number));
    expect(row).toMatchObject({ type: 'mass_incident', officeUnitId: hushu.id, isDrill: true });
    // Its card, marked as a drill, in the section's pane.
    const { pane } = panesOf(desktop);
    await expect
      .poll(() => pane('section').locator('[data-testid="bot-message"]', { hasText: number }).filter({ hasText: shown('drill.prefix') }).count(), { timeout: 15_000 })
      .toBeGreaterThan(0);
    await desktop.screenshot(shot('desktop-drill'));
    await endAndDownload(desktop, number);
    await desktop.screenshot(shot('desktop-download'));
  }, 60_000);

  it('on a phone, the folded bar starts an epidemic drill (scenario two) at another office, and its evaluation downloads too', async () => {
    const number = await pickDrill(phone, { type: 'epidemic', scenario: 's2', officeCode: 'office-xiaohe' });
    const xiaohe = (await listUnits(sandbox.app.db.db, 'office')).find((u) => u.code === 'office-xiaohe')!;
    const [row] = await sandbox.app.db.db.select().from(incidents).where(eq(incidents.number, number));
    expect(row).toMatchObject({ type: 'epidemic', scenario: 's2', officeUnitId: xiaohe.id, isDrill: true });
    // The page shows the section's pane, where the card is.
    const { pane, tab } = panesOf(phone);
    await expect(tab('section').getAttribute('aria-selected')).resolves.toBe('true');
    await expect.poll(() => pane('section').locator('[data-testid="bot-message"]', { hasText: number }).count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await pane('section').scrollIntoViewIfNeeded();
    await phone.screenshot(shot('phone-drill'));
    await endAndDownload(phone, number);
    await phone.screenshot(shot('phone-download'));
  }, 60_000);

  it('runs the 09:00 reminder, the 18:00 check and the 18:00 digest now, each in its pane; pressed again, runs again and says so', async () => {
    const today = localDate(new Date(), BUREAU_ZONE);
    const { pane, count } = panesOf(desktop);
    const cases = [
      { kind: 'contact_reminder', pane: 'officer', text: fixedPart('notice.contact_reminder'), subject: AWAY_SUBJECT },
      { kind: 'contact_check', pane: 'office_head', text: fixedPart('notice.contact_check_head'), subject: AWAY_SUBJECT },
      { kind: 'digest', pane: 'section', text: shown('notice.daily_digest', { date: today }), subject: undefined },
    ] as const;
    for (const c of cases) {
      const target = pane(c.pane);
      const shownNow = () => count(target, c.text);
      for (const press of [1, 2]) {
        const before = await shownNow();
        const status = desktop.locator('[data-testid="trainer-status"]');
        await status.evaluate((el) => el.removeAttribute('data-outcome'));
        await desktop.locator(`[data-testid="run-${c.kind}"]`).click();
        // The first press runs today's run, or runs it again if today's already happened (at its time, or
        // late at start); the second always runs again, and the status line says which.
        await expect.poll(async () => status.getAttribute('data-outcome'), { timeout: 15_000 }).toMatch(press === 1 ? /^(ran|forced)$/ : /^forced$/);
        await expect.poll(shownNow, { timeout: 15_000 }).toBe(before + 1);
        if (c.subject) await expect(target.locator('[data-testid="bot-message"]', { hasText: c.text }).last().textContent()).resolves.toContain(c.subject);
      }
    }
    await desktop.screenshot(shot('desktop-run-now'));
    // In PostgreSQL: two reminders for the officer, two checks for the office head, two digests each for
    // the section and the leaders — the re-runs under keys of their own.
    const byKey = new Map(sandbox.persons.map((p) => [p.key, p.staffId]));
    const rows = await sandbox.app.db.db.select().from(outbox).where(inArray(outbox.kind, ['contact_reminder', 'contact_check_head', 'daily_digest']));
    const n = (kind: string, key: string) => rows.filter((r) => r.kind === kind && r.recipientStaffId === byKey.get(key)).length;
    expect(n('contact_reminder', 'officer')).toBeGreaterThanOrEqual(2);
    expect(n('contact_check_head', 'office_head')).toBeGreaterThanOrEqual(2);
    for (const key of ['section', 'deputy_director', 'director']) expect(n('daily_digest', key)).toBeGreaterThanOrEqual(2);
    expect(rows.some((r) => r.dedupeKey.includes('-rerun-'))).toBe(true);

    // On a phone too: the bar's button, and the page shows the pane the digest went to. Today's digest ran
    // above, so this is a re-run, unless the bureau's day turned meanwhile (a run started at 23:59).
    const day = localDate(new Date(), BUREAU_ZONE);
    const digestOfDay = shown('notice.daily_digest', { date: day });
    const before = await panesOf(phone).count(panesOf(phone).pane('section'), digestOfDay);
    await panesOf(phone).tab('officer').click();
    await phone.locator('[data-testid="run-digest"]').click();
    const expected = day === today ? /^forced$/ : /^(ran|forced)$/;
    await expect.poll(async () => phone.locator('[data-testid="trainer-status"]').getAttribute('data-outcome'), { timeout: 15_000 }).toMatch(expected);
    await expect(panesOf(phone).tab('section').getAttribute('aria-selected')).resolves.toBe('true');
    await expect.poll(() => panesOf(phone).count(panesOf(phone).pane('section'), digestOfDay), { timeout: 15_000 }).toBe(before + 1);
    // The selected pane's messages are seen: only the others' tabs count theirs.
    await expect(panesOf(phone).tab('section').locator('[data-testid="unread-badge"]').count()).resolves.toBe(0);
    await expect(panesOf(phone).tab('director').locator('[data-testid="unread-badge"]').count()).resolves.toBe(1);
    await phone.screenshot(shot('phone-run-now', true));
  }, 90_000);

  it('starts afresh: the old incidents gone from the database and the queues, every pane empty, and a new /report works', async () => {
    const db = sandbox.app.db.db;
    const old = await db.select({ id: incidents.id, number: incidents.number }).from(incidents);
    expect(old.length).toBeGreaterThanOrEqual(2);
    const staffBefore = (await db.select({ id: staff.id }).from(staff)).length;

    await phone.locator('[data-testid="reset-button"]').click();
    await expect(phone.locator('[data-testid="reset-dialog"]').isVisible()).resolves.toBe(true);
    await phone.screenshot(shot('phone-reset-confirm'));
    await phone.locator('[data-testid="reset-confirm"]').click();
    // The page starts again, and says what the reset did.
    await phone.locator('[data-testid="trainer-status"][data-outcome="reset"]').waitFor({ state: 'attached', timeout: 30_000 });
    await phone.locator('body[data-ready="true"]').waitFor({ timeout: 15_000 });

    // The database: no incident, drill or notice of the old sandbox; the examples again, with new ids.
    expect(await db.select().from(incidents)).toEqual([]);
    expect(await db.select().from(drills)).toEqual([]);
    // The only notices are the new examples' own: the seeded absences, approved by the office heads, are
    // told to the officers, and one approved after the day's reminder time gets its first daily-contact
    // reminder at once (before 09:00 there is none).
    const notices = await db.select().from(outbox);
    expect(notices.filter((n) => n.kind !== 'absence_approved' && !(n.kind === 'contact_reminder' && n.dedupeKey.includes('-at-once-')))).toEqual([]);
    expect((await db.select({ id: staff.id }).from(staff)).length).toBe(staffBefore);
    // Nothing left to fire for them: every timer belongs to no incident (the absences' checks), and every
    // job in the timers queue is for a timer that exists and is pending.
    const timerRows = await db.select().from(timers);
    expect(timerRows.every((r) => r.incidentId === null && r.state === 'pending')).toBe(true);
    const jobs = await sandbox.app.jobs.queues.timers.getJobs(['delayed', 'waiting', 'prioritized']);
    const pendingIds = new Set(timerRows.map((r) => r.id));
    for (const job of jobs) expect(pendingIds.has((job.data as { timerId: string }).timerId)).toBe(true);
    // Every send still queued is one of the new examples' notices: none of the old sandbox's is left.
    const outboxIds = new Set(notices.map((n) => n.id));
    for (const job of await sandbox.app.jobs.queues.send.getJobs(['waiting', 'delayed'])) expect(outboxIds.has((job.data as { outboxId: string }).outboxId)).toBe(true);

    // Every chat is empty of the old sandbox: on the page that reset (reloaded) and on the other one (told
    // message by message). What is there is the new examples' own notices, one message each.
    await expect.poll(async () => (await db.select().from(outbox)).filter((n) => n.status === 'pending' || n.status === 'sending').length, { timeout: 15_000 }).toBe(0);
    const settled = await db.select().from(outbox);
    const paneStaff = new Set(sandbox.persons.filter((x) => x.pane).map((p) => p.staffId));
    const expected = settled.filter((n) => n.status === 'sent' && paneStaff.has(n.recipientStaffId)).length;
    expect(sandbox.persons.filter((x) => x.pane).flatMap((p) => sandbox.botApi.messages(p.chatId))).toHaveLength(expected);
    for (const p of sandbox.persons.filter((x) => x.pane)) {
      for (const m of sandbox.botApi.messages(p.chatId)) expect(m.text ?? '').toMatch(/^📞|^✅/);
    }
    for (const page of [phone, desktop]) {
      await expect.poll(() => page.locator('[data-testid="user-message"]').count(), { timeout: 10_000 }).toBe(0);
      await expect.poll(async () => (await page.locator('[data-testid="bot-message"]').allTextContents()).every((text) => /^(📞|✅)/.test(text.trim())), { timeout: 10_000 }).toBe(true);
    }
    await phone.screenshot(shot('phone-after-reset'));
    await desktop.screenshot(shot('desktop-after-reset'));

    // A new report, on the phone, reaches the section as before.
    await reportAbscondingAsOfficer(phone, 'SQ-MSX-003');
    await expect.poll(async () => (await db.select().from(incidents)).length, { timeout: 10_000 }).toBe(1);
    const [fresh] = await db.select().from(incidents);
    expect(fresh).toMatchObject({ type: 'absconding', status: 'reported', isDrill: false });
    expect(old.map((o) => o.id)).not.toContain(fresh!.id);
    const { tab, pane } = panesOf(phone);
    // The section's tab counts what arrived while the officer's pane was shown.
    await expect.poll(() => tab('section').locator('[data-testid="unread-badge"]').count(), { timeout: 10_000 }).toBe(1);
    await tab('section').click();
    await expect.poll(() => pane('section').locator('[data-testid="bot-message"]', { hasText: fresh!.number }).count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await phone.screenshot(shot('phone-report-after-reset'));
    await desktop.screenshot(shot('desktop-report-after-reset'));
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
