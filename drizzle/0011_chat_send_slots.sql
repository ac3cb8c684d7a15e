-- Each chat's send line on the Redis-less queue backend: its free moment and reserved slots, changed by compare-and-set on version.
CREATE TABLE "chat_send_slots" (
	"chat_id" bigint PRIMARY KEY NOT NULL,
	"line" jsonb NOT NULL,
	"version" bigint NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);--> statement-breakpoint
CREATE INDEX "chat_send_slots_expires_idx" ON "chat_send_slots" USING btree ("expires_at");
