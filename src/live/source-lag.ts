/**
 * `pgduck status --connect`: how far each pipeline's checkpoint is behind its source, now.
 *
 * - rows behind: the rows the next run would read, counted with the extract stage's own keyset
 *   predicate `(cursor, key…) > (checkpoint…)` (src/stages/extract.ts), so the `(cursor, key…)`
 *   index answers it. Counting stops at ROWS_CAP (reported as "at least"): a pipeline far behind
 *   must not make `status` scan its table.
 * - seconds behind: the source's newest cursor minus the checkpoint's, for a timestamp or date
 *   cursor (null for other cursor types, where the difference has no unit of time).
 *
 * The checkpoint is read by the caller from the state store; this reads Postgres only, in one
 * read-only transaction, and never touches the DuckDB file (status works while `pgduck run` holds
 * it). A pipeline never synced is behind by its whole table (rows with a NULL cursor aside: the
 * null-cursor sweep reads those).
 */
import type { PgClient } from '../postgres/connect.js';
import type { Position } from '../state/checkpoint-store.js';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import type { PgColumn } from '../schema/column.js';
import { qualified, quoteIdent } from '../sql/identifier.js';
import { rowsAfter } from '../sql/keyset.js';

export const ROWS_CAP = 1_000_000;

export interface SourceLag {
  /** Rows after the checkpoint in (cursor, key) order; at least this many when `capped`. */
  rowsBehind: number;
  capped: boolean;
  /** The newest cursor in the source, as Postgres prints it (null for an empty table). */
  newestCursor: string | null;
  /** newest cursor − checkpoint cursor, for timestamp and date cursors; 0 when caught up. */
  secondsBehind: number | null;
}

const TIME_TYPES = /^(timestamp|date)\b/;

export interface LagQuery {
  sql: string;
  values: string[];
}

/** The one query: newest cursor, its distance from the checkpoint in seconds, the rows after the checkpoint (up to the cap). */
export function buildLagSql(
  spec: PipelineSpec,
  cursor: Pick<PgColumn, 'declaredType'>,
  keys: Pick<PgColumn, 'declaredType'>[],
  position: Position | null,
): LagQuery {
  const table = qualified(spec.source.schema, spec.source.table);
  const c = quoteIdent(spec.source.cursor);
  const order = [spec.source.cursor, ...spec.source.primaryKey].map(quoteIdent);
  const types = [cursor.declaredType, ...keys.map((k) => k.declaredType)];
  const values = position ? [position.cursor, ...position.key] : [];
  const after = position ? rowsAfter(order, types) : `${c} IS NOT NULL`;
  // timestamptz − timestamptz and timestamp − timestamp give intervals, date − date whole days.
  const seconds =
    !position || !TIME_TYPES.test(cursor.declaredType)
      ? 'NULL'
      : cursor.declaredType.startsWith('date')
        ? `((n.newest - $1::date) * 86400)::float8`
        : `extract(epoch FROM (n.newest - $1::${cursor.declaredType}))::float8`;
  const sql = [
    `SELECT n.newest::text AS newest, ${seconds} AS seconds,`,
    `  (SELECT count(*) FROM (SELECT 1 FROM ${table} WHERE ${after} LIMIT ${ROWS_CAP + 1}) AS b) AS behind`,
    `FROM (SELECT max(${c}) AS newest FROM ${table}) AS n`,
  ].join('\n');
  return { sql, values };
}

export async function sourceLag(
  pg: PgClient,
  spec: PipelineSpec,
  cursor: Pick<PgColumn, 'declaredType'>,
  keys: Pick<PgColumn, 'declaredType'>[],
  position: Position | null,
): Promise<SourceLag> {
  const q = buildLagSql(spec, cursor, keys, position);
  const { rows } = await pg.query<{ newest: string | null; seconds: number | null; behind: string }>({ text: q.sql, values: q.values });
  const behind = Number(rows[0].behind);
  const seconds = rows[0].seconds === null ? null : Math.max(0, Number(rows[0].seconds));
  return {
    rowsBehind: Math.min(behind, ROWS_CAP),
    capped: behind > ROWS_CAP,
    newestCursor: rows[0].newest,
    secondsBehind: behind === 0 ? (seconds === null ? null : 0) : seconds,
  };
}

/** One line for the text report: "12 rows behind, 3.2 s (newest cursor …)". */
export function formatLag(lag: SourceLag): string {
  if (lag.rowsBehind === 0) return 'caught up with the source';
  const rows = `${lag.capped ? 'at least ' : ''}${lag.rowsBehind.toLocaleString('en')} row${lag.rowsBehind === 1 ? '' : 's'} behind`;
  const time = lag.secondsBehind === null ? '' : `, ${formatSeconds(lag.secondsBehind)} behind the newest cursor`;
  return `${rows}${time}`;
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400 * 2) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} days`;
}
