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
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskIdNumber, maskName } from '../../src/domain/pii.js';
import { runLoad, startLoadGenerator } from '../../bench/lib/loadgen-client.js';
import type { Child } from '../../bench/lib/processes.js';
import type { BenchOfficer } from '../../bench/lib/seed.js';
import { recordFigure, size } from './helpers/figures.js';
import { createWorld, sleep, type World } from './helpers/world.js';

const OFFICERS = size(30, 9);

let world: World;
let gen: Child;
beforeAll(async () => {
  world = await createWorld({ offices: 3, officersPerOffice: OFFICERS / 3 + 1 });
  gen = await startLoadGenerator();
});
afterAll(async () => {
  await gen?.stop();
  await world?.close();
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
    const { org, server, tracker, redis } = world;
    const bot = await world.start('all', { logLevel: 'debug', piiMode: 'masked', policyTimeScale: 0.01 });
    const officers = org.officers.slice(0, OFFICERS);
    // Officers find the subject the ways they would: by name, by ID number, by code.
    const users = officers.map((o, i) => ({ userId: o.telegramId, chatId: o.telegramId, subjectQuery: [o.subjectName, o.subjectIdNumber, o.subjectCode][i % 3]! }));
    const run = await runLoad(gen, tracker, { apiUrl: server.url, scenario: 'report-form', users, iterations: 1, stepTimeoutMs: 60_000 });
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
    await bot.stop();

    // The same form under `codes` and `full`.
    const modeCheck = async (mode: 'codes' | 'full', officer: BenchOfficer) => {
      const p = await world.start('all', { logLevel: 'warn', piiMode: mode });
      await runLoad(gen, tracker, { apiUrl: server.url, scenario: 'report-form', users: [{ userId: officer.telegramId, chatId: officer.telegramId, subjectQuery: officer.subjectCode }], iterations: 1, stepTimeoutMs: 60_000 });
      await sleep(1_000);
      await p.stop();
      return chatText(world, [officer.telegramId]);
    };
    const codesOfficer = org.officers.at(-1)!;
    const fullOfficer = org.officers.at(-2)!;
    const codesChat = await modeCheck('codes', codesOfficer);
    const fullChat = await modeCheck('full', fullOfficer);
    const codesOk = !codesChat.includes(codesOfficer.subjectName) && !codesChat.includes(maskName(codesOfficer.subjectName)) && codesChat.includes(codesOfficer.subjectCode);
    const fullOk = fullChat.includes(fullOfficer.subjectName);

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
    expect(run.failed).toBe(0);
    expect(inRedis).toEqual([]);
    expect(inLogs).toEqual([]);
    expect(fullInMaskedChats).toEqual([]);
    expect(maskedShown).toBeGreaterThan(0);
    expect(codesOk).toBe(true);
    expect(fullOk).toBe(true);
  });
});
