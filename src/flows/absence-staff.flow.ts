/**
 * /myaway → 我外出/休假, for everyone: the dates one is away (both included), or "I am back". Meanwhile
 * the acting holder of each of one's seats gets its notices; a seat without one sends them a level up,
 * and the person is told which.
 */
import { z } from 'zod';
import { findStaffById } from '../db/repositories/org.repository.js';
import { escapeHtml } from '../i18n/markup.js';
import { t } from '../i18n/index.js';
import { listSeats } from '../db/repositories/seat-admin.repository.js';
import { setMyAway, type AwayResult } from '../services/staff.service.js';
import { positionLabel } from '../views/labels.js';
import { explainAdminRefusal, settle, type Settled } from './absence-common.js';
import type { Conversation } from './conversation.js';
import type { Flow, FlowEnv } from './engine.js';
import { dateStep, todayIn } from './steps/index.js';

export const myAwayData = z.object({
  from: z.iso.date().optional(),
  until: z.iso.date().optional(),
});
export type MyAwayData = z.infer<typeof myAwayData>;

/** What the person is told once the period is set: whether it has begun, and the seats whose notices go a level up. */
async function awayOutcome(conv: Conversation, result: AwayResult): Promise<Settled> {
  const lines = [
    result.staff.awayFrom && result.staff.awayUntil
      ? t(conv.lang, result.awayNow ? 'myaway.set_now' : 'myaway.set_later', { from: result.staff.awayFrom, until: result.staff.awayUntil })
      : t(conv.lang, 'myaway.cleared'),
  ];
  if (result.staff.awayFrom && result.seatsWithoutActing.length) {
    const seats = (await listSeats(conv.deps.db)).filter((s) => result.seatsWithoutActing.includes(s.seat.id));
    const names = seats.map((s) => `${positionLabel(s.seat.kind, conv.lang)}（${escapeHtml(s.unitName)}）`).join(conv.lang === 'zh' ? '、' : ', ');
    lines.push(t(conv.lang, 'myaway.no_acting', { seats: names }));
  }
  return { text: lines.join('\n') };
}

async function currentPeriod(env: FlowEnv): Promise<string> {
  const me = await findStaffById(env.deps.db, env.who.staff.id);
  return me?.awayFrom && me.awayUntil ? env.say('myaway.current', { from: me.awayFrom, until: me.awayUntil }) : env.say('myaway.none');
}

export const myAwayFlow: Flow<MyAwayData> = {
  name: 'my_away',
  version: 1,
  data: myAwayData,
  steps: {
    menu: {
      prompt: async (env) => {
        const me = await findStaffById(env.deps.db, env.who.staff.id);
        const rows = [[env.choice(env.say('myaway.button.set'), 'set')]];
        if (me?.awayFrom) rows.push([env.choice(env.say('myaway.button.back'), 'back')]);
        return { text: [env.say('myaway.title'), await currentPeriod(env)].join('\n'), rows, noBack: true };
      },
      onChoice: (env, data, key) => {
        if (key === 'set') return { next: 'from', data };
        if (key === 'back') return settle(env, async () => awayOutcome(env.conv, await setMyAway(env.deps, env.who.actor, null)), explainAdminRefusal);
        return { stay: true };
      },
    },
    from: dateStep<MyAwayData>({
      ask: (env) => env.say('myaway.ask_from'),
      shortcuts: true,
      invalid: 'away.date_invalid',
      then: (_env, data, from) => ({ next: 'until', data: { ...data, from } }),
    }),
    until: dateStep<MyAwayData>({
      ask: (env) => env.say('myaway.ask_until'),
      from: (env, data) => data.from ?? todayIn(env),
      invalid: 'away.date_invalid',
      then: (env, data, until) => {
        if (data.from && until < data.from) return { stay: true, error: env.say('away.ends_before_start') };
        if (until < todayIn(env)) return { stay: true, error: env.say('myaway.ended_already') };
        return { next: 'confirm', data: { ...data, until } };
      },
    }),
    confirm: {
      prompt: (env, data) => ({ text: env.say('myaway.confirm', { from: data.from ?? '', until: data.until ?? '' }), rows: [[env.choice(env.say('button.confirm'), 'confirm')]] }),
      onChoice: (env, data, key) => {
        if (key !== 'confirm' || !data.from || !data.until) return { stay: true };
        const period = { from: data.from, until: data.until };
        return settle(env, async () => awayOutcome(env.conv, await setMyAway(env.deps, env.who.actor, period)), explainAdminRefusal);
      },
    },
  },
};
