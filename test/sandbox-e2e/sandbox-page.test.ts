/**
 * The sandbox as a newcomer uses it, in a real browser (Debian's Chromium driven by playwright-core):
 * start it (`startSandbox`, as `npm start` does without a token), open the page, report an incident as
 * the officer by typing and tapping in the officer's pane, see it reach the section's pane, watch the
 * unacknowledged report escalate to the deputy director, acknowledge it as the section, and keep
 * screenshots under artifacts/screenshots/.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eq, inArray } from 'drizzle-orm';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { t, type MessageKey } from '../../src/bot/messages/index.js';
import { parseConfig } from '../../src/config.js';
import { dailyRuns, incidents, outbox } from '../../src/db/schema.js';
import { INCIDENT_TYPE_INFO } from '../../src/domain/index.js';
import { createLogger } from '../../src/logger.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/run-sandbox.js';

const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../artifacts/screenshots/', import.meta.url));

let dataDir: string;
let sandbox: RunningSandbox;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

/** A catalogue text as the page shows it: tags dropped, entities decoded, placeholders filled. */
function shown(key: MessageKey, params: Record<string, string | number> = {}): string {
  return t('zh', key, params)
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

const pane = (key: string): Locator => page.locator(`[data-person="${key}"]`);
const botMessages = (p: Locator): Locator => p.locator('[data-testid="bot-message"]');
const stepHeader = (n: number, title: MessageKey) => shown('flow.step_of', { n, total: 7, title: shown(title) });

async function tap(p: Locator, text: string): Promise<void> {
  const button = botMessages(p).last().locator('[data-testid="inline-button"]', { hasText: text });
  await button.first().click();
}

async function type(p: Locator, text: string): Promise<void> {
  const input = p.locator('[data-testid="composer-input"]');
  await input.click();
  await input.pressSequentially(text, { delay: 5 });
  await input.press('Enter');
}

/** Waits until the last bot message of the pane shows `text`. */
async function expectLast(p: Locator, text: string, timeout = 10_000): Promise<void> {
  await expect.poll(async () => (await botMessages(p).last().textContent()) ?? '', { timeout }).toContain(text);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'sandbox-e2e-'));
  const config = parseConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  sandbox = await startSandbox(config, createLogger('silent'), { port: 0 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1720, height: 1000 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  await mkdir(SCREENSHOT_DIR, { recursive: true });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await sandbox?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('the sandbox page in a browser', () => {
  it('shows a pane per person, and the shortened deadlines', async () => {
    await page.goto(sandbox.url);
    await page.locator('body[data-ready="true"]').waitFor({ timeout: 15_000 });
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
    const officer = pane('officer');
    const section = pane('section');
    const deputy = pane('deputy_director');

    // Start-up's own notices (today's reminders and checks, run late when the sandbox starts after their
    // time) are delivered first, so that the form's prompts are the last message of the pane.
    await expect
      .poll(
        async () => {
          const today = await sandbox.app.db.db.select().from(dailyRuns).where(eq(dailyRuns.kind, 'checks'));
          const unsent = await sandbox.app.db.db.select().from(outbox).where(inArray(outbox.status, ['pending', 'sending']));
          return today.length > 0 && unsent.length === 0;
        },
        { timeout: 30_000 },
      )
      .toBe(true);

    await type(officer, '/report');
    await expectLast(officer, stepHeader(1, 'report.step.type'));
    await tap(officer, INCIDENT_TYPE_INFO.absconding.name.zh);

    await expectLast(officer, stepHeader(2, 'report.step.subject'));
    const subjectCode = 'SQ-MSX-003'; // one of this officer's subjects in examples/subjects.csv
    await type(officer, subjectCode);
    await expect.poll(() => botMessages(officer).last().locator('[data-testid="inline-button"]', { hasText: subjectCode }).count(), { timeout: 10_000 }).toBe(1);
    await tap(officer, subjectCode);

    await expectLast(officer, stepHeader(3, 'report.step.time'));
    await tap(officer, shown('button.now'));

    await expectLast(officer, stepHeader(4, 'report.step.place'));
    await officer.locator('[data-testid="location-button"]').click();

    await expectLast(officer, stepHeader(5, 'report.step.casualties'));
    await tap(officer, shown('button.casualties_none'));

    await expectLast(officer, stepHeader(6, 'report.step.description'));
    await type(officer, '下午走访未见本人，电话关机，家属称两天未归。');
    await expectLast(officer, shown('report.ask_media').slice(0, 8));
    await tap(officer, shown('button.next'));

    await expectLast(officer, stepHeader(7, 'report.step.confirm'));
    await tap(officer, shown('button.submit_report'));

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
    await section.locator('[data-testid="bot-message"]', { hasText: incident!.number }).last().locator('[data-testid="inline-button"]', { hasText: shown('button.ack') }).click();
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
