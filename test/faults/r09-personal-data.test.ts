/**
 * R9: personal data. Must hold: no subject name or ID number in Redis payloads or in logs, checked by
 * scanning both after a full run; chat text follows PII_MODE.
 *
 * The run: officers complete report forms, finding the subject by name, by ID number or by code (what
 * officers type); notices go out to the section and office heads; the escalation timers fire (policy
 * time scaled down) and their notices go out too. Then every key in the case's own Redis is read whole,
 * and every line the process logged at debug level, looking for any subject's name or ID number. The
 * chats are checked against PII_MODE=masked; then the same form runs under `codes` (no name at all) and
 * `full` (the name in private chats), so the check is not passing by showing nothing.
 *
 * On WeCom too, in the same processes (figure "R9 WeCom"): one office is bound on WeCom (its officers
 * and its head, WeCom preferred), and its officers fill in the same form there, by WeCom callbacks,
 * while the Telegram load runs. Then the logs (the callbacks' lines among them), Redis (the queue
 * payloads), every WeCom message and every rendering of every card the product sent (masked), and the
 * wecom_* tables are scanned; the `codes` and `full` runs each take one WeCom report as well.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskIdNumber, maskName } from '../../src/domain/pii.js';
import { runLoad, startLoadGenerator } from '../../bench/lib/loadgen-client.js';
import type { Child } from '../../bench/lib/processes.js';
import type { BenchOfficer } from '../../bench/lib/seed.js';
import { recordFigure, size } from './helpers/figures.js';
import { reportOnWecom, startWecomSide, wecomOutboundText, wecomRowsText, type WecomSide } from './helpers/wecom.js';
import { createWorld, sleep, type World } from './helpers/world.js';

const OFFICERS = size(30, 9);

let world: World;
let gen: Child;
let wecom: WecomSide;
/** The office bound on WeCom (the last), and its officers; the others are on Telegram. */
let wecomOffice: string;
beforeAll(async () => {
  world = await createWorld({ offices: 4, officersPerOffice: OFFICERS / 3 + 1 });
  wecomOffice = world.org.offices.at(-1)!;
  wecom = await startWecomSide(world.db.db, [...world.org.heads, ...world.org.officers].filter((p) => p.unitId === wecomOffice));
  gen = await startLoadGenerator();
});
afterAll(async () => {
  await gen?.stop();
  await world?.close();
  await wecom?.close();
});

async function redisDump(url: string): Promise<{ keys: number; text: string }> {
  const r = new Redis(url, { lazyConnect: true });
  await r.connect();
  const parts: string[] = [];
  let keys = 0;
  let cursor = '0';
  do {
    const [next, batch] = await r.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of batch) {
      keys++;
      const type = await r.type(key);
      parts.push(key);
      if (type === 'string') parts.push((await r.getBuffer(key))?.toString('utf8') ?? '');
      else if (type === 'hash') parts.push(...Object.entries(await r.hgetallBuffer(key)).map(([k, v]) => `${k}=${v.toString('utf8')}`));
      else if (type === 'list') parts.push(...(await r.lrangeBuffer(key, 0, -1)).map((b) => b.toString('utf8')));
      else if (type === 'set') parts.push(...(await r.smembersBuffer(key)).map((b) => b.toString('utf8')));
      else if (type === 'zset') parts.push(...(await r.zrangeBuffer(key, '0', '-1')).map((b) => b.toString('utf8')));
      else if (type === 'stream') parts.push(JSON.stringify(await r.xrange(key, '-', '+')));
    }
  } while (cursor !== '0');
  await r.quit();
  return { keys, text: parts.join('\n') };
}

function leaks(haystack: string, officers: readonly BenchOfficer[]): string[] {
  const found: string[] = [];
  for (const o of officers) {
    if (haystack.includes(o.subjectName)) found.push(`name of ${o.subjectCode}`);
    if (haystack.includes(o.subjectIdNumber)) found.push(`ID number of ${o.subjectCode}`);
  }
  return found;
}

/** Everything the bot wrote in these chats (texts, captions, buttons). */
function chatText(w: World, chatIds: readonly number[]): string {
  return chatIds
    .flatMap((id) => w.server.botMessages(id))
    .flatMap((m) => [m.text ?? '', m.caption ?? '', ...(m.reply_markup?.inline_keyboard.flat().map((b) => b.text) ?? []), ...m.history.map((h) => h.text ?? '')])
    .join('\n');
}

describe('R9 personal data', () => {
  it('keeps names and ID numbers out of Redis and the logs, and chats follow PII_MODE', async () => {
    const { org, server, tracker, redis, db } = world;
    const bot = await world.start('all', { logLevel: 'debug', piiMode: 'masked', policyTimeScale: 0.01, env: wecom.env });
    wecom.connect(bot);
    const onTelegram = org.officers.filter((o) => o.unitId !== wecomOffice);
    const onWecom = org.officers.filter((o) => o.unitId === wecomOffice);
    const officers = onTelegram.slice(0, OFFICERS);
    // Officers find the subject the ways they would: by name, by ID number, by code.
    const query = (o: BenchOfficer, i: number) => [o.subjectName, o.subjectIdNumber, o.subjectCode][i % 3]!;
    const users = officers.map((o, i) => ({ userId: o.telegramId, chatId: o.telegramId, subjectQuery: query(o, i) }));
    // On WeCom at the same time; the last officer is kept for the `codes` run.
    const wecomReporters = onWecom.slice(0, size(onWecom.length - 1, 3));
    const wecomRun = Promise.allSettled(wecomReporters.map((o, i) => reportOnWecom(wecom.driver, wecom.userOf.get(o.staffId)!, query(o, i), o.subjectCode)));
    const run = await runLoad(gen, tracker, { apiUrl: server.url, scenario: 'report-form', users, iterations: 1, stepTimeoutMs: 60_000 });
    const wecomFailed = (await wecomRun).flatMap((r) => (r.status === 'rejected' ? [String(r.reason).slice(0, 200)] : []));
    const wecomForms = wecomReporters.length - wecomFailed.length;
    // Escalations (acknowledgement ladder, scaled to seconds) fire and their notices go out.
    await sleep(size(20_000, 15_000));
    await server.waitForIdle({ quietMs: 1_000, timeoutMs: 60_000 }).catch(() => undefined);

    const everyone = org.everyone.map((p) => p.telegramId);
    const dump = await redisDump(redis.url);
    const inRedis = leaks(dump.text, org.officers);
    const logText = bot.child.output.join('\n');
    const inLogs = leaks(logText, org.officers);
    const masked = chatText(world, everyone);
    const fullInMaskedChats = leaks(masked, org.officers);
    const maskedShown = officers.filter((o) => masked.includes(maskName(o.subjectName))).length;
    const idMaskedShown = officers.filter((o) => masked.includes(maskIdNumber(o.subjectIdNumber))).length;
    const wecomUsers = [...wecom.userOf.values()];
    const wecomMasked = wecomOutboundText(wecom.driver, wecomUsers);
    const wecomFullInMasked = leaks(wecomMasked, org.officers);
    const wecomMaskedShown = wecomReporters.filter((o) => wecomMasked.includes(maskName(o.subjectName))).length;
    const wecomRows = await wecomRowsText(db.db);
    const inWecomRows = leaks(wecomRows.text, org.officers);
    const wecomCallbacks = wecom.driver.deliveries.length;
    const wecomCallbackLines = bot.child.output.filter((l) => /wecom/i.test(l)).length;
    await bot.stop();

    // The same form under `codes` and `full`.
    // A WeCom officer reports in each too: in `codes` one who has not reported yet, in `full` one who did
    // (their chat shows the name only from this run: the masked run never shows it).
    const modeCheck = async (mode: 'codes' | 'full', officer: BenchOfficer, onWecomToo: BenchOfficer) => {
      const p = await world.start('all', { logLevel: 'warn', piiMode: mode, env: wecom.env });
      wecom.connect(p);
      const userId = wecom.userOf.get(onWecomToo.staffId)!;
      const [, wecomReport] = await Promise.all([
        runLoad(gen, tracker, { apiUrl: server.url, scenario: 'report-form', users: [{ userId: officer.telegramId, chatId: officer.telegramId, subjectQuery: officer.subjectCode }], iterations: 1, stepTimeoutMs: 60_000 }),
        reportOnWecom(wecom.driver, userId, onWecomToo.subjectCode, onWecomToo.subjectCode).then(
          () => undefined,
          (err: unknown) => String(err).slice(0, 200),
        ),
      ]);
      await sleep(1_000);
      await p.stop();
      return { chat: chatText(world, [officer.telegramId]), wecomChat: wecomOutboundText(wecom.driver, [userId]), wecomReport };
    };
    const codesOfficer = onTelegram.at(-1)!;
    const fullOfficer = onTelegram.at(-2)!;
    const codesOnWecom = onWecom.at(-1)!;
    const fullOnWecom = wecomReporters[0]!;
    const codes = await modeCheck('codes', codesOfficer, codesOnWecom);
    const full = await modeCheck('full', fullOfficer, fullOnWecom);
    const codesChat = codes.chat;
    const fullChat = full.chat;
    const codesOk = !codesChat.includes(codesOfficer.subjectName) && !codesChat.includes(maskName(codesOfficer.subjectName)) && codesChat.includes(codesOfficer.subjectCode);
    const fullOk = fullChat.includes(fullOfficer.subjectName);
    const wecomCodesOk = !codes.wecomChat.includes(codesOnWecom.subjectName) && !codes.wecomChat.includes(maskName(codesOnWecom.subjectName)) && codes.wecomChat.includes(codesOnWecom.subjectCode);
    const wecomFullOk = full.wecomChat.includes(fullOnWecom.subjectName);
    if (codes.wecomReport) wecomFailed.push(`codes: ${codes.wecomReport}`);
    if (full.wecomReport) wecomFailed.push(`full: ${full.wecomReport}`);

    const held = inRedis.length === 0 && inLogs.length === 0 && fullInMaskedChats.length === 0 && maskedShown > 0 && codesOk && fullOk && run.failed === 0;
    recordFigure({
      id: 'R9',
      what: `personal data after ${run.completed} report forms (found by name, ID number or code), notices and escalations`,
      figure: `Redis: ${dump.keys} keys, ${inRedis.length} names/ID numbers; logs: ${bot.child.output.length} lines at debug, ${inLogs.length}; chats (masked): ${fullInMaskedChats.length} in full, ${maskedShown} masked names, ${idMaskedShown} masked ID numbers; codes mode: ${codesOk ? 'codes only' : 'NAME SHOWN'}; full mode: ${fullOk ? 'name shown' : 'name NOT shown'}`,
      target: 'none in Redis or logs; chat text follows PII_MODE',
      verdict: held ? 'held' : 'broken',
      ...(inRedis.length || inLogs.length || fullInMaskedChats.length ? { note: `found: ${[...inRedis.map((x) => `Redis: ${x}`), ...inLogs.map((x) => `log: ${x}`), ...fullInMaskedChats.map((x) => `chat: ${x}`)].slice(0, 6).join('; ')}` } : {}),
      data: { keys: dump.keys, inRedis, inLogs, fullInMaskedChats, maskedShown, idMaskedShown, codesOk, fullOk, forms: run.completed, failed: run.failed },
    });
    const wecomHeld = wecomFailed.length === 0 && inLogs.length === 0 && inRedis.length === 0 && wecomFullInMasked.length === 0 && inWecomRows.length === 0 && wecomMaskedShown > 0 && wecomCodesOk && wecomFullOk;
    recordFigure({
      id: 'R9 WeCom',
      what: `personal data on WeCom: ${wecomForms} report forms over ${wecomCallbacks} signed callbacks (found by name, ID number or code), notices and escalations, in the R9 run's processes`,
      figure: `logs: ${wecomCallbackLines} lines naming WeCom, the run's names/ID numbers ${inLogs.length}; Redis (queue payloads): ${inRedis.length}; WeCom messages and card renderings (masked): ${wecomFullInMasked.length} in full, ${wecomMaskedShown} masked names; wecom_* tables: ${wecomRows.rows} rows, ${inWecomRows.length}; codes mode: ${wecomCodesOk ? 'codes only' : 'NAME SHOWN'}; full mode: ${wecomFullOk ? 'name shown' : 'name NOT shown'}`,
      target: 'none in logs, Redis or wecom_* rows; what WeCom shows follows PII_MODE',
      verdict: wecomHeld ? 'held' : 'broken',
      ...(wecomFailed.length || wecomFullInMasked.length || inWecomRows.length ? { note: `found: ${[...wecomFailed.map((x) => `form: ${x}`), ...wecomFullInMasked.map((x) => `WeCom: ${x}`), ...inWecomRows.map((x) => `wecom_*: ${x}`)].slice(0, 6).join('; ')}` } : {}),
      data: { wecomFailed, wecomFullInMasked, wecomMaskedShown, inWecomRows, wecomRows: wecomRows.rows, wecomCodesOk, wecomFullOk, wecomCallbacks, wecomCallbackLines },
    });
    expect(run.failed).toBe(0);
    expect(inRedis).toEqual([]);
    expect(inLogs).toEqual([]);
    expect(fullInMaskedChats).toEqual([]);
    expect(maskedShown).toBeGreaterThan(0);
    expect(codesOk).toBe(true);
    expect(fullOk).toBe(true);
    expect(wecomFailed).toEqual([]);
    expect(wecomFullInMasked).toEqual([]);
    expect(inWecomRows).toEqual([]);
    expect(wecomMaskedShown).toBeGreaterThan(0);
    expect(wecomCodesOk).toBe(true);
    expect(wecomFullOk).toBe(true);
  });
});
