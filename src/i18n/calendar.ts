/**
 * Catalogue section: the calendar (issue 15, 九): drills scheduled ahead (/drills), the 特殊敏感时间段
 * (/periods), the reminder before a period, and the yearly drill reminder by calendar year.
 * zh first; en must have the same keys. Texts are the catalogue's markup (`<b>`, `<code>`).
 */
const zh = {
  'cmd.drills': '演练计划',
  'cmd.periods': '特殊敏感时间段',
  'help.drills': '/drills — 演练计划：提前安排演练的日期、类型和司法所，到期自动开始',
  'help.periods': '/periods — 特殊敏感时间段：登记、查看、删除，时段前提醒各矫正工作人员排查所管对象',

  // --- /drills
  'drs.title': '📅 <b>演练计划</b>（到期当日 {time} 自动开始，所有消息标注【演练】）',
  'drs.none': '暂无已安排的演练。',
  'drs.line': '· {date} {office}：{type}',
  'drs.view_only': '演练计划由社区矫正管理科安排，您可查看。',
  'drs.button.add': '➕ 安排演练',
  'drs.button.cancel': '✖ 取消 {date} {office}',
  'drs.cancelled': '已取消 {date} 的演练安排。',
  'drs.choose_type': '请选择要安排演练的事件类型：',
  'drs.choose_office': '请选择演练所在的司法所：',
  'drs.ask_date': '请输入演练日期，例如 <code>12-10</code> 或 <code>2026-12-10</code>：',
  'drs.date_invalid': '无法识别该日期，请按 <code>12-10</code> 或 <code>2026-12-10</code> 的格式输入。',
  'drs.date_past': '该日期已过或当日开始时间已过，请输入以后的日期。',
  'drs.date_too_far': '只能安排一年以内的演练，请输入更近的日期。',
  'drs.scheduled': '✅ 已安排演练：{when}，{type}。届时将自动开始。',

  // --- /periods
  'per.title': '🛡️ <b>特殊敏感时间段</b>（时段开始前 {days} 天提醒各矫正工作人员排查所管对象）',
  'per.none': '暂无登记的特殊敏感时间段。',
  'per.line': '· {name}：{start} 至 {end}（{reminder}）',
  'per.reminded': '已提醒',
  'per.remind_on': '将于 {date} 提醒',
  'per.view_only': '特殊敏感时间段由社区矫正管理科登记，您可查看。',
  'per.button.add': '➕ 登记时间段',
  'per.button.remove': '🗑 删除“{name}”',
  'per.removed': '已删除特殊敏感时间段“{name}”。',
  'per.ask_name': '请输入时间段名称（例如重大活动或节日名称）：',
  'per.name_blank': '名称不能为空，请输入时间段名称。',
  'per.ask_start': '“{name}”从哪一天开始？请输入日期，例如 <code>10-01</code>：',
  'per.ask_end': '到哪一天结束（含当天）？开始日期为 {start}，请输入日期：',
  'per.date_invalid': '无法识别该日期，请按 <code>10-01</code> 或 <code>2026-10-01</code> 的格式输入。',
  'per.refuse.name_blank': '名称不能为空。',
  'per.refuse.name_long': '名称过长，请精简。',
  'per.refuse.ends_before_start': '结束日期早于开始日期，请重新输入结束日期。',
  'per.refuse.ended': '该时间段已经结束，无需登记。',
  'per.refuse.too_long': '时间段不能超过一年，请重新输入结束日期。',
  'per.added': '✅ 已登记“{name}”：{start} 至 {end}。',
  'per.added_linked': '期间已上报的 {count} 起第十类事件已关联到该时间段。',
  'per.added_reminded': '已提醒 {count} 名矫正工作人员。',

  // --- the notices
  'notice.kind.sensitive_period_reminder': '特殊敏感时间段提醒',
  'notice.sensitive_period_reminder': '🛡️ 特殊敏感时间段提醒：“{name}”自 {start} 至 {end}。请提前排查所管社区矫正对象的情况，提醒其不得违规进入重要场所和活动举办场所。',
  'drill.reminder_year': '{year} 年尚未组织且未安排应急处置演练的司法所：{offices}（上次演练：{last}）。预案要求每年不少于一次，请使用 /drill 组织演练，或在演练计划中安排日期。',

  // --- the link of a type 十 report
  'incident.sensitive_period': '发生于特殊敏感时间段“{name}”（{start} 至 {end}）',
};

const en: Record<keyof typeof zh, string> = {
  'cmd.drills': 'Drill calendar',
  'cmd.periods': 'Sensitive periods',
  'help.drills': '/drills — the drill calendar: schedule a drill’s date, type and office ahead; it starts by itself',
  'help.periods': '/periods — sensitive periods: add, list, remove; officers are reminded to check their subjects before each',

  'drs.title': '📅 <b>Drill calendar</b> (each starts by itself at {time} on its date; every message is marked [DRILL])',
  'drs.none': 'No drill is scheduled.',
  'drs.line': '· {date} {office}: {type}',
  'drs.view_only': 'The corrections section keeps the drill calendar; you may view it.',
  'drs.button.add': '➕ Schedule a drill',
  'drs.button.cancel': '✖ Cancel {date} {office}',
  'drs.cancelled': 'The drill of {date} is cancelled.',
  'drs.choose_type': 'Choose the incident type of the drill to schedule:',
  'drs.choose_office': 'Choose the judicial office where it plays out:',
  'drs.ask_date': 'Type the drill’s date, e.g. <code>12-10</code> or <code>2026-12-10</code>:',
  'drs.date_invalid': 'That is not a date. Type it as <code>12-10</code> or <code>2026-12-10</code>.',
  'drs.date_past': 'That day is over, or its start time has passed. Type a later date.',
  'drs.date_too_far': 'Drills can be scheduled up to a year ahead. Type a nearer date.',
  'drs.scheduled': '✅ Drill scheduled: {when}, {type}. It will start by itself.',

  'per.title': '🛡️ <b>Sensitive periods</b> (officers are reminded {days} days before each to check their subjects)',
  'per.none': 'No sensitive period is recorded.',
  'per.line': '· {name}: {start} to {end} ({reminder})',
  'per.reminded': 'reminded',
  'per.remind_on': 'reminder on {date}',
  'per.view_only': 'The corrections section keeps the sensitive periods; you may view them.',
  'per.button.add': '➕ Add a period',
  'per.button.remove': '🗑 Remove “{name}”',
  'per.removed': 'Sensitive period “{name}” removed.',
  'per.ask_name': 'Type the period’s name (the event or holiday):',
  'per.name_blank': 'The name cannot be empty. Type the period’s name.',
  'per.ask_start': 'On which day does “{name}” start? Type a date, e.g. <code>10-01</code>:',
  'per.ask_end': 'On which day does it end (included)? It starts on {start}. Type a date:',
  'per.date_invalid': 'That is not a date. Type it as <code>10-01</code> or <code>2026-10-01</code>.',
  'per.refuse.name_blank': 'The name cannot be empty.',
  'per.refuse.name_long': 'The name is too long; shorten it.',
  'per.refuse.ends_before_start': 'The last day is before the first. Type the last day again.',
  'per.refuse.ended': 'That period is over already; there is nothing to record.',
  'per.refuse.too_long': 'A period cannot be longer than a year. Type the last day again.',
  'per.added': '✅ Recorded “{name}”: {start} to {end}.',
  'per.added_linked': ' {count} type 10 incident(s) reported on its days are linked to it.',
  'per.added_reminded': ' {count} officer(s) reminded.',

  'notice.kind.sensitive_period_reminder': 'sensitive period reminder',
  'notice.sensitive_period_reminder': '🛡️ Sensitive period ahead: “{name}”, {start} to {end}. Check your subjects beforehand and remind them not to enter important venues or event sites without permission.',
  'drill.reminder_year': 'Offices with no emergency drill held or scheduled in {year}: {offices} (last drill: {last}). The plan asks for at least one a year; start one with /drill, or schedule one in the drill calendar.',

  'incident.sensitive_period': 'in the sensitive period “{name}” ({start} to {end})',
};

export const calendar = { zh, en };
