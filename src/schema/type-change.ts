/**
 * What a source type change means for the DuckDB column, as pure functions the drift check asks.
 *
 * Types here are DuckDB's own spellings (`typeof()` / duckdb_columns(): `INTEGER`, `DECIMAL(12,2)`,
 * `TIMESTAMP WITH TIME ZONE`, `INTEGER[]`) and Postgres' format_type() of the base type
 * (`integer`, `numeric(12,2)`, `character varying(20)`, `timestamp(3) with time zone`, `text[]`).
 *
 * Three questions:
 *  - isWidening(from, to): can every value of DuckDB type `from` be cast to `to` and stay the same number?
 *  - canWiden(from, to): may the drift check ALTER the DuckDB column from `from` to `to`? (widenings, plus
 *    conversions that keep every value representable — anything to VARCHAR, TIMESTAMP ↔ TIMESTAMPTZ —
 *    whose exact new values a backfill then re-reads from the source)
 *  - keepsText(oldPg, newPg): does Postgres' ALTER … TYPE leave every stored value exactly as it was (so the
 *    DuckDB cast gives what the source now holds, and no backfill is needed)? `char(5)` → `text` strips
 *    padding, `timestamp` → `timestamptz` reads the session time zone, `json` → `jsonb` re-prints: those are
 *    not kept, and the drift check re-reads the column from the source.
 */

const INT_RANK: Record<string, number> = { TINYINT: 1, SMALLINT: 2, INTEGER: 3, BIGINT: 4, HUGEINT: 5 };
/** Decimal digits needed to hold every value of an integer type, by INT_RANK. */
const INT_DIGITS = [0, 3, 5, 10, 19, 39];
const DECIMAL = /^DECIMAL\((\d+),(\d+)\)$/;

function listElement(t: string): string | null {
  return t.endsWith('[]') ? t.slice(0, -2) : null;
}

/** Every value of DuckDB type `from` survives a cast to `to` as the same number (or the same list of them). */
export function isWidening(from: string, to: string): boolean {
  if (from === to) return true;
  const fe = listElement(from);
  const te = listElement(to);
  if (fe !== null || te !== null) return fe !== null && te !== null && isWidening(fe, te);
  if (INT_RANK[from] && INT_RANK[to]) return INT_RANK[to] > INT_RANK[from];
  if (from === 'FLOAT' && to === 'DOUBLE') return true;
  // Integers of up to 16 (24) bits are exact in a FLOAT (DOUBLE) mantissa.
  if ((from === 'TINYINT' || from === 'SMALLINT') && (to === 'FLOAT' || to === 'DOUBLE')) return true;
  if (from === 'INTEGER' && to === 'DOUBLE') return true;
  const f = DECIMAL.exec(from);
  const t = DECIMAL.exec(to);
  if (f && t) {
    const [fp, fs, tp, ts] = [f[1], f[2], t[1], t[2]].map(Number);
    return ts >= fs && tp - ts >= fp - fs;
  }
  if (INT_RANK[from] && t) return Number(t[1]) - Number(t[2]) >= INT_DIGITS[INT_RANK[from]];
  return false;
}

/** May the DuckDB column be altered from `from` to `to` (every existing value has a value in `to`)? */
export function canWiden(from: string, to: string): boolean {
  if (isWidening(from, to)) return true;
  if (to === 'VARCHAR') return true;
  const ts = new Set(['TIMESTAMP', 'TIMESTAMP WITH TIME ZONE']);
  if (ts.has(from) && ts.has(to)) return true;
  if (from === 'DATE' && ts.has(to)) return true;
  const fe = listElement(from);
  const te = listElement(to);
  return fe !== null && te !== null && canWiden(fe, te);
}

/**
 * The USING expression for `ALTER … SET DATA TYPE to` when DuckDB's plain cast would print a value
 * differently from Postgres: DECIMAL(5,5) casts to `.00099` where Postgres prints `0.00099`, and
 * DECIMAL(1,1)[] to `[.1, -.1]`, element by element, where Postgres prints `{0.1,-0.1}`.
 */
export function alterUsing(quotedColumn: string, from: string, to: string): string | null {
  const leadingZero = (x: string) => `regexp_replace(CAST(${x} AS VARCHAR), '^(-?)\\.', '\\10.')`;
  if (to === 'VARCHAR' && DECIMAL.test(from)) return leadingZero(quotedColumn);
  const fe = listElement(from);
  if (to === 'VARCHAR[]' && fe !== null && DECIMAL.test(fe)) return `list_transform(${quotedColumn}, lambda pgduck_e: ${leadingZero('pgduck_e')})`;
  return null;
}

const TEXTISH = /^(text|character varying(\(\d+\))?)$/;
const INTS = new Set(['smallint', 'integer', 'bigint']);
const NUMERIC = /^numeric(?:\((\d+),(-?\d+)\))?$/;
const TIMESTAMP = /^timestamp(?:\((\d)\))? (with|without) time zone$/;

/** Does `ALTER TABLE … ALTER COLUMN … TYPE newPg` in Postgres leave every stored value's text as it was (up to the DuckDB cast)? */
export function keepsText(oldPg: string, newPg: string): boolean {
  if (oldPg === newPg) return true;
  const oe = oldPg.endsWith('[]') ? oldPg.slice(0, -2) : null;
  const ne = newPg.endsWith('[]') ? newPg.slice(0, -2) : null;
  if (oe !== null || ne !== null) return oe !== null && ne !== null && keepsText(oe, ne);
  if (TEXTISH.test(oldPg) && TEXTISH.test(newPg)) return true;
  if (INTS.has(oldPg) && INTS.has(newPg)) return true;
  if (oldPg === 'real' && newPg === 'double precision') return true;
  const on = NUMERIC.exec(oldPg);
  const nn = NUMERIC.exec(newPg);
  // An integer prints as numeric(p,s) prints it once DuckDB casts INTEGER to DECIMAL(p,s) (or to VARCHAR for plain numeric).
  if (INTS.has(oldPg) && nn) return nn[1] === undefined || Number(nn[1]) <= 38;
  if (on && nn) {
    if (nn[1] === undefined) return true; // plain numeric keeps each value's scale
    if (on[1] === undefined) return false; // rounded to the new scale
    // Same scale prints the same; a new scale re-prints, which a DuckDB DECIMAL cast matches but a VARCHAR one does not.
    return on[2] === nn[2] || (Number(nn[1]) <= 38 && Number(nn[2]) >= Number(on[2]) && Number(on[2]) >= 0);
  }
  const ot = TIMESTAMP.exec(oldPg);
  const nt = TIMESTAMP.exec(newPg);
  if (ot && nt && ot[2] === nt[2]) return nt[1] === undefined || (ot[1] !== undefined && Number(nt[1]) >= Number(ot[1]));
  return false;
}
