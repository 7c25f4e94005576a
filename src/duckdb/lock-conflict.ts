/**
 * DuckDB lets one process write a file at a time. When another process holds it, DuckDB 1.5 says
 * `IO Error: Could not set lock on file "/x/w.duckdb": Conflicting lock is held in /usr/bin/duckdb
 * (PID 4242). See also …`: this reads the file and the holder out of that text.
 */
export interface LockConflict {
  /** The locked file, when DuckDB names it. */
  file: string | null;
  /** The holder's program (base name) and PID, when DuckDB names them. */
  program: string | null;
  pid: number | null;
}

export function parseLockConflict(text: string): LockConflict | null {
  if (!/Could not set lock on file|Conflicting lock is held/i.test(text)) return null;
  const file = /Could not set lock on file "([^"]*)"/i.exec(text)?.[1] ?? null;
  const holder = /Conflicting lock is held in (.*?) \(PID (\d+)\)/i.exec(text);
  return { file, program: holder ? (holder[1].split('/').pop() ?? holder[1]) : null, pid: holder ? Number(holder[2]) : null };
}

/** `another process (duckdb, PID 4242)`, or `another process` when DuckDB did not say which. */
export function describeLockHolder(conflict: LockConflict): string {
  if (conflict.pid === null) return 'another process';
  return `another process (${conflict.program ? `${conflict.program}, ` : ''}PID ${conflict.pid})`;
}
