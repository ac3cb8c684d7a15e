-- Drills take their numbers from a series of their own, so a drill never uses a number of the real register.
ALTER TABLE "incident_counters" ADD COLUMN "series" text DEFAULT 'real' NOT NULL;--> statement-breakpoint
ALTER TABLE "incident_counters" DROP CONSTRAINT "incident_counters_pkey";--> statement-breakpoint
ALTER TABLE "incident_counters" ADD CONSTRAINT "incident_counters_year_series_pk" PRIMARY KEY ("year", "series");
