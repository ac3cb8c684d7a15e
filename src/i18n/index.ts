/**
 * The one message catalogue: every string a user sees. Simplified Chinese is the default; English for a
 * user whose Telegram is in English. Sections live in their own files and are merged here; each section
 * defines zh first and en against zh's keys, so a missing translation is a type error.
 */
import { admin } from './admin.js';
import { common } from './common.js';
import { flows } from './flows.js';
import { notices } from './notices.js';
import { reports } from './reports.js';
import { sandbox } from './sandbox.js';
import { timeline } from './timeline.js';
import { calendar } from './calendar.js';
import { wecom } from './wecom.js';
import { commandPost } from './command-post.js';
import { outsideParties } from './outside-parties.js';
import { plan } from './plan.js';
import { dutyGroups } from './duty-groups.js';
import { orgFile } from './org-file.js';

export type Lang = 'zh' | 'en';

const zh = { ...common.zh, ...flows.zh, ...notices.zh, ...reports.zh, ...sandbox.zh, ...wecom.zh, ...admin.zh, ...timeline.zh, ...calendar.zh, ...commandPost.zh, ...outsideParties.zh, ...plan.zh, ...dutyGroups.zh, ...orgFile.zh };
const en = { ...common.en, ...flows.en, ...notices.en, ...reports.en, ...sandbox.en, ...wecom.en, ...admin.en, ...timeline.en, ...calendar.en, ...commandPost.en, ...outsideParties.en, ...plan.en, ...dutyGroups.en, ...orgFile.en };

export type MessageKey = keyof typeof zh;
export type Params = Record<string, string | number | null | undefined>;

/** Telegram's language_code → the catalogue's language: English only for English, Chinese for everything else. */
export function langOf(languageCode: unknown): Lang {
  return typeof languageCode === 'string' && languageCode.toLowerCase().startsWith('en') ? 'en' : 'zh';
}

/** Renders a message; `{name}` placeholders take params, missing ones are left visible so a test catches them. */
export function t(lang: Lang, key: MessageKey, params: Params = {}): string {
  const template: string = (lang === 'en' ? en : zh)[key];
  return template.replace(/\{(\w+)\}/g, (m, name: string) => {
    const v = params[name];
    return v === undefined || v === null ? m : String(v);
  });
}

export function hasMessage(key: string): key is MessageKey {
  return Object.hasOwn(zh, key);
}

export const CATALOGUE = { zh, en } as const;
