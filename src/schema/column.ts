/**
 * How one source column travels: Postgres expression → Arrow/Parquet transport → DuckDB column.
 * Produced by mapColumn() (type-map.ts) from the catalog description (introspect-table.ts).
 */

/** A column as the Postgres catalog describes it (domains already resolved to their base type). */
export interface PgColumn {
  name: string;
  /** pg_attribute.attnum: stable across renames, so a rename is detected as a rename. */
  attnum: number;
  /** format_type(atttypid, atttypmod) of the declared type, e.g. `numeric(12,2)`, `text[]`, `my_domain`. */
  declaredType: string;
  /** format_type of the base type after resolving domains, e.g. `numeric(12,2)`, `text[]`. */
  baseType: string;
  /** pg_type.typname of the base type (`int4`, `_text`, `numeric`, …). */
  typname: string;
  /** pg_type.typtype of the base type: b base, e enum, r range, c composite, m multirange, p pseudo. */
  typtype: string;
  /** For arrays: the element's typname (e.g. `text` for `_text`); otherwise null. */
  elemTypname: string | null;
  /** typtype of the element for arrays (e.g. `e` for an array of enums). */
  elemTyptype: string | null;
  /** Declared numeric precision/scale when constrained (numeric(p,s)), else null. */
  numericPrecision: number | null;
  numericScale: number | null;
  notNull: boolean;
  /** attgenerated = 's': generated column (synced like any other; its value is read). */
  generated: boolean;
}

/** Arrow/Parquet physical type a column is carried in. Everything not numeric/bool travels as exact text. */
export type Transport = 'int16' | 'int32' | 'int64' | 'float32' | 'float64' | 'bool' | 'utf8';

export interface ColumnMapping {
  name: string;
  attnum: number;
  /** Source type as declared (for plan output and drift messages). */
  pgType: string;
  /** DuckDB column type, e.g. `DECIMAL(12,2)`, `TIMESTAMPTZ`, `VARCHAR[]`. */
  duckType: string;
  transport: Transport;
  /**
   * Postgres SELECT expression for this column, given the quoted column reference, whose TEXT output
   * (identity parsers: pg hands us the wire text) is the transport value. e.g. `${c}` or `encode(${c}, 'hex')`.
   * For int/float/bool transports the text is parsed in JS (BigInt for int64, Number for floats, 't'/'f').
   */
  selectExpr(quotedColumn: string): string;
  /** DuckDB expression turning the Parquet column (quoted reference) into duckType, e.g. `CAST(${c} AS UUID)`. */
  loadExpr(quotedColumn: string): string;
  /** Said in `plan` (e.g. "exact text: no faithful DuckDB type"). */
  note?: string;
}

export interface RefusedColumn {
  name: string;
  pgType: string;
  reason: string;
}
