-- Issue 15 (item 6): the duty groups. A unit binds a Telegram group chat with a single-use code issued in
-- a private chat: the section's duty group, an office's group, or the HQ group of an activated incident.
-- A group is then a notice target like a person: outbox rows name it (recipient_group_id) beside the
-- person whose notice the group mirrors (recipient_staff_id: the draw's viewer and language).
CREATE TABLE "duty_groups" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"chat_id" bigint NOT NULL,
	"purpose" text NOT NULL,
	"unit_id" uuid NOT NULL,
	"incident_id" uuid,
	"bound_by_staff_id" uuid NOT NULL,
	"bound_at" timestamp with time zone NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"unbound_at" timestamp with time zone
);
--> statement-breakpoint
CREATE UNIQUE INDEX "duty_groups_active_chat_idx" ON "duty_groups" USING btree ("chat_id") WHERE "duty_groups"."active";--> statement-breakpoint
CREATE TABLE "duty_group_codes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"code" text NOT NULL,
	"purpose" text NOT NULL,
	"unit_id" uuid NOT NULL,
	"incident_id" uuid,
	"issued_by_staff_id" uuid NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone,
	"used_in_chat_id" bigint,
	CONSTRAINT "duty_group_codes_code_unique" UNIQUE("code")
);
--> statement-breakpoint
CREATE TABLE "unbound_group_notices" (
	"chat_id" bigint PRIMARY KEY NOT NULL,
	"told_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "recipient_group_id" uuid;--> statement-breakpoint
ALTER TABLE "duty_groups" ADD CONSTRAINT "duty_groups_unit_id_units_id_fk" FOREIGN KEY ("unit_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "duty_groups" ADD CONSTRAINT "duty_groups_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "duty_groups" ADD CONSTRAINT "duty_groups_bound_by_staff_id_staff_id_fk" FOREIGN KEY ("bound_by_staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "duty_group_codes" ADD CONSTRAINT "duty_group_codes_unit_id_units_id_fk" FOREIGN KEY ("unit_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "duty_group_codes" ADD CONSTRAINT "duty_group_codes_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "duty_group_codes" ADD CONSTRAINT "duty_group_codes_issued_by_staff_id_staff_id_fk" FOREIGN KEY ("issued_by_staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outbox" ADD CONSTRAINT "outbox_recipient_group_id_duty_groups_id_fk" FOREIGN KEY ("recipient_group_id") REFERENCES "public"."duty_groups"("id") ON DELETE no action ON UPDATE no action;
