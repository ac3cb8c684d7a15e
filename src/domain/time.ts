/**
 * Time-zone arithmetic over plain Intl, so that "09:00 in Asia/Shanghai" is computed, never assumed.
 * Nothing here reads the clock: every function takes the instant it works from.
 */

export interface Clock {
  now(): Date;
}

export interface LocalDateTime {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second?: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** The wall-clock reading of an instant in a time zone. */
export function toLocal(instant: Date, tz: string): Required<LocalDateTime> {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(tz).formatToParts(instant)) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour! % 24,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** Offset of a zone from UTC at an instant, in milliseconds (Shanghai: +8 h). */
export function zoneOffsetMs(instant: Date, tz: string): number {
  const l = toLocal(instant, tz);
  const asUtc = Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second);
  return asUtc - Math.floor(instant.getTime() / 1000) * 1000;
}

/** The instant at which a zone's clocks show the given wall time. */
export function fromLocal(local: LocalDateTime, tz: string): Date {
  const guess = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second ?? 0);
  let instant = new Date(guess - zoneOffsetMs(new Date(guess), tz));
  // A second pass settles instants near an offset change.
  instant = new Date(guess - zoneOffsetMs(instant, tz));
  return instant;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `YYYY-MM-DD` of an instant in a zone: the "day" daily contacts are counted by. */
export function localDate(instant: Date, tz: string): string {
  const l = toLocal(instant, tz);
  return `${l.year}-${pad(l.month)}-${pad(l.day)}`;
}

export function parseLocalDate(date: string): { year: number; month: number; day: number } {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) throw new RangeError(`not a YYYY-MM-DD date: ${date}`);
  return { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
}

/** A local date plus n days, calendar-wise. */
export function addDays(date: string, n: number): string {
  const d = parseLocalDate(date);
  const t = new Date(Date.UTC(d.year, d.month - 1, d.day + n));
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

/** Days from a to b (b − a), both YYYY-MM-DD. */
export function daysBetween(a: string, b: string): number {
  const x = parseLocalDate(a);
  const y = parseLocalDate(b);
  return Math.round((Date.UTC(y.year, y.month - 1, y.day) - Date.UTC(x.year, x.month - 1, x.day)) / 86_400_000);
}

/** `HH:MM` parsed to hours and minutes. */
export function parseTimeOfDay(hhmm: string): { hour: number; minute: number } {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  if (!m) throw new RangeError(`not an HH:MM time: ${hhmm}`);
  return { hour: Number(m[1]), minute: Number(m[2]) };
}

/** The instant of a wall-clock time on a local date: 09:00 on 2026-11-29 in Shanghai is 01:00 UTC. */
export function atLocalTime(date: string, hhmm: string, tz: string): Date {
  return fromLocal({ ...parseLocalDate(date), ...parseTimeOfDay(hhmm) }, tz);
}

/** The first instant at or after `from` when local clocks show hhmm. */
export function nextLocalTime(from: Date, hhmm: string, tz: string): Date {
  const today = atLocalTime(localDate(from, tz), hhmm, tz);
  return today.getTime() >= from.getTime() ? today : atLocalTime(addDays(localDate(from, tz), 1), hhmm, tz);
}

/** Formats an instant for a chat message: `11-29 14:30` in the zone, with the date when not today. */
export function formatLocal(instant: Date, tz: string, now?: Date): string {
  const l = toLocal(instant, tz);
  const hm = `${pad(l.hour)}:${pad(l.minute)}`;
  if (now && localDate(now, tz) === localDate(instant, tz)) return hm;
  return `${pad(l.month)}-${pad(l.day)} ${hm}`;
}

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export function addMs(instant: Date, ms: number): Date {
  return new Date(instant.getTime() + ms);
}
