/**
 * Catalogue section: duty groups (值班群), the Telegram group chats a unit binds with a single-use code:
 * the code given in the private chat, the binding, the refusals, and the one answer of an unbound group.
 * zh first; en must have the same keys.
 */
const zh = {
  'dutygroup.purpose.section': '社区矫正管理科值班群',
  'dutygroup.purpose.office': '{unit}工作群',
  'dutygroup.purpose.hq': '事件 {number} 指挥部群',
  'dutygroup.code':
    '🔗 {purpose}绑定码：<code>{code}</code>\n请把机器人加入群聊，然后在群内发送：\n<code>/bindgroup {code}</code>\n绑定码只能使用一次，{time}前有效。绑定后，本单位收到的通知和事件卡片也会发到该群，群内一律隐去对象姓名。',
  'dutygroup.bound': '✅ 本群已绑定为{purpose}。通知和事件卡片将发送到本群，对象姓名一律隐去；签收、收到、刷新可在群内按，其余操作请在私聊中进行。',
  'dutygroup.not_bound': '本群尚未绑定，机器人在此不提供服务。如需绑定，请由社区矫正管理科或司法所所长在私聊中发送 /groupcode 获取绑定码，再在本群发送 /bindgroup 绑定码。',
  'dutygroup.code_usage': '请在要绑定的群聊中发送：/bindgroup 绑定码。',
  'dutygroup.code_invalid': '绑定码无效，请核对后重试。',
  'dutygroup.code_used': '此绑定码已经使用过，请重新获取。',
  'dutygroup.code_expired': '此绑定码已过期，请重新获取。',
  'dutygroup.not_permitted': '您无权绑定此类群。值班群由社区矫正管理科绑定，司法所工作群由所长绑定。',
  'dutygroup.not_activated': '该事件尚未启动预案，不能绑定指挥部群。',
  'dutygroup.incident_not_found': '未找到该编号的事件。',
  'help.groupcode': '/groupcode — 获取值班群绑定码（加事件编号：该事件的指挥部群）',
  'help.bindgroup': '/bindgroup 绑定码 — 在群聊中发送，绑定该群；/unbindgroup — 在群内发送，解除绑定（也可在私聊中加群号）',
  'cmd.groupcode': '获取值班群绑定码',
  'dutygroup.unbound': '本群已解除绑定，不再接收通知和事件卡片。尚未发出的通知已撤销。',
  'dutygroup.unbound_private': '已解除{purpose}（群号 <code>{chat}</code>）的绑定，尚未发出的 {count} 条通知已撤销。',
  'dutygroup.unbind_list': '您可以解除绑定的群：\n{lines}\n在该群内发送 /unbindgroup，或在此发送 /unbindgroup 群号。',
  'dutygroup.unbind_line': '• {purpose}，群号 <code>{chat}</code>',
  'dutygroup.unbind_none': '没有您可以解除绑定的群。',
  'dutygroup.unbind_not_found': '没有群号为 {chat} 的已绑定群。',
  'dutygroup.unbind_not_permitted': '您无权解除此群的绑定。',
  'cmd.bindgroup': '在群聊中绑定值班群',
  'dutygroup.groups_elsewhere': '此处暂不支持群聊，值班群只能在电报中绑定和解绑：请在电报中与机器人私聊，发送 /groupcode 获取绑定码。本次未作任何更改。',
};

const en: Record<keyof typeof zh, string> = {
  'dutygroup.purpose.section': "the corrections section's duty group",
  'dutygroup.purpose.office': 'the group of {unit}',
  'dutygroup.purpose.hq': 'the HQ group of incident {number}',
  'dutygroup.code':
    '🔗 Code to bind {purpose}: <code>{code}</code>\nAdd the bot to the group chat, then send there:\n<code>/bindgroup {code}</code>\nThe code works once, until {time}. Once bound, the notices and incident cards your unit gets also go to the group, with subjects’ names always masked.',
  'dutygroup.bound': '✅ This group is now bound as {purpose}. Notices and incident cards will be sent here, names always masked. Acknowledge, Received and Refresh work here; everything else in your private chat.',
  'dutygroup.not_bound': 'This group is not bound: the bot does not work here. To bind it, the corrections section or the office head sends /groupcode in a private chat with the bot, then /bindgroup <code> here.',
  'dutygroup.code_usage': 'Send this in the group chat to bind: /bindgroup <code>.',
  'dutygroup.code_invalid': 'This code is not valid. Check it and try again.',
  'dutygroup.code_used': 'This code has been used already. Get a new one.',
  'dutygroup.code_expired': 'This code has expired. Get a new one.',
  'dutygroup.not_permitted': 'You may not bind this kind of group. The section binds its duty group; an office head binds the office’s group.',
  'dutygroup.not_activated': 'The plan is not activated for this incident: no HQ group can be bound.',
  'dutygroup.incident_not_found': 'No incident with that number.',
  'help.groupcode': '/groupcode — a code to bind a duty group (with an incident number: its HQ group)',
  'help.bindgroup': '/bindgroup code — sent in a group chat with the code from /groupcode, binds it; /unbindgroup — sent in the group, unbinds it (or in your private chat, with the group’s number)',
  'cmd.groupcode': 'Code to bind a duty group',
  'dutygroup.unbound': 'This group is unbound: it gets no more notices or incident cards. Notices not yet sent were withdrawn.',
  'dutygroup.unbound_private': 'Unbound {purpose} (group number <code>{chat}</code>); {count} notices not yet sent were withdrawn.',
  'dutygroup.unbind_list': 'Groups you may unbind:\n{lines}\nSend /unbindgroup in the group, or here /unbindgroup and the group number.',
  'dutygroup.unbind_line': '• {purpose}, group number <code>{chat}</code>',
  'dutygroup.unbind_none': 'There is no group you may unbind.',
  'dutygroup.unbind_not_found': 'No bound group has the number {chat}.',
  'dutygroup.unbind_not_permitted': 'You may not unbind this group.',
  'cmd.bindgroup': 'Bind a duty group (in the group chat)',
  'dutygroup.groups_elsewhere': 'Group chats are not available here: duty groups are bound and unbound from Telegram. Send /groupcode in your private chat with the bot on Telegram to get a code. Nothing was changed.',
};

export const dutyGroups = { zh, en };
