import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

/**
 * JSON lines on stderr (stdout carries the report); every line carries the run id. Writes are
 * asynchronous: a synchronous destination sleeps in Atomics.wait whenever the stderr pipe is
 * full, which cost a 10,000-PVC pass a second. Pending writes keep the process alive until they
 * are out, and nothing here calls process.exit.
 */
export function createLogger(level: LogLevel, runId: string): Logger {
  return pino(
    {
      level,
      base: { runId },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}
