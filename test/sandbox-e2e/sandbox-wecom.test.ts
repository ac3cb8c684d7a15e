/**
 * The sandbox page's WeCom pane, in a real browser (Debian's Chromium driven by playwright-core): the
 * section's second seat (陈晓雯) is bound on WeCom and prefers it, so one incident has the section on both
 * channels. A report typed in the officer's Telegram pane reaches the WeCom pane as a template card; 签收
 * pressed there is a signed, encrypted callback, and the card is redrawn in place (update_template_card);
 * 处置清单 opens the steps as a vote card, a step submitted there opens it on the card; typing is a text
 * callback; a drill's evaluation arrives as a .docx file. Screenshots at 1440 and 390 px go under
 * artifacts/screenshots/.
 */
import path from 'node:path';
import { eq } from 'drizzle-orm';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incidents, incidentSteps } from '../../src/db/schema.js';
import type { RunningSandbox } from '../../src/sandbox/run-sandbox.js';
import { DESKTOP, openPage, panesOf, PHONE, reportAbscondingAsOfficer, SCREENSHOT_DIR, shown, startSandboxAndBrowser, startupSettled, type SandboxUnderTest } from './page-harness.js';

let under: SandboxUnderTest;
let sandbox: RunningSandbox;
let desktop: Page;
const pageErrors: string[] = [];

const shot = (name: string) => ({ path: path.join(SCREENSHOT_DIR, `wecom-${name}.png`) });

beforeAll(async () => {
  under = await startSandboxAndBrowser('sandbox-wecom-');
  sandbox = under.sandbox;
  desktop = await under.browser.newPage({ viewport: { ...DESKTOP }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  desktop.on('pageerror', (err) => pageErrors.push(String(err)));
}, 90_000);

afterAll(async () => {
  await under?.stop();
});

/** Scrolls a message's pane until the message's top is at the top of the chat (neither the page nor the strip moves). */
function scrollToTop(el: { offsetTop: number; closest(selector: string): unknown }): void {
  const history = el.closest('.history') as { scrollTop: number; offsetTop: number };
  history.scrollTop = el.offsetTop - history.offsetTop - 8;
}

/** The WeCom pane's parts, as a member sees them. */
function wecomPane(page: Page) {
  const pane = panesOf(page).pane('wecom_section');
  const cards = pane.locator('[data-testid="wecom-card"]');
  return {
    pane,
    cards,
    /** The incident's card: the live button card whose title carries its number (a drill's number has its mark before it). */
    incidentCard: (number: string): Locator =>
      cards
        .filter({ has: page.locator('[data-testid="wecom-card-title"]', { hasText: new RegExp(`(^|[^】演练])${number}`) }) })
        .filter({ hasNot: page.locator('.wc-options, [data-testid="wecom-card-disabled"]') }),
    button: (card: Locator, text: string): Locator => card.locator('[data-testid="wecom-button"]', { hasText: text }),
    async type(text: string): Promise<void> {
      const input = pane.locator('[data-testid="composer-input"]');
      await input.click();
      await input.pressSequentially(text, { delay: 5 });
      await input.press('Enter');
    },
  };
}

// One sandbox, one incident that goes on from step to step: the steps keep their order.
describe('the sandbox page’s WeCom pane', { shuffle: false }, () => {
  it('shows a WeCom member’s pane beside the Telegram panes, headed 企业微信 and drawn as WeCom draws it', async () => {
    const person = sandbox.persons.find((p) => p.key === 'wecom_section')!;
    expect(person).toMatchObject({ channel: 'wecom', wecomUserId: person.staffCode, roleKey: 'section' });
    // The product runs WeCom against the stand-in: it answered WeCom's URL check and took a token.
    expect(sandbox.wecom.driver.deliveries.some((d) => d.kind === 'verify_url' && d.status === 200)).toBe(true);

    await openPage(desktop, sandbox.url);
    const { pane } = wecomPane(desktop);
    await expect(pane.count()).resolves.toBe(1);
    await expect(pane.getAttribute('data-channel')).resolves.toBe('wecom');
    await expect(pane.locator('[data-testid="wecom-badge"]').textContent()).resolves.toBe('企业微信');
    await expect(pane.locator('.name').textContent()).resolves.toContain(person.name);
    // The Telegram panes stay as they are: no badge, and another look.
    const section = panesOf(desktop).pane('section');
    await expect(section.locator('[data-testid="wecom-badge"]').count()).resolves.toBe(0);
    const background = (l: Locator) =>
      l.evaluate((el) => {
        const style = (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundImage: string; backgroundColor: string } }).getComputedStyle(el);
        return `${style.backgroundImage} ${style.backgroundColor}`;
      });
    expect(await background(pane)).not.toBe(await background(section));
    await expect(panesOf(desktop).tab('wecom_section').locator('.tab-channel').textContent()).resolves.toBe('企业微信');
    // The page's two languages reach the WeCom pane too.
    await desktop.locator('#lang').click();
    await expect(pane.locator('[data-testid="wecom-badge"]').textContent()).resolves.toBe('WeCom');
    await desktop.locator('#lang').click();
    await expect(pane.locator('[data-testid="wecom-badge"]').textContent()).resolves.toBe('企业微信');

    // Only the page may act as a member: another site's page is refused before any callback is made.
    const act = sandbox.pageConfig.wecom!.act;
    const before = sandbox.wecom.driver.deliveries.length;
    const foreign = await fetch(act, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, body: JSON.stringify({ action: 'text', userId: person.wecomUserId, content: '/help' }) });
    expect(foreign.status).toBe(403);
    expect(sandbox.wecom.driver.deliveries.length).toBe(before);
  });

  it('a report from the officer’s Telegram pane reaches the WeCom pane as a card; 签收 there redraws it in place', async () => {
    const w = wecomPane(desktop);
    await startupSettled(sandbox);
    await reportAbscondingAsOfficer(desktop, 'SQ-MSX-003');
    await expect.poll(async () => (await sandbox.app.db.db.select().from(incidents)).length, { timeout: 10_000 }).toBe(1);
    const [incident] = await sandbox.app.db.db.select().from(incidents);

    const card = w.incidentCard(incident!.number);
    await expect.poll(() => card.count(), { timeout: 15_000 }).toBe(1);
    await expect(w.button(card, shown('button.ack')).count()).resolves.toBe(1);
    await expect(card.locator('[data-testid="wecom-card-desc"]').textContent()).resolves.toContain(shown('status.reported'));
    const taskId = await card.getAttribute('data-task-id');
    const messageId = await card.locator('xpath=..').getAttribute('data-msg-id');
    await card.evaluate(scrollToTop);
    await desktop.screenshot(shot('desktop-card'));

    const updatesBefore = sandbox.wecom.driver.callsOf('message/update_template_card');
    await w.button(card, shown('button.ack')).click();
    // Acknowledged by the WeCom member, in PostgreSQL.
    await expect
      .poll(async () => (await sandbox.app.db.db.select().from(incidents).where(eq(incidents.id, incident!.id)))[0]?.status, { timeout: 10_000 })
      .toBe('acknowledged');
    const [acked] = await sandbox.app.db.db.select().from(incidents).where(eq(incidents.id, incident!.id));
    expect(acked!.acknowledgedByStaffId).toBe(sandbox.persons.find((p) => p.key === 'wecom_section')!.staffId);

    // The same card, in the same message, redrawn: acknowledged, without 签收.
    const redrawn = w.pane.locator(`[data-testid="wecom-card"][data-task-id="${taskId}"]`);
    await expect.poll(() => redrawn.getAttribute('data-redrawn'), { timeout: 10_000 }).toBe('true');
    await expect.poll(async () => (await redrawn.locator('[data-testid="wecom-card-desc"]').textContent()) ?? '', { timeout: 10_000 }).toContain(shown('status.acknowledged'));
    await expect(w.button(redrawn, shown('button.ack')).count()).resolves.toBe(0);
    await expect(redrawn.locator('xpath=..').getAttribute('data-msg-id')).resolves.toBe(messageId);
    await expect(w.pane.locator(`[data-task-id="${taskId}"]`).count()).resolves.toBe(1);
    expect(sandbox.wecom.driver.callsOf('message/update_template_card')).toBeGreaterThan(updatesBefore);
    // The section's Telegram card follows: no 签收 left there either.
    const tgCard = panesOf(desktop)
      .pane('section')
      .locator('[data-testid="bot-message"]', { hasText: incident!.number })
      .filter({ has: desktop.locator('[data-testid="inline-button"]', { hasText: shown('button.refresh') }) });
    await expect.poll(() => tgCard.locator('[data-testid="inline-button"]', { hasText: shown('button.ack') }).count(), { timeout: 15_000 }).toBe(0);
    await redrawn.evaluate(scrollToTop);
    await desktop.screenshot(shot('desktop-acknowledged'));
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('处置清单 opens the steps as a vote card; a step picked and submitted is marked done from the card', async () => {
    const w = wecomPane(desktop);
    const [incident] = await sandbox.app.db.db.select().from(incidents);
    const card = w.incidentCard(incident!.number);
    const taskId = await card.getAttribute('data-task-id');
    await w.button(card, '处置清单').click();

    // The list as markdown above, the choice as a vote card with its options and submit.
    await expect.poll(() => w.pane.locator('[data-testid="wecom-markdown"]', { hasText: '处置清单' }).count(), { timeout: 10_000 }).toBeGreaterThan(0);
    const vote = w.cards.filter({ has: desktop.locator('.wc-options') }).last();
    await expect.poll(() => vote.locator('[data-testid="wecom-option"]').count(), { timeout: 10_000 }).toBeGreaterThan(1);
    await expect(vote.getAttribute('data-card-type')).resolves.toBe('vote_interaction');
    const first = vote.locator('[data-testid="wecom-option"]').first();
    const stepText = ((await first.textContent()) ?? '').trim();
    const ordinal = /^(\d+)\./.exec(stepText)![1]!;
    await first.click();
    await expect(first.getAttribute('aria-checked')).resolves.toBe('true');
    await vote.evaluate(scrollToTop);
    await desktop.screenshot(shot('desktop-checklist'));
    await vote.locator('[data-testid="wecom-submit"]').click();

    // The choice is greyed out; the incident's card now offers that step's buttons. (Redrawn in place while
    // it has a response_code left; once none is, the product sends it anew: the live card is the last one.)
    await expect.poll(() => vote.locator('[data-testid="wecom-card-disabled"]').count(), { timeout: 10_000 }).toBe(1);
    const incidentCard = w.incidentCard(incident!.number).last();
    await expect.poll(() => w.button(incidentCard, shown('button.step_done')).count(), { timeout: 10_000 }).toBe(1);
    expect(await w.pane.locator(`[data-task-id="${taskId}"]`).count()).toBe(1);
    await w.button(incidentCard, shown('button.step_done')).click();
    await expect
      .poll(
        async () => (await sandbox.app.db.db.select().from(incidentSteps).where(eq(incidentSteps.incidentId, incident!.id))).find((s) => String(s.ordinal) === ordinal)?.state,
        { timeout: 10_000 },
      )
      .toBe('done');
    await expect.poll(async () => (await incidentCard.textContent()) ?? '', { timeout: 10_000 }).toContain('已完成 2/');
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('typing in the WeCom pane is a text callback; a drill’s evaluation arrives as a .docx file', async () => {
    const w = wecomPane(desktop);
    // A drill from the trainer's bar; the WeCom member ends it from /drill and asks for its evaluation.
    await desktop.locator('[data-testid="drill-button"]').click();
    await expect.poll(() => desktop.locator('[data-testid="trainer-status"]').getAttribute('data-outcome'), { timeout: 15_000 }).toBe('drill');
    const [drill] = await sandbox.app.db.db.select().from(incidents).where(eq(incidents.isDrill, true));
    await expect.poll(() => w.incidentCard(drill!.number).count(), { timeout: 15_000 }).toBe(1);

    const overview = () => w.cards.filter({ has: desktop.locator('[data-testid="wecom-card-title"]', { hasText: '应急演练' }) }).last();
    await w.type('/drill');
    await expect.poll(() => w.pane.locator('[data-testid="wecom-member-message"]', { hasText: '/drill' }).count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => w.button(overview(), shown('drill.button.end', { number: drill!.number })).count(), { timeout: 10_000 }).toBe(1);
    await w.button(overview(), shown('drill.button.end', { number: drill!.number })).click();
    await expect.poll(async () => (await sandbox.app.db.db.select().from(incidents).where(eq(incidents.id, drill!.id)))[0]?.status, { timeout: 10_000 }).toBe('closed');

    await w.type('/drill');
    await expect.poll(() => w.button(overview(), shown('drill.button.docx', { number: drill!.number })).count(), { timeout: 10_000 }).toBe(1);
    await w.button(overview(), shown('drill.button.docx', { number: drill!.number })).click();
    const file = w.pane.locator('[data-testid="wecom-file"]');
    await expect.poll(() => file.count(), { timeout: 15_000 }).toBe(1);
    await expect(file.textContent()).resolves.toMatch(/\.docx/);
    // The link gives the file as WeCom would: the .docx the product uploaded.
    const res = await fetch((await file.getAttribute('href'))!, { headers: { origin: new URL(sandbox.url).origin } });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).subarray(0, 2).toString('latin1')).toBe('PK');
    await file.scrollIntoViewIfNeeded();
    await desktop.screenshot(shot('desktop-file'));
    expect(pageErrors).toEqual([]);
  }, 90_000);

  it('on a phone, the WeCom pane is one tab among the Telegram ones', async () => {
    const phone = await under.browser.newPage({ viewport: { ...PHONE }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', isMobile: true, hasTouch: true });
    phone.on('pageerror', (err) => pageErrors.push(String(err)));
    await openPage(phone, sandbox.url);
    await panesOf(phone).tab('wecom_section').click();
    const w = wecomPane(phone);
    await expect(w.pane.isVisible()).resolves.toBe(true);
    await expect(panesOf(phone).pane('section').isVisible()).resolves.toBe(false);
    const [incident] = await sandbox.app.db.db.select().from(incidents).where(eq(incidents.isDrill, false));
    await expect.poll(() => w.incidentCard(incident!.number).count(), { timeout: 10_000 }).toBeGreaterThan(0);
    // Nothing on the card is wider than the phone.
    const overflow = await w.pane.evaluate((el) => [...el.querySelectorAll('.wc-card, .wc-bubble, .wc-file')].filter((x) => x.scrollWidth > x.clientWidth + 1).length);
    expect(overflow).toBe(0);
    await w.incidentCard(incident!.number).last().evaluate(scrollToTop);
    await phone.screenshot(shot('phone-card'));
    await phone.close();
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
