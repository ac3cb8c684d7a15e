// The template cards' documented required fields and limits, as the stand-in checks them on
// message/send and message/update_template_card. A card that breaks one is refused with errcode 40058
// and an errmsg naming the field, so a test sees exactly what WeCom would not take.

import type { Json } from './wecom-world.js';

export const CARD_TYPES = ['text_notice', 'news_notice', 'button_interaction', 'vote_interaction', 'multiple_interaction'] as const;
export const INTERACTIVE_TYPES: ReadonlySet<string> = new Set(['button_interaction', 'vote_interaction', 'multiple_interaction']);

const TASK_ID = /^[0-9A-Za-z_\-@]{1,128}$/;
const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

class CardRefused extends Error {}

const fail = (msg: string): never => {
  throw new CardRefused(msg);
};

function list(card: Json, field: string, min: number, max: number): unknown[] {
  const v = card[field];
  if (v === undefined && min === 0) return [];
  if (!Array.isArray(v)) return fail(`${field} is required`);
  if (v.length < min || v.length > max) fail(`${field} has ${v.length} items, ${min === max ? min : `${min} to ${max}`} allowed`);
  return v;
}

function uniqueIds(items: unknown[], field: string, maxBytes: number): void {
  const seen = new Set<string>();
  for (const [i, o] of items.entries()) {
    if (!isObject(o) || !nonEmpty(o['id'])) fail(`${field}[${i}].id is required`);
    const id = (o as Json)['id'] as string;
    if (bytes(id) > maxBytes) fail(`${field}[${i}].id is longer than ${maxBytes} bytes`);
    if (seen.has(id)) fail(`${field}[${i}].id repeats`);
    seen.add(id);
    if (!nonEmpty((o as Json)['text'])) fail(`${field}[${i}].text is required`);
  }
}

function mainTitle(card: Json): void {
  const t = card['main_title'];
  if (!isObject(t) || !nonEmpty(t['title'])) fail('main_title.title is required');
}

function submitButton(card: Json): void {
  const b = card['submit_button'];
  if (!isObject(b) || !nonEmpty(b['key'])) fail('submit_button.key is required');
  if (bytes((b as Json)['key'] as string) > 1024) fail('submit_button.key is longer than 1024 bytes');
}

/** Why WeCom would refuse this card, or undefined. `forUpdate`: in update_template_card (no task_id needed). */
export function cardProblem(card: unknown, opts: { forUpdate: boolean }): string | undefined {
  try {
    checkCard(card, opts.forUpdate);
    return undefined;
  } catch (err) {
    if (err instanceof CardRefused) return `invalid template_card: ${err.message}`;
    throw err;
  }
}

function checkCard(card: unknown, forUpdate: boolean): void {
  if (!isObject(card)) return fail('template_card is required');
  const type = card['card_type'];
  if (!nonEmpty(type) || !(CARD_TYPES as readonly string[]).includes(type)) return fail('card_type is not a known card type');
  const needsTask = INTERACTIVE_TYPES.has(type) || card['action_menu'] !== undefined;
  const taskId = card['task_id'];
  if (taskId !== undefined || (needsTask && !forUpdate)) {
    if (!nonEmpty(taskId) || !TASK_ID.test(taskId)) fail('task_id must be 1 to 128 of digits, letters and _-@');
  }
  list(card, 'horizontal_content_list', 0, 6);
  list(card, 'jump_list', 0, 3);
  switch (type) {
    case 'text_notice': {
      const title = isObject(card['main_title']) ? card['main_title']['title'] : undefined;
      if (!nonEmpty(title) && !nonEmpty(card['sub_title_text'])) fail('main_title.title or sub_title_text is required');
      const action = card['card_action'];
      if (!isObject(action)) fail('card_action is required');
      const a = action as Json;
      if (a['type'] === 1 && !nonEmpty(a['url'])) fail('card_action.url is required');
      if (a['type'] === 2 && !nonEmpty(a['appid'])) fail('card_action.appid is required');
      if (a['type'] !== 1 && a['type'] !== 2) fail('card_action.type must be 1 or 2');
      return;
    }
    case 'news_notice':
      mainTitle(card);
      if (!isObject(card['card_image']) && !isObject(card['image_text_area'])) fail('card_image or image_text_area is required');
      return;
    case 'button_interaction': {
      mainTitle(card);
      const buttons = list(card, 'button_list', 1, 6);
      const keys = new Set<string>();
      for (const [i, b] of buttons.entries()) {
        if (!isObject(b) || !nonEmpty(b['text'])) fail(`button_list[${i}].text is required`);
        const btn = b as Json;
        if (btn['type'] === 1) {
          if (!nonEmpty(btn['url'])) fail(`button_list[${i}].url is required`);
          continue;
        }
        const key = btn['key'];
        if (!nonEmpty(key)) fail(`button_list[${i}].key is required`);
        if (bytes(key as string) > 1024) fail(`button_list[${i}].key is longer than 1024 bytes`);
        if (keys.has(key as string)) fail(`button_list[${i}].key repeats`);
        keys.add(key as string);
      }
      return;
    }
    case 'vote_interaction': {
      mainTitle(card);
      const box = card['checkbox'];
      if (!isObject(box) || !nonEmpty(box['question_key'])) fail('checkbox.question_key is required');
      const options = list(box as Json, 'option_list', 1, 20);
      uniqueIds(options, 'checkbox.option_list', 128);
      const mode = (box as Json)['mode'];
      if (mode !== undefined && mode !== 0 && mode !== 1) fail('checkbox.mode must be 0 or 1');
      submitButton(card);
      return;
    }
    case 'multiple_interaction': {
      mainTitle(card);
      const selects = list(card, 'select_list', 1, 3);
      const keys = new Set<string>();
      for (const [i, s] of selects.entries()) {
        if (!isObject(s) || !nonEmpty(s['question_key'])) fail(`select_list[${i}].question_key is required`);
        const q = (s as Json)['question_key'] as string;
        if (keys.has(q)) fail(`select_list[${i}].question_key repeats`);
        keys.add(q);
        uniqueIds(list(s as Json, 'option_list', 1, 10), `select_list[${i}].option_list`, 128);
      }
      submitButton(card);
      return;
    }
  }
}
