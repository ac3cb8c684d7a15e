-- Issue 13: WeCom beside Telegram. A staff member's WeCom account (wecom_users), their preferred channel,
-- the cards sent in WeCom with their single-use response_codes, and the callbacks already handled.
CREATE SEQUENCE "wecom_chat_key_seq" AS bigint INCREMENT BY -1 MINVALUE -9007199254740991 MAXVALUE -1000000000000000 START WITH -1000000000000000;--> statement-breakpoint
CREATE SEQUENCE "wecom_message_id_seq" AS integer INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1;--> statement-breakpoint
ALTER TABLE "staff" ADD COLUMN "preferred_channel" text;--> statement-breakpoint
ALTER TABLE "staff" ADD CONSTRAINT "staff_preferred_channel_check" CHECK ("preferred_channel" IS NULL OR "preferred_channel" IN ('telegram', 'wecom'));--> statement-breakpoint
CREATE TABLE "wecom_users" (
	"userid" text PRIMARY KEY NOT NULL,
	"staff_id" uuid NOT NULL,
	"chat_key" bigint DEFAULT nextval('wecom_chat_key_seq') NOT NULL,
	"bound_at" timestamp with time zone NOT NULL,
	CONSTRAINT "wecom_users_staff_id_unique" UNIQUE("staff_id"),
	CONSTRAINT "wecom_users_chat_key_unique" UNIQUE("chat_key"),
	CONSTRAINT "wecom_users_userid_lower" CHECK ("userid" = lower("userid"))
);
--> statement-breakpoint
ALTER TABLE "wecom_users" ADD CONSTRAINT "wecom_users_staff_id_staff_id_fk" FOREIGN KEY ("staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER SEQUENCE "wecom_chat_key_seq" OWNED BY "wecom_users"."chat_key";--> statement-breakpoint
CREATE TABLE "wecom_cards" (
	"task_id" text PRIMARY KEY NOT NULL,
	"chat_key" bigint NOT NULL,
	"message_id" integer NOT NULL,
	"kind" text NOT NULL,
	"parent_message_id" integer,
	"overflow" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"superseded_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "wecom_cards_kind_check" CHECK ("kind" IN ('card', 'list'))
);
--> statement-breakpoint
CREATE INDEX "wecom_cards_message_idx" ON "wecom_cards" USING btree ("chat_key","message_id");--> statement-breakpoint
CREATE TABLE "wecom_card_codes" (
	"response_code" text PRIMARY KEY NOT NULL,
	"chat_key" bigint NOT NULL,
	"message_id" integer NOT NULL,
	"task_id" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "wecom_card_codes" ADD CONSTRAINT "wecom_card_codes_task_id_wecom_cards_task_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."wecom_cards"("task_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "wecom_card_codes_unused_idx" ON "wecom_card_codes" USING btree ("task_id","expires_at") WHERE "wecom_card_codes"."used_at" is null;--> statement-breakpoint
CREATE TABLE "wecom_processed_callbacks" (
	"dedup_key" text PRIMARY KEY NOT NULL,
	"received_at" timestamp with time zone NOT NULL
);
