// The sandbox page: one Telegram-like chat pane per person of the example organisation. It talks only
// to the Bot API stand-in's control API (/sandbox/api/*) and reads its config (persons, shortened
// policy times, strings from the bot's message catalogue) from sandbox-page/config.json.
// Plain ES module, no build step, nothing fetched from the internet.

const API = '/sandbox/api';
const CONFIG_URL = 'sandbox-page/config.json';

const state = {
  config: null,
  lang: 'zh',
  /** chatId -> pane */
  panes: new Map(),
  /** callback_query_id -> { pane, button } waiting for the bot's answer */
  pendingPresses: new Map(),
  /** callback answers that arrived before the press request returned */
  earlyAnswers: new Map(),
  connected: false,
  everConnected: false,
};

// ---------------------------------------------------------------------------- strings

function t(key, params = {}) {
  const table = state.config?.strings?.[state.lang] ?? {};
  const template = table[key] ?? state.config?.strings?.zh?.[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (m, name) => (params[name] === undefined ? m : String(params[name])));
}

function formatDuration(seconds) {
  if (seconds % 86400 === 0 && seconds >= 86400) return t('sandbox.unit.days', { n: seconds / 86400 });
  if (seconds % 3600 === 0 && seconds >= 3600) return t('sandbox.unit.hours', { n: seconds / 3600 });
  if (seconds % 60 === 0 && seconds >= 60) return t('sandbox.unit.minutes', { n: seconds / 60 });
  if (seconds >= 120) return t('sandbox.unit.minutes', { n: Math.round(seconds / 6) / 10 });
  return t('sandbox.unit.seconds', { n: seconds });
}

function applyStaticStrings() {
  document.documentElement.lang = state.lang === 'en' ? 'en' : 'zh-CN';
  document.title = t('sandbox.title');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
}

// ---------------------------------------------------------------------------- HTTP

async function api(path, body) {
  const res = await fetch(`${API}${path}`, body === undefined
    ? { cache: 'no-store' }
    : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || data.description || `HTTP ${res.status}`);
  return data;
}

// ---------------------------------------------------------------------------- top bar

function renderPolicy() {
  const p = state.config.policy;
  document.getElementById('policy-scale').textContent = t('sandbox.policy.scale', { scale: p.scaleLabel });
  const list = document.getElementById('policy-rows');
  list.replaceChildren();
  for (const row of p.rows) {
    const item = document.createElement('div');
    item.className = 'policy-item';
    const label = document.createElement('span');
    label.className = 'policy-label';
    label.textContent = t(row.labelKey);
    const value = document.createElement('b');
    value.dataset.testid = `policy-${row.id}`;
    value.textContent = row.seconds.map(formatDuration).join(' / ');
    const small = document.createElement('small');
    small.textContent = t('sandbox.policy.was', { value: row.productionSeconds.map(formatDuration).join(' / ') });
    item.append(label, value, small);
    list.append(item);
  }
  const links = document.getElementById('links');
  links.replaceChildren();
  for (const l of state.config.links ?? []) {
    const a = document.createElement('a');
    a.href = l.url;
    a.target = '_blank';
    a.rel = 'noopener';
    a.textContent = l.label;
    links.append(a);
  }
  const ack = p.rows.find((r) => r.id === 'ack');
  document.getElementById('walkthrough').textContent = t('sandbox.walkthrough', { ack: ack ? formatDuration(ack.seconds[0]) : '' });
}

function renderMorePeople() {
  const select = document.getElementById('more-people');
  select.replaceChildren();
  const first = document.createElement('option');
  first.value = '';
  first.textContent = t('sandbox.more_people');
  select.append(first);
  for (const person of state.config.persons) {
    if (state.panes.has(person.chatId)) continue;
    const opt = document.createElement('option');
    opt.value = String(person.chatId);
    opt.textContent = `${person.name} · ${roleLabel(person)}`;
    select.append(opt);
  }
}

function roleLabel(person) {
  const unit = state.lang === 'en' ? person.unitEn || person.unit : person.unit;
  return `${t(`sandbox.role.${person.roleKey}`)} · ${unit}`;
}

function setStatus(ok) {
  const el = document.getElementById('status');
  el.textContent = ok ? t('sandbox.connection.ok') : t('sandbox.connection.lost');
  el.classList.toggle('lost', !ok);
}

// ---------------------------------------------------------------------------- panes

function createPane(person, closable) {
  const node = document.getElementById('pane-template').content.firstElementChild.cloneNode(true);
  node.dataset.person = person.key;
  node.dataset.chatId = String(person.chatId);
  const pane = {
    person,
    el: node,
    history: node.querySelector('.history'),
    input: node.querySelector('.input'),
    roleEl: node.querySelector('.role'),
    messages: new Map(),
    typingTimer: null,
    toastTimer: null,
  };
  const avatar = node.querySelector('.avatar');
  avatar.textContent = [...person.name][0] ?? '?';
  avatar.classList.add(person.roleKey);
  node.querySelector('.name').textContent = person.name;
  pane.roleEl.textContent = roleLabel(person);
  const close = node.querySelector('.close-pane');
  if (closable) {
    close.hidden = false;
    close.addEventListener('click', () => {
      state.panes.delete(person.chatId);
      node.remove();
      renderMorePeople();
    });
  }

  const form = node.querySelector('.composer');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void sendText(pane, pane.input.value);
  });
  pane.input.placeholder = t('sandbox.composer.placeholder');
  pane.input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      void sendText(pane, pane.input.value);
    }
  });
  pane.input.addEventListener('input', () => autoGrow(pane.input));
  const loc = node.querySelector('.location-btn');
  loc.title = t('sandbox.composer.location');
  loc.setAttribute('aria-label', loc.title);
  loc.addEventListener('click', () => void sendLocation(pane));
  const photo = node.querySelector('.photo-btn');
  photo.title = t('sandbox.composer.photo');
  photo.setAttribute('aria-label', photo.title);
  photo.addEventListener('click', () => void sendPhoto(pane));
  const send = node.querySelector('.send-btn');
  send.title = t('sandbox.composer.send');
  send.setAttribute('aria-label', send.title);
  const menuBtn = node.querySelector('.menu-btn');
  menuBtn.title = t('sandbox.composer.menu');
  menuBtn.setAttribute('aria-label', menuBtn.title);
  menuBtn.addEventListener('click', () => void toggleMenu(pane));
  node.querySelector('.alert-ok').addEventListener('click', () => {
    node.querySelector('.alert').hidden = true;
  });

  state.panes.set(person.chatId, pane);
  document.getElementById('panes').append(node);
  return pane;
}

function autoGrow(textarea) {
  textarea.style.height = 'auto';
  textarea.style.height = `${Math.min(textarea.scrollHeight, 120)}px`;
}

async function loadHistory(pane) {
  const list = await api(`/chats/${pane.person.chatId}/messages`);
  pane.messages.clear();
  pane.history.replaceChildren();
  for (const m of list) upsertMessage(pane, m, false);
  renderEmpty(pane);
  renderReplyKeyboard(pane);
  scrollToBottom(pane, true);
}

function renderEmpty(pane) {
  const live = [...pane.messages.values()].some((m) => !m.deleted);
  let empty = pane.history.querySelector('.empty');
  if (live) {
    empty?.remove();
    return;
  }
  if (!empty) {
    empty = document.createElement('div');
    empty.className = 'empty';
    pane.history.append(empty);
  }
  empty.textContent = t('sandbox.msg.empty');
}

function isNearBottom(pane) {
  const h = pane.history;
  return h.scrollHeight - h.scrollTop - h.clientHeight < 80;
}

function scrollToBottom(pane, force) {
  if (force || pane.stickToBottom) pane.history.scrollTop = pane.history.scrollHeight;
}

/** Adds or replaces one message, keeping its place in the chat (edits happen in place). */
function upsertMessage(pane, m, animate) {
  pane.stickToBottom = isNearBottom(pane);
  const previous = pane.messages.get(m.message_id);
  pane.messages.set(m.message_id, m);
  const old = pane.history.querySelector(`[data-message-id="${m.message_id}"]`);
  if (m.deleted) {
    old?.remove();
    renderEmpty(pane);
    return;
  }
  const el = renderMessage(pane, m);
  if (animate) el.classList.add(previous ? 'edited-now' : 'fresh');
  if (old) {
    old.replaceWith(el);
  } else {
    // Keep message-id order even if events arrive out of order.
    const after = [...pane.history.querySelectorAll('[data-message-id]')].find((x) => Number(x.dataset.messageId) > m.message_id);
    if (after) pane.history.insertBefore(el, after);
    else pane.history.append(el);
  }
  renderEmpty(pane);
  if (m.from_bot) stopTyping(pane);
  scrollToBottom(pane, false);
}

function pad(n) {
  return String(n).padStart(2, '0');
}

function timeOf(unixSeconds) {
  const d = new Date(unixSeconds * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function renderMessage(pane, m) {
  if (m.pinned_message_id !== undefined && m.text === undefined && m.caption === undefined) {
    const s = document.createElement('div');
    s.className = 'service';
    s.dataset.messageId = String(m.message_id);
    s.textContent = `📌 ${m.from_bot ? t('sandbox.msg.bot') : pane.person.name} ${t('sandbox.msg.pinned')}`;
    return s;
  }
  const wrap = document.createElement('div');
  wrap.className = `msg ${m.from_bot ? 'in' : 'out'}`;
  wrap.dataset.messageId = String(m.message_id);
  wrap.dataset.testid = m.from_bot ? 'bot-message' : 'user-message';
  if (m.edit_date) wrap.dataset.edited = 'true';
  const bubble = document.createElement('div');
  bubble.className = 'bubble';

  const media = renderMedia(m);
  if (media) bubble.append(media);
  const body = m.text ?? m.caption;
  if (body !== undefined && body !== '') {
    const text = document.createElement('div');
    text.className = 'text';
    text.append(renderEntities(pane, body, m.text !== undefined ? m.entities ?? [] : m.caption_entities ?? []));
    bubble.append(text);
  }
  const meta = document.createElement('span');
  meta.className = 'meta';
  if (m.edit_date) {
    const edited = document.createElement('span');
    edited.className = 'edited';
    edited.dataset.testid = 'edited-marker';
    edited.textContent = t('sandbox.msg.edited');
    meta.append(edited);
  }
  const time = document.createElement('time');
  time.dateTime = new Date((m.edit_date ?? m.date) * 1000).toISOString();
  time.textContent = timeOf(m.date);
  meta.append(time);
  bubble.append(meta);
  wrap.append(bubble);

  const rows = m.reply_markup?.inline_keyboard ?? [];
  if (rows.length > 0) wrap.append(renderInlineKeyboard(pane, m, rows));
  return wrap;
}

function renderMedia(m) {
  const box = document.createElement('div');
  if (m.photo) {
    box.className = 'media photo';
    box.textContent = `🖼 ${t('sandbox.msg.photo')}`;
    return box;
  }
  if (m.location) {
    box.className = 'media location';
    const title = document.createElement('b');
    title.textContent = `📍 ${t('sandbox.msg.location')}`;
    const coords = document.createElement('span');
    coords.textContent = `${m.location.latitude.toFixed(5)}, ${m.location.longitude.toFixed(5)}`;
    box.append(title, coords);
    return box;
  }
  if (m.document) {
    box.className = 'media document';
    box.textContent = `📄 ${m.document.file_name ?? t('sandbox.msg.document')}`;
    return box;
  }
  if (m.voice) {
    box.className = 'media voice';
    box.textContent = `🎤 ${t('sandbox.msg.voice')} · ${m.voice.duration}s`;
    return box;
  }
  return null;
}

// Telegram entities (offsets in UTF-16 units, as JavaScript strings count) → DOM, nested.
function renderEntities(pane, text, entities) {
  const frag = document.createDocumentFragment();
  const sorted = [...entities].sort((a, b) => a.offset - b.offset || b.length - a.length);
  build(frag, text, 0, text.length, sorted, pane);
  return frag;
}

function build(parent, text, start, end, ents, pane) {
  let pos = start;
  let i = 0;
  while (i < ents.length) {
    const e = ents[i];
    if (e.offset >= end) break;
    if (e.offset < pos) {
      i++;
      continue;
    }
    if (e.offset > pos) parent.append(text.slice(pos, e.offset));
    const eEnd = Math.min(e.offset + e.length, end);
    const inner = [];
    let j = i + 1;
    while (j < ents.length && ents[j].offset < eEnd) inner.push(ents[j++]);
    const el = entityElement(e, text.slice(e.offset, eEnd), pane);
    build(el, text, e.offset, eEnd, inner, pane);
    parent.append(el);
    pos = eEnd;
    i = j;
  }
  if (pos < end) parent.append(text.slice(pos, end));
}

function entityElement(e, content, pane) {
  const make = (tag, cls) => {
    const el = document.createElement(tag);
    if (cls) el.className = cls;
    return el;
  };
  switch (e.type) {
    case 'bold': return make('b');
    case 'italic': return make('i');
    case 'underline': return make('u');
    case 'strikethrough': return make('s');
    case 'code': return make('code');
    case 'pre': return make('pre');
    case 'blockquote':
    case 'expandable_blockquote': return make('blockquote');
    case 'spoiler': {
      const el = make('span', 'spoiler');
      el.addEventListener('click', () => el.classList.add('shown'));
      return el;
    }
    case 'text_link':
    case 'url': {
      const a = make('a');
      const href = e.type === 'url' ? (/^[a-z]+:\/\//i.test(content) ? content : `http://${content}`) : e.url;
      if (/^https?:\/\//i.test(href ?? '')) {
        a.href = href;
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
      }
      return a;
    }
    case 'email': {
      const a = make('a');
      a.href = `mailto:${content}`;
      return a;
    }
    case 'bot_command': {
      // As in Telegram: tapping a command in a message sends it.
      const el = make('span', 'cmd');
      el.addEventListener('click', () => void sendText(pane, content));
      return el;
    }
    default: return make('span', e.type);
  }
}

function keyboardRow(className) {
  const r = document.createElement('div');
  r.className = className;
  return r;
}

function keyboardButton(className, testid, text) {
  const btn = document.createElement('button');
  btn.type = 'button';
  btn.className = className;
  btn.dataset.testid = testid;
  btn.textContent = text;
  return btn;
}

function renderInlineKeyboard(pane, m, rows) {
  const kb = document.createElement('div');
  kb.className = 'ikb';
  for (const row of rows) {
    const r = keyboardRow('ikb-row');
    for (const b of row) {
      const btn = keyboardButton('ikb-btn', 'inline-button', b.text);
      btn.title = b.text;
      if (b.callback_data !== undefined) {
        btn.dataset.callbackData = b.callback_data;
        btn.addEventListener('click', () => void press(pane, m.message_id, b.callback_data, btn));
      } else if (b.url !== undefined) {
        btn.classList.add('url');
        btn.addEventListener('click', () => window.open(b.url, '_blank', 'noopener'));
      } else {
        btn.disabled = true;
      }
      r.append(btn);
    }
    kb.append(r);
  }
  return kb;
}

/** The chat's current reply keyboard: set by the latest bot message that carried one. */
function currentReplyKeyboard(pane) {
  const list = [...pane.messages.values()].sort((a, b) => a.message_id - b.message_id);
  for (let i = list.length - 1; i >= 0; i--) {
    const m = list[i];
    if (!m.from_bot || !m.reply_keyboard) continue;
    if (m.reply_keyboard.keyboard) {
      // A one-time keyboard hides once the user answered after it.
      const answered = list.slice(i + 1).some((x) => !x.from_bot);
      return m.reply_keyboard.one_time_keyboard && answered ? null : m.reply_keyboard;
    }
    return null;
  }
  return null;
}

function renderReplyKeyboard(pane) {
  const box = pane.el.querySelector('.reply-keyboard');
  const kb = currentReplyKeyboard(pane);
  box.replaceChildren();
  box.hidden = !kb;
  pane.input.placeholder = kb?.input_field_placeholder ?? t('sandbox.composer.placeholder');
  if (!kb) return;
  for (const row of kb.keyboard) {
    const r = keyboardRow('rk-row');
    for (const b of row) {
      const btn = keyboardButton('rk-btn', 'reply-button', b.request_location ? `📍 ${b.text}` : b.text);
      btn.addEventListener('click', () => void (b.request_location ? sendLocation(pane) : sendText(pane, b.text)));
      if (b.request_contact) btn.disabled = true;
      r.append(btn);
    }
    box.append(r);
  }
}

// ---------------------------------------------------------------------------- acting as the person

async function sendText(pane, raw) {
  const text = raw.trim();
  if (text === '') return;
  pane.input.value = '';
  autoGrow(pane.input);
  hideMenu(pane);
  try {
    await api(`/chats/${pane.person.chatId}/send`, { userId: pane.person.userId, text });
  } catch (err) {
    pane.input.value = raw;
    showToast(pane, t('sandbox.error.send', { error: err.message }));
  }
}

async function sendLocation(pane) {
  const base = state.config.location;
  try {
    await api(`/chats/${pane.person.chatId}/location`, { userId: pane.person.userId, latitude: base.latitude, longitude: base.longitude });
  } catch (err) {
    showToast(pane, t('sandbox.error.send', { error: err.message }));
  }
}

async function sendPhoto(pane) {
  const caption = pane.input.value.trim();
  pane.input.value = '';
  try {
    await api(`/chats/${pane.person.chatId}/photo`, caption ? { userId: pane.person.userId, caption } : { userId: pane.person.userId });
  } catch (err) {
    showToast(pane, t('sandbox.error.send', { error: err.message }));
  }
}

async function press(pane, messageId, data, button) {
  button.classList.add('pending');
  try {
    const r = await api(`/chats/${pane.person.chatId}/press`, { userId: pane.person.userId, messageId, data });
    const early = state.earlyAnswers.get(r.callbackQueryId);
    if (early) {
      state.earlyAnswers.delete(r.callbackQueryId);
      onCallbackAnswer(early, { pane, button });
    } else {
      state.pendingPresses.set(r.callbackQueryId, { pane, button });
      // Telegram clients stop the spinner after a while even if the bot never answers.
      setTimeout(() => {
        if (state.pendingPresses.get(r.callbackQueryId)?.button === button) {
          state.pendingPresses.delete(r.callbackQueryId);
          button.classList.remove('pending');
        }
      }, 15_000);
    }
  } catch (err) {
    button.classList.remove('pending');
    showToast(pane, t('sandbox.error.send', { error: err.message }));
  }
}

function onCallbackAnswer(a, pending) {
  const target = pending ?? state.pendingPresses.get(a.callback_query_id);
  if (!target) {
    state.earlyAnswers.set(a.callback_query_id, a);
    setTimeout(() => state.earlyAnswers.delete(a.callback_query_id), 30_000);
    return;
  }
  state.pendingPresses.delete(a.callback_query_id);
  target.button.classList.remove('pending');
  if (!a.text) return;
  if (a.show_alert) showAlert(target.pane, a.text);
  else showToast(target.pane, a.text);
}

function showToast(pane, text) {
  const toast = pane.el.querySelector('.toast');
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(pane.toastTimer);
  pane.toastTimer = setTimeout(() => {
    toast.hidden = true;
  }, 3000);
}

function showAlert(pane, text) {
  const alert = pane.el.querySelector('.alert');
  alert.querySelector('.alert-text').textContent = text;
  alert.hidden = false;
}

function startTyping(pane) {
  pane.roleEl.textContent = t('sandbox.msg.typing');
  pane.roleEl.classList.add('typing');
  clearTimeout(pane.typingTimer);
  // Telegram shows a chat action for 5 s or until the next message.
  pane.typingTimer = setTimeout(() => stopTyping(pane), 5000);
}

function stopTyping(pane) {
  clearTimeout(pane.typingTimer);
  pane.roleEl.textContent = roleLabel(pane.person);
  pane.roleEl.classList.remove('typing');
}

async function toggleMenu(pane) {
  const menu = pane.el.querySelector('.menu');
  if (!menu.hidden) {
    hideMenu(pane);
    return;
  }
  const lang = pane.person.languageCode ?? '';
  const tries = [`chat_id=${pane.person.chatId}&lang=${lang}`, `chat_id=${pane.person.chatId}`, `scope=all_private_chats&lang=${lang}`, `scope=default&lang=${lang}`, 'scope=all_private_chats', 'scope=default'];
  let commands = [];
  for (const q of tries) {
    commands = await api(`/commands?${q}`).catch(() => []);
    if (commands.length > 0) break;
  }
  menu.replaceChildren();
  if (commands.length === 0) {
    const p = document.createElement('div');
    p.className = 'menu-item';
    p.textContent = t('sandbox.composer.menu_empty');
    menu.append(p);
  }
  for (const c of commands) {
    const item = document.createElement('button');
    item.type = 'button';
    item.className = 'menu-item';
    const b = document.createElement('b');
    b.textContent = `/${c.command}`;
    const s = document.createElement('span');
    s.textContent = c.description;
    item.append(b, s);
    item.addEventListener('click', () => void sendText(pane, `/${c.command}`));
    menu.append(item);
  }
  menu.hidden = false;
}

function hideMenu(pane) {
  pane.el.querySelector('.menu').hidden = true;
}

// ---------------------------------------------------------------------------- drill

async function startDrill() {
  const drill = state.config.drill;
  const button = document.getElementById('drill');
  button.disabled = true;
  setTimeout(() => {
    button.disabled = false;
  }, 2000);
  const person = state.config.persons.find((p) => p.key === drill.personKey) ?? state.config.persons[0];
  let pane = state.panes.get(person.chatId);
  if (!pane) {
    pane = createPane(person, true);
    await loadHistory(pane);
    renderMorePeople();
  }
  pane.el.classList.remove('flash');
  void pane.el.offsetWidth;
  pane.el.classList.add('flash');
  pane.el.scrollIntoView({ behavior: 'smooth', inline: 'center', block: 'nearest' });
  if (drill.mode === 'endpoint') {
    try {
      const res = await fetch(drill.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({}) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
    } catch (err) {
      showToast(pane, t('sandbox.error.send', { error: err.message }));
    }
    return;
  }
  await sendText(pane, drill.command);
}

// ---------------------------------------------------------------------------- live updates

function connectEvents() {
  const es = new EventSource(`${API}/events`);
  const onMessage = (ev) => {
    const m = JSON.parse(ev.data);
    const pane = state.panes.get(m.chat_id);
    if (!pane) return;
    upsertMessage(pane, m, true);
    renderReplyKeyboard(pane);
  };
  es.addEventListener('message', onMessage);
  es.addEventListener('edit', onMessage);
  es.addEventListener('delete', onMessage);
  es.addEventListener('callback_answer', (ev) => onCallbackAnswer(JSON.parse(ev.data)));
  es.addEventListener('chat_action', (ev) => {
    const a = JSON.parse(ev.data);
    const pane = state.panes.get(a.chat_id);
    if (pane && a.action === 'typing') startTyping(pane);
  });
  es.addEventListener('open', () => {
    const reconnected = state.everConnected;
    state.connected = true;
    state.everConnected = true;
    setStatus(true);
    // Whatever happened while disconnected is in the history: reload it.
    if (reconnected) for (const pane of state.panes.values()) void loadHistory(pane);
  });
  es.addEventListener('error', () => {
    state.connected = false;
    setStatus(false);
  });
}

// ---------------------------------------------------------------------------- start

function pickLanguage() {
  const q = new URLSearchParams(location.search).get('lang');
  if (q === 'en' || q === 'zh') return q;
  const stored = localStorage.getItem('sandbox.lang');
  if (stored === 'en' || stored === 'zh') return stored;
  return 'zh';
}

function rerenderAll() {
  applyStaticStrings();
  renderPolicy();
  renderMorePeople();
  setStatus(state.connected);
  for (const pane of state.panes.values()) {
    pane.roleEl.textContent = roleLabel(pane.person);
    for (const m of pane.messages.values()) {
      const old = pane.history.querySelector(`[data-message-id="${m.message_id}"]`);
      if (old && !m.deleted) old.replaceWith(renderMessage(pane, m));
    }
    renderEmpty(pane);
    renderReplyKeyboard(pane);
  }
}

async function main() {
  const res = await fetch(CONFIG_URL, { cache: 'no-store' });
  state.config = await res.json();
  state.lang = pickLanguage();
  applyStaticStrings();
  renderPolicy();
  setStatus(false);
  for (const person of state.config.persons.filter((p) => p.pane)) createPane(person, false);
  renderMorePeople();
  connectEvents();
  await Promise.all([...state.panes.values()].map((p) => loadHistory(p)));

  document.getElementById('drill').addEventListener('click', () => void startDrill());
  document.getElementById('lang').addEventListener('click', () => {
    state.lang = state.lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem('sandbox.lang', state.lang);
    rerenderAll();
  });
  document.getElementById('more-people').addEventListener('change', async (ev) => {
    const chatId = Number(ev.target.value);
    ev.target.value = '';
    const person = state.config.persons.find((p) => p.chatId === chatId);
    if (!person || state.panes.has(chatId)) return;
    const pane = createPane(person, true);
    renderMorePeople();
    await loadHistory(pane);
    pane.el.scrollIntoView({ behavior: 'smooth', inline: 'end' });
  });
  document.body.dataset.ready = 'true';
}

main().catch((err) => {
  document.body.dataset.ready = 'error';
  const p = document.createElement('p');
  p.className = 'status lost';
  p.textContent = String(err);
  document.body.prepend(p);
});
