/** Resident ID numbers (GB 11643): format, birth date and the MOD 11-2 check digit. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { idNumberCheckDigit, idNumberProblem, isValidIdNumber, normaliseIdNumber } from '../../src/domain/index.js';

describe('ID numbers', () => {
  it('computes the check digit, including X', () => {
    // The standard's own example: 11010519491231002X.
    expect(idNumberCheckDigit('11010519491231002')).toBe('X');
    expect(idNumberCheckDigit('33010519700126435')).toBe('4');
  });

  it.each([
    ['11010519491231002X', undefined],
    ['11010519491231002x', undefined],
    ['330105197001264354', undefined],
    ['330105197001264355', 'check_digit'],
    ['330105197002304354', 'birth_date'],
    ['330105180001014354', 'birth_date'],
    ['33010519700126435', 'format'],
    ['3301051970012643541', 'format'],
    ['030105197001264354', 'format'],
    ['33010519700126435Y', 'format'],
    ['', 'format'],
  ])('%j → %s', (id, problem) => {
    expect(idNumberProblem(id)).toBe(problem);
  });

  it('normalises the stored form', () => {
    expect(normaliseIdNumber(' 11010519491231002x ')).toBe('11010519491231002X');
  });

  it('every ID number in examples/subjects.csv is well formed', () => {
    const rows = readFileSync(new URL('../../examples/subjects.csv', import.meta.url), 'utf8').trim().split('\n').slice(1);
    expect(rows).toHaveLength(20);
    for (const row of rows) expect(isValidIdNumber(row.split(',')[2]!)).toBe(true);
  });
});
