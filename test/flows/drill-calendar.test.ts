/**
 * /drills and /periods on the Bot API stand-in: the section schedules a drill — type, office, a date
 * typed as a date — and is told plainly when the date is not one or is gone; the leaders see the list
 * only; an officer is refused. The scheduled drill then starts on its date through the daily run.
 * /periods adds a sensitive period the same way, refusing a last day before the first.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incidents, scheduledDrills, sensitivePeriods } from '../../src/db/schema.js';
import { calendarPlugin } from '../../src/flows/calendar.js';
import { t as message, type MessageKey, type Params } from '../../src/i18n/index.js';
import { plainText } from '../../src/i18n/markup.js';
import { runDailyChecks } from '../../src/services/daily-checks.service.js';
import { buttonTexts, startBotHarness, type BotHarness } from '../helpers/bot-harness.js';

let h: BotHarness;

/** A catalogue text as the stand-in shows it: without its markup. */
const t = (lang: 'zh' | 'en', key: MessageKey, params?: Params) => plainText(message(lang, key, params));

beforeAll(async () => {
  // 2026-11-29 10:00 in Shanghai.
  h = await startBotHarness({ plugins: [calendarPlugin()] });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('/drills', () => {
  it('the section schedules a drill with a typed date; a wrong date and a past one are answered plainly; it starts on its date', async () => {
    h.clock.set(new Date('2026-11-29T02:00:00Z'));
    const overview = await h.send('section', '/drills');
    expect(overview.text).toContain(t('zh', 'drs.title', { time: '09:30' }));
    expect(overview.text).toContain(t('zh', 'drs.none'));

    await h.pressText('section', overview, t('zh', 'drs.button.add'));
    let prompt = h.last('section');
    expect(prompt.text).toContain(t('zh', 'drs.choose_type'));
    await h.pressText('section', prompt, '行凶犯罪');
    prompt = h.last('section');
    expect(prompt.text).toContain(t('zh', 'drs.choose_office'));
    await h.pressText('section', prompt, '甲街道司法所');
    expect(h.last('section').text).toContain(t('zh', 'drs.ask_date'));

    // Not a date: told so, still at the date.
    const wrong = await h.send('section', '13月45日');
    expect(wrong.text).toContain(t('zh', 'drs.date_invalid'));
    expect(wrong.text).toContain(t('zh', 'drs.ask_date'));
    // A day gone (yesterday): told so.
    const past = await h.send('section', '11-28');
    expect(past.text).toContain(t('zh', 'drs.date_past'));
    expect(await h.db.db.select().from(scheduledDrills)).toEqual([]);

    const done = await h.send('section', '12-10');
    expect(done.text).toContain(t('zh', 'drs.scheduled', { when: '12-10 09:30', type: '一、行凶犯罪或以要挟为目的的自伤' }));
    expect(done.text).toContain('· 2026-12-10 甲街道司法所：一、行凶犯罪或以要挟为目的的自伤');
    expect(buttonTexts(done)).toContain(t('zh', 'drs.button.cancel', { date: '12-10', office: '甲街道司法所' }));
    const [row] = await h.db.db.select().from(scheduledDrills);
    expect(row).toMatchObject({ drillDate: '2026-12-10', type: 'violent_crime', officeUnitId: h.org.units.officeA, scheduledByStaffId: h.org.staff.section, state: 'scheduled' });

    // The director sees it, with nothing to press; an officer is refused.
    const director = await h.send('director', '/drills');
    expect(director.text).toContain('· 2026-12-10 甲街道司法所');
    expect(director.text).toContain(t('zh', 'drs.view_only'));
    expect(buttonTexts(director)).toEqual([]);
    expect((await h.send('officerA1', '/drills')).text).toBe(t('zh', 'refuse.not_permitted'));

    // On its date at 09:30 the daily run starts it as a drill.
    const deps = { ...h.deps };
    h.clock.set(new Date('2026-12-10T01:29:00Z'));
    expect((await runDailyChecks(deps)).drillsStarted).toBe(0);
    h.clock.set(new Date('2026-12-10T01:30:00Z'));
    expect((await runDailyChecks(deps)).drillsStarted).toBe(1);
    const started = await h.db.db.select().from(incidents).where(eq(incidents.isDrill, true));
    expect(started).toMatchObject([{ type: 'violent_crime', officeUnitId: h.org.units.officeA }]);
    h.clock.set(new Date('2026-11-29T02:00:00Z'));
  });
});

describe('/periods', () => {
  it('the section adds a sensitive period; a last day before the first is refused in words', async () => {
    h.clock.set(new Date('2026-11-29T02:00:00Z'));
    const overview = await h.send('section', '/periods');
    expect(overview.text).toContain(t('zh', 'per.title', { days: 3 }));
    await h.pressText('section', overview, t('zh', 'per.button.add'));
    expect(h.last('section').text).toContain(t('zh', 'per.ask_name'));
    await h.send('section', '元旦');
    await h.send('section', '12-30');
    const before = await h.send('section', '2026-12-20');
    expect(before.text).toContain(t('zh', 'per.refuse.ends_before_start'));
    const done = await h.send('section', '01-02');
    expect(done.text).toContain(t('zh', 'per.added', { name: '元旦', start: '2026-12-30', end: '2027-01-02' }));
    expect(done.text).toContain(`· 元旦：2026-12-30 至 2027-01-02（${t('zh', 'per.remind_on', { date: '2026-12-27' })}）`);
    const [period] = await h.db.db.select().from(sensitivePeriods);
    expect(period).toMatchObject({ name: '元旦', startsOn: '2026-12-30', endsOn: '2027-01-02', createdByStaffId: h.org.staff.section });

    expect(buttonTexts(await h.send('deputy', '/periods'))).toEqual([]);
    expect((await h.send('headA', '/periods')).text).toBe(t('zh', 'refuse.not_permitted'));
  });
});
