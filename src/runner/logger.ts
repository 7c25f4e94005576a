/**
 * Structured logs on stderr (pino). Human-readable on a terminal, JSON lines otherwise
 * (or with PGDUCK_LOG_FORMAT=json), so logs can be shipped as they are.
 */
import { pino, type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';

export type Logger = PinoLogger;

export function createLogger(opts: { level?: string; format?: 'pretty' | 'json' } = {}): Logger {
  const level = opts.level ?? process.env.PGDUCK_LOG_LEVEL ?? 'info';
  const format = opts.format ?? (process.env.PGDUCK_LOG_FORMAT === 'json' || !process.stderr.isTTY ? 'json' : 'pretty');
  if (format === 'json') return pino({ level, base: undefined }, pino.destination({ fd: 2, sync: true }));
  return pino({ level, base: undefined }, pretty({ destination: 2, sync: true, colorize: true, ignore: 'time' }));
}
