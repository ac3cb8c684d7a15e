/**
 * /counties <number>: the other counties named on an incident and whether each has been notified; add a
 * county, or record a notification — how it was sent, then the receipt.
 */
import type { BotContext } from '../../channels/telegram/context.js';
import type { CallbackData } from '../../channels/telegram/callback-data.js';
import { escapeHtml } from '../../channels/telegram/html.js';
import { button, markup } from '../../channels/telegram/keyboards.js';
import { findIncident, type IncidentRow } from '../../db/repositories/incident.repository.js';
import { findStaffByIds } from '../../db/repositories/org.repository.js';
import { countyNotifications } from '../../db/schema.js';
import { canSeeOffice } from '../../domain/roles.js';
import { formatLocal } from '../../domain/time.js';
import { countiesOf, nameCounties, recordCountyNotified } from '../../services/county.service.js';
import { ServiceRefusal } from '../../services/errors.js';
import { eq } from 'drizzle-orm';
import { awaitInput, clearInput, commandArgs, drillMark, incidentByNumber, m, quote, reply, show, type PendingInput, type View } from './common.js';

async function countiesView(ctx: BotContext, incident: IncidentRow): Promise<View> {
  const rows = await countiesOf(ctx.deps.db, incident.id);
  const people = await findStaffByIds(ctx.deps.db, rows.map((r) => r.notifiedByStaffId).filter((x): x is string => !!x));
  const now = ctx.deps.clock.now();
  const lines = [`${drillMark(ctx, incident.isDrill)}${m(ctx, 'cty.title', { number: incident.number })}`];
  if (rows.length === 0) lines.push(m(ctx, 'cty.none'));
  for (const r of rows) {
    lines.push(
      r.notifiedAt
        ? m(ctx, 'cty.line_done', {
            county: escapeHtml(r.county),
            at: formatLocal(r.notifiedAt, ctx.deps.timeZone, now),
            name: escapeHtml(people.find((p) => p.id === r.notifiedByStaffId)?.name ?? ''),
            how: quote(r.how ?? '', 60),
            receipt: quote(r.receipt ?? '', 120),
          })
        : m(ctx, 'cty.line_pending', { county: escapeHtml(r.county) }),
    );
  }
  return {
    text: lines.join('\n'),
    reply_markup: markup([
      ...rows.filter((r) => !r.notifiedAt).map((r) => [button(m(ctx, 'cty.button.notified', { county: r.county }), { a: 'cty', i: r.id, k: 'n' })]),
      [button(m(ctx, 'cty.button.add'), { a: 'cty', i: incident.id, k: 'add' })],
    ]),
  };
}

export async function onCountiesCommand(ctx: BotContext): Promise<void> {
  const arg = commandArgs(ctx);
  const incident = await incidentByNumber(ctx, arg);
  if (!incident) {
    await ctx.reply(m(ctx, arg ? 'ai.no_incident' : 'cty.usage', { number: arg }));
    return;
  }
  await reply(ctx, await countiesView(ctx, incident));
}

export async function onCountyButton(ctx: BotContext, cb: CallbackData): Promise<void> {
  if (!cb.i) throw new ServiceRefusal('invalid_input');
  if (cb.k === 'add') {
    const incident = await findIncident(ctx.deps.db, cb.i);
    if (!incident || !canSeeOffice(ctx.who!.actor, incident.officeUnitId)) throw new ServiceRefusal('not_found');
    await awaitInput(ctx, { kind: 'county_add', incidentId: incident.id });
    return show(ctx, { text: `${m(ctx, 'cty.add_prompt', { number: incident.number })}\n\n${m(ctx, 'ai.cancel_hint')}` });
  }
  if (cb.k === 'n') {
    const [row] = await ctx.deps.db.select().from(countyNotifications).where(eq(countyNotifications.id, cb.i));
    if (!row) throw new ServiceRefusal('not_found');
    await awaitInput(ctx, { kind: 'county_how', notificationId: row.id });
    return show(ctx, { text: `${m(ctx, 'cty.how_prompt', { county: escapeHtml(row.county) })}\n\n${m(ctx, 'ai.cancel_hint')}` });
  }
  throw new ServiceRefusal('invalid_input');
}

export async function onCountyInput(ctx: BotContext, input: Extract<PendingInput, { kind: 'county_add' | 'county_how' | 'county_receipt' }>, text: string): Promise<void> {
  const actor = ctx.who!.actor;
  if (input.kind === 'county_add') {
    const names = text.split(/[,，、;；\n]+/);
    await nameCounties(ctx.deps, actor, input.incidentId, names);
    await clearInput(ctx);
    const incident = (await findIncident(ctx.deps.db, input.incidentId))!;
    return reply(ctx, await countiesView(ctx, incident));
  }
  if (input.kind === 'county_how') {
    if (text.trim() === '' || text.length > 500) throw new ServiceRefusal('invalid_input');
    await awaitInput(ctx, { kind: 'county_receipt', notificationId: input.notificationId, how: text.trim() });
    await ctx.reply(m(ctx, 'cty.receipt_prompt'));
    return;
  }
  const row = await recordCountyNotified(ctx.deps, actor, input.notificationId, { how: input.how, receipt: text });
  await clearInput(ctx);
  const incident = (await findIncident(ctx.deps.db, row.incidentId))!;
  await reply(ctx, await countiesView(ctx, incident));
}
