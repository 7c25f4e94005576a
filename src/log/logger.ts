/**
 * Structured logs on stderr (pino). Human-readable on a terminal (one line each: time, level,
 * message, then the fields), JSON lines otherwise, so logs can be shipped as they are.
 * PGDUCK_LOG_FORMAT (or --log-format) = json | pretty overrides the choice either way.
 * With progress bars on the terminal, lines go to a sink instead (src/log/terminal-progress.ts), which
 * writes each one above the bars, formatted synchronously, so a bar never cuts a line.
 */
import { createRequire } from 'node:module';
import { pino, type Logger as PinoLogger } from 'pino';
import type * as PinoPretty from 'pino-pretty';
import { UsageError } from '../errors/usage-error.js';

export type Logger = PinoLogger;

/**
 * pino-pretty (and its colour and date libraries) loaded only when a pretty format is used: JSON logs,
 * the default off a terminal, need none of it. A CommonJS package, so require() keeps createLogger
 * synchronous.
 */
function loadPretty(): typeof PinoPretty {
  return createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export function createLogger(opts: { level?: string; format?: 'pretty' | 'json'; sink?: (text: string) => void } = {}): Logger {
  const level = opts.level ?? process.env.PGDUCK_LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new UsageError(`log level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
  const envFormat = process.env.PGDUCK_LOG_FORMAT;
  if (!opts.format && envFormat && envFormat !== 'json' && envFormat !== 'pretty')
    throw new UsageError(`PGDUCK_LOG_FORMAT must be json or pretty, got ${JSON.stringify(envFormat)}`);
  const format = opts.format ?? (envFormat as 'json' | 'pretty' | undefined) ?? defaultLogFormat(process.stderr.isTTY === true);
  const prettyOptions = { colorize: process.stderr.isTTY === true, singleLine: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' };
  const { sink } = opts;
  if (sink) {
    const line = format === 'json' ? (text: string) => text : loadPretty().prettyFactory(prettyOptions);
    return pino({ level, base: undefined }, { write: (text: string) => sink(line(text)) });
  }
  if (format === 'json') return pino({ level, base: undefined }, pino.destination({ fd: 2, sync: true }));
  return pino({ level, base: undefined }, loadPretty().default({ destination: 2, sync: true, ...prettyOptions }));
}

/** Pretty on a terminal, JSON lines everywhere else (a pipe, a file, a container's log driver). */
export function defaultLogFormat(isTTY: boolean): 'pretty' | 'json' {
  return isTTY ? 'pretty' : 'json';
}
