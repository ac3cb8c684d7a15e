-- Issue 15 (三): the plan activated at a response level, and the command loop's messages (批示、指令 down,
-- 处置建议 up; their text is the incident_updates row of the same id) with each person's receipt (收到).
CREATE TABLE "plan_activations" (
	"incident_id" uuid PRIMARY KEY NOT NULL,
	"level" text NOT NULL,
	"activated_by_staff_id" uuid NOT NULL,
	"activated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "command_messages" (
	"update_id" uuid PRIMARY KEY NOT NULL,
	"incident_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"from_staff_id" uuid NOT NULL,
	"addressees" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "command_receipts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"update_id" uuid NOT NULL,
	"staff_id" uuid NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "plan_activations" ADD CONSTRAINT "plan_activations_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "plan_activations" ADD CONSTRAINT "plan_activations_activated_by_staff_id_staff_id_fk" FOREIGN KEY ("activated_by_staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "command_messages" ADD CONSTRAINT "command_messages_update_id_incident_updates_id_fk" FOREIGN KEY ("update_id") REFERENCES "public"."incident_updates"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "command_messages" ADD CONSTRAINT "command_messages_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "command_messages" ADD CONSTRAINT "command_messages_from_staff_id_staff_id_fk" FOREIGN KEY ("from_staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "command_receipts" ADD CONSTRAINT "command_receipts_update_id_command_messages_update_id_fk" FOREIGN KEY ("update_id") REFERENCES "public"."command_messages"("update_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "command_receipts" ADD CONSTRAINT "command_receipts_staff_id_staff_id_fk" FOREIGN KEY ("staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "command_messages_incident_idx" ON "command_messages" USING btree ("incident_id","at");--> statement-breakpoint
CREATE UNIQUE INDEX "command_receipts_unique_idx" ON "command_receipts" USING btree ("update_id","staff_id");
