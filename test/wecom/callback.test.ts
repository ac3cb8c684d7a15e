/**
 * The callback URL's functions (src/channels/wecom/callback.ts) on requests sealed here with
 * @wecom/crypto, as WeCom seals them: the URL verification, every kind of message and event read into
 * its type, each refusal with its reason, the de-duplication key and the passive reply.
 */
import { decrypt, encrypt, getSignature } from '@wecom/crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildPassiveReply,
  dedupKeyOf,
  openCallback,
  passiveTextReply,
  verifyUrl,
  type OpenCallbackResult,
  type WecomCallbackConfig,
} from '../../src/channels/wecom/index.js';

const NOW = new Date('2026-03-02T01:30:00Z');
const nowSeconds = Math.floor(NOW.getTime() / 1000);
const config: WecomCallbackConfig = {
  token: 'cbToken',
  // 32 random-looking bytes, base64 without '='.
  encodingAesKey: Buffer.from('0123456789abcdef0123456789ABCDEF').toString('base64').slice(0, 43),
  corpId: 'wwcorp0001',
  agentId: 1000002,
  clock: { now: () => NOW },
};

interface Sealed {
  query: Record<string, string>;
  body: string;
}

function seal(plaintext: string, opts: { timestamp?: number; receiveId?: string; token?: string; nonce?: string } = {}): Sealed {
  const ciphertext = encrypt(config.encodingAesKey, plaintext, opts.receiveId ?? config.corpId);
  const timestamp = String(opts.timestamp ?? nowSeconds);
  const nonce = opts.nonce ?? '1372623149';
  const msg_signature = getSignature(opts.token ?? config.token, timestamp, nonce, ciphertext);
  const body = `<xml><ToUserName><![CDATA[${config.corpId}]]></ToUserName><AgentID><![CDATA[${config.agentId}]]></AgentID><Encrypt><![CDATA[${ciphertext}]]></Encrypt></xml>`;
  return { query: { msg_signature, timestamp, nonce }, body };
}

const xml = (fields: Record<string, string | number>, extra = ''): string =>
  `<xml>${Object.entries(fields)
    .map(([k, v]) => (typeof v === 'number' ? `<${k}>${v}</${k}>` : `<${k}><![CDATA[${v}]]></${k}>`))
    .join('')}${extra}</xml>`;

const base = { ToUserName: config.corpId, FromUserName: 'LiSi', CreateTime: nowSeconds - 2 };

function open(plaintext: string, opts?: Parameters<typeof seal>[1]): OpenCallbackResult {
  const { query, body } = seal(plaintext, opts);
  return openCallback(config, query, body);
}

function opened(plaintext: string): Extract<OpenCallbackResult, { ok: true }> {
  const r = open(plaintext);
  if (!r.ok) throw new Error(`refused: ${r.reason} (${r.detail})`);
  return r;
}

describe('the GET verification of the callback URL', () => {
  it('answers the decrypted echostr', () => {
    const echo = '8287423671052364881';
    const echostr = encrypt(config.encodingAesKey, echo, config.corpId);
    const timestamp = String(nowSeconds);
    const query = { msg_signature: getSignature(config.token, timestamp, 'n1', echostr), timestamp, nonce: 'n1', echostr };
    expect(verifyUrl(config, query)).toEqual({ ok: true, echo });
  });

  it('refuses a wrong signature, an old timestamp, another corp and a missing echostr', () => {
    const echostr = encrypt(config.encodingAesKey, '42', config.corpId);
    const ts = String(nowSeconds);
    const good = { msg_signature: getSignature(config.token, ts, 'n', echostr), timestamp: ts, nonce: 'n', echostr };
    expect(verifyUrl(config, { ...good, msg_signature: getSignature('other', ts, 'n', echostr) })).toMatchObject({ ok: false, reason: 'bad_signature' });
    const old = String(nowSeconds - 3600);
    expect(verifyUrl(config, { ...good, timestamp: old, msg_signature: getSignature(config.token, old, 'n', echostr) })).toMatchObject({ ok: false, reason: 'stale_timestamp' });
    const foreign = encrypt(config.encodingAesKey, '42', 'wwother');
    expect(verifyUrl(config, { ...good, echostr: foreign, msg_signature: getSignature(config.token, ts, 'n', foreign) })).toMatchObject({ ok: false, reason: 'wrong_corp' });
    expect(verifyUrl(config, { ...good, echostr: undefined })).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('takes the first value of a repeated parameter, as routers hand them over', () => {
    const echostr = encrypt(config.encodingAesKey, '7', config.corpId);
    const ts = String(nowSeconds);
    const sig = getSignature(config.token, ts, 'n', echostr);
    expect(verifyUrl(config, { msg_signature: [sig, 'x'], timestamp: [ts], nonce: 'n', echostr })).toEqual({ ok: true, echo: '7' });
  });
});

describe('a POST read into its message', () => {
  it('text, keeping the 64-bit MsgId exact', () => {
    const r = opened(xml({ ...base, MsgType: 'text', Content: '14:30 <到达>', MsgId: '9223372036854775807', AgentID: 1000002 }));
    expect(r.message).toEqual({ kind: 'text', from: 'LiSi', to: config.corpId, createTime: nowSeconds - 2, agentId: 1000002, msgId: '9223372036854775807', content: '14:30 <到达>' });
    expect(r.dedupKey).toBe('msg:9223372036854775807');
  });

  it('a location', () => {
    const r = opened(xml({ ...base, MsgType: 'location', Location_X: '30.3145', Location_Y: '120.1412', Scale: '15', Label: '拱墅区和睦新村', MsgId: '1001', AgentID: 1000002 }));
    expect(r.message).toMatchObject({ kind: 'location', latitude: 30.3145, longitude: 120.1412, scale: 15, label: '拱墅区和睦新村', msgId: '1001' });
  });

  it('a picture and a voice note, by MediaId', () => {
    expect(opened(xml({ ...base, MsgType: 'image', PicUrl: 'https://p/1', MediaId: 'MID1', MsgId: '1002', AgentID: 1000002 })).message).toMatchObject({
      kind: 'media',
      mediaType: 'image',
      mediaId: 'MID1',
      picUrl: 'https://p/1',
    });
    expect(opened(xml({ ...base, MsgType: 'voice', MediaId: 'MID2', Format: 'amr', MsgId: '1003', AgentID: 1000002 })).message).toMatchObject({ kind: 'media', mediaType: 'voice', format: 'amr' });
  });

  it('a button pressed on a card', () => {
    const r = opened(
      xml({ ...base, MsgType: 'event', Event: 'template_card_event', EventKey: 'ack', TaskId: 'inc-7-v3', CardType: 'button_interaction', ResponseCode: 'RC1', AgentID: 1000002 }),
    );
    expect(r.message).toEqual({
      kind: 'card_event',
      from: 'LiSi',
      to: config.corpId,
      createTime: nowSeconds - 2,
      agentId: 1000002,
      eventKey: 'ack',
      taskId: 'inc-7-v3',
      cardType: 'button_interaction',
      responseCode: 'RC1',
      selections: [],
    });
    expect(r.dedupKey).toMatch(/^evt:[0-9a-f]{40}$/);
    expect(r.dedupKey).not.toContain('LiSi');
  });

  it('a vote card submitted, with the option ids chosen', () => {
    const items = '<SelectedItems><SelectedItem><QuestionKey><![CDATA[steps]]></QuestionKey><OptionIds><OptionId><![CDATA[s1]]></OptionId><OptionId><![CDATA[s4]]></OptionId></OptionIds></SelectedItem></SelectedItems>';
    const r = opened(xml({ ...base, MsgType: 'event', Event: 'template_card_event', EventKey: 'submit', TaskId: 't1', CardType: 'vote_interaction', ResponseCode: 'RC2', AgentID: 1000002 }, items));
    expect(r.message).toMatchObject({ kind: 'card_event', eventKey: 'submit', selections: [{ questionKey: 'steps', optionIds: ['s1', 's4'] }] });
  });

  it('a multiple-choice card submitted: one option per question, several questions', () => {
    const items =
      '<SelectedItems>' +
      '<SelectedItem><QuestionKey><![CDATA[q1]]></QuestionKey><OptionIds><OptionId><![CDATA[a]]></OptionId></OptionIds></SelectedItem>' +
      '<SelectedItem><QuestionKey><![CDATA[q2]]></QuestionKey><OpitonIds><OpitonId><![CDATA[b]]></OpitonId></OpitonIds></SelectedItem>' +
      '</SelectedItems>';
    const r = opened(xml({ ...base, MsgType: 'event', Event: 'template_card_event', EventKey: 'go', TaskId: 't2', CardType: 'multiple_interaction', ResponseCode: 'RC3', AgentID: 1000002 }, items));
    expect(r.message).toMatchObject({
      kind: 'card_event',
      selections: [
        { questionKey: 'q1', optionIds: ['a'] },
        { questionKey: 'q2', optionIds: ['b'] },
      ],
    });
  });

  it('entering the application, subscribing and a link are authentic but ignored', () => {
    expect(opened(xml({ ...base, MsgType: 'event', Event: 'enter_agent', EventKey: '', AgentID: 1000002 })).message).toMatchObject({ kind: 'ignored', event: 'enter_agent' });
    expect(opened(xml({ ...base, MsgType: 'event', Event: 'subscribe', AgentID: 1000002 })).message).toMatchObject({ kind: 'ignored', event: 'subscribe' });
    expect(opened(xml({ ...base, MsgType: 'link', Title: 't', Url: 'https://x', MsgId: '55', AgentID: 1000002 })).message).toMatchObject({ kind: 'ignored', msgType: 'link', msgId: '55' });
  });
});

describe('de-duplication keys', () => {
  const press = (createTime: number, key: string, task = 't') =>
    opened(xml({ ...base, CreateTime: createTime, MsgType: 'event', Event: 'template_card_event', EventKey: key, TaskId: task, CardType: 'button_interaction', ResponseCode: 'RC', AgentID: 1000002 })).dedupKey;

  it('the same event twice has one key; another time, key or task has another', () => {
    expect(press(100, 'ack')).toBe(press(100, 'ack'));
    expect(new Set([press(100, 'ack'), press(101, 'ack'), press(100, 'done'), press(100, 'ack', 'u')]).size).toBe(4);
  });

  it('a message is keyed by its MsgId whatever else it carries', () => {
    const a = opened(xml({ ...base, MsgType: 'text', Content: 'a', MsgId: '77', AgentID: 1000002 }));
    expect(dedupKeyOf(a.message)).toBe('msg:77');
  });
});

describe('refusals', () => {
  const text = xml({ ...base, MsgType: 'text', Content: 'hello', MsgId: '1', AgentID: 1000002 });

  it('bad_signature: signed with another token, or the signature changed', () => {
    expect(open(text, { token: 'not-the-token' })).toMatchObject({ ok: false, reason: 'bad_signature' });
    const { query, body } = seal(text);
    const flipped = (query['msg_signature']![0] === 'a' ? 'b' : 'a') + query['msg_signature']!.slice(1);
    expect(openCallback(config, { ...query, msg_signature: flipped }, body)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('bad_signature: the body changed after signing', () => {
    const { query } = seal(text);
    const other = seal(xml({ ...base, MsgType: 'text', Content: 'changed', MsgId: '1', AgentID: 1000002 }), { nonce: query['nonce']! });
    expect(openCallback(config, query, other.body)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('stale_timestamp: signed, but outside the window either way; inside it passes', () => {
    expect(open(text, { timestamp: nowSeconds - 301 })).toMatchObject({ ok: false, reason: 'stale_timestamp' });
    expect(open(text, { timestamp: nowSeconds + 301 })).toMatchObject({ ok: false, reason: 'stale_timestamp' });
    expect(open(text, { timestamp: nowSeconds - 299 })).toMatchObject({ ok: true });
    const eleven = seal(text, { timestamp: nowSeconds - 11 });
    expect(openCallback({ ...config, timestampToleranceSeconds: 10 }, eleven.query, eleven.body)).toMatchObject({ ok: false, reason: 'stale_timestamp' });
    expect(openCallback({ ...config, timestampToleranceSeconds: 20 }, eleven.query, eleven.body)).toMatchObject({ ok: true });
  });

  it('wrong_corp: sealed for another corp, addressed to another corp or application', () => {
    expect(open(text, { receiveId: 'wwother' })).toMatchObject({ ok: false, reason: 'wrong_corp' });
    expect(open(xml({ ...base, ToUserName: 'wwother', MsgType: 'text', Content: 'x', MsgId: '2', AgentID: 1000002 }))).toMatchObject({ ok: false, reason: 'wrong_corp' });
    expect(open(xml({ ...base, MsgType: 'text', Content: 'x', MsgId: '3', AgentID: 999 }))).toMatchObject({ ok: false, reason: 'wrong_corp' });
  });

  it('malformed: the envelope, the parameters, the ciphertext or the payload', () => {
    const { query, body } = seal(text);
    expect(openCallback(config, query, '<xml><Encrypt>unclosed</xml>')).toMatchObject({ ok: false, reason: 'malformed' });
    expect(openCallback(config, query, 'not xml')).toMatchObject({ ok: false, reason: 'malformed' });
    expect(openCallback(config, query, '<xml><ToUserName>x</ToUserName></xml>')).toMatchObject({ ok: false, reason: 'malformed' });
    expect(openCallback(config, query, `<!DOCTYPE x [<!ENTITY a "b">]>${body}`)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(openCallback(config, { nonce: query['nonce'] }, body)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(openCallback(config, { ...query, timestamp: 'soon' }, body)).toMatchObject({ ok: false, reason: 'malformed' });
    // Correctly signed ciphertext that is not AES output of our key.
    const junk = 'AAAA';
    const ts = String(nowSeconds);
    expect(openCallback(config, { msg_signature: getSignature(config.token, ts, 'n', junk), timestamp: ts, nonce: 'n' }, `<xml><Encrypt><![CDATA[${junk}]]></Encrypt></xml>`)).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
    // Signed and sealed, but the plaintext is not WeCom's XML, or lacks what its type requires.
    expect(open('<xml><FromUserName>u</FromUserName></xml')).toMatchObject({ ok: false, reason: 'malformed' });
    expect(open(xml({ ...base, MsgType: 'text', MsgId: '1' }))).toMatchObject({ ok: false, reason: 'malformed', detail: 'payload: missing Content' });
    expect(open(xml({ ...base, MsgType: 'text', Content: 'x', MsgId: 'abc' }))).toMatchObject({ ok: false, reason: 'malformed' });
    expect(open(xml({ ...base, MsgType: 'location', Location_X: 'north', Location_Y: '1', MsgId: '1' }))).toMatchObject({ ok: false, reason: 'malformed' });
    expect(open(xml({ ...base, MsgType: 'event', Event: 'template_card_event', EventKey: 'k', CardType: 'button_interaction' }))).toMatchObject({ ok: false, reason: 'malformed', detail: 'payload: missing TaskId' });
    expect(open(xml({ ToUserName: config.corpId, CreateTime: 1, MsgType: 'text', Content: 'x', MsgId: '1' }))).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('a refusal says what was wrong without the payload', () => {
    const r = open(xml({ ...base, MsgType: 'text', Content: '张三 身份证 330102199001011234', MsgId: '1' }), { token: 'wrong' });
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toMatch(/张三|330102/);
  });
});

describe('the passive reply', () => {
  it('is encrypted for our corp and signed, as WeCom reads it', () => {
    const plaintext = passiveTextReply(config, 'LiSi', '已收到');
    const reply = buildPassiveReply(config, plaintext, { nonce: 'abc' });
    const encryptMatch = /<Encrypt><!\[CDATA\[([^\]]+)\]\]><\/Encrypt>/.exec(reply)!;
    const sig = /<MsgSignature><!\[CDATA\[([0-9a-f]+)\]\]><\/MsgSignature>/.exec(reply)![1];
    expect(reply).toContain(`<TimeStamp>${nowSeconds}</TimeStamp>`);
    expect(sig).toBe(getSignature(config.token, nowSeconds, 'abc', encryptMatch[1]!));
    const { message, id } = decrypt(config.encodingAesKey, encryptMatch[1]!);
    expect(id).toBe(config.corpId);
    expect(message).toContain('<Content><![CDATA[已收到]]></Content>');
    expect(message).toContain('<ToUserName><![CDATA[LiSi]]></ToUserName>');
  });
});

describe('whatever arrives', () => {
  it('is opened or refused, never thrown (random queries and bodies, and mangled real ones)', () => {
    const real = seal(xml({ ...base, MsgType: 'text', Content: 'x', MsgId: '1', AgentID: 1000002 }));
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('msg_signature', 'timestamp', 'nonce', 'echostr', 'x'), fc.oneof(fc.string(), fc.array(fc.string()))),
        fc.oneof(fc.string(), fc.constant(real.body), fc.string().map((junk) => real.body.replace('</Encrypt>', `${junk}</Encrypt>`))),
        (query, body) => {
          const useReal = Object.keys(query).length === 0;
          const r = openCallback(config, useReal ? real.query : query, body);
          expect(typeof r.ok).toBe('boolean');
          const v = verifyUrl(config, query);
          expect(v.ok).toBe(false);
        },
      ),
      { numRuns: 300, seed: 13 },
    );
  });
});
