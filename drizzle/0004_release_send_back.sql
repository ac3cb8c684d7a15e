ALTER TABLE "public_releases" ADD COLUMN "returned_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "public_releases" ADD COLUMN "returned_by_staff_id" uuid;--> statement-breakpoint
ALTER TABLE "public_releases" ADD COLUMN "return_comment" text;--> statement-breakpoint
ALTER TABLE "public_releases" ADD CONSTRAINT "public_releases_returned_by_staff_id_staff_id_fk" FOREIGN KEY ("returned_by_staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;