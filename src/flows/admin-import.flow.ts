/**
 * The subject import in the chat, for the section: the list is sent to the bot as a CSV file (the CLI's
 * columns); the bot answers with a preview — the rows it would add and change, and the rows it refuses,
 * each with its reason — and 确认导入 imports exactly those rows, or nothing when anything they stand on
 * changed meanwhile (the form then asks for the file again). Names are masked per PII_MODE in the
 * preview; the form keeps only the preview's token and counts, never a name.
 *
 * 确认导入 runs the import in the press itself rather than in the form's finish, so that a stale preview
 * can lead back to the file step; confirming twice is refused by the use case (the preview is used once).
 */
import { z } from 'zod';
import { listUnits } from '../db/repositories/org.repository.js';
import { subjectLabel } from '../domain/index.js';
import { hasMessage, t } from '../i18n/index.js';
import { escapeHtml, fitMessage } from '../i18n/markup.js';
import { confirmImport, MAX_IMPORT_CHARS, previewImport, type ImportField, type ImportPreview, type ImportRefusal } from '../services/admin.service.js';
import { ServiceRefusal } from '../services/errors.js';
import { unitName } from '../views/labels.js';
import { settle } from './absence-common.js';
import { FileTooLarge, type Conversation } from './conversation.js';
import type { Flow, FlowEnv, Outcome } from './engine.js';

/** Rows of each part the preview lists; the rest are counted. */
const PREVIEW_ROWS = 25;
/** The largest file read, in bytes: the service's limit in characters, three bytes a character at most. */
const MAX_FILE_BYTES = MAX_IMPORT_CHARS * 3;

export const importData = z.object({
  token: z.uuid().optional(),
  add: z.number().int().min(0).optional(),
  change: z.number().int().min(0).optional(),
  refused: z.number().int().min(0).optional(),
});
export type ImportData = z.infer<typeof importData>;

/** The file as text: UTF-8, else GB18030 (what a Chinese spreadsheet program saves a CSV in). */
export function decodeCsv(data: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    return new TextDecoder('gb18030').decode(data);
  }
}

/** A refused row in words: which row, why, and the column or the row it repeats. */
export function refusalLine(conv: Pick<Conversation, 'lang'>, r: ImportRefusal): string {
  const reasonKey = `admin.import.reason.${r.reason}`;
  const columnKey = `admin.import.column.${r.column ?? ''}`;
  const column = r.column ? (hasMessage(columnKey) ? t(conv.lang, columnKey) : escapeHtml(r.column)) : '';
  const reason = hasMessage(reasonKey) ? t(conv.lang, reasonKey, { column, row: r.sameAsRow ?? '' }) : escapeHtml(r.reason);
  return t(conv.lang, 'admin.import.refused_line', { row: r.row, reason });
}

/** The preview as the section reads it before confirming. */
export async function previewText(conv: Conversation, preview: ImportPreview): Promise<string> {
  const lang = conv.lang;
  const units = new Map((await listUnits(conv.deps.db)).map((u) => [u.id, u]));
  const label = (r: { code: string; name: string }) => escapeHtml(subjectLabel(r, conv.deps.piiMode, conv.chatKind));
  const office = (id: string) => escapeHtml(unitName(units.get(id), lang));
  const part = (title: string, items: string[]) => {
    const out = [title, ...items.slice(0, PREVIEW_ROWS)];
    if (items.length > PREVIEW_ROWS) out.push(t(lang, 'notice.list_more', { count: items.length - PREVIEW_ROWS }));
    return out;
  };
  const lines = [t(lang, 'admin.import.preview_title')];
  lines.push('', ...part(t(lang, 'admin.import.add_title', { count: preview.add.length }), preview.add.map((a) => t(lang, 'admin.import.add_line', { row: a.row, subject: label(a), office: office(a.officeUnitId) }))));
  if (preview.change.length) {
    const fields = (fs: readonly ImportField[]) => fs.map((f) => t(lang, `admin.import.column.${f}`)).join(lang === 'zh' ? '、' : ', ');
    lines.push('', ...part(t(lang, 'admin.import.change_title', { count: preview.change.length }), preview.change.map((c) => t(lang, 'admin.import.change_line', { row: c.row, subject: label(c), fields: fields(c.fields) }))));
  }
  if (preview.unchanged.length) lines.push('', t(lang, 'admin.import.unchanged', { count: preview.unchanged.length }));
  if (preview.refused.length) lines.push('', ...part(t(lang, 'admin.import.refused_title', { count: preview.refused.length }), preview.refused.map((r) => refusalLine(conv, r))));
  return fitMessage(lines);
}

/** Why confirming imported nothing, in words; undefined for a refusal the common map tells. */
function explainImportRefusal(conv: Conversation, err: unknown): string | undefined {
  if (!(err instanceof ServiceRefusal)) return undefined;
  if (err.code === 'stale') return t(conv.lang, 'admin.import.stale');
  if (err.code === 'expired') return t(conv.lang, 'admin.import.expired');
  if (err.code === 'already_done') return t(conv.lang, 'admin.import.already_done');
  return undefined;
}

async function onFile(env: FlowEnv, data: ImportData, fileId: string): Promise<Outcome<ImportData>> {
  let csv: string;
  try {
    csv = decodeCsv(await env.conv.fetchFile(fileId, MAX_FILE_BYTES));
  } catch (err) {
    if (err instanceof FileTooLarge) return { stay: true, error: env.say('refuse.file_too_large', { max: Math.floor(MAX_FILE_BYTES / 1_000_000) }) };
    throw err;
  }
  let preview: ImportPreview;
  try {
    preview = await previewImport(env.deps, env.who.actor, csv);
  } catch (err) {
    if (err instanceof ServiceRefusal && err.detail === 'too_large') return { stay: true, error: env.say('refuse.file_too_large', { max: Math.floor(MAX_FILE_BYTES / 1_000_000) }) };
    throw err;
  }
  // The rows themselves go in a message of their own: the form's state keeps no names.
  await env.conv.send(await previewText(env.conv, preview));
  if (!preview.token) return { stay: true, error: env.say('admin.import.nothing') };
  return { next: 'confirm', data: { ...data, token: preview.token, add: preview.add.length, change: preview.change.length, refused: preview.refused.length } };
}

export const adminImportFlow: Flow<ImportData> = {
  name: 'admin_import',
  version: 1,
  data: importData,
  steps: {
    file: {
      prompt: (env) => ({ text: env.say('admin.import.ask_file') }),
      onMedia: (env, data, media) => (media.kind === 'document' ? onFile(env, data, media.fileId) : { stay: true, error: env.say('admin.import.not_a_file') }),
      onText: (env) => ({ stay: true, error: env.say('admin.import.not_a_file') }),
    },
    confirm: {
      prompt: (env, data) => ({
        text: env.say('admin.import.confirm', { add: data.add ?? 0, change: data.change ?? 0, refused: data.refused ?? 0 }),
        rows: [[env.choice(env.say('admin.import.button.confirm'), 'confirm')]],
      }),
      // Another file instead: preview it again.
      onMedia: (env, data, media) => (media.kind === 'document' ? onFile(env, data, media.fileId) : { stay: true }),
      onChoice: async (env, data, key) => {
        if (key !== 'confirm' || !data.token) return { stay: true };
        let result: Awaited<ReturnType<typeof confirmImport>>;
        try {
          result = await confirmImport(env.deps, env.who.actor, data.token);
        } catch (err) {
          // Nothing was imported: the form goes back to the file, to be sent again and previewed anew.
          const why = explainImportRefusal(env.conv, err);
          if (why === undefined) throw err;
          return { next: 'file', data: {}, note: t(env.lang, 'flow.error', { error: why }), reset: true };
        }
        return settle(env, async () => ({ text: env.say('admin.import.done', { added: result.added.length, changed: result.changed.length }) }), () => undefined);
      },
    },
  },
};
