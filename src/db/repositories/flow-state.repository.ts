/**
 * Conversation state, one per chat, in PostgreSQL (flow_states): `{ flow, version, step, data }`. It is
 * checked on every load: an unknown version, data that no longer parses, or a state past its expiry is
 * discarded, and the caller tells the user so. A flow name the caller does not know belongs to another
 * part of the bot and is left alone. Never kept only in memory, so a restart in the
 * middle of a form resumes where the user was.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
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

/** A flow_states row as stored. */
export type FlowStateRow = typeof flowStates.$inferSelect;

/**
 * The chat's row as the update's gate read it under the chat's lock (src/db/chat-locks.ts), kept up to
 * date by this update's own saves and clears: within the update nobody else writes the chat's state, so
 * loads need not ask the database again. Writes still go to the database at once.
 */
interface KnownFlowState {
  chatId: number;
  row: FlowStateRow | null;
  /** Cleared once the update left the gate: work it left running asks the database again. */
  open: boolean;
}

const known = new AsyncLocalStorage<KnownFlowState>();

/** Runs fn (one update's handling, under the chat's lock) with the chat's flow state as the gate read it. */
export async function withKnownFlowState<T>(chatId: number, row: FlowStateRow | null, fn: () => Promise<T>): Promise<T> {
  const scope: KnownFlowState = { chatId, row, open: true };
  try {
    return await known.run(scope, fn);
  } finally {
    scope.open = false;
  }
}

/** The known row for this chat in the current update, or undefined when it must be read. */
function knownFor(db: Executor, chatId: number): KnownFlowState | undefined {
  const scope = known.getStore();
  // Inside a transaction the caller may want the row as that transaction sees it: read it there.
  if (!scope || !scope.open || scope.chatId !== chatId || !isRootDatabase(db)) return undefined;
  return scope;
}

/** Whether `db` is the database itself rather than a transaction (drizzle's transactions carry a `rollback`). */
const isRootDatabase = (db: Executor): boolean => !('rollback' in db);

/** Keeps the known row in step with a write just made. */
function remember(db: Executor, chatId: number, row: FlowStateRow | null): void {
  const scope = known.getStore();
  if (!scope || !scope.open || scope.chatId !== chatId) return;
  if (isRootDatabase(db)) scope.row = row;
  // A write in a transaction that may yet roll back: the next load reads the database.
  else scope.open = false;
}

export async function loadFlowState(db: Executor, chatId: number, now: Date, schemas: ReadonlyMap<string, FlowSchema>): Promise<LoadedFlow> {
  const scope = knownFor(db, chatId);
  const row = scope ? scope.row : (await db.select().from(flowStates).where(eq(flowStates.chatId, chatId)))[0];
  if (!row) return { status: 'none' };
  const discard = async (result: LoadedFlow): Promise<LoadedFlow> => {
    await db.delete(flowStates).where(eq(flowStates.chatId, chatId));
    remember(db, chatId, null);
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
  remember(db, chatId, values);
}

export async function clearFlowState(db: Executor, chatId: number): Promise<boolean> {
  const scope = knownFor(db, chatId);
  // Known to be absent: nothing to delete.
  if (scope && scope.row === null) return false;
  const rows = await db.delete(flowStates).where(eq(flowStates.chatId, chatId)).returning({ chatId: flowStates.chatId });
  remember(db, chatId, null);
  return rows.length > 0;
}
