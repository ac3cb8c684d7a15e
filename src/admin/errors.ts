/** What was wrong with an input file, each problem named by where it is (a path such as `staff[3].unit`, or a row). */
export interface InputProblem {
  /** `staff[3].unit`, `policy_overrides.ackSeconds.critical`, or `row 5` / `row 5, id_number`. */
  where: string;
  message: string;
  /** Line in the file, when known (YAML nodes, CSV records). */
  line?: number;
  /** The catalogue's words for it (`orgfile.problem.*`), where the parser knows them; `message` stays the English detail. */
  key?: string;
  params?: Record<string, string | number>;
}

/** An input file was refused as a whole; nothing was written. */
export class InputFileError extends Error {
  override readonly name = 'InputFileError';
  constructor(
    readonly file: 'org' | 'subjects',
    readonly problems: readonly InputProblem[],
  ) {
    super(`${file} file refused, nothing was changed:\n${problems.map((p) => `  ${p.where}${p.line === undefined ? '' : ` (line ${p.line})`}: ${p.message}`).join('\n')}`);
  }
}

/** A request the data cannot satisfy (unknown unit, position kind that does not belong there…). */
export class AdminRefusal extends Error {
  override readonly name = 'AdminRefusal';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** `['staff', 3, 'unit']` → `staff[3].unit`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out || '(file)';
}
