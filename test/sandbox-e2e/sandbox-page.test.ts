/**
 * The sandbox as a newcomer uses it, in a real browser (Debian's Chromium driven by playwright-core):
 * start it (`startSandbox`, as `npm start` does without a token), open the page, report an incident as
 * the officer by typing and tapping in the officer's pane, see it reach the section's pane, watch the
 * unacknowledged report escalate to the deputy director, acknowledge it as the section, and keep
 * screenshots under artifacts/screenshots/.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { t } from '../../src/i18n/index.js';
import { incidents } from '../../src/db/schema.js';
import type { RunningSandbox } from '../../src/sandbox/run-sandbox.js';
import { openPage, panesOf, reportAbscondingAsOfficer, SCREENSHOT_DIR, shown, startSandboxAndBrowser, startupSettled, type SandboxUnderTest } from './page-harness.js';

export { SCREENSHOT_DIR };

let under: SandboxUnderTest;
let sandbox: RunningSandbox;
let page: Page;
let pane: ReturnType<typeof panesOf>['pane'];
const pageErrors: string[] = [];

beforeAll(async () => {
  under = await startSandboxAndBrowser('sandbox-e2e-');
  sandbox = under.sandbox;
  page = await under.browser.newPage({ viewport: { width: 1720, height: 1000 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  pane = panesOf(page).pane;
}, 90_000);

afterAll(async () => {
  await under?.stop();
});

// One sandbox and one browser, a newcomer's first minutes in order: the steps keep their order.
describe('the sandbox page in a browser', { shuffle: false }, () => {
  it('shows a pane per person, and the shortened deadlines', async () => {
    await openPage(page, sandbox.url);
    for (const key of ['officer', 'office_head', 'section', 'deputy_director', 'director']) await expect(pane(key).count()).resolves.toBe(1);
    await expect(pane('section').locator('.name').textContent()).resolves.toBe(sandbox.persons.find((p) => p.key === 'section')!.name);
    // Critical acknowledgement: 5 minutes in production, 5 seconds here.
    await expect(page.locator('[data-testid="policy-ack"]').textContent()).resolves.toContain(shown('sandbox.unit.seconds', { n: 5 }));
    await expect(page.locator('[data-testid="connection-status"]').textContent()).resolves.toBe(shown('sandbox.connection.ok'));
    // The page speaks the catalogue's two languages.
    await page.locator('#lang').click();
    await expect(page.locator('h1').textContent()).resolves.toBe(t('en', 'sandbox.title'));
    await page.locator('#lang').click();
    await expect(page.locator('h1').textContent()).resolves.toBe(shown('sandbox.title'));
  });

  it('reports as the officer, escalates to the deputy director, and is acknowledged by the section', async () => {
    const section = pane('section');
    const deputy = pane('deputy_director');

    // Start-up's own notices (today's reminders and checks, run late when the sandbox starts after their
    // time, and nothing when it starts before) are delivered first, so that the form's prompts are the last
    // message of the pane. Its catch-up being over is the condition, at any hour.
    await startupSettled(sandbox);

    await reportAbscondingAsOfficer(page, 'SQ-MSX-003'); // one of this officer's subjects in examples/subjects.csv

    // The report is in PostgreSQL, and the section's pane shows it with the acknowledge button.
    const [incident] = await expect
      .poll(async () => sandbox.app.db.db.select().from(incidents), { timeout: 10_000 })
      .toHaveLength(1)
      .then(() => sandbox.app.db.db.select().from(incidents));
    expect(incident!.type).toBe('absconding');
    expect(incident!.status).toBe('reported');
    await expect.poll(() => section.locator('[data-testid="bot-message"]', { hasText: incident!.number }).count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => section.locator('[data-testid="inline-button"]', { hasText: shown('button.ack') }).count()).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'sandbox-reported.png') });

    // Nobody acknowledges: after the (shortened) deadline the deputy director is paged.
    const ackSeconds = sandbox.pageConfig.policy.rows.find((r) => r.id === 'ack')!.seconds[0]!;
    await expect
      .poll(() => deputy.locator('[data-testid="bot-message"]', { hasText: incident!.number }).count(), { timeout: (ackSeconds + 15) * 1000 })
      .toBeGreaterThan(0);
    await expect.poll(() => deputy.locator('[data-testid="inline-button"]', { hasText: shown('button.ack') }).count()).toBeGreaterThan(0);

    // The section acknowledges from its pane: the status changes, and the card is edited in place.
    // The 签收 button is on the section's card; the events about the incident reply to it and carry none.
    await section
      .locator('[data-testid="bot-message"]', { hasText: incident!.number })
      .filter({ has: page.locator('[data-testid="inline-button"]', { hasText: shown('button.ack') }) })
      .last()
      .locator('[data-testid="inline-button"]', { hasText: shown('button.ack') })
      .click();
    await expect
      .poll(async () => (await sandbox.app.db.db.select({ status: incidents.status }).from(incidents).where(eq(incidents.id, incident!.id)))[0]?.status, { timeout: 10_000 })
      .toBe('acknowledged');
    await expect
      .poll(() => section.locator('[data-testid="bot-message"]', { hasText: shown('status.acknowledged') }).count(), { timeout: 10_000 })
      .toBeGreaterThan(0);
    await expect.poll(() => page.locator('[data-testid="edited-marker"]').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    // The deputy director's card, paged by the ladder, is redrawn too: no 签收 left on it.
    await expect.poll(() => deputy.locator('[data-testid="inline-button"]', { hasText: shown('button.ack') }).count(), { timeout: 15_000 }).toBe(0);

    // The program's /metrics saw it: notifications sent, the open incident, its pending deadlines.
    const metricsText = await (await fetch(`${sandbox.opsUrl}/metrics`)).text();
    const series = (name: string, labels: string) => Number(new RegExp(`^${name}\\{${labels}[^}]*\\} (\\S+)$`, 'm').exec(metricsText)?.[1] ?? NaN);
    expect(series('corrections_messages_sent_total', 'result="ok"')).toBeGreaterThan(0);
    expect(series('corrections_incidents_open', 'type="absconding",drill="false"')).toBe(1);
    expect(series('corrections_timers_pending', 'kind="inform"')).toBeGreaterThan(0);

    const shot = path.join(SCREENSHOT_DIR, 'sandbox-walkthrough.png');
    await page.screenshot({ path: shot });
    expect(existsSync(shot)).toBe(true);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('a leader’s card is current after a 续报, a step and closing, and each event is a new message replying to it', async () => {
    const { pane: paneOf, type, tap } = panesOf(page);
    const officer = paneOf('officer');
    const head = paneOf('office_head');
    const deputy = paneOf('deputy_director');
    const [incident] = await sandbox.app.db.db.select().from(incidents);
    // The card in a pane: the incident's message with 🔄 刷新 (only the card carries the incident's buttons).
    const cardIn = (p: typeof officer) =>
      p.locator('[data-testid="bot-message"]', { hasText: incident!.number }).filter({ has: page.locator('[data-testid="inline-button"]', { hasText: shown('button.refresh') }) });
    await expect.poll(() => cardIn(deputy).count(), { timeout: 10_000 }).toBe(1);

    // 续报 from the officer's card: the deputy's card shows it.
    await cardIn(officer).last().locator('[data-testid="inline-button"]', { hasText: shown('button.progress') }).click();
    await type(officer, '民警已到对象家中，家属配合查找。');
    await tap(officer, shown('button.submit'));
    await expect.poll(async () => (await cardIn(deputy).textContent()) ?? '', { timeout: 15_000 }).toContain('民警已到对象家中');

    // A step done from the officer's card (the first the office does): the deputy's card ticks it. The
    // officer's card is sent anew below the form once the 续报 is in, and the old one becomes a pointer to
    // it with no buttons: the new one may come after the deputy's edit, so the card pressed is the one
    // that shows the 续报.
    await expect.poll(async () => (await cardIn(officer).last().textContent()) ?? '', { timeout: 15_000 }).toContain('民警已到对象家中');
    const officerCardId = await cardIn(officer).last().getAttribute('data-message-id');
    const officerCard = officer.locator(`[data-testid="bot-message"][data-message-id="${officerCardId}"]`);
    const stepButton = officerCard.locator('[data-testid="inline-button"]', { hasText: /^⬜ \d+\./ }).first();
    const ordinal = /⬜ (\d+)\./.exec((await stepButton.textContent()) ?? '')![1]!;
    await stepButton.click();
    const done = () => officerCard.locator('[data-testid="inline-button"]', { hasText: shown('button.step_done') });
    await expect.poll(() => done().count(), { timeout: 10_000 }).toBe(1);
    await done().click();
    await expect.poll(async () => (await cardIn(deputy).textContent()) ?? '', { timeout: 15_000 }).toContain(`✅ ${ordinal}.`);

    // The office head closes it (with the duties still open, and a reason): the deputy's card shows it
    // closed, with nothing left to press but 刷新.
    await expect.poll(() => cardIn(head).count(), { timeout: 10_000 }).toBe(1);
    await cardIn(head).locator('[data-testid="inline-button"]', { hasText: shown('button.close') }).click();
    await expect.poll(async () => (await head.locator('[data-testid="bot-message"]').last().textContent()) ?? '', { timeout: 10_000 }).toMatch(/未完成|（1\/3）/);
    if (((await head.locator('[data-testid="bot-message"]').last().textContent()) ?? '').includes('未完成')) await type(head, '其余查找由派出所继续，本所配合。');
    for (const text of ['对象擅自离开居住地，联系中断。', '对外出苗头掌握不及时。', '每周核查对象的行踪。']) await type(head, text);
    await tap(head, shown('button.confirm_close'));
    await expect.poll(async () => (await cardIn(deputy).textContent()) ?? '', { timeout: 15_000 }).toContain(shown('status.closed'));
    await expect.poll(() => cardIn(deputy).locator('[data-testid="inline-button"]').count(), { timeout: 10_000 }).toBe(1);
    // The events reply to the card: the deputy's pane shows them as replies, never as rewritten cards.
    await expect.poll(() => deputy.locator('[data-testid="bot-message"] [data-testid="reply-quote"]').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'sandbox-leader-card-current.png') });
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('starts a drill from the drill button, through the section’s pane', async () => {
    const section = pane('section');
    const drillPrefix = shown('drill.prefix');
    const before = await section.locator('[data-testid="bot-message"]', { hasText: drillPrefix }).count();
    await page.locator('[data-testid="drill-button"]').click();
    await expect.poll(() => section.locator('[data-testid="bot-message"]', { hasText: drillPrefix }).count(), { timeout: 15_000 }).toBeGreaterThan(before);
    const drills = await sandbox.app.db.db.select().from(incidents).where(eq(incidents.isDrill, true));
    expect(drills).toHaveLength(1);
    // The office head of the office named in the scenario is told, marked as a drill.
    await expect.poll(() => pane('office_head').locator('[data-testid="bot-message"]', { hasText: drills[0]!.number }).count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'sandbox-drill.png') });
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
