import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.js';

/** sonic-boom in buffer mode: what it writes is Buffers, whatever its typings say. */
interface BufferSink {
  write(data: Buffer): boolean;
}

/** Where createLogger's loggers keep their raw line writer (see logRecord). */
const LINES = Symbol('pvc-chonker.lines');

interface Lines {
  /** The logger's bindings as pino writes them after the time: `"runId":"…"`. */
  bindings: string;
  write(line: string): void;
}

/**
 * JSON lines on stderr (stdout carries the report); every line carries the run id. Writes are
 * asynchronous: a synchronous destination sleeps in Atomics.wait whenever the stderr pipe is
 * full, which cost a 10,000-PVC pass a second. Pending writes keep the process alive until they
 * are out, and nothing here calls process.exit.
 *
 * Each line is handed over as a Buffer (sonic-boom's buffer mode): in its default string mode it
 * re-measures the whole pending chunk on every write, flattening up to 16 KiB per line, which was
 * 90 MB of garbage for the 10,000 decision lines of a pass.
 */
export function createLogger(level: LogLevel, runId: string, fd = 2): Logger {
  const stderr = pino.destination({ fd, sync: false, contentMode: 'buffer' });
  const write = (line: string): void => {
    // Looked up on each call: on EPIPE pino replaces the stream's write with a no-op.
    (stderr as unknown as BufferSink).write(Buffer.from(line));
  };
  const base = { runId };
  const logger = pino(
    {
      level,
      base,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    { write } satisfies DestinationStream,
  );
  const lines: Lines = { bindings: JSON.stringify(base).slice(1, -1), write };
  return Object.assign(logger, { [LINES]: lines });
}

/**
 * `log[level](fields, msg)` for the lines a pass writes by the thousand (one per managed PVC).
 * The line is the one pino writes (level, time, the logger's bindings, the fields, msg), made by
 * one JSON.stringify of the fields instead of pino's field-by-field serialisation: about half the
 * CPU, and less garbage, at 10,000 lines. A logger not made by createLogger (a test's, a child)
 * gets the plain call. The fields must be JSON values (no bigint).
 */
export function logRecord(
  log: Logger,
  level: 'info' | 'warn',
  fields: Readonly<Record<string, unknown>>,
  msg: string,
): void {
  // Its own property only: a child logger (Object.create of its parent) has bindings of its own.
  const lines = Object.hasOwn(log, LINES) ? (log as Logger & { [LINES]: Lines })[LINES] : undefined;
  if (lines === undefined) {
    log[level](fields, msg);
    return;
  }
  if (!log.isLevelEnabled(level)) return;
  const body = JSON.stringify(fields).slice(1, -1);
  lines.write(
    `{"level":"${level}","time":"${new Date().toISOString()}",${lines.bindings}${body === '' ? '' : `,${body}`},"msg":${JSON.stringify(msg)}}\n`,
  );
}
