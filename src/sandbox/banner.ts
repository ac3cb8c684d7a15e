/**
 * What a newcomer reads once `npm start` is ready: where to look, what to try first, how to stop. Plain
 * text, Chinese first with the English beside it; printed by src/main.ts after the log's readable lines
 * (never in JSON mode, where the `sandbox ready` log line carries the same facts). Pure.
 */
import { timeScaleLabel } from '../app.js';

/** The shortened deadlines in words: `1 分钟 = 1 秒 (1 minute = 1 second)` at 1/60. */
function describeTimeScale(scale: number): string {
  const label = timeScaleLabel(scale);
  if (scale >= 1) return '与正式环境相同 (as in production)';
  if (label === '1/60') return '已缩短，1 分钟 = 1 秒 (shortened: 1 minute = 1 second)';
  if (label === '1/3600') return '已缩短，1 小时 = 1 秒 (shortened: 1 hour = 1 second)';
  return `所有时限 × ${label} (every deadline × ${label})`;
}

export interface BannerFacts {
  /** The page, e.g. http://localhost:8080 */
  url: string;
  /** The policy time factor in force (1/60 by default in the sandbox). */
  timeScale: number;
  /** Where the data lives, as the user gave it (DATA_DIR). */
  dataDir: string;
  /** True when the sandbox runs its own PostgreSQL under DATA_DIR. */
  embeddedDatabase: boolean;
}

/** The banner's lines, without colour or box drawing: they read the same in a terminal, a pipe or a file. */
export function sandboxBanner(facts: BannerFacts): string[] {
  const rule = '─'.repeat(64);
  return [
    '',
    rule,
    '  沙盒已就绪 · The sandbox is ready',
    '',
    `  打开 Open:        ${facts.url}`,
    '  先试试 Try first: 在“矫正工作人员”窗格发送 /report，上报一起事件，看它到达管理科；',
    '                    或点页面上的“🎯 开始演练”。',
    '                    In the officer’s pane send /report, or press “Start a drill”.',
    '  企业微信 WeCom:    标有“企业微信”的窗格是企业微信成员，与 Telegram 窗格同在一起事件中。',
    '                    Panes marked 企业微信 are WeCom members, in the same incidents.',
    `  时限 Deadlines:   ${describeTimeScale(facts.timeScale)}`,
    `  数据 Data:        ${facts.dataDir}${facts.embeddedDatabase ? '（内置 PostgreSQL · embedded PostgreSQL）' : ''}`,
    '  停止 Stop:        Ctrl+C（或 kill -TERM）：处理完手头的工作后退出 · drains, then exits',
    rule,
    '',
  ];
}
