/**
 * What a member sends the application, as typed data: the decrypted XML of a callback (its plaintext)
 * read into one union. WeCom's member messages are text, image, voice, video, location and link; its
 * events carry `Event`. Of these the product acts on text, location, media (image, voice and video,
 * by `MediaId`) and the template card event (a button pressed, a vote or a multiple-choice card
 * submitted); entering the application, (un)subscribing, links and every other event are `ignored`
 * — authentic, but nothing to do.
 */
import { readXml, textOf, XmlRefused, type XmlNode, type XmlRecord } from './xml.js';

interface InboundBase {
  /** The member's userid (FromUserName). */
  from: string;
  /** The corp the message is for (ToUserName). */
  to: string;
  /** Seconds since the epoch (CreateTime). */
  createTime: number;
  /** The application (AgentID); absent on a few events. */
  agentId: number | undefined;
}

export interface InboundText extends InboundBase {
  kind: 'text';
  /** 64-bit message id, kept as a string. */
  msgId: string;
  content: string;
}

export interface InboundLocation extends InboundBase {
  kind: 'location';
  msgId: string;
  latitude: number;
  longitude: number;
  /** Map zoom level. */
  scale: number | undefined;
  /** The place as the member's client names it. */
  label: string;
}

export interface InboundMedia extends InboundBase {
  kind: 'media';
  msgId: string;
  mediaType: 'image' | 'voice' | 'video';
  /** For the media download API; valid three days. */
  mediaId: string;
  /** image: the picture's URL. */
  picUrl: string | undefined;
  /** voice: amr, speex… */
  format: string | undefined;
  /** video: the thumbnail's media id. */
  thumbMediaId: string | undefined;
}

/** One question of a vote or multiple-choice card and the option ids chosen for it. */
export interface CardSelection {
  questionKey: string;
  optionIds: string[];
}

export interface InboundCardEvent extends InboundBase {
  kind: 'card_event';
  /** The pressed button's key, or the submit button's key on a vote or multiple-choice card. */
  eventKey: string;
  taskId: string;
  /** button_interaction, vote_interaction, multiple_interaction… */
  cardType: string;
  /** One more use of update_template_card for this card (once, within 72 hours); absent if WeCom sent none. */
  responseCode: string | undefined;
  /** Vote and multiple-choice cards: what was chosen; empty for a button. */
  selections: CardSelection[];
}

export interface InboundIgnored extends InboundBase {
  kind: 'ignored';
  msgType: string;
  /** For events: the Event value (enter_agent, subscribe, LOCATION…). */
  event: string | undefined;
  /** Set when the message has one (a link). */
  msgId: string | undefined;
}

export type WecomInbound = InboundText | InboundLocation | InboundMedia | InboundCardEvent | InboundIgnored;

/** A plaintext callback that cannot be read as WeCom writes it. */
export class InboundMalformed extends Error {
  override name = 'InboundMalformed';
}

const need = (r: XmlRecord, tag: string): string => {
  const v = textOf(r, tag);
  if (v === undefined) throw new InboundMalformed(`missing ${tag}`);
  return v;
};

const needNonEmpty = (r: XmlRecord, tag: string): string => {
  const v = need(r, tag);
  if (v === '') throw new InboundMalformed(`empty ${tag}`);
  return v;
};

const integerOf = (r: XmlRecord, tag: string, required: boolean): number | undefined => {
  const v = textOf(r, tag);
  if (v === undefined || v === '') {
    if (required) throw new InboundMalformed(`missing ${tag}`);
    return undefined;
  }
  if (!/^\d+$/.test(v)) throw new InboundMalformed(`${tag} is not an integer`);
  return Number(v);
};

const numberOf = (r: XmlRecord, tag: string): number => {
  const v = need(r, tag);
  const n = Number(v);
  if (v === '' || !Number.isFinite(n)) throw new InboundMalformed(`${tag} is not a number`);
  return n;
};

const asRecord = (n: XmlNode | XmlNode[] | undefined): XmlRecord | undefined =>
  n !== undefined && typeof n === 'object' && !Array.isArray(n) ? n : undefined;

const asList = (n: XmlNode | XmlNode[] | undefined): XmlNode[] => (n === undefined ? [] : Array.isArray(n) ? n : [n]);

/** Vote and multiple-choice answers: `<SelectedItems><SelectedItem><QuestionKey/><OptionIds><OptionId/>…`. */
function selectionsOf(r: XmlRecord): CardSelection[] {
  const items = r['SelectedItems'];
  if (items === undefined || items === '') return [];
  const container = asRecord(items);
  if (!container) throw new InboundMalformed('SelectedItems is not a list');
  return asList(container['SelectedItem']).map((node) => {
    const item = asRecord(node);
    if (!item) throw new InboundMalformed('SelectedItem is not an element');
    const questionKey = needNonEmpty(item, 'QuestionKey');
    // Read as OptionIds, and as the misspelt OpitonIds in case a sender writes it so.
    const ids = asRecord(item['OptionIds']) ?? asRecord(item['OpitonIds']);
    const optionIds = ids ? [...asList(ids['OptionId']), ...asList(ids['OpitonId'])] : [];
    if (optionIds.some((o) => typeof o !== 'string' || o === '')) throw new InboundMalformed('an OptionId is not text');
    return { questionKey, optionIds: optionIds as string[] };
  });
}

/** Reads a callback's plaintext XML; throws InboundMalformed (also for XML that is not well-formed). */
export function parseInbound(plaintext: string): WecomInbound {
  let r: XmlRecord;
  try {
    r = readXml(plaintext);
  } catch (err) {
    if (err instanceof XmlRefused) throw new InboundMalformed(err.message, { cause: err });
    throw err;
  }
  const base: InboundBase = {
    from: needNonEmpty(r, 'FromUserName'),
    to: needNonEmpty(r, 'ToUserName'),
    createTime: integerOf(r, 'CreateTime', true)!,
    agentId: integerOf(r, 'AgentID', false),
  };
  const msgType = needNonEmpty(r, 'MsgType');
  switch (msgType) {
    case 'text':
      return { ...base, kind: 'text', msgId: needMsgId(r), content: need(r, 'Content') };
    case 'location':
      return {
        ...base,
        kind: 'location',
        msgId: needMsgId(r),
        latitude: numberOf(r, 'Location_X'),
        longitude: numberOf(r, 'Location_Y'),
        scale: textOf(r, 'Scale') ? numberOf(r, 'Scale') : undefined,
        label: textOf(r, 'Label') ?? '',
      };
    case 'image':
    case 'voice':
    case 'video':
      return {
        ...base,
        kind: 'media',
        msgId: needMsgId(r),
        mediaType: msgType,
        mediaId: needNonEmpty(r, 'MediaId'),
        picUrl: textOf(r, 'PicUrl'),
        format: textOf(r, 'Format'),
        thumbMediaId: textOf(r, 'ThumbMediaId'),
      };
    case 'event': {
      const event = needNonEmpty(r, 'Event');
      if (event === 'template_card_event') {
        return {
          ...base,
          kind: 'card_event',
          eventKey: textOf(r, 'EventKey') ?? '',
          taskId: needNonEmpty(r, 'TaskId'),
          cardType: needNonEmpty(r, 'CardType'),
          responseCode: textOf(r, 'ResponseCode') || undefined,
          selections: selectionsOf(r),
        };
      }
      return { ...base, kind: 'ignored', msgType, event, msgId: undefined };
    }
    default:
      return { ...base, kind: 'ignored', msgType, event: undefined, msgId: textOf(r, 'MsgId') };
  }
}

function needMsgId(r: XmlRecord): string {
  const v = needNonEmpty(r, 'MsgId');
  if (!/^\d+$/.test(v)) throw new InboundMalformed('MsgId is not an integer');
  return v;
}
