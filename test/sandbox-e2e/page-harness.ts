/**
 * What the sandbox's browser tests share: a sandbox started as `npm start` starts it (without a token),
 * Debian's Chromium driven by playwright-core, the page's chat panes as a person uses them (type, tap,
 * wait for the bot), catalogue texts as the page shows them, and the report walkthrough.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inArray } from 'drizzle-orm';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { t, type MessageKey } from '../../src/i18n/index.js';
import { parseConfig } from '../../src/config.js';
import { outbox } from '../../src/db/schema.js';
import { INCIDENT_TYPE_INFO } from '../../src/domain/index.js';
import { createLogger } from '../../src/logger.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/run-sandbox.js';
import { realClockEnv } from '../helpers/real-clock-env.js';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../artifacts/screenshots/', import.meta.url));
/** The phone (an iPhone 12–15's CSS viewport) and the laptop the page must work on. */
export const PHONE = { width: 390, height: 844 } as const;
export const DESKTOP = { width: 1440, height: 900 } as const;

export interface SandboxUnderTest {
  sandbox: RunningSandbox;
  browser: Browser;
  stop(): Promise<void>;
}

export async function startSandboxAndBrowser(prefix: string): Promise<SandboxUnderTest> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), prefix));
  const config = parseConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  const sandbox = await startSandbox(config, createLogger('silent'), { port: 0 });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Chromium keeps the real clock under test:clock (libfaketime makes it die at start here).
    env: realClockEnv() as Record<string, string>,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  return {
    sandbox,
    browser,
    stop: async () => {
      await browser.close().catch(() => undefined);
      await sandbox.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Start-up's own notices are delivered before a test types: its catch-up of today's daily runs (late
 * when the sandbox starts after their time, nothing before it) is over, and the outbox is empty.
 */
export async function startupSettled(sandbox: RunningSandbox, timeoutMs = 30_000): Promise<void> {
  await sandbox.app.jobs.startupCatchUp;
  // A loop rather than expect.poll, which works only inside a test (this also serves beforeAll).
  const unsent = async () => (await sandbox.app.db.db.select({ id: outbox.id }).from(outbox).where(inArray(outbox.status, ['pending', 'sending']))).length;
  const deadline = Date.now() + timeoutMs;
  while ((await unsent()) > 0) {
    if (Date.now() > deadline) throw new Error(`start-up's notices still unsent after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A catalogue text as the page shows it: tags dropped, entities decoded, placeholders filled. */
export function shown(key: MessageKey, params: Record<string, string | number> = {}): string {
  return t('zh', key, params)
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

export async function openPage(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator('body[data-ready="true"]').waitFor({ timeout: 15_000 });
}

/** The panes of one page, used as their people use them. */
export function panesOf(page: Page) {
  const pane = (key: string): Locator => page.locator(`[data-person="${key}"][data-testid="pane"]`);
  const botMessages = (p: Locator): Locator => p.locator('[data-testid="bot-message"]');
  return {
    pane,
    botMessages,
    tab: (key: string): Locator => page.locator(`[data-testid="pane-tab"][data-person="${key}"]`),
    /** Taps a button of the pane's last bot message. */
    async tap(p: Locator, text: string): Promise<void> {
      await botMessages(p).last().locator('[data-testid="inline-button"]', { hasText: text }).first().click();
    },
    async type(p: Locator, text: string): Promise<void> {
      const input = p.locator('[data-testid="composer-input"]');
      await input.click();
      await input.pressSequentially(text, { delay: 5 });
      await input.press('Enter');
    },
    /** Waits until the pane's last bot message shows `text`. */
    async expectLast(p: Locator, text: string, timeout = 10_000): Promise<void> {
      await expect.poll(async () => (await botMessages(p).last().textContent()) ?? '', { timeout }).toContain(text);
    },
    /** How many of the pane's bot messages show `text`. */
    count: (p: Locator, text: string): Promise<number> => botMessages(p).filter({ hasText: text }).count(),
  };
}

const stepHeader = (n: number, title: MessageKey) => shown('flow.step_of', { n, total: 7, title: shown(title) });

/** /report, the seven steps, as the officer: 脱管 of one of the officer's subjects, reported now. */
export async function reportAbscondingAsOfficer(page: Page, subjectCode: string): Promise<void> {
  const { pane, botMessages, tap, type, expectLast } = panesOf(page);
  const officer = pane('officer');
  await type(officer, '/report');
  await expectLast(officer, stepHeader(1, 'report.step.type'));
  await tap(officer, INCIDENT_TYPE_INFO.absconding.name.zh);

  await expectLast(officer, stepHeader(2, 'report.step.subject'));
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
}
