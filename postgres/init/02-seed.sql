-- Seed deterministic demo data (see public.pgduck_seed in 01-schema.sql).
-- The account count comes from the custom setting pgduck.seed_accounts (default 1000):
--   psql:     PGOPTIONS="-c pgduck.seed_accounts=100000" psql -f 02-seed.sql
--   compose:  SEED_ACCOUNTS=100000 docker compose up
--   node:     applyInitScripts(url, { seedAccounts: 100000 })
-- 0 creates the schema without data. Each account brings 2 subscriptions, 3 invoices and
-- 6 invoice lines.
SELECT * FROM public.pgduck_seed(
  coalesce(nullif(current_setting('pgduck.seed_accounts', true), ''), '1000')::int
);

ANALYZE public.accounts, public.subscriptions, public.invoices, public.invoice_lines;
