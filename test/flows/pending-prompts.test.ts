/**
 * One engine for every form (issue 11): an unfinished /report is never replaced by an after-incident
 * input, and a pending prompt ends when the user turns to something else — a command, a button outside
 * it — or when it has waited too long. Through the bot, with the after-incident plugin installed as the
 * app installs it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { afterIncidentPlugin } from '../../src/flows/after-incident/index.js';
import { SUBJECT_SEARCH_TTL_SECONDS } from '../../src/flows/subjects.flow.js';
import { countiesOf } from '../../src/db/repositories/county.repository.js';
import { t } from '../../src/i18n/index.js';
import { buttonTexts, startBotHarness, type BotHarness } from '../helpers/bot-harness.js';
import type { StaffKey } from '../helpers/fixtures.js';
import { closedIncident } from '../after-incident/helpers.js';

let h: BotHarness;

beforeAll(async () => {
  h = await startBotHarness({ plugins: [afterIncidentPlugin()] });
});
afterAll(async () => h?.close());

const NOT_UNDERSTOOD = t('zh', 'unknown_text');
const QUESTION = '你好，请问怎么上报？';

async function flowOf(who: StaffKey): Promise<{ flow: string; step: string } | undefined> {
  const [row] = await h.db.sql`select flow, step from flow_states where chat_id = ${h.tg(who)}`;
  return row ? { flow: row.flow as string, step: row.step as string } : undefined;
}

/** What the bot said in `who`'s chat since `seen` bot messages. */
function saidSince(who: StaffKey, seen: number): string[] {
  return h.api
    .botMessages(h.tg(who))
    .slice(seen)
    .map((m) => m.text ?? '');
}

describe('an unfinished report', () => {
  it('is not replaced by ➕ on /counties: the user is told, and the report goes on where it was', async () => {
    const { incident } = await closedIncident(h.deps, h.org, h.clock);
    const form = await h.send('officerA1', '/report');
    await h.pressText('officerA1', form, '五、');
    expect(await flowOf('officerA1')).toEqual({ flow: 'report', step: 'subject' });

    // A command leaves the report waiting; the view it asked for is shown.
    const view = await h.send('officerA1', `/counties ${incident.number}`);
    expect(view.text).toContain(incident.number);
    const refused = await h.pressText('officerA1', view, '➕');
    expect(refused).toMatchObject({ show_alert: true, text: t('zh', 'flow.busy_report') });
    expect(await flowOf('officerA1')).toEqual({ flow: 'report', step: 'subject' });
    expect(buttonTexts(h.api.message(h.tg('officerA1'), view.message_id))).toContain(t('zh', 'cty.button.add'));

    // The next text is the report's subject search, not a county.
    const found = await h.send('officerA1', '张');
    expect(found.text).toContain('第 2/7 步');
    expect(buttonTexts(found)).toContain('张*（SQ-A-001）');
    expect(await countiesOf(h.db.db, incident.id)).toEqual([]);
    await h.send('officerA1', '/cancel');
  });
});

describe('a pending prompt', () => {
  it('ends when the user sends a command: later text is not taken as a search', async () => {
    const prompt = await h.send('headA', '/subjects');
    expect((await h.send('headA', '查无此人')).text).toContain('没有找到');
    const retry = h.last('headA');
    await h.send('headA', '/language');
    await h.send('headA', '/incidents');
    expect(await flowOf('headA')).toBeUndefined();
    // The search's prompt says it was closed, and keeps no buttons.
    expect(h.api.message(h.tg('headA'), retry.message_id)).toMatchObject({ text: t('zh', 'cancelled') });
    expect(buttonTexts(h.api.message(h.tg('headA'), retry.message_id))).toEqual([]);
    expect(buttonTexts(h.api.message(h.tg('headA'), prompt.message_id))).toEqual([]);

    const seen = h.api.botMessages(h.tg('headA')).length;
    const answer = await h.send('headA', QUESTION);
    expect(answer.text).toBe(NOT_UNDERSTOOD);
    expect(saidSince('headA', seen).join('\n')).not.toContain('没有找到');
  });

  it('ends when the user presses a button outside it', async () => {
    const language = await h.send('officerB1', '/language');
    await h.send('officerB1', '/subjects');
    expect(await flowOf('officerB1')).toMatchObject({ flow: 'subjects' });
    await h.pressText('officerB1', language, t('zh', 'button.lang_zh'));
    expect(await flowOf('officerB1')).toBeUndefined();
    const seen = h.api.botMessages(h.tg('officerB1')).length;
    expect((await h.send('officerB1', QUESTION)).text).toBe(NOT_UNDERSTOOD);
    expect(saidSince('officerB1', seen).join('\n')).not.toContain('没有找到');
  });

  it('of an after-incident input ends on a command too: the text after it names no county', async () => {
    const { incident } = await closedIncident(h.deps, h.org, h.clock, { office: 'officeB', reporter: 'officerB1', subject: 'b1' });
    const view = await h.send('headB', `/counties ${incident.number}`);
    await h.pressText('headB', view, '➕');
    expect(await flowOf('headB')).toEqual({ flow: 'county', step: 'add' });
    await h.send('headB', '/help');
    expect(await flowOf('headB')).toBeUndefined();
    expect((await h.send('headB', '余杭区')).text).toBe(NOT_UNDERSTOOD);
    expect(await countiesOf(h.db.db, incident.id)).toEqual([]);
  });

  it('expires: a search left waiting is answered, within its time, and dropped with a word after it', async () => {
    await h.send('section', '/subjects');
    h.clock.advance((SUBJECT_SEARCH_TTL_SECONDS - 60) * 1000);
    const found = await h.send('section', '张');
    expect(buttonTexts(found)).toContain('张*（SQ-A-001）');

    h.clock.advance((SUBJECT_SEARCH_TTL_SECONDS + 1) * 1000);
    const seen = h.api.botMessages(h.tg('section')).length;
    const answer = await h.send('section', QUESTION);
    const said = saidSince('section', seen);
    expect(said).toEqual([t('zh', 'flow.expired'), NOT_UNDERSTOOD]);
    expect(answer.text).toBe(NOT_UNDERSTOOD);
    expect(await flowOf('section')).toBeUndefined();
  });
});
