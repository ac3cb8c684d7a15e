/**
 * /counties <number>: the other counties named on an incident and whether each has been notified; add a
 * county, or record a notification — how it was sent, then the receipt (a form on the engine).
 */
import { z } from 'zod';
import type { ButtonAction } from '../actions.js';
import { whoOf, type Conversation } from '../conversation.js';
import { button } from '../ui.js';
import { escapeHtml } from '../../i18n/markup.js';
import { findIncident, type IncidentRow } from '../../db/repositories/incident.repository.js';
import { findStaffByIds } from '../../db/repositories/org.repository.js';
import { canSeeOffice } from '../../domain/roles.js';
import { formatLocal } from '../../domain/time.js';
import { countiesOf, findCountyNotification } from '../../db/repositories/county.repository.js';
import { nameCounties, recordCountyNotified } from '../../services/county.service.js';
import { ServiceRefusal } from '../../services/errors.js';
import type { Flow, FlowEngine, FlowEnv } from '../engine.js';
import { textStep } from '../steps/index.js';
import { drillMark, incidentByNumber, m, MAX_INPUT_CHARS, quote, reply, type View } from './common.js';

/** How it was sent and the receipt, each at most this long (as the county use case checks). */
const MAX_RECEIPT_CHARS = 500;

async function countiesView(conv: Conversation, incident: IncidentRow): Promise<View> {
  const rows = await countiesOf(conv.deps.db, incident.id);
  const people = await findStaffByIds(conv.deps.db, rows.map((r) => r.notifiedByStaffId).filter((x): x is string => !!x));
  const now = conv.deps.clock.now();
  const lines = [`${drillMark(conv, incident.isDrill)}${m(conv, 'cty.title', { number: incident.number })}`];
  if (rows.length === 0) lines.push(m(conv, 'cty.none'));
  for (const r of rows) {
    lines.push(
      r.notifiedAt
        ? m(conv, 'cty.line_done', {
            county: escapeHtml(r.county),
            at: formatLocal(r.notifiedAt, conv.deps.timeZone, now),
            name: escapeHtml(people.find((p) => p.id === r.notifiedByStaffId)?.name ?? ''),
            how: quote(r.how ?? '', 60),
            receipt: quote(r.receipt ?? '', 120),
          })
        : m(conv, 'cty.line_pending', { county: escapeHtml(r.county) }),
    );
  }
  return {
    text: lines.join('\n'),
    rows: [
      ...rows.filter((r) => !r.notifiedAt).map((r) => [button(m(conv, 'cty.button.notified', { county: r.county }), { a: 'cty', i: r.id, k: 'n' })]),
      [button(m(conv, 'cty.button.add'), { a: 'cty', i: incident.id, k: 'add' })],
    ],
  };
}

export const countyData = z.object({
  incidentId: z.uuid(),
  number: z.string().max(20),
  notificationId: z.uuid().optional(),
  county: z.string().max(100).optional(),
  how: z.string().max(MAX_RECEIPT_CHARS).optional(),
});
export type CountyData = z.infer<typeof countyData>;

/** The counties again, as a new message, once a change committed. */
function viewAfter(env: FlowEnv, incidentId: string) {
  return async () => {
    const incident = await findIncident(env.deps.db, incidentId);
    if (incident) await reply(env.conv, await countiesView(env.conv, incident));
  };
}

/** Adding counties (`add`), or recording one's notification (`how`, then `receipt`). */
export const countyFlow: Flow<CountyData> = {
  name: 'county',
  version: 1,
  data: countyData,
  steps: {
    add: textStep<CountyData>({
      prompt: (env, data) => ({ text: env.say('cty.add_prompt', { number: data.number }) }),
      blank: 'flow.text_expected',
      max: MAX_INPUT_CHARS,
      quiet: true,
      then: (env, data, text) => ({
        finish: async () => {
          await nameCounties(env.deps, env.who.actor, data.incidentId, text.split(/[,，、;；\n]+/));
          return viewAfter(env, data.incidentId);
        },
      }),
    }),
    how: textStep<CountyData>({
      prompt: (env, data) => ({ text: env.say('cty.how_prompt', { county: escapeHtml(data.county ?? '') }) }),
      blank: 'flow.text_expected',
      max: MAX_RECEIPT_CHARS,
      quiet: true,
      then: (_env, data, how) => ({ next: 'receipt', data: { ...data, how } }),
    }),
    receipt: textStep<CountyData>({
      prompt: (env) => ({ text: env.say('cty.receipt_prompt') }),
      blank: 'flow.text_expected',
      max: MAX_RECEIPT_CHARS,
      quiet: true,
      then: (env, data, receipt) => ({
        finish: async () => {
          if (!data.notificationId || !data.how) throw new ServiceRefusal('not_found');
          const row = await recordCountyNotified(env.deps, env.who.actor, data.notificationId, { how: data.how, receipt });
          return viewAfter(env, row.incidentId);
        },
      }),
    }),
  },
};

/** The engine is the plugin's common shape; the list takes none. */
export async function onCountiesCommand(conv: Conversation, args: string, _engine?: FlowEngine): Promise<void> {
  const arg = args.trim();
  const incident = await incidentByNumber(conv, arg);
  if (!incident) {
    // The number as typed, shown as text.
    await conv.send(m(conv, arg ? 'ai.no_incident' : 'cty.usage', { number: escapeHtml(arg) }));
    return;
  }
  await reply(conv, await countiesView(conv, incident));
}

export async function onCountyButton(conv: Conversation, engine: FlowEngine, action: ButtonAction): Promise<void> {
  if (!action.i) throw new ServiceRefusal('invalid_input');
  if (action.k === 'add') {
    const incident = await findIncident(conv.deps.db, action.i);
    if (!incident || !canSeeOffice(whoOf(conv).actor, incident.officeUnitId)) throw new ServiceRefusal('not_found');
    await engine.start(conv, countyFlow, 'add', { incidentId: incident.id, number: incident.number }, { edit: true });
    return;
  }
  if (action.k === 'n') {
    const row = await findCountyNotification(conv.deps.db, action.i);
    const incident = row ? await findIncident(conv.deps.db, row.incidentId) : undefined;
    if (!row || !incident) throw new ServiceRefusal('not_found');
    await engine.start(conv, countyFlow, 'how', { incidentId: incident.id, number: incident.number, notificationId: row.id, county: row.county }, { edit: true });
    return;
  }
  throw new ServiceRefusal('invalid_input');
}
