/**
 * The plan the bureau edits, end to end on the real database: the organisation file's `policy` section
 * (the bureau's settings and an office's variant, 七(五)) is imported, an incident of that office gets the
 * variant's checklist and times and another office's does not; after the file changes, the incident keeps
 * what it was reported under and a new one gets the new; `policy show` prints what is in force; a
 * malformed section is refused with its path and changes nothing.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputFileError } from '../../src/admin/errors.js';
import { importOrg, parseOrgFile } from '../../src/admin/org-import.js';
import { effectivePolicy } from '../../src/admin/policy.js';
import { runCli } from '../../src/cli.js';
import { stepsOf } from '../../src/db/repositories/incident.repository.js';
import { actorFor } from '../../src/db/repositories/org.repository.js';
import { findStaffByCode } from '../../src/db/repositories/staff.repository.js';
import { pendingTimers } from '../../src/db/repositories/timer.repository.js';
import { findUnitByCode } from '../../src/db/repositories/unit.repository.js';
import { reportIncident } from '../../src/services/incident.service.js';
import { noopDispatcher, type ServiceDeps } from '../../src/services/ports.js';
import { stepText } from '../../src/views/labels.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ManualClock, testCipher } from '../helpers/fixtures.js';

let t: TestDatabase;
let example: string;
let deps: ServiceDeps;
const clock = new ManualClock(new Date('2026-11-29T02:00:00Z'));

/** The example organisation with a `policy` section: the bureau's settings and office-mishixiang's variant. */
function orgFile(policy: unknown): string {
  const doc = parseDocument(example);
  doc.delete('policy_overrides');
  doc.set('policy', policy);
  return doc.toString();
}

const V1 = {
  ackSeconds: { critical: 240 },
  offices: {
    'office-mishixiang': {
      ackSeconds: { critical: 120 },
      playbooks: {
        absconding: [
          { add: 'notify_village', actor: 'office', text: '通知村（社区）协助查找', text_en: 'Ask the village committee to help search', after: 'search_field' },
          { replace: 'search_field', text: '实地查访（两人以上同行）' },
        ],
      },
    },
  },
};
const V2 = {
  ackSeconds: { critical: 240 },
  offices: {
    'office-mishixiang': {
      ackSeconds: { critical: 180 },
      playbooks: { absconding: [{ add: 'notify_village', actor: 'office', text: '通知村委会和网格员协助查找' }, { remove: 'search_system' }] },
    },
  },
};

async function importText(text: string) {
  return importOrg(t.db, parseOrgFile(text), { now: clock.now() });
}

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { DATABASE_URL: t.url }, { out: (l) => out.push(l), err: (l) => err.push(l) }, clock);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function report(reporterCode: string, officeCode: string) {
  const reporter = (await findStaffByCode(t.db, reporterCode))!;
  const office = (await findUnitByCode(t.db, officeCode))!;
  clock.advance(60_000);
  const { incident } = await reportIncident(deps, await actorFor(t.db, reporter), {
    type: 'absconding',
    officeUnitId: office.id,
    discoveredAt: clock.now(),
    injured: 0,
    dead: 0,
    description: '对象失联',
    subjectNote: '未登记对象',
  });
  return incident;
}

const keysOf = async (incidentId: string) => (await stepsOf(t.db, incidentId)).map((s) => s.key);
const ackDue = async (incidentId: string) => (await pendingTimers(t.db, { incidentId })).find((x) => x.kind === 'ack' && x.level === 1)!.dueAt.getTime();
const settingsRows = async () => t.sql`select key, value from settings order by key`;

beforeAll(async () => {
  example = await readFile(new URL('../../examples/org.yaml', import.meta.url), 'utf8');
  t = await createTestDatabase();
  deps = { db: t.db, clock, timeZone: 'Asia/Shanghai', piiMode: 'masked', cipher: testCipher(), policy: (office?: string) => effectivePolicy(t.db, 1, office), dispatcher: noopDispatcher };
  await importText(orgFile(V1));
});
afterAll(async () => t?.drop());

describe("an office's variant of the plan", { shuffle: false }, () => {
  let a1: Awaited<ReturnType<typeof report>>;
  let b1: Awaited<ReturnType<typeof report>>;

  it("is used for that office's incidents only: its added and replaced steps, its times", async () => {
    a1 = await report('gs-101', 'office-mishixiang');
    b1 = await report('gs-201', 'office-hushu');
    const a = await keysOf(a1.id);
    expect(a.slice(0, 4)).toEqual(['search_phone', 'search_system', 'search_field', 'notify_village']);
    expect(await keysOf(b1.id)).not.toContain('notify_village');
    // Ordinals follow the edited checklist.
    expect((await stepsOf(t.db, a1.id)).map((s) => s.ordinal)).toEqual(a.map((_, i) => i + 1));
    // The office's acknowledgement time over the bureau's, the bureau's for the other office.
    expect((await ackDue(a1.id)) - a1.reportedAt.getTime()).toBe(120_000);
    expect((await ackDue(b1.id)) - b1.reportedAt.getTime()).toBe(240_000);
    // The words shown are the variant's, read from the incident's snapshot.
    expect(stepText(a1.type, a1.scenario, 'search_field', 'zh', a1.policy)).toBe('实地查访（两人以上同行）');
    expect(stepText(a1.type, a1.scenario, 'notify_village', 'en', a1.policy)).toBe('Ask the village committee to help search');
    expect(stepText(b1.type, b1.scenario, 'search_field', 'zh', b1.policy)).toBe('实地查访');
  });

  it('holds for a reported incident after the file changes; a new incident gets the new plan', async () => {
    const before = { steps: await stepsOf(t.db, a1.id), ack: await ackDue(a1.id), policy: a1.policy };
    const r = await importText(orgFile(V2));
    expect(r.policyOverridesChanged).toBe(true);

    expect(await stepsOf(t.db, a1.id)).toEqual(before.steps);
    expect(await ackDue(a1.id)).toBe(before.ack);
    const [row] = await t.sql`select policy from incidents where id = ${a1.id}`;
    expect(row!.policy).toEqual(before.policy);
    expect(stepText(a1.type, a1.scenario, 'notify_village', 'zh', row!.policy)).toBe('通知村（社区）协助查找');

    const a2 = await report('gs-102', 'office-mishixiang');
    const keys = await keysOf(a2.id);
    expect(keys).not.toContain('search_system');
    expect(keys.at(-1)).toBe('notify_village');
    expect(stepText(a2.type, a2.scenario, 'notify_village', 'zh', a2.policy)).toBe('通知村委会和网格员协助查找');
    expect(stepText(a2.type, a2.scenario, 'search_field', 'zh', a2.policy)).toBe('实地查访');
    expect((await ackDue(a2.id)) - a2.reportedAt.getTime()).toBe(180_000);
  });

  it("a file without the office's variant returns that office to the bureau's plan", async () => {
    await importText(orgFile({ ackSeconds: { critical: 240 } }));
    const a3 = await report('gs-101', 'office-mishixiang');
    expect(await keysOf(a3.id)).not.toContain('notify_village');
    expect((await ackDue(a3.id)) - a3.reportedAt.getTime()).toBe(240_000);
    await importText(orgFile(V2));
  });
});

describe('policy show', () => {
  it('prints the plan in force in Chinese by default: settings with their paths, criticalities, every playbook', async () => {
    const r = await cli(['policy', 'show']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('现行预案（全局设置）');
    expect(r.out).toContain('签收时限（ackSeconds）：紧急 4分钟');
    expect(r.out).toContain('书面报告的最后审批人（writtenReport.lastApprover）：局长');
    expect(r.out).toContain('四、脱离监督管理（脱管）（absconding）');
    expect(r.out).toMatch(/3\. 实地查访（search_field）· 司法所/);
    expect(r.out).not.toContain('notify_village');
  });

  it("for an office: its incidents' plan, the edited steps marked, and its variant as written", async () => {
    const r = await cli(['policy', 'show', '--office', 'office-mishixiang']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('米市巷司法所（office-mishixiang）适用的预案');
    expect(r.out).toContain('签收时限（ackSeconds）：紧急 3分钟');
    expect(r.out).toMatch(/✎ \d+\. 通知村委会和网格员协助查找（notify_village）· 司法所/);
    expect(r.out).not.toMatch(/\d+\. 信息化核查（search_system）/);
    expect(r.out).toContain('本所变体');
    expect(r.out).toContain('"remove": "search_system"');
    const other = await cli(['policy', 'show', '--office', 'office-hushu']);
    expect(other.out).toContain('本所没有自己的变体，按全局预案执行。');
    expect(other.out).not.toContain('notify_village');
  });

  it('in English on request, and refuses an unknown office or language', async () => {
    const en = await cli(['policy', 'show', '--office', 'office-mishixiang', '--lang', 'en']);
    expect(en.out).toContain('The plan in force for Mishixiang Judicial Office (office-mishixiang)');
    expect(en.out).toContain('Acknowledgement within (ackSeconds): critical 3 min');
    expect(await cli(['policy', 'show', '--office', 'nowhere'])).toMatchObject({ code: 1, err: expect.stringContaining("no judicial office with code 'nowhere'") });
    expect(await cli(['policy', 'show', '--office', 'section'])).toMatchObject({ code: 1 });
    expect((await cli(['policy', 'show', '--lang', 'fr'])).code).toBe(2);
  });
});

describe('a malformed policy section', () => {
  const problems = (policy: unknown) => {
    try {
      parseOrgFile(orgFile(policy));
    } catch (e) {
      expect(e).toBeInstanceOf(InputFileError);
      return (e as InputFileError).problems.map((p) => [p.where, p.message]);
    }
    throw new Error('expected the file to be refused');
  };

  it.each([
    [{ ackSeconds: { critical: -1 } }, 'policy.ackSeconds.critical'],
    [{ ackSeconds: 'fast' }, 'policy.ackSeconds'],
    [{ ackSecs: 5 }, 'policy.ackSecs', 'is not a policy setting'],
    [{ criticality: { abnormal_petition: 'urgent' } }, 'policy.criticality.abnormal_petition'],
    [{ playbooks: { robbery: [] } }, 'policy.playbooks.robbery', 'is not a playbook'],
    [{ playbooks: { absconding: [{ add: 'x_step', actor: 'office' }] } }, 'policy.playbooks.absconding[0].text'],
    [{ playbooks: { absconding: [{ replace: 'search_field', colour: 'red' }] } }, 'policy.playbooks.absconding[0].colour', 'is not a field of replace'],
    [{ playbooks: { absconding: [{ add: 'a', replace: 'b' }] } }, 'policy.playbooks.absconding[0]', 'expected exactly one of add, replace, remove'],
    [{ playbooks: { absconding: [{ remove: 'no_such_step' }] } }, 'policy.playbooks.absconding[0]', "no step 'no_such_step' to remove"],
    [{ writtenReport: { lastApprover: 'upper_liaison' } }, 'policy.writtenReport.lastApprover'],
    [{ offices: { 'office-nowhere': {} } }, 'policy.offices.office-nowhere', "unknown unit 'office-nowhere'"],
    [{ offices: { section: { ackSeconds: { critical: 60 } } } }, 'policy.offices.section', 'is not a judicial office'],
    [{ offices: { 'office-hushu': { digestAt: '20:00' } } }, 'policy.offices.office-hushu.digestAt', 'is not an office setting'],
    [{ offices: { 'office-hushu': { playbooks: { absconding: [{ replace: 'nope', text: 'x' }] } } } }, 'policy.offices.office-hushu.playbooks.absconding[0]', "no step 'nope' to replace"],
  ])('%j is refused at %s', (policy, where, message?: string) => {
    const found = problems(policy);
    expect(found.map(([w]) => w)).toContain(where);
    if (message) expect(found.find(([w]) => w === where)![1]).toContain(message);
  });

  it('is refused through the CLI with the path and its line, and nothing changes', async () => {
    const before = await settingsRows();
    const { writeFile, mkdtemp, rm } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'plan-'));
    try {
      const file = path.join(dir, 'org.yaml');
      await writeFile(file, orgFile({ ackSeconds: { critical: 240 }, offices: { 'office-mishixiang': { playbooks: { absconding: [{ remove: 'search_feild' }] } } } }));
      const r = await cli(['org', 'import', file, '--lang', 'en']);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/org file refused, nothing was changed:\n {2}line \d+, policy setting “offices\.office-mishixiang\.playbooks\.absconding\[0\]”: there is no step “search_feild” in the checklist\./);
      // In Chinese unless asked for English.
      expect((await cli(['org', 'import', file])).err).toMatch(/第 \d+ 行，预案设置中的“offices\.office-mishixiang\.playbooks\.absconding\[0\]”：清单中没有步骤“search_feild”。/);
      await writeFile(file, `${orgFile(V2)}\npolicy_overrides: { ackSeconds: { critical: 60 } }\n`);
      expect((await cli(['org', 'import', file])).err).toMatch(/第 \d+ 行，“policy_overrides”：预案设置只能写在一处/);
      await writeFile(file, 'policy: [1, 2\n');
      expect((await cli(['org', 'import', file])).code).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(await settingsRows()).toEqual(before);
  });

  it('the older policy_overrides section still sets the bureau settings', async () => {
    const doc = parseDocument(example);
    doc.set('policy_overrides', { ackSeconds: { critical: 200 } });
    const org = parseOrgFile(doc.toString());
    expect(org.policy_overrides).toEqual({ ackSeconds: { critical: 200 } });
    expect(org.policy_offices).toEqual({});
  });
});

