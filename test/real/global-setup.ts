// Printed once before the real tier runs, so a CI log shows what the tests ran against.
import { execFileSync } from 'node:child_process';
import { BINARIES, realTierUnavailable } from './cluster.js';

export default function setup(): void {
  const unavailable = realTierUnavailable();
  if (unavailable !== undefined) {
    process.stderr.write(`real API server tier unavailable: ${unavailable}\n`);
    return;
  }
  const apiserver = execFileSync(BINARIES.apiserver, ['--version'], { encoding: 'utf8' })
    .replace(/^Kubernetes /, '')
    .trim();
  const etcd = /etcd Version: (\S+)/.exec(
    execFileSync(BINARIES.etcd, ['--version'], { encoding: 'utf8' }),
  )?.[1];
  process.stderr.write(`real kube-apiserver ${apiserver}, etcd ${etcd ?? 'unknown'}\n`);
}
