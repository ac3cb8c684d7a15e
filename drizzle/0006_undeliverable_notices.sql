CREATE TABLE "undeliverable_notices" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"root_outbox_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"incident_id" uuid,
	"subject_id" uuid,
	"intended_staff_id" uuid NOT NULL,
	"tried" jsonb NOT NULL,
	"is_drill" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "undeliverable_notices_root_outbox_id_unique" UNIQUE("root_outbox_id")
);
--> statement-breakpoint
ALTER TABLE "undeliverable_notices" ADD CONSTRAINT "undeliverable_notices_root_outbox_id_outbox_id_fk" FOREIGN KEY ("root_outbox_id") REFERENCES "public"."outbox"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "undeliverable_notices" ADD CONSTRAINT "undeliverable_notices_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "undeliverable_notices" ADD CONSTRAINT "undeliverable_notices_subject_id_subjects_id_fk" FOREIGN KEY ("subject_id") REFERENCES "public"."subjects"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "undeliverable_notices" ADD CONSTRAINT "undeliverable_notices_intended_staff_id_staff_id_fk" FOREIGN KEY ("intended_staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "undeliverable_notices_created_idx" ON "undeliverable_notices" USING btree ("created_at");