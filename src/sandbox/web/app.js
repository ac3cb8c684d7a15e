// The sandbox page: one Telegram-like chat pane per person of the example organisation, and the
// trainer's controls (a drill of a chosen type at a chosen office, the day's scheduled runs done now,
// starting afresh). It talks only to the Bot API stand-in's control API (/sandbox/api/*) and to the
// sandbox's trainer routes named in its config (persons, shortened policy times, the bureau's time zone,
// strings from the bot's message catalogue), sandbox-page/config.json.
// A person bound on WeCom (and preferring it) has a WeCom pane instead (wecom.js), beside the Telegram ones.
// Plain ES module, no build step, nothing fetched from the internet.

import { createWecomPanes } from './wecom.js';

const API = '/sandbox/api';
const CONFIG_URL = 'sandbox-page/config.json';
/** Below this width the page is a phone: one pane at a time, the header folded. Same as style.css. */
const PHONE = window.matchMedia('(max-width: 760px)');
/** A screen with room for the introduction and the deadlines above the panes: shown open there. */
const ROOMY = window.matchMedia('(min-width: 1101px) and (min-height: 800px)');
/** Zones that keep China's time: the page calls it 北京时间. */
const BEIJING_ZONES = new Set(['Asia/Shanghai', 'Asia/Chongqing', 'Asia/Chungking', 'Asia/Harbin', 'PRC']);
/** The pane a scheduled run's messages go to, to show it after "run now". */
const RUN_PANE = { contact_reminder: 'officer', contact_check: 'office_head', digest: 'section' };

/**
 * The page's own strings: the trainer's controls and the page chrome. The catalogue's `sandbox.*` strings
 * (config.strings) come first; these fill in what only the page shows.
 */
const PAGE_STRINGS = {
  zh: {
    'trainer.title': '🎓 演练控制台',
    'trainer.about': 'ℹ️ 说明与沙盒时限',
    'trainer.drill.label': '发起演练',
    'trainer.drill.type': '事件类型',
    'trainer.drill.scenario': '疫情情形',
    'trainer.drill.office': '发生地司法所',
    'trainer.drill.started': '已发起演练：事件 {number}（{type}，{office}），见“社区矫正管理科”窗格。',
    'trainer.run.label': '立即运行',
    'trainer.run.contact_reminder': '{time} 联系提醒',
    'trainer.run.contact_check': '{time} 联系检查',
    'trainer.run.digest': '{time} 每日汇总',
    'trainer.run.contact_reminder.hint': '向有外出对象的矫正工作人员发送今日联系提醒（平时每天 {time} 自动运行）',
    'trainer.run.contact_check.hint': '外出对象今日尚无联系记录的，告知司法所所长（平时每天 {time} 自动运行）',
    'trainer.run.digest.hint': '向社区矫正管理科和局领导发送今日汇总（平时每天 {time} 自动运行）',
    'trainer.run.done': '已运行“{what}”：发出 {n} 条消息。',
    'trainer.run.forced': '今日已运行过“{what}”，按演练需要再次运行：发出 {n} 条消息。',
    'trainer.run.nobody_away': '已运行“{what}”：今日没有外出的矫正对象，无消息可发。',
    'trainer.run.all_contacted': '已运行“{what}”：外出对象今日均已联系，无需提醒。',
    'trainer.reset.button': '⟲ 重新开始',
    'trainer.reset.hint': '清空沙盒，从示例机构重新开始',
    'trainer.reset.confirm_title': '从示例机构重新开始？',
    'trainer.reset.confirm': '将清空所有事件、演练、消息、计时和待发通知，重新载入示例机构、矫正对象和外出登记。审计日志保留，并记下这次重置。',
    'trainer.reset.cancel': '取消',
    'trainer.reset.ok': '清空并重新开始',
    'trainer.reset.running': '正在清空并重新载入示例机构……',
    'trainer.reset.done': '已从示例机构重新开始：清除 {n} 条消息，载入 {staff} 名工作人员、{subjects} 名矫正对象、{absences} 项外出登记。',
    'trainer.busy': '正在处理……',
    'trainer.error': '操作失败：{error}',
    'trainer.zone.beijing': '北京时间',
    'trainer.zone.named': '{zone} 时间',
    'trainer.tabs': '人员窗格',
    'trainer.unread': '{n} 条新消息',
    'trainer.document.get': '⬇ 下载',
    'trainer.link.metrics': '运行指标',
    'trainer.link.readyz': '就绪检查',
    'trainer.link.queues': '队列看板',
    'trainer.alert.ok': '确定',
    'trainer.close': '关闭窗格',
    'trainer.more_people': '其他人员',
    'wecom.badge': '企业微信',
    'wecom.badge.hint': '此人绑定了企业微信，通知发到企业微信',
    'wecom.app_name': '应急处置助手',
    'wecom.app_avatar': '应',
    'wecom.composer.image': '发送图片',
    'wecom.empty': '还没有消息。',
    'wecom.submit': '提交',
    'wecom.pick_first': '请先选择一项。',
    'wecom.callback_failed': '回调未被接收（HTTP {status}）',
  },
  en: {
    'trainer.title': '🎓 Drill controls',
    'trainer.about': 'ℹ️ About and sandbox deadlines',
    'trainer.drill.label': 'Start a drill',
    'trainer.drill.type': 'Incident type',
    'trainer.drill.scenario': 'Epidemic scenario',
    'trainer.drill.office': 'Judicial office',
    'trainer.drill.started': 'Drill started: incident {number} ({type}, {office}); see the section’s pane.',
    'trainer.run.label': 'Run now',
    'trainer.run.contact_reminder': '{time} contact reminder',
    'trainer.run.contact_check': '{time} contact check',
    'trainer.run.digest': '{time} daily digest',
    'trainer.run.contact_reminder.hint': 'Reminds the officers whose subjects are away to contact them today (runs daily at {time})',
    'trainer.run.contact_check.hint': 'Tells the office head of each subject away with no contact logged today (runs daily at {time})',
    'trainer.run.digest.hint': 'Sends today’s digest to the section and the leaders (runs daily at {time})',
    'trainer.run.done': 'Ran “{what}”: {n} messages sent.',
    'trainer.run.forced': '“{what}” had already run today; run again for the drill: {n} messages sent.',
    'trainer.run.nobody_away': 'Ran “{what}”: no subject is away today, nothing to send.',
    'trainer.run.all_contacted': 'Ran “{what}”: every subject away has been contacted today.',
    'trainer.reset.button': '⟲ Start afresh',
    'trainer.reset.hint': 'Clear the sandbox and start again from the example organisation',
    'trainer.reset.confirm_title': 'Start afresh from the example organisation?',
    'trainer.reset.confirm': 'Every incident, drill, message, timer and pending notice goes; the example organisation, subjects and absences are loaded again. The audit log stays, and records the reset.',
    'trainer.reset.cancel': 'Cancel',
    'trainer.reset.ok': 'Clear and start afresh',
    'trainer.reset.running': 'Clearing and loading the example organisation…',
    'trainer.reset.done': 'Started afresh: {n} messages cleared; {staff} staff, {subjects} subjects and {absences} absences loaded.',
    'trainer.busy': 'Working…',
    'trainer.error': 'Failed: {error}',
    'trainer.zone.beijing': 'Beijing time',
    'trainer.zone.named': '{zone} time',
    'trainer.tabs': 'Panes',
    'trainer.unread': '{n} new messages',
    'trainer.document.get': '⬇ Download',
    'trainer.link.metrics': 'Metrics',
    'trainer.link.readyz': 'Readiness',
    'trainer.link.queues': 'Queue dashboard',
    'trainer.alert.ok': 'OK',
    'trainer.close': 'Close pane',
    'trainer.more_people': 'More people',
    'wecom.badge': 'WeCom',
    'wecom.badge.hint': 'Bound on WeCom: this person’s notices go to WeCom',
    'wecom.app_name': 'Emergency response assistant',
    'wecom.app_avatar': '应',
    'wecom.composer.image': 'Send a picture',
    'wecom.empty': 'No messages yet.',
    'wecom.submit': 'Submit',
    'wecom.pick_first': 'Pick an option first.',
    'wecom.callback_failed': 'The callback was not taken (HTTP {status})',
  },
};

const state = {
  config: null,
  lang: 'zh',
  /** chatId -> pane */
  panes: new Map(),
  /** The pane shown on a phone (and the tab marked selected). */
  activeChatId: null,
  /** callback_query_id -> { pane, button } waiting for the bot's answer */
  pendingPresses: new Map(),
  /** callback answers that arrived before the press request returned */
  earlyAnswers: new Map(),
  connected: false,
  everConnected: false,
  /** Panes at least half on screen (IntersectionObserver), whose new messages are seen. */
  visible: new Set(),
  observer: null,
};

/** The WeCom panes' part (wecom.js): a pane whose person's channel is wecom. */
const wecom = createWecomPanes({
  t: (key, params) => t(key, params),
  config: () => state.config,
  timeOf: (ms) => zoneFormat('time').format(new Date(ms)),
  fullTime: (ms) => `${zoneFormat('full').format(new Date(ms))} ${zoneLabel()}`,
  toast: (pane, text) => showToast(pane, text),
  incoming: (pane) => countUnseen(pane),
  panes: () => state.panes.values(),
});

const isWecomPerson = (person) => person.channel === 'wecom' && Boolean(person.wecomUserId) && Boolean(state.config?.wecom);

// ---------------------------------------------------------------------------- strings

function t(key, params = {}) {
  const table = state.config?.strings?.[state.lang] ?? {};
  const template = table[key] ?? PAGE_STRINGS[state.lang]?.[key] ?? state.config?.strings?.zh?.[key] ?? PAGE_STRINGS.zh[key] ?? key;
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
  document.getElementById('more-people').setAttribute('aria-label', t('trainer.more_people'));
  document.getElementById('tabs').setAttribute('aria-label', t('trainer.tabs'));
  document.getElementById('drill-type').setAttribute('aria-label', t('trainer.drill.type'));
  document.getElementById('drill-scenario').setAttribute('aria-label', t('trainer.drill.scenario'));
  document.getElementById('drill-office').setAttribute('aria-label', t('trainer.drill.office'));
  for (const btn of document.querySelectorAll('button[data-run]')) {
    btn.textContent = runLabel(btn.dataset.run);
    btn.title = t(`trainer.run.${btn.dataset.run}.hint`, { time: runTime(btn.dataset.run) });
  }
  document.getElementById('reset').title = t('trainer.reset.hint');
}

// ---------------------------------------------------------------------------- the bureau's time

// Every time on the page is the bureau's (config timeZone), not the browser's: the cards the bot draws
// use it too, so a chat's times and a card's times agree wherever the trainer's laptop is.

function zoneLabel() {
  const zone = state.config.timeZone;
  return BEIJING_ZONES.has(zone) ? t('trainer.zone.beijing') : t('trainer.zone.named', { zone });
}

const formatters = new Map();
function zoneFormat(kind) {
  const key = `${kind}:${state.lang}`;
  if (!formatters.has(key)) {
    const locale = state.lang === 'en' ? 'en-GB' : 'zh-CN';
    const opts = kind === 'time'
      ? { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }
      : { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' };
    formatters.set(key, new Intl.DateTimeFormat(locale, { ...opts, timeZone: state.config.timeZone }));
  }
  return formatters.get(key);
}

function renderClock() {
  const el = document.getElementById('zone-clock');
  const now = new Date();
  el.dateTime = now.toISOString();
  el.textContent = `${zoneLabel()} ${zoneFormat('time').format(now)}`;
  el.title = `${zoneFormat('full').format(now)} · ${state.config.timeZone}`;
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
    const key = `trainer.link.${l.id}`;
    a.textContent = t(key) === key ? l.label : t(key);
    a.title = l.label;
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
    opt.textContent = `${person.name} · ${roleLabel(person)}${isWecomPerson(person) ? ` · ${t('wecom.badge')}` : ''}`;
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
  close.setAttribute('aria-label', t('trainer.close'));
  close.title = t('trainer.close');
  if (closable) {
    close.hidden = false;
    close.addEventListener('click', () => {
      state.panes.delete(person.chatId);
      state.visible.delete(person.chatId);
      state.observer?.unobserve(node);
      node.remove();
      if (state.activeChatId === person.chatId) {
        const first = state.panes.values().next().value;
        if (first) showPane(first);
      }
      renderTabs();
      renderMorePeople();
    });
  }

  pane.input.placeholder = t('sandbox.composer.placeholder');
  pane.input.addEventListener('input', () => autoGrow(pane.input));
  const loc = node.querySelector('.location-btn');
  loc.title = t('sandbox.composer.location');
  loc.setAttribute('aria-label', loc.title);
  const photo = node.querySelector('.photo-btn');
  photo.title = t('sandbox.composer.photo');
  photo.setAttribute('aria-label', photo.title);
  const send = node.querySelector('.send-btn');
  send.title = t('sandbox.composer.send');
  send.setAttribute('aria-label', send.title);
  if (isWecomPerson(person)) wecom.setup(pane);
  else wireTelegramComposer(pane);
  const ok = node.querySelector('.alert-ok');
  ok.textContent = t('trainer.alert.ok');
  ok.addEventListener('click', () => {
    node.querySelector('.alert').hidden = true;
  });

  pane.unread = 0;
  node.id = `pane-${person.key}`;
  pane.kind ??= 'telegram';
  state.panes.set(person.chatId, pane);
  document.getElementById('panes').append(node);
  state.observer?.observe(node);
  if (state.activeChatId === null) showPane(pane, { reveal: false });
  renderTabs();
  return pane;
}

/** A Telegram pane's composer: text and commands, location, photo, the command menu. */
function wireTelegramComposer(pane) {
  const node = pane.el;
  node.querySelector('.composer').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void sendText(pane, pane.input.value);
  });
  pane.input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      void sendText(pane, pane.input.value);
    }
  });
  node.querySelector('.location-btn').addEventListener('click', () => void sendLocation(pane));
  node.querySelector('.photo-btn').addEventListener('click', () => void sendPhoto(pane));
  const menuBtn = node.querySelector('.menu-btn');
  menuBtn.title = t('sandbox.composer.menu');
  menuBtn.setAttribute('aria-label', menuBtn.title);
  menuBtn.addEventListener('click', () => void toggleMenu(pane));
}

/** A message to a pane out of sight (on a phone: not the selected one) is counted on its tab. */
function countUnseen(pane) {
  const chatId = pane.person.chatId;
  const seen = PHONE.matches ? chatId === state.activeChatId : state.visible.has(chatId);
  if (seen) return;
  pane.unread += 1;
  renderTabs();
}

// ---------------------------------------------------------------------------- tabs

// One tab per pane. On a phone only the selected pane is shown; on a laptop the strip shows them side by
// side and a tab scrolls to its pane. A tab counts the bot's messages its pane got while out of sight.

function renderTabs() {
  const nav = document.getElementById('tabs');
  nav.replaceChildren();
  for (const pane of state.panes.values()) {
    const tab = document.createElement('button');
    tab.type = 'button';
    tab.className = 'tab';
    tab.setAttribute('role', 'tab');
    tab.setAttribute('aria-controls', pane.el.id);
    tab.setAttribute('aria-selected', String(pane.person.chatId === state.activeChatId));
    tab.dataset.testid = 'pane-tab';
    tab.dataset.person = pane.person.key;
    tab.title = `${pane.person.name} · ${roleLabel(pane.person)}`;
    const dot = document.createElement('span');
    dot.className = `dot ${pane.person.roleKey}`;
    dot.textContent = [...pane.person.name][0] ?? '?';
    const role = document.createElement('span');
    role.textContent = t(`sandbox.role.${pane.person.roleKey}`);
    const name = document.createElement('span');
    name.className = 'tab-name';
    name.textContent = pane.person.name;
    tab.append(dot, role, name);
    if (pane.kind === 'wecom') {
      tab.classList.add('wecom');
      const mark = document.createElement('span');
      mark.className = 'tab-channel';
      mark.textContent = t('wecom.badge');
      tab.append(mark);
      tab.title = `${tab.title} · ${t('wecom.badge')}`;
    }
    if (pane.unread > 0) {
      const badge = document.createElement('span');
      badge.className = 'badge';
      badge.dataset.testid = 'unread-badge';
      badge.textContent = String(pane.unread);
      badge.setAttribute('aria-label', t('trainer.unread', { n: pane.unread }));
      tab.append(badge);
    }
    tab.addEventListener('click', () => showPane(pane));
    nav.append(tab);
  }
}

/** Selects a pane: shown alone on a phone, scrolled into view on a laptop. */
function showPane(pane, opts = {}) {
  state.activeChatId = pane.person.chatId;
  for (const p of state.panes.values()) p.el.classList.toggle('active', p === pane);
  pane.unread = 0;
  renderTabs();
  if (PHONE.matches) {
    scrollToBottom(pane, true);
    if (opts.reveal !== false) pane.el.scrollIntoView({ block: 'nearest' });
  } else {
    // Sideways within the strip only: the page itself does not move, so the header stays where it was.
    scrollSideways(document.getElementById('panes'), pane.el);
  }
  const tab = document.querySelector(`.tab[data-person="${CSS.escape(pane.person.key)}"]`);
  if (tab) scrollSideways(document.getElementById('tabs'), tab);
  if (opts.flash) {
    pane.el.classList.remove('flash');
    void pane.el.offsetWidth;
    pane.el.classList.add('flash');
  }
}

/** Scrolls `container` sideways until `el` is inside it; never the page. */
function scrollSideways(container, el) {
  const c = container.getBoundingClientRect();
  const r = el.getBoundingClientRect();
  const by = r.left < c.left ? r.left - c.left - 10 : r.right > c.right ? r.right - c.right + 10 : 0;
  if (by !== 0) container.scrollBy({ left: by, behavior: 'smooth' });
}

function paneByKey(key) {
  return [...state.panes.values()].find((p) => p.person.key === key);
}

function watchVisibility() {
  state.observer = new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        const chatId = Number(e.target.dataset.chatId);
        if (e.isIntersecting) {
          state.visible.add(chatId);
          const pane = state.panes.get(chatId);
          if (pane && pane.unread > 0) {
            pane.unread = 0;
            renderTabs();
          }
        } else state.visible.delete(chatId);
      }
    },
    { threshold: 0.5 },
  );
  for (const pane of state.panes.values()) state.observer.observe(pane.el);
}

function autoGrow(textarea) {
  textarea.style.height = 'auto';
  textarea.style.height = `${Math.min(textarea.scrollHeight, 120)}px`;
}

async function loadHistory(pane) {
  if (pane.kind === 'wecom') return wecom.load(pane);
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

/** A message's time of day in the bureau's zone (as the cards show it), not the browser's. */
function timeOf(unixSeconds) {
  return zoneFormat('time').format(new Date(unixSeconds * 1000));
}

function firstLine(text) {
  const line = text.split('\n')[0] ?? '';
  return line.length > 60 ? `${line.slice(0, 59)}…` : line;
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

  // A reply shows what it answers, as Telegram does: a tap on the quote scrolls to the card.
  if (m.reply_to_message_id !== undefined) {
    const quoted = pane.messages.get(m.reply_to_message_id);
    const quote = document.createElement('div');
    quote.className = 'reply-quote';
    quote.dataset.testid = 'reply-quote';
    quote.textContent = quoted && !quoted.deleted ? firstLine(quoted.text ?? quoted.caption ?? '') : t('sandbox.msg.reply_missing');
    quote.addEventListener('click', () => pane.el?.querySelector(`[data-message-id="${m.reply_to_message_id}"]`)?.scrollIntoView({ behavior: 'smooth', block: 'center' }));
    bubble.append(quote);
  }
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
  time.dataset.testid = 'message-time';
  time.textContent = timeOf(m.date);
  time.title = `${zoneFormat('full').format(new Date(m.date * 1000))} ${zoneLabel()}`;
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
    // A link to the stand-in's page route: same origin, saved under the file's name (Content-Disposition).
    const a = document.createElement('a');
    a.className = 'media document';
    a.dataset.testid = 'document-link';
    a.href = `/sandbox/files/${encodeURIComponent(m.document.file_id)}`;
    a.download = m.document.file_name ?? '';
    const name = document.createElement('span');
    name.className = 'doc-name';
    name.textContent = `📄 ${m.document.file_name ?? t('sandbox.msg.document')}`;
    a.append(name);
    if (m.document.file_size !== undefined) {
      const size = document.createElement('span');
      size.className = 'doc-size';
      size.textContent = m.document.file_size >= 1024 ? `${Math.round(m.document.file_size / 102.4) / 10} KB` : `${m.document.file_size} B`;
      a.append(size);
    }
    const get = document.createElement('span');
    get.className = 'doc-get';
    get.textContent = t('trainer.document.get');
    a.append(get);
    return a;
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

// ---------------------------------------------------------------------------- the trainer's controls

function runTime(kind) {
  const d = state.config?.daily ?? { reminderAt: '09:00', checkAt: '18:00', digestAt: '18:00' };
  return kind === 'contact_reminder' ? d.reminderAt : kind === 'contact_check' ? d.checkAt : d.digestAt;
}

function runLabel(kind) {
  return t(`trainer.run.${kind}`, { time: runTime(kind) });
}

function option(value, text) {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  return o;
}

function typeLabel(entry) {
  return state.lang === 'en' ? entry.name.en : `${entry.ordinal}、${entry.name.zh}`;
}

function officeLabel(office) {
  return state.lang === 'en' ? office.nameEn || office.name : office.name;
}

/** The drill picker: the plan's types (an epidemic also asks for its scenario) and the offices. */
function renderDrillPicker() {
  const picker = state.config.drillPicker;
  const type = document.getElementById('drill-type');
  const scenario = document.getElementById('drill-scenario');
  const office = document.getElementById('drill-office');
  const keep = { type: type.value || picker.defaultType, scenario: scenario.value || picker.scenarios[0]?.scenario, office: office.value || picker.defaultOffice };
  type.replaceChildren(...picker.types.map((x) => option(x.type, typeLabel(x))));
  scenario.replaceChildren(
    ...picker.scenarios.map((x) => option(x.scenario, state.lang === 'en' ? x.name.en : `${x.ordinal}：${x.name.zh}`)),
  );
  office.replaceChildren(...picker.offices.map((x) => option(x.code, officeLabel(x))));
  type.value = keep.type;
  scenario.value = keep.scenario ?? '';
  if (keep.office) office.value = keep.office;
  scenario.hidden = type.value !== 'epidemic';
}

/** The trainer's status line; `outcome` (ran, forced, nobody_away, drill, reset, error…) for tests and styles. */
function setTrainerStatus(text, outcome) {
  const el = document.getElementById('trainer-status');
  el.textContent = text;
  el.dataset.outcome = outcome;
  el.classList.toggle('error', outcome === 'error');
}

async function trainerPost(url, body) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || `HTTP ${res.status}`);
  return data;
}

/** Runs one trainer action with the controls disabled; its outcome `{ text, outcome }` (or its error) in the status line. */
async function trainerAction(busyText, action) {
  const controls = document.querySelectorAll('.trainer button, .trainer select');
  for (const c of controls) c.disabled = true;
  setTrainerStatus(busyText, 'busy');
  try {
    const r = await action();
    setTrainerStatus(r.text, r.outcome);
  } catch (err) {
    setTrainerStatus(t('trainer.error', { error: err.message }), 'error');
  } finally {
    for (const c of controls) c.disabled = false;
  }
}

async function ensurePane(key) {
  let pane = paneByKey(key);
  if (pane) return pane;
  const person = state.config.persons.find((p) => p.key === key);
  if (!person) return undefined;
  pane = createPane(person, true);
  await loadHistory(pane);
  renderMorePeople();
  return pane;
}

async function startDrill() {
  const drill = state.config.drill;
  const pane = (await ensurePane(drill.personKey)) ?? state.panes.values().next().value;
  showPane(pane, { flash: true, reveal: false });
  if (drill.mode !== 'endpoint') {
    await sendText(pane, drill.command);
    return;
  }
  const picker = state.config.drillPicker;
  const type = document.getElementById('drill-type').value || picker.defaultType;
  const officeCode = document.getElementById('drill-office').value || picker.defaultOffice;
  const body = { type, ...(officeCode ? { officeCode } : {}), ...(type === 'epidemic' ? { scenario: document.getElementById('drill-scenario').value } : {}) };
  await trainerAction(t('trainer.busy'), async () => {
    const r = await trainerPost(drill.url, body);
    const entry = picker.types.find((x) => x.type === type);
    const office = picker.offices.find((x) => x.code === officeCode);
    return { outcome: 'drill', text: t('trainer.drill.started', { number: r.incident, type: entry ? typeLabel(entry) : type, office: office ? officeLabel(office) : '' }) };
  });
}

async function runNow(kind) {
  const what = runLabel(kind);
  await trainerAction(t('trainer.busy'), async () => {
    const r = await trainerPost(state.config.trainer.runNow, { kind });
    const pane = await ensurePane(RUN_PANE[kind]);
    if (pane && r.sent > 0) showPane(pane, { flash: true, reveal: false });
    if (r.reason) return { outcome: r.reason, text: t(`trainer.run.${r.reason}`, { what }) };
    return { outcome: r.forced ? 'forced' : 'ran', text: t(r.forced ? 'trainer.run.forced' : 'trainer.run.done', { what, n: r.sent }) };
  });
}

const RESET_FLASH = 'sandbox.trainer.flash';

async function resetSandbox() {
  await trainerAction(t('trainer.reset.running'), async () => {
    const r = await trainerPost(state.config.trainer.reset, {});
    // The page starts again too: empty panes, fresh config; the outcome is shown once it has.
    sessionStorage.setItem(RESET_FLASH, t('trainer.reset.done', { n: r.messagesCleared, staff: r.staff, subjects: r.subjects, absences: r.absences }));
    location.reload();
    return { outcome: 'busy', text: t('trainer.reset.running') };
  });
}

function wireTrainer() {
  const trainer = state.config.trainer;
  for (const btn of document.querySelectorAll('button[data-run]')) {
    btn.hidden = !trainer;
    btn.addEventListener('click', () => void runNow(btn.dataset.run));
  }
  document.getElementById('run-group-label').hidden = !trainer;
  const reset = document.getElementById('reset');
  reset.hidden = !trainer;
  const dialog = document.getElementById('reset-dialog');
  reset.addEventListener('click', () => dialog.showModal());
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'reset') void resetSandbox();
  });
  document.getElementById('drill').addEventListener('click', () => void startDrill());
  document.getElementById('drill-type').addEventListener('change', (ev) => {
    document.getElementById('drill-scenario').hidden = ev.target.value !== 'epidemic';
  });
  const flash = sessionStorage.getItem(RESET_FLASH);
  if (flash) {
    sessionStorage.removeItem(RESET_FLASH);
    setTrainerStatus(flash, 'reset');
  }
}

// ---------------------------------------------------------------------------- live updates

function connectEvents() {
  const es = new EventSource(`${API}/events`);
  const onMessage = (ev) => {
    const m = JSON.parse(ev.data);
    const pane = state.panes.get(m.chat_id);
    // A WeCom pane shows the person's WeCom chat; their Telegram chat is not on the page.
    if (!pane || pane.kind === 'wecom') return;
    upsertMessage(pane, m, true);
    renderReplyKeyboard(pane);
    if (ev.type === 'message' && m.from_bot) countUnseen(pane);
  };
  es.addEventListener('message', onMessage);
  es.addEventListener('edit', onMessage);
  es.addEventListener('delete', onMessage);
  es.addEventListener('callback_answer', (ev) => onCallbackAnswer(JSON.parse(ev.data)));
  es.addEventListener('chat_action', (ev) => {
    const a = JSON.parse(ev.data);
    const pane = state.panes.get(a.chat_id);
    if (pane && pane.kind !== 'wecom' && a.action === 'typing') startTyping(pane);
  });
  es.addEventListener('open', () => {
    const reconnected = state.everConnected;
    state.connected = true;
    state.everConnected = true;
    setStatus(true);
    // Whatever happened while disconnected is in the history: reload it.
    if (reconnected) for (const pane of state.panes.values()) if (pane.kind !== 'wecom') void loadHistory(pane);
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
  renderDrillPicker();
  renderClock();
  renderTabs();
  setStatus(state.connected);
  for (const pane of state.panes.values()) {
    pane.roleEl.textContent = roleLabel(pane.person);
    if (pane.kind === 'wecom') {
      wecom.rerender(pane);
      continue;
    }
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
  // A laptop shows the controls and the deadlines at once; a phone folds them above the chats.
  document.getElementById('trainer').open = !PHONE.matches;
  document.getElementById('about').open = ROOMY.matches;
  applyStaticStrings();
  renderPolicy();
  renderDrillPicker();
  renderClock();
  setInterval(renderClock, 15_000);
  setStatus(false);
  watchVisibility();
  for (const person of state.config.persons.filter((p) => p.pane)) createPane(person, false);
  renderMorePeople();
  connectEvents();
  if (state.config.wecom) wecom.connect();
  await Promise.all([...state.panes.values()].map((p) => loadHistory(p)));

  wireTrainer();
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
    showPane(pane);
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
