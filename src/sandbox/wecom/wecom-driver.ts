// What tests and the sandbox page drive on the WeCom stand-in: the directory's members, acting as a
// member (type text, press a card's button, submit a vote or a multiple-choice card, send a location or
// a picture, open the application), WeCom's delivery tricks (a replay, a forged signature, an old
// timestamp, another corp's seal), inspecting what each member received and each card as it looks
// now, the request log, and faults and time (tokens ended early, errcodes injected, limits).
// Each action becomes a signed, encrypted callback to the product and resolves with its delivery record.

import type { CallbackSender, XmlTree } from './wecom-callbacks.js';
import { xmlOf } from './wecom-callbacks.js';
import type { StandInLimitsConfig, WecomFault, WecomFaultPlan } from './wecom-rules.js';
import { clone, type CallbackDelivery, type CardState, type Json, type ReceivedMessage, type RequestLogEntry, type WecomStandInConfig, type WecomWorld } from './wecom-world.js';

export interface LocationInput {
  latitude: number;
  longitude: number;
  label: string;
  scale?: number;
}

/** Raised when a member could not do that in WeCom (no such card, button or option). */
export class MemberActionRefused extends Error {
  override name = 'MemberActionRefused';
}

export class WecomDriver {
  constructor(
    protected readonly world: WecomWorld,
    protected readonly sender: CallbackSender,
  ) {}

  /** Corp id, secret, agent id, Token and EncodingAESKey: what the product is configured with. */
  get config(): WecomStandInConfig {
    return { ...this.world.config };
  }

  /** Every callback delivered, in order. */
  get deliveries(): readonly CallbackDelivery[] {
    return this.world.deliveries;
  }

  /** Every API call made to the stand-in (no tokens in it). */
  get requests(): readonly RequestLogEntry[] {
    return this.world.requests;
  }

  /** Subscribe to 'message', 'card' and 'delivery' (the sandbox page's live view). */
  get events(): Pick<WecomWorld, 'on' | 'off' | 'once'> {
    return this.world;
  }

  setCallbackUrl(url: string): void {
    this.world.callbackUrl = url;
  }

  /** A member of the directory; `visible: false` puts them outside the application's visible range. */
  addUser(userId: string, opts: { visible?: boolean } = {}): void {
    this.world.addMember(userId, opts.visible ?? true);
  }

  setVisible(userId: string, visible: boolean): void {
    const m = this.world.members.get(userId.toLowerCase());
    if (!m) throw new MemberActionRefused(`no member ${userId}`);
    m.visible = visible;
  }

  // ---------------------------------------------------------------------------------------------
  // Acting as a member.

  typeText(userId: string, content: string): Promise<CallbackDelivery> {
    return this.sendPlain('text', userId, this.plain(userId, { MsgType: 'text', Content: content, MsgId: this.world.nextMsgId() }));
  }

  sendLocation(userId: string, where: LocationInput): Promise<CallbackDelivery> {
    return this.sendPlain(
      'location',
      userId,
      this.plain(userId, {
        MsgType: 'location',
        Location_X: where.latitude,
        Location_Y: where.longitude,
        Scale: where.scale ?? 15,
        Label: where.label,
        MsgId: this.world.nextMsgId(),
      }),
    );
  }

  /**
   * A picture, voice note or video from the member's phone (a member cannot send a document to an
   * application). The media is kept like an upload, under the MediaId the callback carries.
   */
  async sendMedia(userId: string, type: 'image' | 'voice' | 'video' = 'image'): Promise<CallbackDelivery & { mediaId: string }> {
    const mediaId = this.world.id('media', 20);
    this.world.media.set(mediaId, { mediaId, type, filename: `${type}.bin`, contentType: 'application/octet-stream', size: 64, createdAt: this.world.nowMs(), data: Buffer.alloc(64) });
    const fields: XmlTree = { MsgType: type, MediaId: mediaId, MsgId: this.world.nextMsgId() };
    if (type === 'image') fields['PicUrl'] = `https://standin.invalid/media/${mediaId}`;
    if (type === 'voice') fields['Format'] = 'amr';
    if (type === 'video') fields['ThumbMediaId'] = this.world.id('media', 20);
    const delivery = await this.sendPlain(type, userId, this.plain(userId, fields));
    return { ...delivery, mediaId };
  }

  /** Presses a button of a button_interaction card the member has. */
  pressButton(userId: string, taskId: string, key: string): Promise<CallbackDelivery> {
    const card = this.interactiveCard(userId, taskId, 'button_interaction');
    const buttons = (card.card['button_list'] as Json[] | undefined) ?? [];
    if (!buttons.some((b) => b['key'] === key && b['type'] !== 1)) throw new MemberActionRefused(`the card ${taskId} has no button ${key}`);
    return this.cardEvent(userId, card, key, undefined);
  }

  /** Ticks `optionIds` on a vote_interaction card and presses its submit button. */
  submitVote(userId: string, taskId: string, optionIds: readonly string[]): Promise<CallbackDelivery> {
    const card = this.interactiveCard(userId, taskId, 'vote_interaction');
    const box = card.card['checkbox'] as Json;
    const known = new Set(((box['option_list'] as Json[]) ?? []).map((o) => o['id']));
    const unknown = optionIds.filter((o) => !known.has(o));
    if (unknown.length > 0) throw new MemberActionRefused(`the card ${taskId} has no option ${unknown.join(', ')}`);
    if (optionIds.length === 0) throw new MemberActionRefused('nothing ticked');
    if ((box['mode'] ?? 0) === 0 && optionIds.length > 1) throw new MemberActionRefused(`the card ${taskId} is single choice`);
    const submit = card.card['submit_button'] as Json;
    return this.cardEvent(userId, card, submit['key'] as string, [{ QuestionKey: box['question_key'] as string, OptionIds: { OptionId: [...optionIds] } }]);
  }

  /**
   * Picks options of a multiple_interaction card (question_key → option id; a question left out keeps
   * its selected_id, or its first option) and presses submit.
   */
  submitMultiple(userId: string, taskId: string, choices: Readonly<Record<string, string>>): Promise<CallbackDelivery> {
    const card = this.interactiveCard(userId, taskId, 'multiple_interaction');
    const selects = card.card['select_list'] as Json[];
    for (const q of Object.keys(choices)) if (!selects.some((s) => s['question_key'] === q)) throw new MemberActionRefused(`the card ${taskId} has no question ${q}`);
    const items = selects.map((s) => {
      const q = s['question_key'] as string;
      const options = (s['option_list'] as Json[]).map((o) => o['id'] as string);
      const chosen = choices[q] ?? (typeof s['selected_id'] === 'string' && options.includes(s['selected_id']) ? s['selected_id'] : options[0]!);
      if (!options.includes(chosen)) throw new MemberActionRefused(`the question ${q} has no option ${chosen}`);
      return { QuestionKey: q, OptionIds: { OptionId: [chosen] } };
    });
    const submit = card.card['submit_button'] as Json;
    return this.cardEvent(userId, card, submit['key'] as string, items);
  }

  /** The member opens the application (enter_agent). */
  enterApp(userId: string): Promise<CallbackDelivery> {
    return this.sendPlain('enter_agent', userId, this.plain(userId, { MsgType: 'event', Event: 'enter_agent', EventKey: '' }));
  }

  subscribe(userId: string): Promise<CallbackDelivery> {
    return this.sendPlain('subscribe', userId, this.plain(userId, { MsgType: 'event', Event: 'subscribe' }));
  }

  // ---------------------------------------------------------------------------------------------
  // What WeCom would not send, for the product's refusals.

  /** Sends an earlier delivery again, byte for byte (the last one by default), once. */
  replay(deliveryId?: number): Promise<CallbackDelivery> {
    const list = this.world.deliveries.filter((d) => d.method === 'POST');
    const original = deliveryId === undefined ? list.at(-1) : list.find((d) => d.id === deliveryId);
    if (!original) throw new MemberActionRefused('nothing to replay');
    return this.sender.post(`replay:${original.kind}`, original.userId, { query: { ...original.query }, body: original.body }, { retries: 0 });
  }

  /** A text callback whose msg_signature is wrong. */
  forgeBadSignature(userId: string, content: string): Promise<CallbackDelivery> {
    const plain = this.plain(userId, { MsgType: 'text', Content: content, MsgId: this.world.nextMsgId() });
    return this.sender.post('forged_signature', userId, this.sender.seal(plain, { badSignature: true }), { retries: 0 });
  }

  /** A press of a button the member's card shows, in a callback whose msg_signature is wrong. */
  forgeBadSignaturePress(userId: string, taskId: string, key: string): Promise<CallbackDelivery> {
    const card = this.interactiveCard(userId, taskId, 'button_interaction');
    const plain = this.plain(userId, {
      MsgType: 'event',
      Event: 'template_card_event',
      EventKey: key,
      TaskId: card.taskId,
      CardType: card.cardType,
      ResponseCode: this.world.id('rc', 16),
    });
    return this.sender.post('forged_signature', userId, this.sender.seal(plain, { badSignature: true }), { retries: 0 });
  }

  /** A correctly signed text callback whose timestamp is `ageSeconds` old (negative: ahead). */
  sendStale(userId: string, content: string, ageSeconds = 3600): Promise<CallbackDelivery> {
    const timestamp = this.world.nowSeconds() - ageSeconds;
    const plain = this.plain(userId, { MsgType: 'text', Content: content, MsgId: this.world.nextMsgId() }, timestamp);
    return this.sender.post('stale_timestamp', userId, this.sender.seal(plain, { timestamp }), { retries: 0 });
  }

  /** A signed text callback sealed for another corp. */
  sendForOtherCorp(userId: string, content: string, otherCorpId = 'wwsomeothercorp0001'): Promise<CallbackDelivery> {
    const plain = this.plain(userId, { MsgType: 'text', Content: content, MsgId: this.world.nextMsgId() });
    return this.sender.post('other_corp', userId, this.sender.seal(plain, { receiveId: otherCorpId }), { retries: 0 });
  }

  /** Any plaintext, correctly sealed and signed (malformed payloads). */
  sendRawPlaintext(plaintext: string): Promise<CallbackDelivery> {
    return this.sender.post('raw', undefined, this.sender.seal(plaintext), { retries: 0 });
  }

  /** The GET verification of the callback URL; `echoed`: the product decrypted and returned echostr. */
  verifyCallbackUrl(): Promise<CallbackDelivery & { echoed: boolean }> {
    return this.sender.verifyUrl();
  }

  // ---------------------------------------------------------------------------------------------
  // Inspecting.

  /** What the member received, in order (messages dropped over the per-member limit are not here). */
  messagesOf(userId: string): ReceivedMessage[] {
    return clone(this.world.inbox.get(userId.toLowerCase()) ?? []);
  }

  /** Messages WeCom accepted for the member but dropped (over 30 a minute or 1 000 an hour). */
  droppedFor(userId: string): ReceivedMessage[] {
    return clone(this.world.dropped.get(userId.toLowerCase()) ?? []);
  }

  /** The member's cards as they look now. */
  cardsOf(userId: string): CardState[] {
    return clone([...(this.world.cards.get(userId.toLowerCase())?.values() ?? [])]);
  }

  cardOf(userId: string, taskId: string): CardState | undefined {
    const c = this.world.cardOf(userId, taskId);
    return c ? clone(c) : undefined;
  }

  /** An uploaded file the member can open (a sent .docx): its name, type and bytes. */
  mediaFile(mediaId: string): { filename: string; contentType: string; data: Buffer } | undefined {
    const m = this.world.media.get(mediaId);
    return m ? { filename: m.filename, contentType: m.contentType, data: m.data } : undefined;
  }

  /** Every member's chat and cards emptied (the sandbox's "start afresh"); how many messages went. */
  clearChats(): number {
    return this.world.clearChats();
  }

  /** How many calls of `api` ('gettoken', 'message/send'…) were made. */
  callsOf(api: string): number {
    return this.world.requests.filter((r) => r.api === api).length;
  }

  // ---------------------------------------------------------------------------------------------
  // Faults, tokens and limits.

  /** Every access token handed out so far answers 42001 (expired) from now on. */
  expireTokens(): void {
    for (const t of this.world.tokens.values()) t.endedAs ??= 'expired';
  }

  /** Every access token handed out so far answers 40014 (invalid) from now on. */
  revokeTokens(): void {
    for (const t of this.world.tokens.values()) t.endedAs = 'revoked';
  }

  /** The next `times` calls of `api` ('message/send', 'gettoken'…, or '*') meet `fault`. */
  failNext(api: string, fault: WecomFault, times = 1): void {
    this.world.faults.failNext(api, fault, times);
  }

  /** Faults at a seeded rate on some APIs from now on (null: none); faults armed with failNext come first. */
  setFaultPlan(plan: WecomFaultPlan | null): void {
    this.world.faults.setPlan(plan);
  }

  /** Faults armed and the plan, gone. */
  clearFaults(): void {
    this.world.faults.clear();
  }

  /** WeCom's frequency limits anew (counters reset), or off. */
  setLimits(cfg: false | StandInLimitsConfig): void {
    this.world.setLimits(cfg);
  }

  // ---------------------------------------------------------------------------------------------

  private plain(userId: string, fields: XmlTree, createTime = this.world.nowSeconds()): string {
    const { config } = this.world;
    return xmlOf({ ToUserName: config.corpId, FromUserName: userId, CreateTime: createTime, ...fields, AgentID: config.agentId });
  }

  private sendPlain(kind: string, userId: string, plaintext: string): Promise<CallbackDelivery> {
    if (!this.world.members.has(userId.toLowerCase())) throw new MemberActionRefused(`no member ${userId}`);
    return this.sender.post(kind, userId, this.sender.seal(plaintext));
  }

  private interactiveCard(userId: string, taskId: string, type: string): CardState {
    const card = this.world.cardOf(userId, taskId);
    if (!card) throw new MemberActionRefused(`the member has no card ${taskId}`);
    if (card.cardType !== type) throw new MemberActionRefused(`the card ${taskId} is a ${card.cardType}, not a ${type}`);
    if (card.disabledLabel !== undefined) throw new MemberActionRefused(`the card ${taskId} is disabled (${card.disabledLabel})`);
    return card;
  }

  private cardEvent(userId: string, card: CardState, eventKey: string, selected: XmlTree[] | undefined): Promise<CallbackDelivery> {
    const fields: XmlTree = {
      MsgType: 'event',
      Event: 'template_card_event',
      EventKey: eventKey,
      TaskId: card.taskId,
      CardType: card.cardType,
      ResponseCode: this.world.issueResponseCode(card.taskId, 'callback'),
    };
    if (selected) fields['SelectedItems'] = { SelectedItem: selected };
    return this.sendPlain('template_card_event', userId, this.plain(userId, fields));
  }
}
