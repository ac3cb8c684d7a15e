/**
 * /admin, for the section (the position that may do it; anyone else is refused): staff added,
 * deactivated or moved to another office, a subject's responsible officer, a seat's acting holder, an
 * invite. Each is a short form of choices ending on a confirm button; the use case audits the change.
 * The subject import from a CSV file is ./admin-import.flow.ts.
 */
import { z } from 'zod';
import { POSITION_UNIT_KINDS } from '../admin/positions.js';
import { findStaffById, findUnit, listUnits, type UnitRow } from '../db/repositories/org.repository.js';
import { seatsOf } from '../db/repositories/seat-admin.repository.js';
import { activeStaffOfUnits } from '../db/repositories/staff.repository.js';
import { formatLocal, isSection, POSITION_KINDS, type PositionKind } from '../domain/index.js';
import { t } from '../i18n/index.js';
import { escapeHtml, userText } from '../i18n/markup.js';
import { addStaff, createStaffInvite, deactivateStaff, moveStaff, seatsForAdmin, setActingHolder, setResponsibleOfficer } from '../services/admin.service.js';
import { getSubject } from '../services/subject.service.js';
import { positionLabel, unitName } from '../views/labels.js';
import { explainAdminRefusal, labelById, settle, type Settled } from './absence-common.js';
import type { ButtonAction } from './actions.js';
import { CallbackRefused } from './card-actions.js';
import { whoOf, type Conversation } from './conversation.js';
import type { FlowEngine, FlowEnv, Flow, Result } from './engine.js';
import { adminImportFlow } from './admin-import.flow.js';
import { choiceStep, MAX_SUBJECT_QUERY, subjectPicker, textStep, type Choice } from './steps/index.js';
import { button, type Keyboard } from './ui.js';

// ---------------------------------------------------------------------------------------------
// The menu

const MENU: ReadonlyArray<ReadonlyArray<readonly [string, 'admin.button.add' | 'admin.button.deactivate' | 'admin.button.move' | 'admin.button.officer' | 'admin.button.acting' | 'admin.button.invite' | 'admin.button.import']>> = [
  [
    ['add', 'admin.button.add'],
    ['deact', 'admin.button.deactivate'],
  ],
  [
    ['move', 'admin.button.move'],
    ['officer', 'admin.button.officer'],
  ],
  [
    ['acting', 'admin.button.acting'],
    ['invite', 'admin.button.invite'],
  ],
  [['import', 'admin.button.import']],
];

/** /admin: the section's menu; anyone else is told it is the section's. */
export async function sendAdminMenu(conv: Conversation): Promise<void> {
  if (!isSection(whoOf(conv).actor)) return void (await conv.send(t(conv.lang, 'admin.section_only')));
  const rows: Keyboard = MENU.map((row) => row.map(([k, key]) => button(t(conv.lang, key), { a: 'adm', k })));
  await conv.send(t(conv.lang, 'admin.menu'), rows);
}

/** `adm` presses: a menu entry opens its form; `invite` with a staff id makes that person's invite at once. */
export async function onAdminPress(conv: Conversation, cb: ButtonAction, engine: FlowEngine): Promise<void> {
  if (!isSection(whoOf(conv).actor)) throw new CallbackRefused('not_permitted', 'refuse.not_permitted');
  switch (cb.k) {
    case 'add':
      await conv.answer();
      return void (await engine.start(conv, adminAddStaffFlow, 'name', {}));
    case 'deact':
      await conv.answer();
      return void (await engine.start(conv, adminDeactivateFlow, 'unit', {}));
    case 'move':
      await conv.answer();
      return void (await engine.start(conv, adminMoveFlow, 'unit', {}));
    case 'officer':
      await conv.answer();
      return void (await engine.start(conv, adminOfficerFlow, 'subject', {}));
    case 'acting':
      await conv.answer();
      return void (await engine.start(conv, adminActingFlow, 'unit', {}));
    case 'invite':
      await conv.answer();
      if (cb.i) return inviteFor(conv, cb.i);
      return void (await engine.start(conv, adminInviteFlow, 'unit', {}));
    case 'import':
      await conv.answer();
      return void (await engine.start(conv, adminImportFlow, 'file', {}));
    default:
      throw new CallbackRefused('malformed', 'refuse.bad_button');
  }
}

// ---------------------------------------------------------------------------------------------
// Choices the forms share

async function unitChoices(env: FlowEnv, filter: (u: UnitRow) => boolean = () => true): Promise<Choice[]> {
  return (await listUnits(env.deps.db)).filter(filter).map((u) => ({ key: 'unit', id: u.id, text: unitName(u, env.lang) }));
}

async function staffChoices(env: FlowEnv, unitId: string | undefined, except?: string | null): Promise<Choice[]> {
  if (!unitId) return [];
  return (await activeStaffOfUnits(env.deps.db, [unitId])).filter((s) => s.id !== except).map((s) => ({ key: 'staff', id: s.id, text: s.name }));
}

async function positionChoices(env: FlowEnv, unitId: string | undefined): Promise<Choice[]> {
  const unit = unitId ? await findUnit(env.deps.db, unitId) : undefined;
  if (!unit) return [];
  return POSITION_KINDS.filter((k) => (POSITION_UNIT_KINDS[k] as readonly string[]).includes(unit.kind)).map((k) => ({ key: k, text: positionLabel(k, env.lang) }));
}

async function unitLabel(env: FlowEnv, unitId: string | undefined): Promise<string> {
  return escapeHtml(unitName(unitId ? await findUnit(env.deps.db, unitId) : undefined, env.lang));
}

async function staffLabel(env: FlowEnv, staffId: string | null | undefined): Promise<string> {
  if (!staffId) return env.say('admin.nobody');
  return escapeHtml((await findStaffById(env.deps.db, staffId))?.name ?? '—');
}

const confirmRow = (env: FlowEnv) => [[env.choice(env.say('button.confirm'), 'confirm')]];

function confirmed<D>(env: FlowEnv, key: string, run: () => Promise<Settled>): Result<D> {
  return key === 'confirm' ? settle<D>(env, run, explainAdminRefusal) : { stay: true };
}

/** The invite as the section hands it on: the code to send with /start, and until when it works. */
function inviteText(env: { lang: FlowEnv['lang'] } & Pick<Conversation, 'deps'>, invite: { code: string; expiresAt: Date }, who: string): string {
  return t(env.lang, 'admin.invite_created', { who, code: escapeHtml(invite.code), until: formatLocal(invite.expiresAt, env.deps.timeZone) });
}

// ---------------------------------------------------------------------------------------------
// 新增人员

export const addStaffData = z.object({ name: z.string().max(60).optional(), unitId: z.uuid().optional(), positionKind: z.enum(POSITION_KINDS).optional() });
export type AddStaffData = z.infer<typeof addStaffData>;

export const adminAddStaffFlow: Flow<AddStaffData> = {
  name: 'admin_add_staff',
  version: 1,
  data: addStaffData,
  steps: {
    name: textStep<AddStaffData>({
      prompt: (env) => ({ text: env.say('admin.ask_name') }),
      blank: 'flow.text_expected',
      max: 60,
      then: (_env, data, name) => ({ next: 'unit', data: { ...data, name } }),
    }),
    unit: choiceStep<AddStaffData>({
      ask: (env) => env.say('admin.ask_unit'),
      choices: (env) => unitChoices(env),
      perRow: 2,
      then: (_env, data, c) => ({ next: 'position', data: { ...data, unitId: c.id! } }),
    }),
    position: choiceStep<AddStaffData>({
      ask: (env) => env.say('admin.ask_position'),
      choices: (env, data) => positionChoices(env, data.unitId),
      perRow: 2,
      then: (_env, data, c) => ({ next: 'confirm', data: { ...data, positionKind: c.key as PositionKind } }),
    }),
    confirm: {
      prompt: async (env, data) => ({
        text: env.say('admin.add_confirm', { name: userText(data.name ?? '', 60), unit: await unitLabel(env, data.unitId), position: positionLabel(data.positionKind ?? '', env.lang) }),
        rows: confirmRow(env),
      }),
      onChoice: (env, data, key) =>
        confirmed(env, key, async () => {
          const { staff } = await addStaff(env.deps, env.who.actor, { name: data.name!, unitId: data.unitId!, positionKind: data.positionKind! });
          return {
            text: env.say('admin.added', { name: escapeHtml(staff.name), unit: await unitLabel(env, staff.unitId), position: positionLabel(data.positionKind!, env.lang) }),
            after: async () => void (await env.conv.send(env.say('admin.offer_invite'), [[button(env.say('admin.button.invite'), { a: 'adm', k: 'invite', i: staff.id })]])),
          };
        }),
    },
  },
};

/** The invite of one staff member, for their seat (the first they hold). */
async function inviteFor(conv: Conversation, staffId: string): Promise<void> {
  const person = await findStaffById(conv.deps.db, staffId);
  const seat = person ? (await seatsOf(conv.deps.db, staffId)).find((s) => s.holderStaffId === staffId) : undefined;
  if (!person || !seat) throw new CallbackRefused('not_found', 'refuse.not_found');
  try {
    const invite = await createStaffInvite(conv.deps, whoOf(conv).actor, { unitId: seat.unitId, positionKind: seat.kind, staffId });
    await conv.send(inviteText(conv, invite, escapeHtml(person.name)));
  } catch (err) {
    const text = explainAdminRefusal(conv, err);
    if (text === undefined) throw err;
    await conv.send(text);
  }
}

// ---------------------------------------------------------------------------------------------
// 停用人员

export const pickStaffData = z.object({ unitId: z.uuid().optional(), staffId: z.uuid().optional(), toUnitId: z.uuid().optional(), positionKind: z.enum(POSITION_KINDS).optional() });
export type PickStaffData = z.infer<typeof pickStaffData>;

const pickStaffSteps = (next: string) => ({
  unit: choiceStep<PickStaffData>({
    ask: (env) => env.say('admin.ask_staff_unit'),
    choices: (env) => unitChoices(env),
    perRow: 2,
    then: (_env, data, c) => ({ next: 'staff', data: { ...data, unitId: c.id! } }),
  }),
  staff: choiceStep<PickStaffData>({
    ask: async (env, data) => env.say('admin.ask_staff', { unit: await unitLabel(env, data.unitId) }),
    choices: (env, data) => staffChoices(env, data.unitId, env.who.staff.id),
    perRow: 2,
    then: (_env, data, c) => ({ next, data: { ...data, staffId: c.id! } }),
  }),
});

export const adminDeactivateFlow: Flow<PickStaffData> = {
  name: 'admin_deactivate',
  version: 1,
  data: pickStaffData,
  steps: {
    ...pickStaffSteps('confirm'),
    confirm: {
      prompt: async (env, data) => ({ text: env.say('admin.deactivate_confirm', { name: await staffLabel(env, data.staffId), unit: await unitLabel(env, data.unitId) }), rows: confirmRow(env) }),
      onChoice: (env, data, key) =>
        confirmed(env, key, async () => {
          const result = await deactivateStaff(env.deps, env.who.actor, data.staffId!);
          return {
            text: env.say('admin.deactivated', { name: escapeHtml(result.staff.name), seats: result.vacatedSeats.length, subjects: result.subjectsWithoutOfficer.length }),
          };
        }),
    },
  },
};

// ---------------------------------------------------------------------------------------------
// 调动人员

export const adminMoveFlow: Flow<PickStaffData> = {
  name: 'admin_move',
  version: 1,
  data: pickStaffData,
  steps: {
    ...pickStaffSteps('to_unit'),
    to_unit: choiceStep<PickStaffData>({
      ask: async (env, data) => env.say('admin.ask_move_to', { name: await staffLabel(env, data.staffId) }),
      choices: (env) => unitChoices(env),
      perRow: 2,
      then: (_env, data, c) => ({ next: 'position', data: { ...data, toUnitId: c.id! } }),
    }),
    position: choiceStep<PickStaffData>({
      ask: (env) => env.say('admin.ask_position'),
      choices: (env, data) => positionChoices(env, data.toUnitId),
      perRow: 2,
      then: (_env, data, c) => ({ next: 'confirm', data: { ...data, positionKind: c.key as PositionKind } }),
    }),
    confirm: {
      prompt: async (env, data) => ({
        text: env.say('admin.move_confirm', { name: await staffLabel(env, data.staffId), from: await unitLabel(env, data.unitId), to: await unitLabel(env, data.toUnitId), position: positionLabel(data.positionKind ?? '', env.lang) }),
        rows: confirmRow(env),
      }),
      onChoice: (env, data, key) =>
        confirmed(env, key, async () => {
          const result = await moveStaff(env.deps, env.who.actor, data.staffId!, { unitId: data.toUnitId!, positionKind: data.positionKind! });
          return { text: env.say('admin.moved', { name: escapeHtml(result.staff.name), to: await unitLabel(env, result.staff.unitId), subjects: result.subjectsWithoutOfficer.length }) };
        }),
    },
  },
};

// ---------------------------------------------------------------------------------------------
// 指定责任矫正官

export const officerData = z.object({ query: z.string().max(MAX_SUBJECT_QUERY).optional(), subjectId: z.uuid().optional(), staffId: z.uuid().nullable().optional() });
export type OfficerData = z.infer<typeof officerData>;

export const adminOfficerFlow: Flow<OfficerData> = {
  name: 'admin_officer',
  version: 1,
  data: officerData,
  steps: {
    ...subjectPicker<OfficerData>({
      steps: { ask: 'subject', found: 'pick' },
      ask: (env) => env.say('admin.ask_subject'),
      found: (env, _data, count) => env.say('report.subject_results', { count }),
      picked: (_env, data, subject) => ({ next: 'officer', data: { ...data, subjectId: subject.id } }),
    }),
    officer: choiceStep<OfficerData>({
      ask: async (env, data) => {
        const subject = await getSubject(env.deps, env.who.actor, data.subjectId!);
        return env.say('admin.ask_officer', { subject: await labelById(env.conv, subject.id), officer: await staffLabel(env, subject.responsibleStaffId) });
      },
      choices: async (env, data) => {
        const subject = await getSubject(env.deps, env.who.actor, data.subjectId!);
        return staffChoices(env, subject.officeUnitId, subject.responsibleStaffId);
      },
      perRow: 2,
      more: (env) => [[env.choice(env.say('admin.button.clear_officer'), 'clear')]],
      onMore: (_env, data, key) => (key === 'clear' ? { next: 'confirm', data: { ...data, staffId: null } } : { stay: true }),
      then: (_env, data, c) => ({ next: 'confirm', data: { ...data, staffId: c.id! } }),
    }),
    confirm: {
      prompt: async (env, data) => ({ text: env.say('admin.officer_confirm', { subject: await labelById(env.conv, data.subjectId!), officer: await staffLabel(env, data.staffId) }), rows: confirmRow(env) }),
      onChoice: (env, data, key) =>
        confirmed(env, key, async () => {
          const subject = await setResponsibleOfficer(env.deps, env.who.actor, data.subjectId!, data.staffId ?? null);
          return { text: env.say('admin.officer_set', { subject: await labelById(env.conv, subject.id), officer: await staffLabel(env, subject.responsibleStaffId) }) };
        }),
    },
  },
};

// ---------------------------------------------------------------------------------------------
// 指定代理人

export const actingData = z.object({
  unitId: z.uuid().optional(),
  positionId: z.uuid().optional(),
  actingUnitId: z.uuid().optional(),
  staffId: z.uuid().nullable().optional(),
});
export type ActingData = z.infer<typeof actingData>;

async function seatLabel(env: FlowEnv, positionId: string | undefined): Promise<string> {
  const seat = (await seatsForAdmin(env.deps, env.who.actor)).find((s) => s.seat.id === positionId);
  if (!seat) return '—';
  return env.say('admin.seat', { position: positionLabel(seat.seat.kind, env.lang), holder: escapeHtml(seat.holderName ?? env.say('admin.nobody')), acting: escapeHtml(seat.actingName ?? env.say('admin.nobody')) });
}

export const adminActingFlow: Flow<ActingData> = {
  name: 'admin_acting',
  version: 1,
  data: actingData,
  steps: {
    unit: choiceStep<ActingData>({
      ask: (env) => env.say('admin.ask_seat_unit'),
      choices: (env) => unitChoices(env),
      perRow: 2,
      then: (_env, data, c) => ({ next: 'seat', data: { ...data, unitId: c.id! } }),
    }),
    seat: choiceStep<ActingData>({
      ask: async (env, data) => env.say('admin.ask_seat', { unit: await unitLabel(env, data.unitId) }),
      choices: async (env, data) =>
        (await seatsForAdmin(env.deps, env.who.actor, data.unitId)).map((s) => ({
          key: 'seat',
          id: s.seat.id,
          text: `${positionLabel(s.seat.kind, env.lang)} · ${s.holderName ?? env.say('admin.nobody')}`,
        })),
      then: (_env, data, c) => ({ next: 'acting_unit', data: { ...data, positionId: c.id!, actingUnitId: data.unitId } }),
    }),
    acting_unit: choiceStep<ActingData>({
      ask: async (env, data) => [await seatLabel(env, data.positionId), env.say('admin.ask_acting_unit')].join('\n\n'),
      choices: (env) => unitChoices(env),
      perRow: 2,
      more: (env) => [[env.choice(env.say('admin.button.clear_acting'), 'clear')]],
      onMore: (_env, data, key) => (key === 'clear' ? { next: 'confirm', data: { ...data, staffId: null } } : { stay: true }),
      then: (_env, data, c) => ({ next: 'acting', data: { ...data, actingUnitId: c.id! } }),
    }),
    acting: choiceStep<ActingData>({
      ask: async (env, data) => env.say('admin.ask_acting', { unit: await unitLabel(env, data.actingUnitId) }),
      choices: async (env, data) => {
        const seat = (await seatsForAdmin(env.deps, env.who.actor, data.unitId)).find((s) => s.seat.id === data.positionId);
        return staffChoices(env, data.actingUnitId, seat?.seat.holderStaffId);
      },
      perRow: 2,
      then: (_env, data, c) => ({ next: 'confirm', data: { ...data, staffId: c.id! } }),
    }),
    confirm: {
      prompt: async (env, data) => ({ text: env.say('admin.acting_confirm', { seat: await seatLabel(env, data.positionId), acting: await staffLabel(env, data.staffId) }), rows: confirmRow(env) }),
      onChoice: (env, data, key) =>
        confirmed(env, key, async () => {
          const seat = await setActingHolder(env.deps, env.who.actor, data.positionId!, data.staffId ?? null);
          return { text: env.say(seat.actingStaffId ? 'admin.acting_set' : 'admin.acting_cleared', { seat: await seatLabel(env, seat.id) }) };
        }),
    },
  },
};

// ---------------------------------------------------------------------------------------------
// 生成邀请码

export const inviteData = z.object({ unitId: z.uuid().optional() });
export type InviteData = z.infer<typeof inviteData>;

export const adminInviteFlow: Flow<InviteData> = {
  name: 'admin_invite',
  version: 1,
  data: inviteData,
  steps: {
    unit: choiceStep<InviteData>({
      ask: (env) => env.say('admin.ask_invite_unit'),
      choices: (env) => unitChoices(env),
      perRow: 2,
      then: (_env, data, c) => ({ next: 'position', data: { ...data, unitId: c.id! } }),
    }),
    // Choosing the position makes the invite: it binds nobody until it is used, and it expires.
    position: choiceStep<InviteData>({
      ask: async (env, data) => env.say('admin.ask_invite_position', { unit: await unitLabel(env, data.unitId) }),
      choices: (env, data) => positionChoices(env, data.unitId),
      perRow: 2,
      then: (env, data, c) =>
        settle(
          env,
          async () => {
            const invite = await createStaffInvite(env.deps, env.who.actor, { unitId: data.unitId!, positionKind: c.key });
            return { text: inviteText(env.conv, invite, env.say('admin.invite_for', { position: positionLabel(c.key, env.lang), unit: await unitLabel(env, data.unitId) })) };
          },
          explainAdminRefusal,
        ),
    }),
  },
};

export const ADMIN_FLOWS = [adminAddStaffFlow, adminDeactivateFlow, adminMoveFlow, adminOfficerFlow, adminActingFlow, adminInviteFlow, adminImportFlow] as const;
