/**
 * CPU time spent by a local Postgres server, read from Linux's /proc: the postmaster's own time, the
 * time of its children it has reaped (backends that ended: cutime, cstime) and the time of those
 * still running (backends, checkpointer, WAL writer, autovacuum). The difference of two readings is
 * what the server spent between them, whichever sessions did the work. null where there is no /proc
 * or no such process (another system, a server elsewhere).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Linux's USER_HZ: the unit of /proc/<pid>/stat's times (100 on every Linux architecture node runs on). */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  ppid: number;
  /** utime + stime + cutime + cstime, in ticks. */
  ticks: number;
}

function procStat(pid: number | string): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: fields after it, from state (3).
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return null;
  }
}

/** The server's CPU milliseconds so far (see above), or null when they cannot be read. */
export function postgresCpuMs(dataDir: string): number | null {
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
  } catch {
    return null;
  }
  const own = procStat(postmaster);
  if (!own) return null;
  let ticks = own.ticks;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = procStat(entry);
    if (child?.ppid === postmaster) ticks += child.ticks;
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}
