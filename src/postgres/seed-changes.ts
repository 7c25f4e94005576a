/**
 * The seed's live-change helper (`pgduck seed-changes`, the demo): on each demo table, insert one
 * row, update one, soft-delete one, and say which keys. Knows the schema in postgres/init/.
 */
import { PgduckError } from '../errors/pgduck-error.js';
import { UsageError } from '../errors/usage-error.js';
import type { PgClient } from './connect.js';

export interface SeedChange {
  table: string;
  insert: string;
  update: string;
  softDelete: string;
}

interface TableChanges {
  insert: string;
  update: string;
  softDelete: string;
}

// Each statement RETURNING the key as text ("a, b" for composite keys).
const CHANGES: Record<string, TableChanges> = {
  accounts: {
    insert: `INSERT INTO public.accounts (external_id, name, email, plan, country, tags, settings, signup_date, credit_balance)
             VALUES (gen_random_uuid(), 'Demo Ünïcode Ltd ' || to_char(clock_timestamp(), 'HH24:MI:SS.US'), 'demo@example.com', 'pro', 'DE',
                     '{demo,"new account"}', '{"source":"seed-changes","big":12345678901234567890}', current_date, 1234.56)
             RETURNING id::text AS key`,
    update: `UPDATE public.accounts SET plan = 'enterprise', credit_balance = coalesce(credit_balance, 0) + 100.01
             WHERE id = (SELECT id FROM public.accounts WHERE deleted_at IS NULL ORDER BY id LIMIT 1 OFFSET 1) RETURNING id::text AS key`,
    softDelete: `UPDATE public.accounts SET deleted_at = now()
             WHERE id = (SELECT id FROM public.accounts WHERE deleted_at IS NULL ORDER BY id DESC LIMIT 1 OFFSET 1) RETURNING id::text AS key`,
  },
  subscriptions: {
    insert: `INSERT INTO public.subscriptions (account_id, plan, status, seats, unit_price, started_on, features, metadata)
             SELECT id, 'pro', 'trialing', 3, 49.00, current_date, '{sso,"audit log"}', '{"coupon":null}'
             FROM public.accounts WHERE deleted_at IS NULL ORDER BY id LIMIT 1 RETURNING id::text AS key`,
    update: `UPDATE public.subscriptions SET seats = seats + 1, status = 'active'
             WHERE id = (SELECT id FROM public.subscriptions WHERE deleted_at IS NULL ORDER BY id LIMIT 1) RETURNING id::text AS key`,
    softDelete: `UPDATE public.subscriptions SET deleted_at = now(), status = 'canceled'
             WHERE id = (SELECT id FROM public.subscriptions WHERE deleted_at IS NULL ORDER BY id DESC LIMIT 1) RETURNING id::text AS key`,
  },
  invoices: {
    insert: `INSERT INTO public.invoices (account_id, number, status, currency, subtotal, tax, total, issued_on, due_on)
             SELECT id, 'INV-DEMO-' || to_char(clock_timestamp(), 'YYYYMMDDHH24MISSUS'), 'open', 'EUR', 100.00, 19.00, 119.00, current_date, current_date + 14
             FROM public.accounts WHERE deleted_at IS NULL ORDER BY id LIMIT 1 RETURNING id::text AS key`,
    update: `UPDATE public.invoices SET status = 'paid', paid_at = now()
             WHERE id = (SELECT id FROM public.invoices WHERE deleted_at IS NULL AND status <> 'paid' ORDER BY id LIMIT 1) RETURNING id::text AS key`,
    softDelete: `UPDATE public.invoices SET deleted_at = now(), status = 'void'
             WHERE id = (SELECT id FROM public.invoices WHERE deleted_at IS NULL ORDER BY id DESC LIMIT 1) RETURNING id::text AS key`,
  },
  invoice_lines: {
    insert: `INSERT INTO public.invoice_lines (invoice_id, line_no, description, quantity, unit_amount, amount)
             SELECT invoice_id, max(line_no) + 1, 'Demo add-on', 2, 5.50, 11.00 FROM public.invoice_lines
             GROUP BY invoice_id ORDER BY invoice_id LIMIT 1 RETURNING invoice_id::text || ', ' || line_no::text AS key`,
    update: `UPDATE public.invoice_lines SET quantity = quantity + 1, amount = unit_amount * (quantity + 1)
             WHERE (invoice_id, line_no) = (SELECT invoice_id, line_no FROM public.invoice_lines WHERE deleted_at IS NULL ORDER BY invoice_id, line_no LIMIT 1)
             RETURNING invoice_id::text || ', ' || line_no::text AS key`,
    softDelete: `UPDATE public.invoice_lines SET deleted_at = now()
             WHERE (invoice_id, line_no) = (SELECT invoice_id, line_no FROM public.invoice_lines WHERE deleted_at IS NULL ORDER BY invoice_id DESC, line_no DESC LIMIT 1)
             RETURNING invoice_id::text || ', ' || line_no::text AS key`,
  },
};

export const SEED_TABLES = Object.keys(CHANGES);

/** The table comment postgres/init/01-schema.sql sets on public.accounts. */
export const DEMO_MARKER = 'pgduck demo schema';

/**
 * Throws unless the database holds the demo schema of postgres/init (its marker comment): the demo
 * and seed-changes write rows, and must never do so in a real database that merely has an
 * `accounts` table and happens to be named by DATABASE_URL.
 */
export async function assertDemoSchema(client: PgClient): Promise<void> {
  const res = await client.query<{ comment: string | null }>(
    `SELECT obj_description(c.oid, 'pg_class') AS comment FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relname = 'accounts' AND c.relkind = 'r'`,
  );
  if (res.rows[0]?.comment?.startsWith(DEMO_MARKER)) return;
  throw new PgduckError(
    (res.rows.length === 0
      ? 'this database has no pgduck demo schema'
      : 'public.accounts here is not the pgduck demo table (it lacks the demo marker comment)') +
      ': nothing was changed. The demo only writes to the schema of postgres/init (apply it with `psql -f postgres/init/01-schema.sql -f postgres/init/02-seed.sql`), ' +
      'or run `pgduck demo` without DATABASE_URL to use an embedded Postgres.',
    { kind: 'needs-action', code: 'DEMO_SCHEMA_MISSING' },
  );
}

export async function seedChanges(client: PgClient, tables: string[] = SEED_TABLES): Promise<SeedChange[]> {
  await assertDemoSchema(client);
  const unknown = tables.filter((t) => !CHANGES[t]);
  if (unknown.length > 0) throw new UsageError(`seed-changes knows the demo tables ${SEED_TABLES.join(', ')}; not ${unknown.join(', ')}`);
  const out: SeedChange[] = [];
  for (const table of tables) {
    const c = CHANGES[table];
    const key = async (sql: string) => {
      const res = await client.query<{ key: string }>(sql);
      if (res.rows.length === 0)
        throw new PgduckError(`seed-changes: ${table} has no row to change (is the database seeded?)`, { kind: 'needs-action', code: 'DEMO_SCHEMA_MISSING' });
      return res.rows[0].key;
    };
    // Insert last, so the update and the soft delete never pick the row just inserted.
    const update = await key(c.update);
    const softDelete = await key(c.softDelete);
    out.push({ table, insert: await key(c.insert), update, softDelete });
  }
  return out;
}
