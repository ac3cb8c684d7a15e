-- Issue 14: the absence as a process (requests, 销假, extensions, the overdue chain), subjects whose
-- status follows events, staff away periods, and subject imports previewed in the chat.
CREATE TABLE "absence_requests" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"subject_id" uuid NOT NULL,
	"destination" text NOT NULL,
	"reason" text,
	"starts_on" date NOT NULL,
	"ends_on" date NOT NULL,
	"extends_absence_id" uuid,
	"approver_level" text NOT NULL,
	"state" text NOT NULL,
	"requested_by_staff_id" uuid NOT NULL,
	"requested_at" timestamp with time zone NOT NULL,
	"decided_by_staff_id" uuid,
	"decided_at" timestamp with time zone,
	"decision_note" text,
	"absence_id" uuid,
	"version" integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "import_previews" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"staff_id" uuid NOT NULL,
	"payload_enc" bytea NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "absences" ADD COLUMN "approved_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "absences" ADD COLUMN "approved_ends_on" date;--> statement-breakpoint
ALTER TABLE "absences" ADD COLUMN "extends_absence_id" uuid;--> statement-breakpoint
ALTER TABLE "absences" ADD COLUMN "returned_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "absences" ADD COLUMN "returned_on" date;--> statement-breakpoint
ALTER TABLE "absences" ADD COLUMN "returned_by_staff_id" uuid;--> statement-breakpoint
ALTER TABLE "absences" ADD COLUMN "return_how" text;--> statement-breakpoint
ALTER TABLE "absences" ADD COLUMN "cancelled_by_staff_id" uuid;--> statement-breakpoint
ALTER TABLE "absences" ADD COLUMN "cancel_reason" text;--> statement-breakpoint
ALTER TABLE "subjects" ADD COLUMN "status_before_absconding" text;--> statement-breakpoint
ALTER TABLE "subjects" ADD COLUMN "admitted_on" date;--> statement-breakpoint
ALTER TABLE "subjects" ADD COLUMN "terminated_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "subjects" ADD COLUMN "termination_reason" text;--> statement-breakpoint
ALTER TABLE "staff" ADD COLUMN "away_from" date;--> statement-breakpoint
ALTER TABLE "staff" ADD COLUMN "away_until" date;--> statement-breakpoint
ALTER TABLE "absence_requests" ADD CONSTRAINT "absence_requests_subject_id_subjects_id_fk" FOREIGN KEY ("subject_id") REFERENCES "public"."subjects"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "absence_requests" ADD CONSTRAINT "absence_requests_extends_absence_id_absences_id_fk" FOREIGN KEY ("extends_absence_id") REFERENCES "public"."absences"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "absence_requests" ADD CONSTRAINT "absence_requests_requested_by_staff_id_staff_id_fk" FOREIGN KEY ("requested_by_staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "absence_requests" ADD CONSTRAINT "absence_requests_decided_by_staff_id_staff_id_fk" FOREIGN KEY ("decided_by_staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "absence_requests" ADD CONSTRAINT "absence_requests_absence_id_absences_id_fk" FOREIGN KEY ("absence_id") REFERENCES "public"."absences"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "import_previews" ADD CONSTRAINT "import_previews_staff_id_staff_id_fk" FOREIGN KEY ("staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "absences" ADD CONSTRAINT "absences_extends_absence_id_absences_id_fk" FOREIGN KEY ("extends_absence_id") REFERENCES "public"."absences"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "absences" ADD CONSTRAINT "absences_returned_by_staff_id_staff_id_fk" FOREIGN KEY ("returned_by_staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "absences" ADD CONSTRAINT "absences_cancelled_by_staff_id_staff_id_fk" FOREIGN KEY ("cancelled_by_staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "absence_requests_subject_idx" ON "absence_requests" USING btree ("subject_id");--> statement-breakpoint
CREATE INDEX "absence_requests_state_idx" ON "absence_requests" USING btree ("state");--> statement-breakpoint
CREATE INDEX "absences_subject_idx" ON "absences" USING btree ("subject_id");--> statement-breakpoint
-- The subject timeline reads a subject's status changes from the trail by entity.
CREATE INDEX "audit_entity_idx" ON "audit_log" USING btree ("entity","entity_id");
