-- Issue 15 (三): 升级 / 降级响应 — the response level changed after activation, one row each; the reason is
-- the incident_updates row of the same id (kind 'level_change'). The level in force is the latest row's.
CREATE TABLE "response_level_changes" (
	"update_id" uuid PRIMARY KEY NOT NULL,
	"incident_id" uuid NOT NULL,
	"from_level" text NOT NULL,
	"to_level" text NOT NULL,
	"direction" text NOT NULL,
	"changed_by_staff_id" uuid NOT NULL,
	"changed_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "response_level_changes" ADD CONSTRAINT "response_level_changes_update_id_incident_updates_id_fk" FOREIGN KEY ("update_id") REFERENCES "public"."incident_updates"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "response_level_changes" ADD CONSTRAINT "response_level_changes_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "response_level_changes" ADD CONSTRAINT "response_level_changes_changed_by_staff_id_staff_id_fk" FOREIGN KEY ("changed_by_staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "response_level_changes_incident_idx" ON "response_level_changes" USING btree ("incident_id","changed_at");
