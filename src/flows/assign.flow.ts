/**
 * 指派: on the card itself (the card message turns into the picker and back), choose a role, then tap
 * people from the staff list to assign or remove them. Every tap is one setRole call.
 */
import { z } from 'zod';
import { escapeHtml, truncate } from '../i18n/markup.js';
import { roleLabel } from '../views/labels.js';
import { findIncident } from '../db/repositories/incident.repository.js';
import { canAssignRole, INCIDENT_ROLES, isIncidentRole } from '../domain/index.js';
import { assignableStaff, rolesOf, setRole } from '../services/incident.service.js';
import { ServiceRefusal } from '../services/errors.js';
import type { Flow, FlowEnv } from './engine.js';

const PAGE = 8;

export const assignData = z.object({
  incidentId: z.uuid(),
  number: z.string().max(20),
  role: z.enum(INCIDENT_ROLES).optional(),
  page: z.number().int().min(0).default(0),
});
export type AssignData = z.infer<typeof assignData>;

async function officeOf(env: FlowEnv, incidentId: string): Promise<string> {
  const incident = await findIncident(env.deps.db, incidentId);
  if (!incident) throw new ServiceRefusal('not_found');
  return incident.officeUnitId;
}

async function backToCard(env: FlowEnv, data: AssignData, messageId: number | undefined): Promise<boolean> {
  if (messageId === undefined) return false;
  await env.conv.redrawCard(data.incidentId, { messageId });
  return true;
}

export const assignFlow: Flow<AssignData> = {
  name: 'assign',
  version: 1,
  data: assignData,
  onCancel: (env, data, messageId) => backToCard(env, data, messageId),
  steps: {
    role: {
      prompt: async (env, data) => {
        const office = await officeOf(env, data.incidentId);
        const roles = INCIDENT_ROLES.filter((r) => canAssignRole(env.who.actor, office, r));
        return {
          text: env.say('assign.pick_role', { number: escapeHtml(data.number) }),
          rows: [...roles.map((r) => [env.choice(roleLabel(r, env.lang), r)]), [env.choice(env.say('button.done'), 'done')]],
        };
      },
      onChoice: (env, data, key) => {
        if (key === 'done') {
          const messageId = env.conv.pressedMessageId;
          return { keep: true, finish: async () => () => backToCard(env, data, messageId).then(() => {}) };
        }
        return isIncidentRole(key) ? { next: 'staff', data: { ...data, role: key, page: 0 } } : { stay: true };
      },
    },
    staff: {
      prompt: async (env, data) => {
        const office = await officeOf(env, data.incidentId);
        const [people, roles] = await Promise.all([assignableStaff(env.deps, office), rolesOf(env.deps, data.incidentId)]);
        const holders = new Set(roles.filter((r) => r.role === data.role).map((r) => r.staffId));
        const pages = Math.max(1, Math.ceil(people.length / PAGE));
        const page = Math.min(data.page, pages - 1);
        const shown = people.slice(page * PAGE, (page + 1) * PAGE);
        const paging = [
          ...(page > 0 ? [env.choice(env.say('button.prev_page'), 'prev')] : []),
          ...(page < pages - 1 ? [env.choice(env.say('button.next_page'), 'more')] : []),
        ];
        return {
          text: shown.length ? env.say('assign.pick_staff', { role: roleLabel(data.role ?? '', env.lang) }) : env.say('assign.none'),
          rows: [
            ...shown.map((p) => [env.choice(`${holders.has(p.id) ? '✓ ' : ''}${truncate(p.name, 30)}`, 'who', p.id)]),
            paging,
            [env.choice(env.say('button.done'), 'done')],
          ],
        };
      },
      onChoice: async (env, data, key, id) => {
        if (key === 'prev' || key === 'more') return { stay: true, data: { ...data, page: Math.max(0, data.page + (key === 'more' ? 1 : -1)) } };
        if (key === 'done') return { next: 'role', data: { ...data, role: undefined }, reset: true };
        if (key !== 'who' || !id || !data.role) return { stay: true };
        const current = await rolesOf(env.deps, data.incidentId);
        const assigned = !current.some((r) => r.role === data.role && r.staffId === id);
        await setRole(env.deps, env.who.actor, data.incidentId, data.role, id, assigned);
        return { stay: true };
      },
    },
  },
};
