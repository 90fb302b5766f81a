import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createLogger, logRecord } from '../../src/log.js';

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/**
 * The lines a createLogger logger writes while `act` runs (`expected` of them: the writes are
 * asynchronous, so the file is read until they are all in), times blanked.
 */
async function linesOf(
  expected: number,
  act: (log: ReturnType<typeof createLogger>) => void,
): Promise<string[]> {
  dir = mkdtempSync(join(tmpdir(), 'pvc-chonker-log-'));
  const file = join(dir, 'log');
  const fd = openSync(file, 'w');
  const log = createLogger('info', 'run-1', fd);

  act(log);
  const read = (): string[] => readFileSync(file, 'utf8').split('\n').slice(0, -1);
  for (let turn = 0; turn < 10_000 && read().length < expected; turn++)
    await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  closeSync(fd);

  return read().map((line) => line.replace(/"time":"[^"]+"/, '"time":"T"'));
}

describe('logRecord', () => {
  const fields = {
    namespace: 'db',
    name: 'data-0',
    detail: 'quotes " and \\ and\nnewline, ünïcode',
    newSize: null,
    otherPolicies: ['db/a', 'db/b'],
    skipped: undefined,
    count: 3,
  };

  it.each([
    ['info', fields],
    ['warn', fields],
    ['info', {}],
  ] as const)('writes the line pino writes (%s)', async (level, record) => {
    const lines = await linesOf(2, (log) => {
      log[level](record, 'pvc decision');
      logRecord(log, level, record, 'pvc decision');
    });

    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe(lines[0]);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      level,
      runId: 'run-1',
      msg: 'pvc decision',
    });
  });

  it('writes nothing below the level', async () => {
    const lines = await linesOf(1, (log) => {
      log.level = 'warn';
      logRecord(log, 'info', fields, 'below');
      logRecord(log, 'warn', fields, 'at');
    });

    expect(lines.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['at']);
  });

  it("leaves a child logger's lines to pino, with its own bindings", async () => {
    const lines = await linesOf(1, (log) => {
      logRecord(log.child({ pvc: 'db/data-0' }), 'info', { a: 1 }, 'm');
    });

    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ runId: 'run-1', pvc: 'db/data-0', a: 1 });
  });

  it('falls back to the plain call for a logger not made by createLogger', () => {
    const seen: string[] = [];
    const other = pino({ level: 'info' }, { write: (line: string) => seen.push(line) });

    logRecord(other, 'info', { a: 1 }, 'm');

    expect(seen).toHaveLength(1);
    expect(JSON.parse(seen[0] ?? '')).toMatchObject({ a: 1, msg: 'm' });
  });
});
