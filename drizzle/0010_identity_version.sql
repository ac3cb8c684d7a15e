-- The bot processes keep identities (a staff row, its seats, its unit) in memory for a short while. Any
-- change to what an identity is made of moves this counter, which every update's gate reads, so an
-- identity cached before a change that has committed is never used; listeners are told at once too.
CREATE SEQUENCE IF NOT EXISTS "identity_version";
--> statement-breakpoint
CREATE OR REPLACE FUNCTION identity_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM nextval('identity_version');
  PERFORM pg_notify('identity_changed', TG_TABLE_NAME);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER staff_identity_changed AFTER INSERT OR UPDATE OR DELETE ON "staff" FOR EACH ROW EXECUTE FUNCTION identity_changed();
--> statement-breakpoint
CREATE TRIGGER staff_identity_truncated AFTER TRUNCATE ON "staff" FOR EACH STATEMENT EXECUTE FUNCTION identity_changed();
--> statement-breakpoint
CREATE TRIGGER positions_identity_changed AFTER INSERT OR UPDATE OR DELETE ON "positions" FOR EACH ROW EXECUTE FUNCTION identity_changed();
--> statement-breakpoint
CREATE TRIGGER positions_identity_truncated AFTER TRUNCATE ON "positions" FOR EACH STATEMENT EXECUTE FUNCTION identity_changed();
--> statement-breakpoint
CREATE TRIGGER units_identity_changed AFTER INSERT OR UPDATE OR DELETE ON "units" FOR EACH ROW EXECUTE FUNCTION identity_changed();
--> statement-breakpoint
CREATE TRIGGER units_identity_truncated AFTER TRUNCATE ON "units" FOR EACH STATEMENT EXECUTE FUNCTION identity_changed();
