-- Issue 15, items 4 and 5: the bureau's directory of outside parties, the receipts (回执) of each call or
-- notice to one of them, and the sanctions (处罚) recorded for an incident.
CREATE TABLE "outside_contacts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"code" text NOT NULL,
	"party" text NOT NULL,
	"name" text NOT NULL,
	"phone" text NOT NULL,
	"office_unit_id" uuid,
	"note" text,
	CONSTRAINT "outside_contacts_code_unique" UNIQUE("code")
);
--> statement-breakpoint
CREATE TABLE "outside_party_receipts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"incident_id" uuid NOT NULL,
	"step_key" text NOT NULL,
	"party" text NOT NULL,
	"method" text NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"answered_by" text NOT NULL,
	"reference" text,
	"contact_name" text,
	"contact_phone" text,
	"recorded_by_staff_id" uuid NOT NULL,
	"recorded_at" timestamp with time zone NOT NULL,
	"submission_key" uuid,
	CONSTRAINT "outside_party_receipts_submission_key_unique" UNIQUE("submission_key")
);
--> statement-breakpoint
CREATE TABLE "sanctions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"incident_id" uuid NOT NULL,
	"subject_id" uuid,
	"kind" text NOT NULL,
	"grounds" text NOT NULL,
	"proposed_by_staff_id" uuid NOT NULL,
	"proposed_at" timestamp with time zone NOT NULL,
	"decision" text NOT NULL,
	"decided_at" timestamp with time zone NOT NULL,
	"decided_by_staff_id" uuid NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"submission_key" uuid,
	CONSTRAINT "sanctions_submission_key_unique" UNIQUE("submission_key")
);
--> statement-breakpoint
ALTER TABLE "outside_contacts" ADD CONSTRAINT "outside_contacts_office_unit_id_units_id_fk" FOREIGN KEY ("office_unit_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outside_party_receipts" ADD CONSTRAINT "outside_party_receipts_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outside_party_receipts" ADD CONSTRAINT "outside_party_receipts_recorded_by_staff_id_staff_id_fk" FOREIGN KEY ("recorded_by_staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sanctions" ADD CONSTRAINT "sanctions_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sanctions" ADD CONSTRAINT "sanctions_subject_id_subjects_id_fk" FOREIGN KEY ("subject_id") REFERENCES "public"."subjects"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sanctions" ADD CONSTRAINT "sanctions_proposed_by_staff_id_staff_id_fk" FOREIGN KEY ("proposed_by_staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sanctions" ADD CONSTRAINT "sanctions_decided_by_staff_id_staff_id_fk" FOREIGN KEY ("decided_by_staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "outside_contacts_party_idx" ON "outside_contacts" USING btree ("party","office_unit_id");--> statement-breakpoint
CREATE INDEX "outside_party_receipts_incident_idx" ON "outside_party_receipts" USING btree ("incident_id","at");--> statement-breakpoint
CREATE INDEX "sanctions_incident_idx" ON "sanctions" USING btree ("incident_id");--> statement-breakpoint
CREATE INDEX "sanctions_proposed_idx" ON "sanctions" USING btree ("proposed_at");
