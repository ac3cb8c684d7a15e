-- Issue 15 (九): drills scheduled ahead, started on their date by the daily run, and the 特殊敏感时间段
-- the section keeps (officers reminded before each; a type 十 report in one is linked to it).
CREATE TABLE "scheduled_drills" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"drill_date" date NOT NULL,
	"type" text NOT NULL,
	"scenario" text,
	"office_unit_id" uuid NOT NULL,
	"scheduled_by_staff_id" uuid NOT NULL,
	"scheduled_at" timestamp with time zone NOT NULL,
	"state" text DEFAULT 'scheduled' NOT NULL,
	"starter_staff_id" uuid,
	"drill_id" uuid,
	"incident_id" uuid,
	"started_at" timestamp with time zone,
	"cancelled_at" timestamp with time zone,
	"cancelled_by_staff_id" uuid
);
--> statement-breakpoint
CREATE TABLE "sensitive_periods" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"starts_on" date NOT NULL,
	"ends_on" date NOT NULL,
	"created_by_staff_id" uuid NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"reminded_at" timestamp with time zone,
	"removed_at" timestamp with time zone,
	"removed_by_staff_id" uuid
);
--> statement-breakpoint
ALTER TABLE "incidents" ADD COLUMN "sensitive_period_id" uuid;--> statement-breakpoint
ALTER TABLE "scheduled_drills" ADD CONSTRAINT "scheduled_drills_office_unit_id_units_id_fk" FOREIGN KEY ("office_unit_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scheduled_drills" ADD CONSTRAINT "scheduled_drills_scheduled_by_staff_id_staff_id_fk" FOREIGN KEY ("scheduled_by_staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scheduled_drills" ADD CONSTRAINT "scheduled_drills_starter_staff_id_staff_id_fk" FOREIGN KEY ("starter_staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scheduled_drills" ADD CONSTRAINT "scheduled_drills_drill_id_drills_id_fk" FOREIGN KEY ("drill_id") REFERENCES "public"."drills"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scheduled_drills" ADD CONSTRAINT "scheduled_drills_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scheduled_drills" ADD CONSTRAINT "scheduled_drills_cancelled_by_staff_id_staff_id_fk" FOREIGN KEY ("cancelled_by_staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sensitive_periods" ADD CONSTRAINT "sensitive_periods_created_by_staff_id_staff_id_fk" FOREIGN KEY ("created_by_staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sensitive_periods" ADD CONSTRAINT "sensitive_periods_removed_by_staff_id_staff_id_fk" FOREIGN KEY ("removed_by_staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "incidents" ADD CONSTRAINT "incidents_sensitive_period_id_sensitive_periods_id_fk" FOREIGN KEY ("sensitive_period_id") REFERENCES "public"."sensitive_periods"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "scheduled_drills_state_date_idx" ON "scheduled_drills" USING btree ("state","drill_date");--> statement-breakpoint
CREATE INDEX "sensitive_periods_dates_idx" ON "sensitive_periods" USING btree ("starts_on","ends_on");
