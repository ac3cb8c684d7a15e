/**
 * Plays a scenario of the table (table.ts) in a world of its own (test/wecom/wecom-harness.ts): a fresh
 * database with the seeded organisation, the Bot API stand-in and the bot in webhook mode, the WeCom
 * stand-in and the product's WeCom callback URL, all on one test clock. Each person is bound on the
 * channel the run puts them on.
 *
 * Notices go the way the workers send them, on the test clock: after every action the deadlines due
 * by then fire (fireProcessTimer / fireTimer, what the timer job runs) and every outbox row due is sent
 * (sendOutboxMessage through each recipient's notice channel, what the send job runs) to the stand-ins.
 * BullMQ itself is not in the loop: its delays are real time, the scenarios' are the test clock's, and
 * test/jobs runs the queues. A wait moves the clock from one due deadline to the next, and runs the
 * 09:00 contact reminders when it passes 09:00, as the daily scheduler does (not here: the 18:00 digest
 * and the daily checks, which no scenario looks at).
 */
import { expect } from 'vitest';
import { telegramNoticeChannel } from '../../src/channels/telegram/notice-channel.js';
import { createTelegramGateway } from '../../src/channels/telegram/telegram-gateway.js';
import type { WecomBot } from '../../src/channels/wecom/bot.js';
import { wecomNoticeChannel } from '../../src/channels/wecom/notice-channel.js';
import { absences } from '../../src/db/schema.js';
import { addDays, atLocalTime, localDate } from '../../src/domain/index.js';
import { afterIncidentPlugin } from '../../src/flows/after-incident/index.js';
import { t } from '../../src/i18n/index.js';
import type { ChannelName, NoticeChannel } from '../../src/services/channel-port.js';
import { fireProcessTimer, runDailyContactReminders } from '../../src/services/daily-contact.service.js';
import { reportIncident } from '../../src/services/incident.service.js';
import { sendOutboxMessage, type NotificationDeps } from '../../src/services/notification.service.js';
import { fireTimer } from '../../src/services/timer.service.js';
import { closedIncident } from '../after-incident/helpers.js';
import { startBotHarness, TEST_BOT_TOKEN, type BotHarness } from '../helpers/bot-harness.js';
import { ManualClock } from '../helpers/fixtures.js';
import { startWecomHarness, type WecomHarness } from '../wecom/wecom-harness.js';
import { readable, type ChannelDriver } from './driver.js';
import { PEOPLE, type Action, type Expectation, type Given, type Person, type Scenario, type Step } from './table.js';
import { TelegramDriver } from './telegram-driver.js';
import { WecomDriver } from './wecom-driver.js';

export type Placement = Record<Person, ChannelName>;

export const allOn = (channel: ChannelName): Placement => Object.fromEntries(PEOPLE.map((p) => [p, channel])) as Placement;

const TZ = 'Asia/Shanghai';
/** Seconds of the clock each action of a person takes: reading, tapping, typing on a phone. */
const SECONDS_PER_ACTION = 5;

interface Snapshot {
  state: Record<string, number>;
  auditId: number;
}

class World {
  private incident: { id: string; number: string } | undefined;
  private snapshot: Snapshot | undefined;
  /** The driver of the last forged call. */
  private forger: ChannelDriver | undefined;

  private readonly h: BotHarness;
  private readonly wecomBot: WecomBot;

  constructor(
    private readonly w: WecomHarness,
    private readonly notices: NotificationDeps,
    private readonly drivers: Record<ChannelName, ChannelDriver>,
    private readonly placement: Placement,
  ) {
    this.h = w.h;
    this.wecomBot = w.bot;
  }

  driverOf(person: Person): ChannelDriver {
    return this.drivers[this.placement[person]];
  }

  async given(g: Given): Promise<void> {
    const { h } = this;
    if ('reported' in g) {
      await reportIncident(h.deps, h.org.actor('officerA1'), {
        type: g.reported,
        subjectId: h.org.subjects.a1,
        officeUnitId: h.org.units.officeA,
        discoveredAt: h.clock.now(),
        injured: 0,
        dead: 0,
        description: '对象持刀威胁邻居',
      });
    } else if ('away' in g) {
      const today = localDate(h.clock.now(), TZ);
      await h.db.db.insert(absences).values({ subjectId: h.org.subjects.a1, destination: '上海', startsOn: addDays(today, -1), endsOn: addDays(today, 2) });
    } else {
      await closedIncident(h.deps, h.org, h.clock, { type: g.closed });
    }
    await this.settle();
  }

  /** Handles what the bots were given, then fires what is due and sends what is due, until nothing is left. */
  async settle(): Promise<void> {
    await this.h.idle();
    await this.wecomBot.idle();
    const tried = new Set<string>();
    for (let pass = 0; pass < 20; pass++) {
      let did = 0;
      const now = this.h.clock.now().toISOString();
      for (const { id } of await this.h.db.sql`select id from timers where state = 'pending' and due_at <= ${now}::timestamptz order by due_at, id`) {
        if (tried.has(id as string)) continue;
        tried.add(id as string);
        (await fireProcessTimer(this.h.deps, id as string)) ?? (await fireTimer(this.h.deps, id as string));
        did++;
      }
      for (const { id } of await this.h.db.sql`select id from outbox where status = 'pending' and (not_before is null or not_before <= ${now}::timestamptz) order by created_at, id`) {
        if (tried.has(id as string)) continue;
        tried.add(id as string);
        const outcome = await sendOutboxMessage(this.notices, id as string);
        if (outcome.status === 'deferred') throw new Error(`a notice was deferred: ${outcome.outcome}`);
        did++;
      }
      if (did === 0) break;
    }
    await this.h.idle();
    await this.wecomBot.idle();
    for (const d of Object.values(this.drivers)) d.rescan();
  }

  /** Moves the clock to `until`, stopping at each deadline due on the way and at 09:00 for the reminders. */
  async waitUntil(until: Date): Promise<void> {
    const { clock } = this.h;
    for (;;) {
      const now = clock.now();
      if (now >= until) break;
      const [next] = await this.h.db.sql`select min(due_at) as at from timers where state = 'pending' and due_at > ${now.toISOString()}::timestamptz`;
      const today = localDate(now, TZ);
      const nine = [atLocalTime(today, '09:00', TZ), atLocalTime(addDays(today, 1), '09:00', TZ)].find((d) => d > now)!;
      const stops = [until, nine, ...(next?.at ? [new Date(next.at as string | Date)] : [])];
      const stop = new Date(Math.min(...stops.map((d) => d.getTime())));
      clock.set(stop);
      if (stop.getTime() === nine.getTime()) await runDailyContactReminders(this.h.deps, localDate(stop, TZ));
      await this.settle();
    }
  }

  private async takeSnapshot(): Promise<Snapshot> {
    const [state] = await this.h.db.sql`
      select
        (select count(*) from incidents)::int as incidents,
        (select coalesce(sum(version), 0) from incidents)::int as versions,
        (select count(*) from incident_steps where state <> 'pending')::int as steps_marked,
        (select count(*) from incident_updates)::int as updates,
        (select count(*) from search_attempts)::int as searches,
        (select count(*) from contact_logs)::int as contacts,
        (select count(*) from flow_states)::int as flows,
        (select count(*) from outbox)::int as notices,
        (select count(*) from timers where state = 'pending')::int as timers,
        (select count(*) from staff)::int as staff,
        (select count(*) from wecom_users)::int as wecom_members`;
    const [audit] = await this.h.db.sql`select coalesce(max(id), 0)::int as id from audit_log`;
    return { state: state as unknown as Record<string, number>, auditId: audit!.id as number };
  }

  private fill(text: string): string {
    if (!text.includes('{number}')) return text;
    if (!this.incident) throw new Error(`"${text}" names the incident, and there is none yet`);
    return text.replaceAll('{number}', this.incident.number);
  }

  async currentIncident(): Promise<{ id: string; number: string }> {
    const [row] = await this.h.db.sql`select id, number from incidents order by reported_at desc, number desc limit 1`;
    if (!row) throw new Error('no incident yet');
    this.incident = { id: row.id as string, number: row.number as string };
    return this.incident;
  }

  async act(step: Action): Promise<void> {
    this.snapshot = await this.takeSnapshot();
    if (step.do === 'wait') {
      const now = this.h.clock.now();
      const until =
        'minutes' in step
          ? new Date(now.getTime() + step.minutes * 60_000)
          : [atLocalTime(localDate(now, TZ), step.until, TZ), atLocalTime(addDays(localDate(now, TZ), 1), step.until, TZ)].find((d) => d > now)!;
      await this.waitUntil(until);
      return;
    }
    const driver = this.driverOf(step.who);
    for (const p of PEOPLE) this.driverOf(p).markAction(p);
    this.h.clock.advance(SECONDS_PER_ACTION * 1000);
    if (step.do === 'type') await driver.type(step.who, this.fill(step.text));
    else if (step.do === 'press') await driver.press(step.who, this.fill(step.button));
    else if (step.do === 'openStep') await driver.openStep(step.who, step.step, (await this.currentIncident()).id);
    else if ('press' in step) await driver.forgePress(step.who, this.fill(step.press));
    else await driver.forgeText(step.who, this.fill(step.text));
    if (step.do === 'forge') this.forger = driver;
    await this.settle();
    await this.currentIncident().catch(() => undefined);
  }

  async check(step: Expectation): Promise<void> {
    if ('incidentIs' in step) {
      const incident = await this.currentIncident();
      const [row] = await this.h.db.sql`select status from incidents where id = ${incident.id}`;
      expect(row!.status, `incident ${incident.number}`).toBe(step.incidentIs);
      return;
    }
    if ('nothingChanged' in step) {
      expect(this.snapshot, 'nothingChanged needs an action before it').toBeDefined();
      expect((await this.takeSnapshot()).state).toEqual(this.snapshot!.state);
      return;
    }
    if ('audited' in step) {
      const rows = await this.h.db.sql`select action from audit_log where id > ${this.snapshot?.auditId ?? 0}`;
      expect(rows.map((r) => r.action)).toContain(step.audited);
      return;
    }
    if ('forgeryRecorded' in step) {
      expect(this.forger, 'forgeryRecorded needs a forged call before it').toBeDefined();
      expect(await this.forger!.forgeryRecorded(), `the forged call on ${this.forger!.channel} refused and recorded`).toBe(true);
      return;
    }
    const who = step.who;
    const driver = this.driverOf(who);
    if ('sees' in step || 'seesNot' in step) {
      const text = this.fill('sees' in step ? step.sees : step.seesNot);
      const seen = driver.seen(who).map(readable);
      const found = seen.some((x) => x.includes(text));
      expect(found, `${who} on ${driver.channel} ${'sees' in step ? 'sees' : 'does not see'} "${text}"; saw:\n${seen.join('\n---\n').slice(-3000)}`).toBe('sees' in step);
      return;
    }
    if ('refusedWith' in step) {
      const words = readable(t(driver.lang(who), driver.refusalKey(step.refusedWith)));
      const told = driver.seenSinceAction(who).map(readable);
      expect(told, `${who} on ${driver.channel}`).toContain(words);
      return;
    }
    const incident = await this.currentIncident();
    if ('cardShows' in step || 'cardLacks' in step) {
      const card = await driver.card(who, incident.id);
      expect(card, `${who} holds a card of ${incident.number} on ${driver.channel}`).toBeDefined();
      const text = this.fill('cardShows' in step ? step.cardShows : step.cardLacks);
      expect(card!.includes(text), `${who}'s card on ${driver.channel} ${'cardShows' in step ? 'shows' : 'lacks'} "${text}":\n${card}`).toBe('cardShows' in step);
      return;
    }
    const lines = (await driver.checklist(who, incident.id)).map(readable);
    const done = (line: string) => line.startsWith('✅') && (typeof step.checklistDone === 'number' ? line.startsWith(`✅ ${step.checklistDone}.`) : line.includes(step.checklistDone));
    expect(lines.some(done), `${who}'s checklist on ${driver.channel} has "${step.checklistDone}" done:\n${lines.join('\n')}`).toBe(true);
  }

  async play(step: Step): Promise<void> {
    if ('do' in step) await this.act(step);
    else await this.check(step);
  }

  close(): Promise<void> {
    return this.w.close();
  }
}

async function startWorld(placement: Placement): Promise<World> {
  // 2026-11-29 10:00 in Shanghai, a Sunday morning. WeCom's documented per-member limits stay on in the
  // product (the harness's limiter): a person's few seconds an action keep under them.
  const clock = new ManualClock(new Date('2026-11-29T02:00:00Z'));
  const w = await startWecomHarness({ clock, languages: { stranger: 'en' }, plugins: [afterIncidentPlugin()] });
  const { h } = w;
  const telegram = telegramNoticeChannel(createTelegramGateway({ apiRoot: h.api.url, token: TEST_BOT_TOKEN, perChatIntervalMs: 0 }), h.deps);
  const wecom = wecomNoticeChannel(w.bot.messenger, h.deps);
  const usesWecom = PEOPLE.some((p) => placement[p] === 'wecom');
  // A Telegram run is a Telegram-only deployment; a run with anyone on WeCom has both channels.
  const channels: Partial<Record<ChannelName, NoticeChannel>> = usesWecom ? { telegram, wecom } : { telegram };
  const notices: NotificationDeps = { ...h.deps, channel: telegram, channels };
  const drivers = { telegram: new TelegramDriver(h), wecom: new WecomDriver(h, w.s, () => w.bot.idle()) };
  const world = new World(w, notices, drivers, placement);
  try {
    for (const p of PEOPLE) await drivers[placement[p]].bind(p);
    await world.settle();
  } catch (err) {
    await world.close();
    throw err;
  }
  return world;
}

/** Plays one scenario from its givens to its last step; a failing step says which it was. */
export async function runScenario(scenario: Scenario, placement: Placement): Promise<void> {
  const world = await startWorld(placement);
  try {
    // What follows from the givens (their notices) is part of the scenario.
    for (const p of PEOPLE) world.driverOf(p).markScenario(p);
    for (const g of scenario.given ?? []) await world.given(g);
    if (scenario.given?.length) await world.currentIncident().catch(() => undefined);
    for (const [i, step] of scenario.steps.entries()) {
      try {
        await world.play(step);
      } catch (err) {
        if (err instanceof Error) err.message = `step ${i + 1} ${JSON.stringify(step)}: ${err.message}`;
        throw err;
      }
    }
  } finally {
    await world.close();
  }
}
