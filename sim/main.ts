#!/usr/bin/env node
// pvc-chonker-sim: runs the simulated cluster until SIGTERM/SIGINT. Prints one JSON line
// {"url":...,"kubeconfig":...} on stdout once it is serving, so scripts can wait for it.
import { parseSimArgs, SIM_USAGE, startFromConfig } from './cli.js';

async function main(argv: string[]): Promise<void> {
  const parsed = parseSimArgs(argv);
  if (!parsed.ok) {
    process.stderr.write(
      parsed.help ? SIM_USAGE : `pvc-chonker-sim: ${parsed.error}\n${SIM_USAGE}`,
    );
    process.exitCode = parsed.help ? 0 : 2;
    return;
  }
  const sim = await startFromConfig(parsed.config, (line) => process.stdout.write(`${line}\n`));

  function stop(): void {
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  }
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`pvc-chonker-sim: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
