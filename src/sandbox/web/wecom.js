// The WeCom panes of the sandbox page: a person bound on WeCom (and preferring it) sees the application's
// chat as WeCom shows it — template cards (title, quote, text, the key–value rows, buttons; a vote or a
// multiple-choice card with its options and submit), text and markdown messages, files — and acts as a
// WeCom member: a press, a submitted choice or a typed line becomes a signed, encrypted callback from the
// WeCom stand-in to the product (through the sandbox's routes, src/sandbox/sandbox-routes.ts). A card is
// redrawn in place when the product updates it (update_template_card).
// Plain ES module, no build step; app.js owns the pane's shell, its tab and the page's strings.

/** A new time line between messages further apart than this, as WeCom's chat does. */
const TIME_GAP_MS = 3 * 60_000;
/** A press with no redraw after this long stops showing as pending (WeCom's client gives up too). */
const PRESS_PENDING_MS = 10_000;

/**
 * @param {object} ctx
 * @param {(key: string, params?: object) => string} ctx.t
 * @param {() => object} ctx.config the page's config (its `wecom` URLs, `location`)
 * @param {(ms: number) => string} ctx.timeOf a time of day in the bureau's zone
 * @param {(ms: number) => string} ctx.fullTime date and time in the bureau's zone, for a tooltip
 * @param {(pane: object, text: string) => void} ctx.toast
 * @param {(pane: object) => void} ctx.incoming a message from the application arrived in the pane
 * @param {() => Iterable<object>} ctx.panes every pane of the page
 */
export function createWecomPanes(ctx) {
  const { t } = ctx;
  const urls = () => ctx.config().wecom;
  const wecomPanes = () => [...ctx.panes()].filter((p) => p.kind === 'wecom');
  const paneOf = (userId) => wecomPanes().find((p) => p.person.wecomUserId?.toLowerCase() === String(userId).toLowerCase());

  async function call(url, body) {
    const res = await fetch(url, body === undefined
      ? { cache: 'no-store' }
      : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.error || `HTTP ${res.status}`);
    return data;
  }

  const act = (pane, body) => call(urls().act, { userId: pane.person.wecomUserId, ...body });

  // -------------------------------------------------------------------------- the pane

  /** Turns a pane shell (app.js) into a WeCom member's chat with the application. */
  function setup(pane) {
    pane.kind = 'wecom';
    pane.received = new Map();
    pane.sent = new Map();
    pane.cards = new Map();
    /** taskId -> option ids ticked on a vote card, kept across redraws of the page. */
    pane.ticked = new Map();
    /** taskId -> { question_key: option id } picked on a multiple-choice card. */
    pane.picked = new Map();
    const el = pane.el;
    el.classList.add('wecom');
    el.dataset.channel = 'wecom';
    const head = el.querySelector('.pane-head');
    const badge = document.createElement('span');
    badge.className = 'wecom-badge';
    badge.dataset.testid = 'wecom-badge';
    head.querySelector('.who .name').append(badge);
    const title = document.createElement('div');
    title.className = 'wecom-title';
    title.dataset.testid = 'wecom-app-title';
    head.after(title);
    el.querySelector('.menu-btn').hidden = true;
    const form = el.querySelector('.composer');
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void sendText(pane, pane.input.value);
    });
    pane.input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        void sendText(pane, pane.input.value);
      }
    });
    el.querySelector('.location-btn').addEventListener('click', () => void sendLocation(pane));
    el.querySelector('.photo-btn').addEventListener('click', () => void sendImage(pane));
    applyStrings(pane);
  }

  function applyStrings(pane) {
    pane.el.querySelector('.wecom-badge').textContent = t('wecom.badge');
    pane.el.querySelector('.wecom-badge').title = t('wecom.badge.hint');
    pane.el.querySelector('.wecom-title').textContent = t('wecom.app_name');
    pane.el.querySelector('.photo-btn').title = t('wecom.composer.image');
    pane.el.querySelector('.photo-btn').setAttribute('aria-label', t('wecom.composer.image'));
    pane.input.placeholder = t('sandbox.composer.placeholder');
  }

  async function load(pane) {
    const { users } = await call(urls().state);
    const chat = users.find((u) => u.userId.toLowerCase() === pane.person.wecomUserId.toLowerCase());
    pane.received.clear();
    pane.sent.clear();
    pane.cards.clear();
    for (const m of chat?.received ?? []) pane.received.set(m.msgId, m);
    for (const s of chat?.sent ?? []) pane.sent.set(s.id, s);
    for (const c of chat?.cards ?? []) pane.cards.set(c.taskId, c);
    renderAll(pane);
  }

  /** The chat in order: what the application sent and what the member sent, by time. */
  function timeline(pane) {
    const items = [
      ...[...pane.received.values()].map((m) => ({ at: m.at, id: m.msgId, from: 'app', m })),
      ...[...pane.sent.values()].map((s) => ({ at: s.at, id: s.id, from: 'member', m: s })),
    ];
    return items.sort((a, b) => a.at - b.at);
  }

  function renderAll(pane) {
    const stick = nearBottom(pane);
    pane.history.replaceChildren();
    let last = -Infinity;
    for (const item of timeline(pane)) {
      if (item.at - last > TIME_GAP_MS) pane.history.append(timeLine(item.at));
      last = item.at;
      pane.history.append(renderItem(pane, item));
    }
    if (pane.history.childElementCount === 0) {
      const empty = document.createElement('div');
      empty.className = 'empty';
      empty.textContent = t('wecom.empty');
      pane.history.append(empty);
    }
    if (stick) pane.history.scrollTop = pane.history.scrollHeight;
  }

  function append(pane, item, animate) {
    const stick = nearBottom(pane);
    pane.history.querySelector('.empty')?.remove();
    const items = [...pane.history.querySelectorAll('[data-at]')];
    const previous = items.at(-1);
    if (!previous || item.at - Number(previous.dataset.at) > TIME_GAP_MS) pane.history.append(timeLine(item.at));
    const el = renderItem(pane, item);
    if (animate) el.classList.add('fresh');
    pane.history.append(el);
    if (stick) pane.history.scrollTop = pane.history.scrollHeight;
  }

  function nearBottom(pane) {
    const h = pane.history;
    return h.scrollHeight - h.scrollTop - h.clientHeight < 80;
  }

  function timeLine(at) {
    const el = document.createElement('div');
    el.className = 'wc-time';
    el.textContent = ctx.timeOf(at);
    el.title = ctx.fullTime(at);
    return el;
  }

  function renderItem(pane, item) {
    const row = document.createElement('div');
    row.className = `wc-msg ${item.from === 'app' ? 'in' : 'out'}`;
    row.dataset.at = String(item.at);
    row.dataset.msgId = item.id;
    row.dataset.testid = item.from === 'app' ? 'wecom-message' : 'wecom-member-message';
    row.title = ctx.fullTime(item.at);
    const avatar = document.createElement('div');
    avatar.className = 'wc-avatar';
    avatar.textContent = item.from === 'app' ? t('wecom.app_avatar') : [...pane.person.name][0] ?? '?';
    if (item.from === 'member') avatar.classList.add(pane.person.roleKey);
    row.append(avatar);
    row.append(item.from === 'app' ? renderReceived(pane, item.m) : renderSent(item.m));
    return row;
  }

  function renderSent(s) {
    const bubble = document.createElement('div');
    bubble.className = 'wc-bubble';
    if (s.kind === 'location') {
      bubble.classList.add('wc-location');
      bubble.textContent = `📍 ${s.content ?? t('sandbox.msg.location')}`;
    } else if (s.kind === 'image') {
      bubble.classList.add('wc-image');
      bubble.textContent = `🖼 ${t('sandbox.msg.photo')}`;
    } else {
      bubble.textContent = s.content ?? '';
    }
    return bubble;
  }

  function renderReceived(pane, m) {
    switch (m.msgtype) {
      case 'template_card': {
        const current = pane.cards.get(m.taskId) ?? { taskId: m.taskId, cardType: m.card.card_type, card: m.card };
        return renderCard(pane, current);
      }
      case 'markdown': {
        const bubble = document.createElement('div');
        bubble.className = 'wc-bubble wc-markdown';
        bubble.dataset.testid = 'wecom-markdown';
        bubble.append(markdown(m.content ?? ''));
        return bubble;
      }
      case 'file':
        return renderFile(m.file);
      default: {
        const bubble = document.createElement('div');
        bubble.className = 'wc-bubble';
        bubble.dataset.testid = 'wecom-text';
        bubble.textContent = m.content ?? '';
        return bubble;
      }
    }
  }

  function renderFile(file) {
    const a = document.createElement('a');
    a.className = 'wc-file';
    a.dataset.testid = 'wecom-file';
    a.href = `${urls().files}/${encodeURIComponent(file.mediaId)}`;
    a.download = file.filename;
    const info = document.createElement('div');
    info.className = 'wc-file-info';
    const name = document.createElement('div');
    name.className = 'wc-file-name';
    name.textContent = file.filename;
    const size = document.createElement('div');
    size.className = 'wc-file-size';
    size.textContent = file.size >= 1024 ? `${Math.round(file.size / 102.4) / 10} KB` : `${file.size} B`;
    info.append(name, size);
    const icon = document.createElement('div');
    const ext = (/\.([a-z0-9]+)$/i.exec(file.filename)?.[1] ?? '').toLowerCase();
    icon.className = `wc-file-icon ${ext === 'docx' || ext === 'doc' ? 'word' : ext === 'csv' || ext === 'xlsx' ? 'sheet' : ''}`;
    icon.textContent = ext === 'docx' || ext === 'doc' ? 'W' : ext === 'csv' || ext === 'xlsx' ? 'X' : '▤';
    a.append(info, icon);
    return a;
  }

  // -------------------------------------------------------------------------- template cards

  function renderCard(pane, state) {
    const card = state.card;
    const box = document.createElement('div');
    box.className = `wc-card ${card.card_type}`;
    box.dataset.testid = 'wecom-card';
    box.dataset.taskId = state.taskId;
    box.dataset.cardType = card.card_type;
    if (card.source?.desc) {
      const source = document.createElement('div');
      source.className = 'wc-source';
      source.textContent = card.source.desc;
      box.append(source);
    }
    if (card.main_title?.title || card.main_title?.desc) {
      const title = document.createElement('div');
      title.className = 'wc-card-title';
      title.dataset.testid = 'wecom-card-title';
      title.textContent = card.main_title.title ?? '';
      box.append(title);
      if (card.main_title.desc) {
        const desc = document.createElement('div');
        desc.className = 'wc-card-desc';
        desc.dataset.testid = 'wecom-card-desc';
        desc.textContent = card.main_title.desc;
        box.append(desc);
      }
    }
    if (card.emphasis_content?.title) {
      const em = document.createElement('div');
      em.className = 'wc-emphasis';
      const big = document.createElement('b');
      big.textContent = card.emphasis_content.title;
      const small = document.createElement('span');
      small.textContent = card.emphasis_content.desc ?? '';
      em.append(big, small);
      box.append(em);
    }
    if (card.quote_area?.quote_text || card.quote_area?.title) {
      const quote = document.createElement('div');
      quote.className = 'wc-quote';
      quote.dataset.testid = 'wecom-card-quote';
      if (card.quote_area.title) {
        const qt = document.createElement('b');
        qt.textContent = card.quote_area.title;
        quote.append(qt);
      }
      if (card.quote_area.quote_text) quote.append(document.createTextNode(card.quote_area.quote_text));
      box.append(quote);
    }
    if (card.sub_title_text) {
      const sub = document.createElement('div');
      sub.className = 'wc-subtitle';
      sub.textContent = card.sub_title_text;
      box.append(sub);
    }
    const rows = card.horizontal_content_list ?? [];
    if (rows.length > 0) {
      const list = document.createElement('dl');
      list.className = 'wc-rows';
      for (const r of rows) {
        const dt = document.createElement('dt');
        dt.textContent = r.keyname;
        const dd = document.createElement('dd');
        if (r.type === 1 && r.url) {
          const a = document.createElement('a');
          a.href = r.url;
          a.target = '_blank';
          a.rel = 'noopener noreferrer';
          a.textContent = r.value ?? r.url;
          dd.append(a);
        } else {
          dd.textContent = r.value ?? '';
        }
        list.append(dt, dd);
      }
      box.append(list);
    }
    for (const j of card.jump_list ?? []) {
      const a = document.createElement('a');
      a.className = 'wc-jump';
      a.href = j.url ?? '#';
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      a.textContent = `${j.title} ›`;
      box.append(a);
    }
    if (card.card_type === 'vote_interaction') box.append(voteArea(pane, state));
    if (card.card_type === 'multiple_interaction') box.append(selectArea(pane, state));
    box.append(actionArea(pane, state));
    return box;
  }

  /** The card's buttons, its submit, or the one grey label an update put in their place. */
  function actionArea(pane, state) {
    const card = state.card;
    const area = document.createElement('div');
    area.className = 'wc-actions';
    if (state.disabledLabel !== undefined) {
      const done = document.createElement('div');
      done.className = 'wc-disabled';
      done.dataset.testid = 'wecom-card-disabled';
      done.textContent = state.disabledLabel;
      area.append(done);
      return area;
    }
    if (card.card_type === 'button_interaction') {
      const buttons = card.button_list ?? [];
      for (const b of buttons) {
        const btn = document.createElement('button');
        btn.type = 'button';
        btn.className = `wc-btn style-${b.style ?? 1}`;
        btn.dataset.testid = 'wecom-button';
        btn.textContent = b.text;
        btn.title = b.text;
        if (b.type === 1) {
          btn.classList.add('url');
          btn.addEventListener('click', () => window.open(b.url, '_blank', 'noopener'));
        } else {
          btn.dataset.key = b.key;
          btn.addEventListener('click', () => void press(pane, state.taskId, btn, { action: 'press', taskId: state.taskId, key: b.key }));
        }
        area.append(btn);
      }
      return area;
    }
    if (card.card_type === 'vote_interaction' || card.card_type === 'multiple_interaction') {
      const btn = document.createElement('button');
      btn.type = 'button';
      btn.className = 'wc-btn wc-submit';
      btn.dataset.testid = 'wecom-submit';
      btn.textContent = card.submit_button?.text || t('wecom.submit');
      btn.addEventListener('click', () => {
        if (card.card_type === 'vote_interaction') {
          const ids = [...(pane.ticked.get(state.taskId) ?? [])];
          if (ids.length === 0) return ctx.toast(pane, t('wecom.pick_first'));
          void press(pane, state.taskId, btn, { action: 'vote', taskId: state.taskId, optionIds: ids });
        } else {
          void press(pane, state.taskId, btn, { action: 'multiple', taskId: state.taskId, choices: { ...(pane.picked.get(state.taskId) ?? {}) } });
        }
      });
      area.append(btn);
    }
    return area;
  }

  function voteArea(pane, state) {
    const box = state.card.checkbox ?? { option_list: [] };
    const multiple = box.mode === 1;
    if (!pane.ticked.has(state.taskId)) pane.ticked.set(state.taskId, new Set(box.option_list.filter((o) => o.is_checked).map((o) => o.id)));
    const ticked = pane.ticked.get(state.taskId);
    const list = document.createElement('div');
    list.className = `wc-options ${multiple ? 'multiple' : 'single'}`;
    list.setAttribute('role', multiple ? 'group' : 'radiogroup');
    const disabled = state.disabledLabel !== undefined;
    for (const o of box.option_list) {
      const row = document.createElement('button');
      row.type = 'button';
      row.className = 'wc-option';
      row.dataset.testid = 'wecom-option';
      row.dataset.optionId = o.id;
      row.setAttribute('role', multiple ? 'checkbox' : 'radio');
      row.setAttribute('aria-checked', String(ticked.has(o.id)));
      row.disabled = disabled;
      const mark = document.createElement('span');
      mark.className = 'wc-mark';
      const text = document.createElement('span');
      text.className = 'wc-option-text';
      text.textContent = o.text;
      row.append(mark, text);
      row.addEventListener('click', () => {
        if (!multiple) ticked.clear();
        if (ticked.has(o.id)) ticked.delete(o.id);
        else ticked.add(o.id);
        for (const r of list.querySelectorAll('.wc-option')) r.setAttribute('aria-checked', String(ticked.has(r.dataset.optionId)));
      });
      list.append(row);
    }
    return list;
  }

  function selectArea(pane, state) {
    const wrap = document.createElement('div');
    wrap.className = 'wc-selects';
    if (!pane.picked.has(state.taskId)) pane.picked.set(state.taskId, {});
    const picked = pane.picked.get(state.taskId);
    for (const s of state.card.select_list ?? []) {
      const label = document.createElement('label');
      label.className = 'wc-select';
      const title = document.createElement('span');
      title.textContent = s.title ?? '';
      const select = document.createElement('select');
      select.dataset.testid = 'wecom-select';
      select.disabled = state.disabledLabel !== undefined;
      for (const o of s.option_list) {
        const opt = document.createElement('option');
        opt.value = o.id;
        opt.textContent = o.text;
        select.append(opt);
      }
      select.value = picked[s.question_key] ?? s.selected_id ?? s.option_list[0]?.id ?? '';
      select.addEventListener('change', () => {
        picked[s.question_key] = select.value;
      });
      label.append(title, select);
      wrap.append(label);
    }
    return wrap;
  }

  /** A press or a submit: the button spins until the product redraws the card (or a while passes). */
  async function press(pane, taskId, button, body) {
    const card = button.closest('.wc-card');
    for (const b of card.querySelectorAll('button')) b.disabled = true;
    button.classList.add('pending');
    const undo = () => {
      if (!button.isConnected) return;
      button.classList.remove('pending');
      for (const b of card.querySelectorAll('button')) b.disabled = false;
    };
    setTimeout(undo, PRESS_PENDING_MS);
    try {
      const r = await act(pane, body);
      if (!r.ok) ctx.toast(pane, t('wecom.callback_failed', { status: r.status }));
      // A press the product answers with a new message (a choice card, a prompt) leaves this card as it is.
      pane.awaiting = { taskId, undo };
    } catch (err) {
      undo();
      ctx.toast(pane, t('sandbox.error.send', { error: err.message }));
    }
  }

  // -------------------------------------------------------------------------- acting as the member

  async function sendText(pane, raw) {
    const text = raw.trim();
    if (text === '') return;
    pane.input.value = '';
    try {
      await act(pane, { action: 'text', content: text });
    } catch (err) {
      pane.input.value = raw;
      ctx.toast(pane, t('sandbox.error.send', { error: err.message }));
    }
  }

  async function sendLocation(pane) {
    const where = ctx.config().location;
    try {
      await act(pane, { action: 'location', latitude: where.latitude, longitude: where.longitude, label: where.label });
    } catch (err) {
      ctx.toast(pane, t('sandbox.error.send', { error: err.message }));
    }
  }

  async function sendImage(pane) {
    try {
      await act(pane, { action: 'image' });
    } catch (err) {
      ctx.toast(pane, t('sandbox.error.send', { error: err.message }));
    }
  }

  // -------------------------------------------------------------------------- live

  function connect(onState) {
    const es = new EventSource(urls().events);
    es.addEventListener('message', (ev) => {
      const { userId, message } = JSON.parse(ev.data);
      const pane = paneOf(userId);
      if (!pane || pane.received.has(message.msgId)) return;
      pane.received.set(message.msgId, message);
      if (pane.awaiting && message.msgtype !== 'template_card') {
        pane.awaiting.undo();
        pane.awaiting = undefined;
      }
      append(pane, { at: message.at, id: message.msgId, from: 'app', m: message }, true);
      ctx.incoming(pane);
    });
    es.addEventListener('card', (ev) => {
      const { userId, card } = JSON.parse(ev.data);
      const pane = paneOf(userId);
      if (!pane) return;
      // The first rendering comes with the message; every later one is an update, drawn in place.
      const update = pane.cards.has(card.taskId);
      pane.cards.set(card.taskId, card);
      const old = pane.history.querySelector(`.wc-card[data-task-id="${CSS.escape(card.taskId)}"]`);
      if (!old) return;
      const next = renderCard(pane, card);
      if (update) {
        next.classList.add('redrawn');
        next.dataset.redrawn = 'true';
      }
      old.replaceWith(next);
      if (pane.awaiting?.taskId === card.taskId) pane.awaiting = undefined;
    });
    es.addEventListener('member', (ev) => {
      const { userId, entry } = JSON.parse(ev.data);
      const pane = paneOf(userId);
      if (!pane || pane.sent.has(entry.id)) return;
      pane.sent.set(entry.id, entry);
      append(pane, { at: entry.at, id: entry.id, from: 'member', m: entry }, true);
    });
    es.addEventListener('cleared', () => {
      for (const pane of wecomPanes()) void load(pane);
    });
    let opened = false;
    es.addEventListener('open', () => {
      onState?.(true);
      // Whatever happened while disconnected is in the state: read it again.
      if (opened) for (const pane of wecomPanes()) void load(pane);
      opened = true;
    });
    es.addEventListener('error', () => onState?.(false));
    return es;
  }

  return { setup, load, connect, rerender: (pane) => { applyStrings(pane); renderAll(pane); } };
}

// ---------------------------------------------------------------------------- WeCom's markdown

// The subset WeCom's application messages support: headings, **bold**, [links](url), `code`, quoted
// lines (>), and <font color="info|comment|warning">. Built as DOM nodes, never as HTML.

const INLINE = /\*\*([\s\S]+?)\*\*|\[([^\]]+)\]\(([^)\s]+)\)|`([^`]+)`|<font color="(info|comment|warning)">([\s\S]*?)<\/font>/g;

function inline(parent, text) {
  let pos = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > pos) parent.append(text.slice(pos, m.index));
    if (m[1] !== undefined) {
      const b = document.createElement('b');
      inline(b, m[1]);
      parent.append(b);
    } else if (m[2] !== undefined) {
      const a = document.createElement('a');
      if (/^https?:\/\//i.test(m[3])) {
        a.href = m[3];
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
      }
      a.textContent = m[2];
      parent.append(a);
    } else if (m[4] !== undefined) {
      const c = document.createElement('code');
      c.textContent = m[4];
      parent.append(c);
    } else {
      const f = document.createElement('span');
      f.className = `wc-font-${m[5]}`;
      inline(f, m[6]);
      parent.append(f);
    }
    pos = m.index + m[0].length;
  }
  if (pos < text.length) parent.append(text.slice(pos));
}

export function markdown(text) {
  const frag = document.createDocumentFragment();
  for (const line of text.split('\n')) {
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const quote = /^>\s?(.*)$/.exec(line);
    let el;
    if (heading) {
      el = document.createElement('div');
      el.className = `wc-h wc-h${heading[1].length}`;
      inline(el, heading[2]);
    } else if (quote) {
      el = document.createElement('div');
      el.className = 'wc-md-quote';
      inline(el, quote[1]);
    } else {
      el = document.createElement('div');
      el.className = 'wc-md-line';
      if (line === '') el.append('\u00a0');
      else inline(el, line);
    }
    frag.append(el);
  }
  return frag;
}
