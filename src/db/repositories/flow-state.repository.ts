/**
 * Conversation state, one per chat, in PostgreSQL (flow_states): `{ flow, version, step, data }`. It is
 * checked on every load: an unknown version, data that no longer parses, or a state past its expiry is
 * discarded, and the caller tells the user so. A flow name the caller does not know belongs to another
 * part of the bot and is left alone. Never kept only in memory, so a restart in the
 * middle of a form resumes where the user was.
 */
import { eq } from 'drizzle-orm';
import type { z } from 'zod';
import type { Executor } from '../client.js';
import { flowStates } from '../schema.js';

export interface FlowState<D = unknown> {
  flow: string;
  version: number;
  step: string;
  data: D;
}

/** What a flow tells the store about its state: the current version and the schema of its data. */
export interface FlowSchema {
  version: number;
  data: z.ZodType;
  steps: readonly string[];
}

export type LoadedFlow =
  | { status: 'none' }
  | { status: 'ok'; state: FlowState; userId: number }
  | { status: 'expired'; flow: string }
  | { status: 'discarded'; flow: string; reason: 'version' | 'invalid' }
  /** A state another part of the bot keeps under its own flow name: left untouched. */
  | { status: 'foreign'; flow: string };

export async function loadFlowState(db: Executor, chatId: number, now: Date, schemas: ReadonlyMap<string, FlowSchema>): Promise<LoadedFlow> {
  const [row] = await db.select().from(flowStates).where(eq(flowStates.chatId, chatId));
  if (!row) return { status: 'none' };
  const discard = async (result: LoadedFlow): Promise<LoadedFlow> => {
    await db.delete(flowStates).where(eq(flowStates.chatId, chatId));
    return result;
  };
  const schema = schemas.get(row.flow);
  if (!schema) return { status: 'foreign', flow: row.flow };
  if (row.expiresAt.getTime() <= now.getTime()) return discard({ status: 'expired', flow: row.flow });
  if (row.version !== schema.version) return discard({ status: 'discarded', flow: row.flow, reason: 'version' });
  const parsed = schema.data.safeParse(row.data);
  if (!parsed.success || !schema.steps.includes(row.step)) return discard({ status: 'discarded', flow: row.flow, reason: 'invalid' });
  return { status: 'ok', state: { flow: row.flow, version: row.version, step: row.step, data: parsed.data }, userId: Number(row.userId) };
}

export async function saveFlowState(db: Executor, chatId: number, userId: number, state: FlowState, now: Date, ttlSeconds: number): Promise<void> {
  const values = {
    chatId,
    userId,
    flow: state.flow,
    version: state.version,
    step: state.step,
    data: state.data as object,
    updatedAt: now,
    expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
  };
  await db.insert(flowStates).values(values).onConflictDoUpdate({ target: flowStates.chatId, set: values });
}

export async function clearFlowState(db: Executor, chatId: number): Promise<boolean> {
  const rows = await db.delete(flowStates).where(eq(flowStates.chatId, chatId)).returning({ chatId: flowStates.chatId });
  return rows.length > 0;
}
