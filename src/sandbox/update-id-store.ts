/**
 * Where the Bot API stand-in keeps its update-id counter between runs. Telegram's ids keep rising for a
 * bot across any restart of ours; the product drops an id it has already handled, so a stand-in that
 * counted from 1 again after a restart would have every message dropped as a duplicate.
 *
 * Ids are reserved in blocks, written before they are handed out: a stand-in killed outright still
 * starts above every id it gave, at the cost of a gap, as Telegram's own ids may have.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface UpdateIdStore {
  /** The highest id that may have been handed out already (0 for a new bot). */
  load(bot: string): number;
  /** Records that ids up to `upTo` may be handed out; returns once it is on disk. */
  reserve(bot: string, upTo: number): void;
}

/** Ids reserved with one write. */
export const UPDATE_ID_BLOCK = 100;

/** A JSON file `{ "<bot username>": <highest reserved id> }`. */
export function fileUpdateIdStore(file: string): UpdateIdStore {
  const read = (): Record<string, number> => {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      return parsed && typeof parsed === 'object' ? (parsed as Record<string, number>) : {};
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new Error(`the stand-in's update-id file ${file} is unreadable; delete it to start the count afresh`, { cause: err });
    }
  };
  return {
    load: (bot) => {
      const value = read()[bot];
      return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : 0;
    },
    reserve: (bot, upTo) => {
      const all = read();
      all[bot] = upTo;
      mkdirSync(path.dirname(file), { recursive: true });
      // Written aside and renamed, so a crash mid-write never leaves a half file.
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(all));
      renameSync(tmp, file);
    },
  };
}
