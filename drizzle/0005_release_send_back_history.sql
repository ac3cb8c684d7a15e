CREATE TABLE "release_send_backs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"release_id" uuid NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"by_staff_id" uuid NOT NULL,
	"from_state" text NOT NULL,
	"comment" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "release_send_backs" ADD CONSTRAINT "release_send_backs_release_id_public_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "public"."public_releases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "release_send_backs" ADD CONSTRAINT "release_send_backs_by_staff_id_staff_id_fk" FOREIGN KEY ("by_staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "release_send_backs_release_idx" ON "release_send_backs" USING btree ("release_id","id");