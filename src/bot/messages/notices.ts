/**
 * Catalogue section: notices — every message the system sends on its own (the outbox): chain-of-command
 * notices, the escalation ladder, reminders, daily contact, the digest and system alerts. zh first; en
 * must have the same keys. Messages go out as Telegram HTML: values put into these texts are escaped by
 * the renderer (src/services/notification.service.ts); the texts themselves hold no markup.
 */
const zh = {
  // --- labels
  'notice.closure.resolved': '处置完毕',
  'notice.closure.false_alarm': '误报',
  'notice.daily.contact_reminder': '每日联系提醒（{time}）',
  'notice.daily.digest': '每日汇总（{time}）',
  'notice.contact.none': '今日尚无联系记录',
  'notice.unknown_person': '（未知人员）',
  'notice.list_more': '……另有 {count} 项',
  'notice.separator': '——————',

  // --- buttons
  'notice.button.open': '📋 查看事件',
  'notice.button.contact': '📞 {subject}',
  'notice.button.abscond': '🚨 发起脱管报告',

  // --- notes added to a notice
  'notice.resent': '（补发：系统恢复后重发，如已收到同一通知请忽略）',
  'notice.stand_in': '（{name}暂时无法接收消息，由您代为接收）',

  // --- chain of command (written by the flows' use cases)
  'notice.incident_reported': '🆕 新事件上报，请及时签收。',
  'notice.incident_reported.fyi': '🆕 辖区新上报一起事件。',
  'notice.incident_acknowledged': '✅ {by} 已于 {at} 签收。',
  'notice.progress_reported': '📝 {by} 于 {at} 提交续报：{text}',
  'notice.incident_closed': '🔒 {by} 已结案（{closure}）。',

  // --- the ladder
  'notice.ack_escalation': '⚠️ 事件未按时签收：{who}自 {since} 起未签收（已 {minutes} 分钟）。请督促或直接签收。',
  'notice.inform_level': '📣 依预案逐级报告（{position}）：请知悉此事件。',
  'notice.progress_reminder': '⏰ 续报已逾期：上次报告于 {last}，请立即续报处置进展。',
  'notice.progress_escalation': '⚠️ 续报逾期：{reporter}自 {last} 起未续报处置进展。',
  'notice.upper_report_reminder': '⏰ 尚未标记"已上报上一级社区矫正机构"，应于 {due} 前完成。',
  'notice.upper_report_escalation': '⚠️ 社区矫正管理科尚未上报上一级社区矫正机构（应于 {due} 前完成）。',
  'notice.steps_overdue_reminder': '⏰ 有 {count} 项处置步骤尚未完成：\n{steps}',
  'notice.steps_overdue_escalation': '⚠️ 有 {count} 项处置步骤逾期未完成：\n{steps}',
  'notice.written_report_reminder': '📄 书面报告将于 {due} 到期，请尽快提交。',
  'notice.written_report_escalation': '⚠️ 书面报告已逾期（应于 {due} 提交），请督促逐级上报。',

  // --- daily contact with subjects away
  'notice.contact_reminder': '📞 今日（{date}）需联系的外出对象共 {count} 人。联系后请点击对应按钮登记结果：\n{list}',
  'notice.contact_reminder.line': '{n}. {subject}　外出至 {until}',
  'notice.contact_check_head': '⚠️ 截至 {time}，外出对象 {subject} 今日（{date}）尚无联系记录。责任人：{officer}。',
  'notice.contact_check_section': '⚠️ 外出对象 {subject}（{office}）今日（{date}）至 {time} 仍无联系记录。责任人：{officer}。',
  'notice.absconding_suggestion': '🚨 对象 {subject} 已连续 {count} 次联系未果（最近一次：{last}）。是否发起"脱离监督管理"事件报告？',

  // --- the system itself
  'notice.missed_days': '⚠️ 系统停机期间以下日期的"{what}"未执行：{dates}。{extra}请人工核查。',
  'notice.missed_days.contacts': '这些日期中有 {count} 人次外出对象无联系记录。',
  'notice.timer_overdue_alert': '🚨 系统告警：{what}"{timer}"时限（{due}）已超时 {minutes} 分钟仍未处理，请人工跟进并检查后台任务。',
  'notice.timer_overdue_alert.subject': '外出对象 {subject} 的',
  'notice.timer_overdue_alert.incident': '事件 {number} 的',

  // --- daily digest
  'notice.daily_digest': '📋 每日汇总（{date}）',
  'notice.digest.open': '在办事件 {count} 起：',
  'notice.digest.open_line': '· {number} {type}（{office}）{status}',
  'notice.digest.overdue_steps': '处置步骤逾期 {count} 起：',
  'notice.digest.overdue_steps_line': '· {number}：{count} 项未完成',
  'notice.digest.overdue_reports': '书面报告逾期 {count} 份：',
  'notice.digest.overdue_reports_line': '· {number}：应于 {due} 提交',
  'notice.digest.away': '今日外出对象 {count} 人：',
  'notice.digest.away_line': '· {subject}（{office}）：{contact}',
  'notice.digest.unstable': '排查不稳定对象 {count} 人：',
  'notice.digest.unstable_line': '· {subject}（{office}）{new}',
  'notice.digest.unstable_new': '（近 24 小时新发现）',
  'notice.digest.none': '· 无',

  // --- after the incident and around it (issue 5 writes these rows)
  'notice.report_review_requested': '📄 事件 {number} 的书面报告已提交，请审核。',
  'notice.report_returned': '↩️ 事件 {number} 的书面报告被退回修改。{comment}',
  'notice.report_approved': '✅ 事件 {number} 的书面报告已审批通过。',
  'notice.release_review_requested': '📰 有一份信息发布稿待审核（事件 {number}）。',
  'notice.release_returned': '↩️ 您起草的信息发布稿（事件 {number}）被{by}退回修改：{comment}\n修改后将重新送审：/release {number}',
  'notice.drill_reminder': '🎯 应急演练提醒：{text}',
  'notice.screening_due': '🔎 对象 {subject} 的定期排查已到期，请开展排查并登记结果。',
  'notice.role_assigned': '👤 {by} 指派您担任本事件的“{role}”。',
};

const en: Record<keyof typeof zh, string> = {
  'notice.closure.resolved': 'resolved',
  'notice.closure.false_alarm': 'false alarm',
  'notice.daily.contact_reminder': 'daily contact reminder ({time})',
  'notice.daily.digest': 'daily digest ({time})',
  'notice.contact.none': 'no contact logged today',
  'notice.unknown_person': '(unknown person)',
  'notice.list_more': '… and {count} more',
  'notice.separator': '——————',

  'notice.button.open': '📋 Open incident',
  'notice.button.contact': '📞 {subject}',
  'notice.button.abscond': '🚨 Report absconding',

  'notice.resent': '(Re-sent after a system recovery; ignore it if you already have this notice.)',
  'notice.stand_in': '({name} cannot be reached at the moment; you receive this in their place.)',

  'notice.incident_reported': '🆕 A new incident was reported. Please acknowledge it.',
  'notice.incident_reported.fyi': '🆕 A new incident was reported in your area.',
  'notice.incident_acknowledged': '✅ Acknowledged by {by} at {at}.',
  'notice.progress_reported': '📝 Progress report from {by} at {at}: {text}',
  'notice.incident_closed': '🔒 Closed by {by} ({closure}).',

  'notice.ack_escalation': '⚠️ Not acknowledged in time: {who} has not acknowledged since {since} ({minutes} min). Please follow up or acknowledge it yourself.',
  'notice.inform_level': '📣 Reporting up the line ({position}): you are informed of this incident.',
  'notice.progress_reminder': '⏰ A progress report is overdue: the last one was at {last}. Please report progress now.',
  'notice.progress_escalation': '⚠️ Progress report overdue: {reporter} has not reported progress since {last}.',
  'notice.upper_report_reminder': '⏰ "Reported to the upper-level agency" is not marked yet; it is due by {due}.',
  'notice.upper_report_escalation': '⚠️ The corrections section has not reported to the upper-level agency (due by {due}).',
  'notice.steps_overdue_reminder': '⏰ {count} handling steps are not done yet:\n{steps}',
  'notice.steps_overdue_escalation': '⚠️ {count} handling steps are overdue:\n{steps}',
  'notice.written_report_reminder': '📄 The written report is due by {due}. Please submit it soon.',
  'notice.written_report_escalation': '⚠️ The written report is overdue (it was due by {due}). Please see that it is submitted up the line.',

  'notice.contact_reminder': '📞 Subjects away today ({date}) to contact: {count}. After each contact, press its button to log the result:\n{list}',
  'notice.contact_reminder.line': '{n}. {subject}   away until {until}',
  'notice.contact_check_head': '⚠️ As of {time}, subject away {subject} has no contact logged today ({date}). Responsible: {officer}.',
  'notice.contact_check_section': '⚠️ Subject away {subject} ({office}) still has no contact logged today ({date}) at {time}. Responsible: {officer}.',
  'notice.absconding_suggestion': '🚨 {count} contacts in a row with {subject} have failed (last: {last}). Open an "absconding" incident report?',

  'notice.missed_days': '⚠️ While the system was down, the "{what}" did not run on: {dates}. {extra}Please check these days by hand.',
  'notice.missed_days.contacts': 'On those days, {count} subject-days away have no contact logged. ',
  'notice.timer_overdue_alert': '🚨 System alert: the "{timer}" deadline of {what}({due}) is {minutes} min overdue and was not handled. Please follow up by hand and check the background workers.',
  'notice.timer_overdue_alert.subject': 'subject away {subject} ',
  'notice.timer_overdue_alert.incident': 'incident {number} ',

  'notice.daily_digest': '📋 Daily digest ({date})',
  'notice.digest.open': 'Open incidents: {count}',
  'notice.digest.open_line': '· {number} {type} ({office}) {status}',
  'notice.digest.overdue_steps': 'Incidents with overdue steps: {count}',
  'notice.digest.overdue_steps_line': '· {number}: {count} steps not done',
  'notice.digest.overdue_reports': 'Overdue written reports: {count}',
  'notice.digest.overdue_reports_line': '· {number}: due by {due}',
  'notice.digest.away': 'Subjects away today: {count}',
  'notice.digest.away_line': '· {subject} ({office}): {contact}',
  'notice.digest.unstable': 'Subjects screened unstable: {count}',
  'notice.digest.unstable_line': '· {subject} ({office}){new}',
  'notice.digest.unstable_new': ' (new in the last 24 h)',
  'notice.digest.none': '· none',

  'notice.report_review_requested': '📄 The written report of incident {number} was submitted for your review.',
  'notice.report_returned': '↩️ The written report of incident {number} was returned for changes. {comment}',
  'notice.report_approved': '✅ The written report of incident {number} was approved.',
  'notice.release_review_requested': '📰 A public information draft awaits review (incident {number}).',
  'notice.release_returned': '↩️ {by} sent back your public information draft (incident {number}): {comment}\nEdit it to send it for review again: /release {number}',
  'notice.drill_reminder': '🎯 Drill reminder: {text}',
  'notice.screening_due': '🔎 The periodic screening of {subject} is due. Please screen and log the result.',
  'notice.role_assigned': '👤 {by} assigned you the role "{role}" in this incident.',
};

export const notices = { zh, en };
