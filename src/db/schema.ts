/**
 * The whole product's schema. PostgreSQL is the source of truth: incidents, deadlines (timers) and
 * messages still to send (outbox) live here first; the queues are rebuilt from these rows.
 * BullMQ's PostgreSQL backend keeps its own tables in the `bullmq` schema of the same database.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  customType,
  date,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgSequence,
  pgTable,
  primaryKey,
  text,
  type AnyPgColumn,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const tgId = (name: string) => bigint(name, { mode: 'number' });

// ---------------------------------------------------------------------------------------------
// Organisation

export const units = pgTable('units', {
  id: uuid('id').primaryKey().defaultRandom(),
  /** Stable key from the org file, e.g. `office-gongchen`. */
  code: text('code').notNull().unique(),
  kind: text('kind').notNull(), // UnitKind
  name: text('name').notNull(),
  nameEn: text('name_en'),
  parentId: uuid('parent_id'),
  /** Other county/district justice bureaus that may be notified (五(一)). */
  external: boolean('external').notNull().default(false),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const staff = pgTable(
  'staff',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    code: text('code').notNull().unique(),
    name: text('name').notNull(),
    unitId: uuid('unit_id')
      .notNull()
      .references(() => units.id),
    telegramUserId: tgId('telegram_user_id').unique(),
    /** Private chat with the bot; equals the user id for private chats. */
    chatId: tgId('chat_id'),
    language: text('language').notNull().default('zh'), // 'zh' | 'en'
    phone: text('phone'),
    active: boolean('active').notNull().default(true),
    /** False once Telegram answered 403: the person blocked the bot. */
    reachable: boolean('reachable').notNull().default(true),
    /** Marked away (leave, travel): acting holders stand in. */
    away: boolean('away').notNull().default(false),
    /** 我外出/休假: the local dates (inclusive) the person is away; `away` follows them, set by timers at their ends. */
    awayFrom: date('away_from'),
    awayUntil: date('away_until'),
    /** 'telegram' | 'wecom': where a person bound on both gets their notices; null: Telegram. */
    preferredChannel: text('preferred_channel'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [index('staff_unit_idx').on(t.unitId)],
);

/** A seat in the organisation: one holder, optionally an acting holder. */
export const positions = pgTable(
  'positions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    code: text('code').notNull().unique(),
    kind: text('kind').notNull(), // PositionKind
    unitId: uuid('unit_id')
      .notNull()
      .references(() => units.id),
    holderStaffId: uuid('holder_staff_id').references(() => staff.id),
    actingStaffId: uuid('acting_staff_id').references(() => staff.id),
  },
  (t) => [index('positions_kind_idx').on(t.kind, t.unitId)],
);

export const invites = pgTable('invites', {
  id: uuid('id').primaryKey().defaultRandom(),
  code: text('code').notNull().unique(),
  unitId: uuid('unit_id')
    .notNull()
    .references(() => units.id),
  positionKind: text('position_kind').notNull(),
  /** Binds to an existing staff record when set; otherwise redeeming creates one. */
  staffId: uuid('staff_id').references(() => staff.id),
  createdBy: text('created_by').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
  expiresAt: ts('expires_at').notNull(),
  usedAt: ts('used_at'),
  usedByTelegramId: tgId('used_by_telegram_id'),
});

/** Deployment settings, such as policy overrides from the org file. */
export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

// ---------------------------------------------------------------------------------------------
// Subjects (社区矫正对象). Name and ID number are encrypted (AES-256-GCM); the ID number also
// has a keyed hash (HMAC-SHA-256) for exact look-up without decrypting.

export const subjects = pgTable(
  'subjects',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    code: text('code').notNull().unique(),
    nameEnc: bytea('name_enc').notNull(),
    idNumberEnc: bytea('id_number_enc'),
    idNumberHash: text('id_number_hash').unique(),
    officeUnitId: uuid('office_unit_id')
      .notNull()
      .references(() => units.id),
    responsibleStaffId: uuid('responsible_staff_id').references(() => staff.id),
    status: text('status').notNull().default('active'), // active | away | absconded | terminated
    riskLevel: text('risk_level').notNull().default('normal'), // low | normal | high
    supervisionEndsOn: date('supervision_ends_on'),
    /** 脱管: the status before the absconding report, to go back to when found. */
    statusBeforeAbsconding: text('status_before_absconding'),
    /** 入矫: the day supervision began here. */
    admittedOn: date('admitted_on'),
    /** 解矫: when supervision ended, and why (TerminationReason). */
    terminatedAt: ts('terminated_at'),
    terminationReason: text('termination_reason'),
    lastScreenedAt: ts('last_screened_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [index('subjects_office_idx').on(t.officeUnitId)],
);

/** Approved absences (外出): daily contact is owed for every day within [startsOn, endsOn]. */
export const absences = pgTable(
  'absences',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    subjectId: uuid('subject_id')
      .notNull()
      .references(() => subjects.id),
    destination: text('destination').notNull(),
    startsOn: date('starts_on').notNull(),
    endsOn: date('ends_on').notNull(),
    approvedByStaffId: uuid('approved_by_staff_id').references(() => staff.id),
    createdByStaffId: uuid('created_by_staff_id').references(() => staff.id),
    createdAt: ts('created_at').notNull().defaultNow(),
    cancelledAt: ts('cancelled_at'),
    /** Approved through the request process (its end is watched); null for absences registered before it. */
    approvedAt: ts('approved_at'),
    /** The end date as approved; `endsOn` becomes the day of the return when the subject comes back early. */
    approvedEndsOn: date('approved_ends_on'),
    /** 续假: the stay this one extends (it starts the day after that one ends). */
    extendsAbsenceId: uuid('extends_absence_id').references((): AnyPgColumn => absences.id),
    /** 销假: when the return was recorded, by whom, and how (officer_recorded | subject_reported). */
    returnedAt: ts('returned_at'),
    /** The local day of the return: away on the days before it. */
    returnedOn: date('returned_on'),
    returnedByStaffId: uuid('returned_by_staff_id').references(() => staff.id),
    returnHow: text('return_how'),
    cancelledByStaffId: uuid('cancelled_by_staff_id').references(() => staff.id),
    /** Why cancelled: a note, or `supervision_ended`, `returned_early` (an extension not begun). */
    cancelReason: text('cancel_reason'),
  },
  (t) => [index('absences_dates_idx').on(t.startsOn, t.endsOn), index('absences_subject_idx').on(t.subjectId)],
);

/**
 * Requests to be away (外出申请) and extensions (续假): decided by the level the bureau sets by length.
 * Approving one writes its absence; a request not approved never owes a contact.
 */
export const absenceRequests = pgTable(
  'absence_requests',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    subjectId: uuid('subject_id')
      .notNull()
      .references(() => subjects.id),
    destination: text('destination').notNull(),
    /** 事由, optional. */
    reason: text('reason'),
    startsOn: date('starts_on').notNull(),
    endsOn: date('ends_on').notNull(),
    /** Set for an extension: the absence it extends. */
    extendsAbsenceId: uuid('extends_absence_id').references(() => absences.id),
    approverLevel: text('approver_level').notNull(), // ApproverLevel
    state: text('state').notNull(), // requested | approved | rejected | withdrawn
    requestedByStaffId: uuid('requested_by_staff_id')
      .notNull()
      .references(() => staff.id),
    requestedAt: ts('requested_at').notNull(),
    decidedByStaffId: uuid('decided_by_staff_id').references(() => staff.id),
    decidedAt: ts('decided_at'),
    /** Why not approved (不批准的理由), or why withdrawn. */
    decisionNote: text('decision_note'),
    /** The absence the approval wrote. */
    absenceId: uuid('absence_id').references(() => absences.id),
    /** Bumped on every change; a decision made on an older version is stale. */
    version: integer('version').notNull().default(1),
  },
  (t) => [index('absence_requests_subject_idx').on(t.subjectId), index('absence_requests_state_idx').on(t.state)],
);

export const contactLogs = pgTable(
  'contact_logs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    subjectId: uuid('subject_id')
      .notNull()
      .references(() => subjects.id),
    absenceId: uuid('absence_id').references(() => absences.id),
    /** The local day (TIMEZONE) the contact counts for. */
    localDate: date('local_date').notNull(),
    result: text('result').notNull(), // reached | not_reached | abnormal
    note: text('note'),
    staffId: uuid('staff_id')
      .notNull()
      .references(() => staff.id),
    at: ts('at').notNull(),
  },
  (t) => [index('contact_logs_subject_day_idx').on(t.subjectId, t.localDate)],
);

/** Prevention (七(一)): periodic screening results. */
export const screenings = pgTable('screenings', {
  id: uuid('id').primaryKey().defaultRandom(),
  subjectId: uuid('subject_id')
    .notNull()
    .references(() => subjects.id),
  result: text('result').notNull(), // stable | watch | unstable
  note: text('note'),
  staffId: uuid('staff_id')
    .notNull()
    .references(() => staff.id),
  at: ts('at').notNull(),
});

// ---------------------------------------------------------------------------------------------
// Incidents

/** The last number given per year and series: `real` incidents, and `drill`s, which count apart. */
export const incidentCounters = pgTable(
  'incident_counters',
  {
    year: integer('year').notNull(),
    series: text('series').notNull().default('real'),
    last: integer('last').notNull(),
  },
  (t) => [primaryKey({ name: 'incident_counters_year_series_pk', columns: [t.year, t.series] })],
);

export const incidents = pgTable(
  'incidents',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    number: text('number').notNull().unique(),
    type: text('type').notNull(), // IncidentType
    scenario: text('scenario'), // EpidemicScenario
    criticality: text('criticality').notNull(),
    subjectId: uuid('subject_id').references(() => subjects.id),
    /** Free text when the person is unknown or not a subject. */
    subjectNote: text('subject_note'),
    officeUnitId: uuid('office_unit_id')
      .notNull()
      .references(() => units.id),
    reporterStaffId: uuid('reporter_staff_id')
      .notNull()
      .references(() => staff.id),
    occurredAt: ts('occurred_at'),
    discoveredAt: ts('discovered_at').notNull(),
    reportedAt: ts('reported_at').notNull(),
    place: text('place'),
    latitude: doublePrecision('latitude'),
    longitude: doublePrecision('longitude'),
    injured: integer('injured').notNull().default(0),
    dead: integer('dead').notNull().default(0),
    description: text('description').notNull(),
    /** Telegram file ids of photos, voice notes and documents sent with the report. */
    media: jsonb('media').$type<Array<{ kind: string; fileId: string }>>().notNull().default([]),
    status: text('status').notNull(), // IncidentStatus
    closure: text('closure'), // resolved | false_alarm
    isDrill: boolean('is_drill').notNull().default(false),
    lateReport: boolean('late_report').notNull().default(false),
    /** Type 十 reported in a 特殊敏感时间段: the period it happened in. */
    sensitivePeriodId: uuid('sensitive_period_id').references((): AnyPgColumn => sensitivePeriods.id),
    /**
     * The report form's own key: a submit delivered again after its incident committed (the database
     * went away before the form was cleared) finds the incident instead of reporting it twice.
     */
    submissionKey: uuid('submission_key').unique(),
    /** The escalation policy in force when reported (EscalationPolicy). */
    policy: jsonb('policy').notNull(),
    acknowledgedAt: ts('acknowledged_at'),
    acknowledgedByStaffId: uuid('acknowledged_by_staff_id').references(() => staff.id),
    closedAt: ts('closed_at'),
    closedByStaffId: uuid('closed_by_staff_id').references(() => staff.id),
    closeCause: text('close_cause'),
    closeLessons: text('close_lessons'),
    closeMeasures: text('close_measures'),
    falseAlarmReason: text('false_alarm_reason'),
    lastProgressAt: ts('last_progress_at'),
    progressCycle: integer('progress_cycle').notNull().default(1),
    /** Bumped on every change; a card drawn at an older version is stale. */
    version: integer('version').notNull().default(1),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [index('incidents_office_status_idx').on(t.officeUnitId, t.status), index('incidents_reported_idx').on(t.reportedAt)],
);

export const incidentSteps = pgTable(
  'incident_steps',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    incidentId: uuid('incident_id')
      .notNull()
      .references(() => incidents.id),
    key: text('key').notNull(),
    ordinal: integer('ordinal').notNull(),
    actor: text('actor').notNull(), // StepActor
    required: boolean('required').notNull(),
    condition: text('condition'),
    state: text('state').notNull(), // pending | done | not_applicable
    naReason: text('na_reason'),
    /** How it was done: phone, visit, system, in person… */
    how: text('how'),
    note: text('note'),
    doneByStaffId: uuid('done_by_staff_id').references(() => staff.id),
    doneAt: ts('done_at'),
  },
  (t) => [uniqueIndex('incident_steps_key_idx').on(t.incidentId, t.key)],
);

/** 续报 and every other entry in the incident's timeline that carries text. */
export const incidentUpdates = pgTable(
  'incident_updates',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    incidentId: uuid('incident_id')
      .notNull()
      .references(() => incidents.id),
    staffId: uuid('staff_id')
      .notNull()
      .references(() => staff.id),
    kind: text('kind').notNull().default('progress'), // progress | note | step_note
    text: text('text').notNull(),
    media: jsonb('media').$type<Array<{ kind: string; fileId: string }>>().notNull().default([]),
    at: ts('at').notNull(),
  },
  (t) => [index('incident_updates_incident_idx').on(t.incidentId, t.at)],
);

/** 三: commander, on-site command and the five working groups. */
export const incidentRoles = pgTable(
  'incident_roles',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    incidentId: uuid('incident_id')
      .notNull()
      .references(() => incidents.id),
    role: text('role').notNull(), // commander | onsite_command | group_onsite | group_order | group_medical | group_logistics | group_info
    staffId: uuid('staff_id')
      .notNull()
      .references(() => staff.id),
    assignedByStaffId: uuid('assigned_by_staff_id')
      .notNull()
      .references(() => staff.id),
    at: ts('at').notNull(),
  },
  (t) => [uniqueIndex('incident_roles_unique_idx').on(t.incidentId, t.role, t.staffId)],
);

/** 四(四): each attempt to find an absconded subject. */
export const searchAttempts = pgTable('search_attempts', {
  id: uuid('id').primaryKey().defaultRandom(),
  incidentId: uuid('incident_id')
    .notNull()
    .references(() => incidents.id),
  method: text('method').notNull(), // phone | system | field
  result: text('result').notNull(),
  found: boolean('found').notNull().default(false),
  staffId: uuid('staff_id')
    .notNull()
    .references(() => staff.id),
  at: ts('at').notNull(),
});

/** Other counties/districts involved (五(一)), each notification a recorded step with its receipt. */
export const countyNotifications = pgTable('county_notifications', {
  id: uuid('id').primaryKey().defaultRandom(),
  incidentId: uuid('incident_id')
    .notNull()
    .references(() => incidents.id),
  county: text('county').notNull(),
  notifiedAt: ts('notified_at'),
  notifiedByStaffId: uuid('notified_by_staff_id').references(() => staff.id),
  how: text('how'),
  receipt: text('receipt'),
  createdAt: ts('created_at').notNull().defaultNow(),
});

/** One card message per incident per chat, edited in place. */
export const incidentCards = pgTable(
  'incident_cards',
  {
    incidentId: uuid('incident_id')
      .notNull()
      .references(() => incidents.id),
    chatId: tgId('chat_id').notNull(),
    messageId: integer('message_id').notNull(),
    drawnVersion: integer('drawn_version').notNull(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.incidentId, t.chatId] })],
);

// ---------------------------------------------------------------------------------------------
// After the incident (五(二)(三)), accountability (七(四)), drills (七(二))

export const writtenReports = pgTable('written_reports', {
  id: uuid('id').primaryKey().defaultRandom(),
  incidentId: uuid('incident_id')
    .notNull()
    .unique()
    .references(() => incidents.id),
  /** The level currently holding the draft: office | section | deputy_director | director | upper_liaison | approved. */
  stage: text('stage').notNull(),
  currentVersion: integer('current_version').notNull().default(1),
  dueAt: ts('due_at').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const writtenReportVersions = pgTable(
  'written_report_versions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    reportId: uuid('report_id')
      .notNull()
      .references(() => writtenReports.id),
    version: integer('version').notNull(),
    /** Sections: course, cause, lessons, measures, screening results… */
    body: jsonb('body').$type<Record<string, string>>().notNull(),
    editedByStaffId: uuid('edited_by_staff_id').references(() => staff.id),
    at: ts('at').notNull(),
  },
  (t) => [uniqueIndex('written_report_versions_idx').on(t.reportId, t.version)],
);

export const writtenReportSignoffs = pgTable('written_report_signoffs', {
  id: uuid('id').primaryKey().defaultRandom(),
  reportId: uuid('report_id')
    .notNull()
    .references(() => writtenReports.id),
  version: integer('version').notNull(),
  stage: text('stage').notNull(),
  decision: text('decision').notNull(), // submitted | approved | returned
  comment: text('comment'),
  staffId: uuid('staff_id')
    .notNull()
    .references(() => staff.id),
  at: ts('at').notNull(),
});

/** 五(三): public information, drafted, reviewed by the functional department, approved by the bureau. */
export const publicReleases = pgTable('public_releases', {
  id: uuid('id').primaryKey().defaultRandom(),
  incidentId: uuid('incident_id')
    .notNull()
    .references(() => incidents.id),
  text: text('text').notNull(),
  state: text('state').notNull(), // draft | reviewed | approved | released
  draftedByStaffId: uuid('drafted_by_staff_id').notNull().references(() => staff.id),
  reviewedByStaffId: uuid('reviewed_by_staff_id').references(() => staff.id),
  reviewedAt: ts('reviewed_at'),
  approvedByStaffId: uuid('approved_by_staff_id').references(() => staff.id),
  approvedAt: ts('approved_at'),
  releasedAt: ts('released_at'),
  /** The last send-back (退回修改): who, when and why; shown on the card until the text is next edited. */
  returnedAt: ts('returned_at'),
  returnedByStaffId: uuid('returned_by_staff_id').references(() => staff.id),
  returnComment: text('return_comment'),
  createdAt: ts('created_at').notNull().defaultNow(),
});

/** Every send-back of a release, kept after the text is edited: who returned which state, when and why. */
export const releaseSendBacks = pgTable(
  'release_send_backs',
  {
    /** In the order written: the newest send-back has the highest. */
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    releaseId: uuid('release_id')
      .notNull()
      .references(() => publicReleases.id),
    at: ts('at').notNull(),
    byStaffId: uuid('by_staff_id')
      .notNull()
      .references(() => staff.id),
    fromState: text('from_state').notNull(), // draft | reviewed
    comment: text('comment').notNull(),
  },
  (t) => [index('release_send_backs_release_idx').on(t.releaseId, t.id)],
);

/** Manual findings of false or concealed reports; automatic ones are computed from the timeline. */
export const accountabilityFindings = pgTable('accountability_findings', {
  id: uuid('id').primaryKey().defaultRandom(),
  incidentId: uuid('incident_id').references(() => incidents.id),
  rule: text('rule').notNull(), // false_report | concealed_report | …
  subjectStaffId: uuid('subject_staff_id').references(() => staff.id),
  subjectUnitId: uuid('subject_unit_id').references(() => units.id),
  reason: text('reason').notNull(),
  evidence: jsonb('evidence').notNull(),
  recordedByStaffId: uuid('recorded_by_staff_id')
    .notNull()
    .references(() => staff.id),
  at: ts('at').notNull(),
});

export const drills = pgTable('drills', {
  id: uuid('id').primaryKey().defaultRandom(),
  incidentId: uuid('incident_id').references(() => incidents.id),
  type: text('type').notNull(),
  startedByStaffId: uuid('started_by_staff_id')
    .notNull()
    .references(() => staff.id),
  startedAt: ts('started_at').notNull(),
  endedAt: ts('ended_at'),
  evaluation: jsonb('evaluation'),
});

/**
 * Drills scheduled ahead (七(二)): on its date, at the policy's time, the daily run starts it as a drill
 * (the row then names the drill and its incident). Started once: the state moves forward only.
 */
export const scheduledDrills = pgTable(
  'scheduled_drills',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    drillDate: date('drill_date').notNull(),
    type: text('type').notNull(), // IncidentType
    scenario: text('scenario'), // EpidemicScenario, for 疫情
    officeUnitId: uuid('office_unit_id')
      .notNull()
      .references(() => units.id),
    scheduledByStaffId: uuid('scheduled_by_staff_id')
      .notNull()
      .references(() => staff.id),
    scheduledAt: ts('scheduled_at').notNull(),
    state: text('state').notNull().default('scheduled'), // ScheduledDrillState
    /** The section member the drill is reported as, fixed when its start begins (a second try reports as the same). */
    starterStaffId: uuid('starter_staff_id').references(() => staff.id),
    drillId: uuid('drill_id').references(() => drills.id),
    incidentId: uuid('incident_id').references(() => incidents.id),
    startedAt: ts('started_at'),
    cancelledAt: ts('cancelled_at'),
    cancelledByStaffId: uuid('cancelled_by_staff_id').references(() => staff.id),
  },
  (t) => [index('scheduled_drills_state_date_idx').on(t.state, t.drillDate)],
);

/** 特殊敏感时间段, kept by the section: officers are reminded before each; a type 十 report in one is linked to it. */
export const sensitivePeriods = pgTable(
  'sensitive_periods',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    startsOn: date('starts_on').notNull(),
    endsOn: date('ends_on').notNull(),
    createdByStaffId: uuid('created_by_staff_id')
      .notNull()
      .references(() => staff.id),
    createdAt: ts('created_at').notNull(),
    /** When the officers were reminded; null until then. */
    remindedAt: ts('reminded_at'),
    removedAt: ts('removed_at'),
    removedByStaffId: uuid('removed_by_staff_id').references(() => staff.id),
  },
  (t) => [index('sensitive_periods_dates_idx').on(t.startsOn, t.endsOn)],
);

// ---------------------------------------------------------------------------------------------
// Machinery: timers, outbox, updates, flows, audit

/** Every deadline the escalation policy creates. PostgreSQL, not Redis, says what is due. */
export const timers = pgTable(
  'timers',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: text('kind').notNull(), // TimerKind
    incidentId: uuid('incident_id').references(() => incidents.id),
    subjectId: uuid('subject_id').references(() => subjects.id),
    level: integer('level').notNull(),
    cycle: text('cycle'),
    dueAt: ts('due_at').notNull(),
    state: text('state').notNull().default('pending'), // pending | fired | cancelled
    /** Deterministic, also the BullMQ job id. */
    dedupeKey: text('dedupe_key').notNull().unique(),
    target: jsonb('target').notNull(),
    isDrill: boolean('is_drill').notNull().default(false),
    createdAt: ts('created_at').notNull().defaultNow(),
    firedAt: ts('fired_at'),
    cancelledAt: ts('cancelled_at'),
    outcome: text('outcome'),
  },
  (t) => [
    index('timers_pending_due_idx')
      .on(t.dueAt)
      .where(sql`${t.state} = 'pending'`),
    index('timers_incident_idx').on(t.incidentId),
  ],
);

/** Every message the system must send (not direct replies) is first a row here. */
export const outbox = pgTable(
  'outbox',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    recipientStaffId: uuid('recipient_staff_id')
      .notNull()
      .references(() => staff.id),
    /**
     * A duty group the row goes to instead of the person's own chat (issue 15): the group mirrors
     * `recipient_staff_id`'s notice, drawn for them, masked, in the group's chat.
     */
    recipientGroupId: uuid('recipient_group_id').references((): AnyPgColumn => dutyGroups.id),
    /** Message kind in the catalogue, e.g. `incident_reported`, `ack_escalation`. */
    kind: text('kind').notNull(),
    incidentId: uuid('incident_id').references(() => incidents.id),
    subjectId: uuid('subject_id').references(() => subjects.id),
    timerId: uuid('timer_id').references(() => timers.id),
    /** Ids and small values the message is rendered from at send time; never names or ID numbers. */
    params: jsonb('params').notNull().default({}),
    dedupeKey: text('dedupe_key').notNull().unique(),
    status: text('status').notNull().default('pending'), // pending | sending | sent | failed | dead
    attempts: integer('attempts').notNull().default(0),
    /** When the current send attempt began (status `sending`): a request may have reached Telegram since then. */
    attemptStartedAt: ts('attempt_started_at'),
    lastError: text('last_error'),
    telegramMessageId: integer('telegram_message_id'),
    isDrill: boolean('is_drill').notNull().default(false),
    notBefore: ts('not_before'),
    createdAt: ts('created_at').notNull().defaultNow(),
    sentAt: ts('sent_at'),
  },
  (t) => [
    index('outbox_pending_idx')
      .on(t.createdAt)
      .where(sql`${t.status} in ('pending', 'sending')`),
  ],
);

/**
 * A notice nobody in the stand-in chain could receive (issue 17): one row per notice, written in the
 * transaction that closes its last outbox row, with everyone tried and why. A table of its own rather
 * than columns on outbox: the record is per notice, the outbox per recipient; the daily digest and
 * /metrics read "the last 24 hours" by created_at without scanning the outbox; and the unique root id
 * makes "recorded once" a constraint. Ids and small values only, like the outbox.
 */
export const undeliverableNotices = pgTable(
  'undeliverable_notices',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** The notice's first outbox row; the reroutes' rows point back to it. */
    rootOutboxId: uuid('root_outbox_id')
      .notNull()
      .unique()
      .references(() => outbox.id),
    kind: text('kind').notNull(), // NoticeKind
    incidentId: uuid('incident_id').references(() => incidents.id),
    subjectId: uuid('subject_id').references(() => subjects.id),
    /** Who the notice was for. */
    intendedStaffId: uuid('intended_staff_id')
      .notNull()
      .references(() => staff.id),
    /** Everyone tried, in order, and why it did not reach them: `[{ staffId, reason }]`, reason no_chat | blocked | inactive | chat_not_found. */
    tried: jsonb('tried').notNull(),
    isDrill: boolean('is_drill').notNull().default(false),
    createdAt: ts('created_at').notNull(),
  },
  (t) => [index('undeliverable_notices_created_idx').on(t.createdAt)],
);

/** Update ids already handled, to drop a Telegram update delivered twice. */
export const processedUpdates = pgTable('processed_updates', {
  updateId: tgId('update_id').primaryKey(),
  receivedAt: ts('received_at').notNull().defaultNow(),
});

/** A conversation in progress, one per chat: `{ version, step, data }`, never only in memory. */
export const flowStates = pgTable('flow_states', {
  chatId: tgId('chat_id').primaryKey(),
  userId: tgId('user_id').notNull(),
  flow: text('flow').notNull(),
  version: integer('version').notNull(),
  step: text('step').notNull(),
  data: jsonb('data').notNull(),
  updatedAt: ts('updated_at').notNull(),
  expiresAt: ts('expires_at').notNull(),
});

/** Jobs that run once a day, to find days missed while the system was down. */
export const dailyRuns = pgTable(
  'daily_runs',
  {
    kind: text('kind').notNull(), // contact_reminder | contact_check | digest | …
    localDate: date('local_date').notNull(),
    ranAt: ts('ran_at').notNull(),
    missed: boolean('missed').notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.kind, t.localDate] })],
);

/**
 * Append-only audit trail. Each row carries the previous row's hash and its own; the hash is
 * computed by a trigger, and UPDATE and DELETE are refused by another (see drizzle/0001).
 */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: ts('at').notNull(),
    actorStaffId: uuid('actor_staff_id'),
    actorTelegramId: tgId('actor_telegram_id'),
    action: text('action').notNull(),
    entity: text('entity').notNull(),
    entityId: text('entity_id'),
    incidentId: uuid('incident_id'),
    data: jsonb('data').notNull().default({}),
    prevHash: text('prev_hash'),
    hash: text('hash'),
  },
  (t) => [index('audit_incident_idx').on(t.incidentId, t.id)],
);

/**
 * A subject import previewed in the chat, waiting for 确认导入: the rows as parsed (encrypted: names and
 * ID numbers) and what they would add or change. Confirming imports exactly these rows, once.
 */
export const importPreviews = pgTable('import_previews', {
  /** The token the preview hands out. */
  id: uuid('id').primaryKey().defaultRandom(),
  staffId: uuid('staff_id')
    .notNull()
    .references(() => staff.id),
  payloadEnc: bytea('payload_enc').notNull(),
  createdAt: ts('created_at').notNull(),
  expiresAt: ts('expires_at').notNull(),
  usedAt: ts('used_at'),
});

// ---------------------------------------------------------------------------------------------
// WeCom (issue 13): identities, the cards sent and their response_codes, callbacks handled

/**
 * Numeric keys of WeCom chats, for flow_states, incident_cards and the chat locks: counting down from
 * -10^15, where no Telegram chat id (a user's is positive, a group's at most 13 digits) can ever be.
 */
export const wecomChatKeySeq = pgSequence('wecom_chat_key_seq', { startWith: '-1000000000000000', increment: -1, maxValue: '-1000000000000000', minValue: '-9007199254740991' });

/** Ids of the messages the product sends in WeCom (WeCom's own msgid is a string): one sequence for every chat. */
export const wecomMessageIdSeq = pgSequence('wecom_message_id_seq', { startWith: 1, increment: 1, minValue: 1, maxValue: 2147483647 });

/** A staff member's WeCom account, bound with an invite (`/start <code>` typed in WeCom). */
export const wecomUsers = pgTable('wecom_users', {
  /** WeCom's userid, lower-cased (WeCom compares userids without case). */
  userid: text('userid').primaryKey(),
  staffId: uuid('staff_id')
    .notNull()
    .unique()
    .references(() => staff.id),
  chatKey: tgId('chat_key')
    .notNull()
    .unique()
    .default(sql`nextval('wecom_chat_key_seq')`),
  boundAt: ts('bound_at').notNull(),
});

/**
 * Every interactive card sent in WeCom, by its task_id: the message (our numeric id) it shows, so a
 * press finds the message it was on. A message can be shown by several cards over time (a redraw with
 * no response_code left sends a new card): the newest is the current one, the older are superseded. A
 * list opened from a card (更多…, 处置清单) names its parent message: a choice on it acts on the parent.
 */
export const wecomCards = pgTable(
  'wecom_cards',
  {
    taskId: text('task_id').primaryKey(),
    chatKey: tgId('chat_key').notNull(),
    messageId: integer('message_id').notNull(),
    kind: text('kind').notNull(), // 'card' | 'list'
    parentMessageId: integer('parent_message_id'),
    /** Buttons the card could not show (over WeCom's 6): `[{ text, key }]`, for 更多…. */
    overflow: jsonb('overflow').notNull().default([]),
    supersededAt: ts('superseded_at'),
    createdAt: ts('created_at').notNull(),
    /**
     * When an update of this card got no answer (it may have landed and spent its code); null when none
     * did, or a later update or replacement went through. The card that replaces it is marked "re-sent",
     * by whichever process sends it.
     */
    updateInDoubtAt: ts('update_in_doubt_at'),
  },
  (t) => [index('wecom_cards_message_idx').on(t.chatKey, t.messageId)],
);

/** response_codes of WeCom cards: each redraws its card once, within 72 hours. */
export const wecomCardCodes = pgTable(
  'wecom_card_codes',
  {
    responseCode: text('response_code').primaryKey(),
    chatKey: tgId('chat_key').notNull(),
    messageId: integer('message_id').notNull(),
    taskId: text('task_id')
      .notNull()
      .references(() => wecomCards.taskId),
    expiresAt: ts('expires_at').notNull(),
    usedAt: ts('used_at'),
  },
  (t) => [
    index('wecom_card_codes_unused_idx')
      .on(t.taskId, t.expiresAt)
      .where(sql`${t.usedAt} is null`),
  ],
);

/** WeCom callbacks handled, by their delivery key (MsgId, or the event's own key): a retry or replay is dropped. */
export const wecomProcessedCallbacks = pgTable('wecom_processed_callbacks', {
  dedupKey: text('dedup_key').primaryKey(),
  receivedAt: ts('received_at').notNull(),
});

/**
 * Each chat's send line, shared by every process on the Redis-less queue backend (src/jobs/send-slots.ts):
 * when the chat is free next and the slots reserved in it, as one JSON value changed by compare-and-set
 * on `version`. Soft state: a lost row costs at most one answer of 429.
 */
export const chatSendSlots = pgTable('chat_send_slots', {
  chatId: tgId('chat_id').primaryKey(),
  line: jsonb('line').notNull(),
  version: bigint('version', { mode: 'number' }).notNull(),
  /** Past this the line says nothing any more (its slots and its free moment are over). */
  expiresAt: ts('expires_at').notNull(),
});

/** 三(一): the plan activated for an incident (决定启动), at one of the bureau's response levels; once per incident. */
export const planActivations = pgTable('plan_activations', {
  incidentId: uuid('incident_id')
    .primaryKey()
    .references(() => incidents.id),
  level: text('level').notNull(),
  activatedByStaffId: uuid('activated_by_staff_id')
    .notNull()
    .references(() => staff.id),
  activatedAt: ts('activated_at').notNull(),
});

/**
 * A message of the command loop: a leader's 批示 (remark) or 指令 (order) down to the on-site command and
 * the office, or the on-site command's 处置建议 (proposal) up to HQ. Its text is the incident_updates row
 * of the same id (every text of the timeline is there); this holds who it was addressed to.
 */
export const commandMessages = pgTable(
  'command_messages',
  {
    updateId: uuid('update_id')
      .primaryKey()
      .references(() => incidentUpdates.id),
    incidentId: uuid('incident_id')
      .notNull()
      .references(() => incidents.id),
    kind: text('kind').notNull(), // remark | order | proposal
    fromStaffId: uuid('from_staff_id')
      .notNull()
      .references(() => staff.id),
    addressees: jsonb('addressees').$type<string[]>().notNull().default([]),
    at: ts('at').notNull(),
  },
  (t) => [index('command_messages_incident_idx').on(t.incidentId, t.at)],
);

/**
 * 升级 / 降级响应: the response level changed after the plan was activated, one row each, oldest first;
 * the level in force is the latest row's `to_level`, else the activation's. The reason is the
 * incident_updates row of the same id (kind `level_change`), as every text of the timeline is.
 */
export const responseLevelChanges = pgTable(
  'response_level_changes',
  {
    updateId: uuid('update_id')
      .primaryKey()
      .references(() => incidentUpdates.id),
    incidentId: uuid('incident_id')
      .notNull()
      .references(() => incidents.id),
    fromLevel: text('from_level').notNull(),
    toLevel: text('to_level').notNull(),
    /** raise (升级) | lower (降级) | change (a level outside the bureau's list now). */
    direction: text('direction').notNull(),
    changedByStaffId: uuid('changed_by_staff_id')
      .notNull()
      .references(() => staff.id),
    changedAt: ts('changed_at').notNull(),
  },
  (t) => [index('response_level_changes_incident_idx').on(t.incidentId, t.changedAt)],
);

/** 收到: one person's receipt of a command message, once each. */
export const commandReceipts = pgTable(
  'command_receipts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    updateId: uuid('update_id')
      .notNull()
      .references(() => commandMessages.updateId),
    staffId: uuid('staff_id')
      .notNull()
      .references(() => staff.id),
    at: ts('at').notNull(),
  },
  (t) => [uniqueIndex('command_receipts_unique_idx').on(t.updateId, t.staffId)],
);

// ---------------------------------------------------------------------------------------------
// Outside parties and sanctions (issue 15, items 4 and 5)

/**
 * The bureau's directory of the outside parties it calls (110, the police station, the procuratorate…):
 * a unit and its number, for one judicial office or for all (office null). The org file holds the whole
 * directory; an import replaces it. Receipts copy what they used, so a later edit changes no record.
 */
export const outsideContacts = pgTable(
  'outside_contacts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Stable key from the org file. */
    code: text('code').notNull().unique(),
    party: text('party').notNull(), // OutsideParty
    name: text('name').notNull(),
    phone: text('phone').notNull(),
    officeUnitId: uuid('office_unit_id').references(() => units.id),
    note: text('note'),
  },
  (t) => [index('outside_contacts_party_idx').on(t.party, t.officeUnitId)],
);

/** 回执: one call or notice to an outside party for a step: how, when, who answered, the reference number. */
export const outsidePartyReceipts = pgTable(
  'outside_party_receipts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    incidentId: uuid('incident_id')
      .notNull()
      .references(() => incidents.id),
    stepKey: text('step_key').notNull(),
    party: text('party').notNull(), // OutsideParty
    method: text('method').notNull(), // ReceiptMethod
    /** When the call was made or the notice given, as typed. */
    at: ts('at').notNull(),
    /** Who answered: a name or a role, as typed (an outside person, not a subject). */
    answeredBy: text('answered_by').notNull(),
    /** 接警单号 and the like, when the party gave one. */
    reference: text('reference'),
    /** The directory entry's name and number offered at the time, if one was. */
    contactName: text('contact_name'),
    contactPhone: text('contact_phone'),
    recordedByStaffId: uuid('recorded_by_staff_id')
      .notNull()
      .references(() => staff.id),
    recordedAt: ts('recorded_at').notNull(),
    /** The form's key: the same submit delivered twice records once. */
    submissionKey: uuid('submission_key').unique(),
  },
  (t) => [index('outside_party_receipts_incident_idx').on(t.incidentId, t.at)],
);

/** 处罚: a sanction proposed or taken for an incident: its kind (the bureau's list), grounds, proposer, decision and date. */
export const sanctions = pgTable(
  'sanctions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    incidentId: uuid('incident_id')
      .notNull()
      .references(() => incidents.id),
    subjectId: uuid('subject_id').references(() => subjects.id),
    kind: text('kind').notNull(),
    grounds: text('grounds').notNull(),
    proposedByStaffId: uuid('proposed_by_staff_id')
      .notNull()
      .references(() => staff.id),
    proposedAt: ts('proposed_at').notNull(),
    decision: text('decision').notNull(), // SanctionDecision
    /** The decision's date (as typed), and who recorded it. */
    decidedAt: ts('decided_at').notNull(),
    decidedByStaffId: uuid('decided_by_staff_id')
      .notNull()
      .references(() => staff.id),
    updatedAt: ts('updated_at').notNull(),
    submissionKey: uuid('submission_key').unique(),
  },
  (t) => [index('sanctions_incident_idx').on(t.incidentId), index('sanctions_proposed_idx').on(t.proposedAt)],
);

// ---------------------------------------------------------------------------------------------
// Duty groups (issue 15): Telegram group chats a unit has bound, as notice targets.

/**
 * A group chat bound to a unit: `section` (the section's duty group, every incident), `office` (an
 * office's group, that office's incidents) or `hq` (the HQ group of one activated incident). One live
 * binding per chat; a chat bound again, or that the bot left, keeps its old row inactive.
 */
export const dutyGroups = pgTable(
  'duty_groups',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    chatId: tgId('chat_id').notNull(),
    purpose: text('purpose').notNull(), // DutyGroupPurpose
    unitId: uuid('unit_id')
      .notNull()
      .references(() => units.id),
    incidentId: uuid('incident_id').references(() => incidents.id),
    /** Who typed /bindgroup: the group's card is drawn as they see it (masked). */
    boundByStaffId: uuid('bound_by_staff_id')
      .notNull()
      .references(() => staff.id),
    boundAt: ts('bound_at').notNull(),
    active: boolean('active').notNull().default(true),
    unboundAt: ts('unbound_at'),
  },
  (t) => [uniqueIndex('duty_groups_active_chat_idx').on(t.chatId).where(sql`${t.active}`)],
);

/** Single-use, expiring codes for /bindgroup, issued in a private chat. */
export const dutyGroupCodes = pgTable('duty_group_codes', {
  id: uuid('id').primaryKey().defaultRandom(),
  code: text('code').notNull().unique(),
  purpose: text('purpose').notNull(),
  unitId: uuid('unit_id')
    .notNull()
    .references(() => units.id),
  incidentId: uuid('incident_id').references(() => incidents.id),
  issuedByStaffId: uuid('issued_by_staff_id')
    .notNull()
    .references(() => staff.id),
  createdAt: ts('created_at').notNull(),
  expiresAt: ts('expires_at').notNull(),
  usedAt: ts('used_at'),
  usedInChatId: tgId('used_in_chat_id'),
});

/** Unbound groups already told that the bot is not bound there: told once, then silent. */
export const unboundGroupNotices = pgTable('unbound_group_notices', {
  chatId: tgId('chat_id').primaryKey(),
  toldAt: ts('told_at').notNull(),
});
