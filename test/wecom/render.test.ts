/**
 * WeCom's forms of what the flows draw, as pure functions: a button's action as a card key and back
 * (untrusted on the way back), the catalogue's markup as markdown or text within WeCom's 2 048 bytes,
 * and a prompt as a card whose long text goes first as a message.
 */
import { describe, expect, it } from 'vitest';
import { decodeButtonKey, encodeButtonKey, MORE_KEY, ownKeyOf, stepsKey, uniqueKey } from '../../src/channels/wecom/button-keys.js';
import { CARD_TEXT, promptCard, quoteText, splitContent, textMessages, toMarkdown } from '../../src/channels/wecom/render.js';
import { t } from '../../src/i18n/index.js';
import { button } from '../../src/flows/ui.js';

const id = '2f1c3a5e-8b7d-4c2a-9e1f-0a1b2c3d4e5f';

describe('button keys', () => {
  it('carry an action and come back as it', () => {
    for (const action of [{ a: 'ack', i: id, v: 3 }, { a: 'f', k: 'absconding', v: 1 }, { a: 'step', i: id, k: '4', v: 12 }, { a: 'nop' }] as const) {
      expect(decodeButtonKey(encodeButtonKey(action))).toEqual(action);
    }
  });

  it('made unique on a card, still decode to the action', () => {
    const key = encodeButtonKey({ a: 'card', i: id });
    expect(decodeButtonKey(uniqueKey(key, 2))).toEqual({ a: 'card', i: id });
  });

  it('refuse what no button of ours carries', () => {
    for (const raw of ['', 'delete:everything', `ack:${id}:x:y:z`, 'ack:not-a-uuid', 'x'.repeat(2000), 42, undefined]) expect(decodeButtonKey(raw)).toBeUndefined();
  });

  it('tell the adapter’s own buttons from the flows’', () => {
    expect(ownKeyOf(MORE_KEY)).toEqual({ kind: 'more' });
    expect(ownKeyOf(stepsKey(id))).toEqual({ kind: 'steps', incidentId: id });
    expect(ownKeyOf('~steps:not-an-id')).toBeUndefined();
    expect(ownKeyOf(encodeButtonKey({ a: 'card', i: id }))).toBeUndefined();
  });
});

describe('text in WeCom', () => {
  it('markup with formatting is markdown; without, plain text; escapes undone', () => {
    expect(toMarkdown('<b>2026-0001</b> <code>14:30</code> <i>提示</i> <a href="https://x.example/?a=1&amp;b=2">下载</a> &lt;无&gt;')).toBe(
      '**2026-0001** `14:30` <font color="comment">提示</font> [下载](https://x.example/?a=1&b=2) <无>',
    );
    expect(textMessages('已取消。')).toEqual([{ kind: 'text', content: '已取消。' }]);
    expect(textMessages('<b>标题</b>')).toEqual([{ kind: 'markdown', content: '**标题**' }]);
  });

  it('is split between lines into pieces WeCom does not cut (2 048 bytes), never inside a character', () => {
    const line = '甲'.repeat(300); // 900 bytes
    const pieces = splitContent([line, line, line, line].join('\n'));
    expect(pieces).toHaveLength(2);
    for (const p of pieces) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(2048);
    expect(pieces.join('\n')).toBe([line, line, line, line].join('\n'));
    const long = splitContent('乙'.repeat(1000));
    expect(long.join('')).toBe('乙'.repeat(1000));
    for (const p of long) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(2048);
  });
});

describe('a prompt as a card', () => {
  const rows = [[button('✔ 确认', { a: 'f', k: 'ok', v: 1 })]];

  it('a short prompt: the first line the title, the rest the card’s text', () => {
    const card = promptCard('🚨 <b>上报突发事件</b>\n第 1/7 步\n\n请选择：', rows);
    expect(card).toMatchObject({ title: '🚨 上报突发事件', subtitle: '第 1/7 步\n\n请选择：', buttons: [{ text: '✔ 确认', key: 'f::ok:1' }] });
    expect(card.preface).toBeUndefined();
  });

  it('a prompt too long for a card goes first as a message; the card keeps the title and buttons', () => {
    const text = `标题\n${'说明'.repeat(CARD_TEXT.subtitle)}`;
    const card = promptCard(text, rows);
    expect(card.preface).toBe(text);
    expect(card.subtitle).toBeUndefined();
    expect(card.title).toBe('标题');
  });

  it('a title over WeCom’s 26 characters is cut, and the whole line kept in the text', () => {
    const first = '很'.repeat(40);
    const card = promptCard(`${first}\n第二行`, rows);
    expect([...card.title]).toHaveLength(CARD_TEXT.title);
    expect(card.subtitle ?? card.preface).toContain(first);
  });
});

describe('the card quote with the "re-sent" note', () => {
  const len = (text: string | undefined) => [...(text ?? '')].length;
  const quote = '2026-0001 对象张某某未按时报到，电话关机，已启动查找；请各单位在十五分钟内签收，并每半小时反馈一次查找进展情况，直至对象到案或者查找终止。';

  it('a quote alone is cut to CARD_TEXT.quote with an ellipsis', () => {
    const text = quoteText({ quote });
    expect(len(text)).toBe(CARD_TEXT.quote);
    expect(text!.endsWith('…')).toBe(true);
    expect(quoteText({ quote: '短' })).toBe('短');
    expect(quoteText({})).toBeUndefined();
  });

  for (const lang of ['zh', 'en'] as const) {
    it(`the ${lang} note comes first and whole; the quote after it is cut with an ellipsis`, () => {
      const note = t(lang, 'notice.resent');
      const text = quoteText({ note, quote })!;
      expect(text.startsWith(`${note} `)).toBe(true);
      expect(text.endsWith('…')).toBe(true);
      // Within the quote's budget when the note leaves room; else the note and the quote's first characters.
      expect(len(text)).toBe(Math.max(CARD_TEXT.quote, len(note) + 1 + CARD_TEXT.quoteBesideNote));
      expect(text.slice(note.length + 1, note.length + 10)).toBe(quote.slice(0, 9));
      // A card with no quote of its own shows the note alone, uncut.
      expect(quoteText({ note })).toBe(note);
    });
  }

  it('the English note is longer than a quote may be: it would be cut if it were treated as quote text', () => {
    expect(len(t('en', 'notice.resent'))).toBeGreaterThan(CARD_TEXT.quote);
  });
});
