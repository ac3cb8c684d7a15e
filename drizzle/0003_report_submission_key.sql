ALTER TABLE "incidents" ADD COLUMN "submission_key" uuid;--> statement-breakpoint
ALTER TABLE "incidents" ADD CONSTRAINT "incidents_submission_key_unique" UNIQUE("submission_key");