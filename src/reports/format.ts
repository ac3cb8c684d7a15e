/**
 * How documents and report texts show times and durations: the official Chinese form
 * (2026年11月29日 10:05) or ISO-like for English, always in the deployment's zone.
 */
import { t, type Lang } from '../i18n/index.js';
import { toLocal } from '../domain/time.js';

const pad = (n: number) => String(n).padStart(2, '0');

/** `2026年11月29日 10:05` / `2026-11-29 10:05`. */
export function docDateTime(instant: Date, timeZone: string, lang: Lang = 'zh'): string {
  const l = toLocal(instant, timeZone);
  return lang === 'zh' ? `${l.year}年${l.month}月${l.day}日 ${pad(l.hour)}:${pad(l.minute)}` : `${l.year}-${pad(l.month)}-${pad(l.day)} ${pad(l.hour)}:${pad(l.minute)}`;
}

/** `10:05`: the time of day alone, where the date stands beside it. */
export function docTime(instant: Date, timeZone: string): string {
  const l = toLocal(instant, timeZone);
  return `${pad(l.hour)}:${pad(l.minute)}`;
}

/** Whether two instants fall on the same local day. */
export function sameLocalDay(a: Date, b: Date, timeZone: string): boolean {
  const x = toLocal(a, timeZone);
  const y = toLocal(b, timeZone);
  return x.year === y.year && x.month === y.month && x.day === y.day;
}

/** `2026年11月29日` / `2026-11-29`. */
export function docDate(instant: Date, timeZone: string, lang: Lang = 'zh'): string {
  const l = toLocal(instant, timeZone);
  return lang === 'zh' ? `${l.year}年${l.month}月${l.day}日` : `${l.year}-${pad(l.month)}-${pad(l.day)}`;
}

/** A local date (`YYYY-MM-DD`) as `2026年11月27日` / `2026-11-27`. */
export function docLocalDate(date: string, lang: Lang = 'zh'): string {
  const [y, m, d] = date.split('-').map(Number);
  return lang === 'zh' ? `${y}年${m}月${d}日` : date;
}

/** A duration in seconds, shortest readable form: 45秒, 12分钟, 2小时5分, 3天4小时. */
export function formatDuration(seconds: number | null, lang: Lang = 'zh'): string {
  if (seconds === null) return t(lang, 'dur.none');
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t(lang, 'dur.s', { s });
  if (s < 3600) return t(lang, 'dur.m', { m: Math.round(s / 60) });
  if (s < 86_400) return t(lang, 'dur.hm', { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  return t(lang, 'dur.dh', { d: Math.floor(s / 86_400), h: Math.floor((s % 86_400) / 3600) });
}

/** Minutes with one decimal, for CSV columns; empty when there is no value. */
export function minutes(seconds: number | null): string {
  return seconds === null ? '' : (Math.round(seconds / 6) / 10).toFixed(1);
}

/** A typed text as the end of a sentence in the document: a Chinese one gets its closing 。 if it has none. */
export function asSentence(text: string, lang: Lang = 'zh'): string {
  const t = text.trim();
  if (lang === 'zh') return /[。！？…）”]$/.test(t) ? t : `${t}。`;
  return /[.!?)"]$/.test(t) ? t : `${t}.`;
}
