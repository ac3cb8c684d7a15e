/**
 * Resident identity numbers (居民身份证号码, GB 11643-1999): 6-digit region, 8-digit birth date,
 * 3-digit sequence and a check digit (0-9 or X) computed with ISO 7064 MOD 11-2.
 */

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const CHECK_CHARS = '10X98765432';

/** The check digit for the first 17 digits. */
export function idNumberCheckDigit(first17: string): string {
  if (!/^\d{17}$/.test(first17)) throw new RangeError('need 17 digits');
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i]!;
  return CHECK_CHARS[sum % 11]!;
}

export type IdNumberProblem = 'format' | 'birth_date' | 'check_digit';

/** Why an ID number is not well formed, or undefined when it is. A lower-case x is accepted. */
export function idNumberProblem(value: string): IdNumberProblem | undefined {
  const id = value.trim().toUpperCase();
  if (!/^[1-9]\d{16}[\dX]$/.test(id)) return 'format';
  const y = Number(id.slice(6, 10));
  const m = Number(id.slice(10, 12));
  const d = Number(id.slice(12, 14));
  const date = new Date(Date.UTC(y, m - 1, d));
  if (y < 1900 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return 'birth_date';
  if (idNumberCheckDigit(id.slice(0, 17)) !== id[17]) return 'check_digit';
  return undefined;
}

export function isValidIdNumber(value: string): boolean {
  return idNumberProblem(value) === undefined;
}

/** The stored form: trimmed, check digit X in upper case. */
export function normaliseIdNumber(value: string): string {
  return value.trim().toUpperCase();
}
