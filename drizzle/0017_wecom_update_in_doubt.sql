-- Issue 13: a WeCom card whose last update_template_card got no answer (it may have landed and spent its
-- response_code) is marked in PostgreSQL, not in one process's memory, so the card that replaces it is
-- marked "re-sent" by whichever process sends it. Cleared when a later update or replacement succeeds.
ALTER TABLE "wecom_cards" ADD COLUMN "update_in_doubt_at" timestamp with time zone;
