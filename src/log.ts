import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

/** JSON lines on stderr (stdout carries the report); every line carries the run id. */
export function createLogger(level: LogLevel, runId: string): Logger {
  return pino(
    {
      level,
      base: { runId },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
