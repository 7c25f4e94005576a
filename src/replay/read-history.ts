/**
 * Read what a replay needs to know about each history file, through DuckDB and without reading any
 * row: its row count, its `pgduck` key-value metadata and, for a file written before files carried
 * metadata, its Parquet columns.
 */
import { PgduckError } from '../errors/pgduck-error.js';
import type { LakeSession } from '../duckdb/lake.js';
import { quoteLiteral } from '../sql/identifier.js';
import type { HistoryFile } from '../parquet/history-files.js';
import { HISTORY_METADATA_FORMATS_READ, HISTORY_METADATA_KEY, type HistoryMetadata } from '../parquet/history-metadata.js';
import type { Transport } from '../schema/column.js';

export interface ParquetColumn {
  name: string;
  /** The transport the column was written in, read back from its Parquet type (null: not one pgduck writes). */
  transport: Transport | null;
}

export interface DescribedFile extends HistoryFile {
  rows: number;
  /** null: the file predates history metadata. */
  meta: HistoryMetadata | null;
  /** The file's columns in order (from the metadata, or from the Parquet schema). */
  parquetColumns: ParquetColumn[];
}

/** Files per query: keeps each statement's text bounded when the history holds many thousands. */
const CHUNK = 500;

export async function describeHistoryFiles(session: LakeSession, files: HistoryFile[]): Promise<DescribedFile[]> {
  const rows = new Map<string, number>();
  const metas = new Map<string, string>();
  for (let i = 0; i < files.length; i += CHUNK) {
    const list = `[${files
      .slice(i, i + CHUNK)
      .map((f) => quoteLiteral(f.path))
      .join(', ')}]`;
    for (const r of await readOrSay(session, `SELECT file_name, num_rows FROM parquet_file_metadata(${list})`))
      rows.set(String(r.file_name), Number(r.num_rows));
    for (const r of await readOrSay(
      session,
      `SELECT file_name, decode(value) AS value FROM parquet_kv_metadata(${list}) WHERE decode(key) = ${quoteLiteral(HISTORY_METADATA_KEY)}`,
    )) {
      metas.set(String(r.file_name), String(r.value));
    }
  }
  const out: DescribedFile[] = [];
  for (const f of files) {
    const meta = parseMetadata(f.path, metas.get(f.path));
    const parquetColumns = meta
      ? meta.columns.map((c) => ({ name: c.name, transport: null }))
      : (await readOrSay(session, `SELECT name, type, converted_type FROM parquet_schema(${quoteLiteral(f.path)}) WHERE type IS NOT NULL`)).map((r) => ({
          name: String(r.name),
          transport: transportOf(String(r.type), r.converted_type === null ? null : String(r.converted_type)),
        }));
    out.push({ ...f, rows: rows.get(f.path) ?? 0, meta, parquetColumns });
  }
  return out;
}

function parseMetadata(path: string, text: string | undefined): HistoryMetadata | null {
  if (text === undefined) return null;
  let meta: HistoryMetadata;
  try {
    meta = JSON.parse(text) as HistoryMetadata;
  } catch {
    throw new PgduckError(`${path}: its ${HISTORY_METADATA_KEY} metadata is not JSON`, { kind: 'needs-action', code: 'HISTORY_UNREADABLE' });
  }
  if (!HISTORY_METADATA_FORMATS_READ.includes(meta.format) || !Array.isArray(meta.columns)) {
    throw new PgduckError(
      `${path} was written by another version of pgduck (metadata format ${JSON.stringify(meta.format)}; this one reads ${HISTORY_METADATA_FORMATS_READ.join(' and ')})`,
      {
        kind: 'needs-action',
        code: 'HISTORY_UNREADABLE',
        fix: 'replay it with the pgduck version that wrote it',
      },
    );
  }
  return meta;
}

function transportOf(physical: string, converted: string | null): Transport | null {
  switch (physical) {
    case 'INT32':
      return converted === 'INT_16' ? 'int16' : converted === null || converted === 'INT_32' ? 'int32' : null;
    case 'INT64':
      return 'int64';
    case 'FLOAT':
      return 'float32';
    case 'DOUBLE':
      return 'float64';
    case 'BOOLEAN':
      return 'bool';
    case 'BYTE_ARRAY':
      return 'utf8';
    default:
      return null;
  }
}

async function readOrSay(session: LakeSession, sql: string) {
  try {
    return await session.all(sql);
  } catch (err) {
    throw new Error(`cannot read the Parquet history: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}
