/**
 * A real kube-apiserver with etcd, started like envtest starts one: the referee for the
 * simulated cluster. Built from Go modules by scripts/build-real-cluster.sh; `make test-real`
 * runs the tier inside a private network namespace (scripts/in-netns.sh) whose `lo` carries
 * TEST-NET-1 (192.0.2.0/24), because the API server's node proxy refuses loopback kubelets.
 *
 * There is no controller-manager, scheduler or kubelet: tests set statuses through the status
 * subresource, and `startResizer` plays the CSI resizer and the kubelet's filesystem growth.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import https from 'node:https';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createSimCa, type SimCa } from '../../sim/tls.js';
import { jsonRequest } from '../integration/json-request.js';
import { freePort } from '../../bench/prometheus-processes.js';

/**
 * The repository: two levels up from this file, or from its compiled copy in dist/test/real/
 * (make bench-real runs it from there): the first directory up that has the versions file.
 */
const ROOT = (() => {
  let dir = new URL('./', import.meta.url).pathname;
  while (!existsSync(join(dir, 'scripts/real-cluster-versions.env')) && dir !== '/')
    dir = join(dir, '..');
  return dir;
})();

/** The pinned releases, from the one file that names them. */
export const VERSIONS = (() => {
  const text = readFileSync(join(ROOT, 'scripts/real-cluster-versions.env'), 'utf8');
  const entries = new Map(
    text
      .split('\n')
      .filter((line) => /^[A-Z_]+=\S+$/.test(line))
      .map((line) => line.split('=') as [string, string]),
  );
  const value = (key: string): string => {
    const found = entries.get(key);
    if (found === undefined) throw new Error(`scripts/real-cluster-versions.env: no ${key}`);
    return found;
  };
  return { kubernetes: value('KUBERNETES_VERSION'), etcd: value('ETCD_VERSION') };
})();

export const BINARIES = {
  apiserver: join(ROOT, `.cache/real/bin/kube-apiserver-${VERSIONS.kubernetes}`),
  etcd: join(ROOT, `.cache/real/bin/etcd-${VERSIONS.etcd}`),
};

/** The address inside the namespace that the API server advertises and fake kubelets bind. */
export const NETNS_ADDRESS = '192.0.2.1';
const SERVICE_RANGE = '198.51.100.0/24'; // TEST-NET-2: never routed anywhere

/** Why the real tier cannot run here, or undefined when it can. */
export function realTierUnavailable(): string | undefined {
  if (!existsSync(BINARIES.apiserver) || !existsSync(BINARIES.etcd)) {
    return `no ${BINARIES.apiserver} or ${BINARIES.etcd}: run scripts/build-real-cluster.sh`;
  }
  const lo = networkInterfaces()['lo'] ?? [];
  if (!lo.some((a) => a.address === NETNS_ADDRESS)) {
    return `lo has no ${NETNS_ADDRESS}: run inside scripts/in-netns.sh (make test-real)`;
  }
  return undefined;
}

/** One entry of the API server's audit log, reduced to what tests assert on. */
export interface AuditEntry {
  verb: string;
  /** The request URI, query included. */
  uri: string;
  user: string;
  status: number;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** The request body, for writes (audit level Request); a PATCH's is the patch document. */
  body?: unknown;
  /** What admission recorded, e.g. `mutation.webhook.admission.k8s.io/round_0_index_0`. */
  annotations?: Record<string, string>;
  /** When the server received the request (ms since the epoch, with the stamp's microseconds). */
  receivedAt: number;
}

export interface RealCluster {
  /** `https://127.0.0.1:PORT`. */
  url: string;
  /** The CA that signed the serving certificate; it also signs client certificates. */
  ca: SimCa;
  /** Authenticates as `admin` in system:masters. */
  adminToken: string;
  /** A kubeconfig for `token` (default the admin's), verifying the server with the CA. */
  writeKubeconfig(path: string, token?: string): Promise<void>;
  /** A JSON request as the admin (or `token`); resolves with the status and the parsed body. */
  request(
    method: string,
    path: string,
    body?: unknown,
    options?: { token?: string; contentType?: string },
  ): Promise<{ status: number; body: unknown }>;
  /** The audit log so far, in order. */
  audit(): Promise<AuditEntry[]>;
  version: string;
  dir: string;
  close(): Promise<void>;
}

const AUDIT_POLICY = stringify({
  apiVersion: 'audit.k8s.io/v1',
  kind: 'Policy',
  // One entry per request, when it completes (a proxied or watch request would log twice).
  // ResponseStarted is only logged for long-running requests (watches, proxied streams): a watch
  // still open has no ResponseComplete yet. audit() keeps one entry per request.
  omitStages: ['RequestReceived'],
  rules: [
    { level: 'Request', verbs: ['create', 'update', 'patch', 'delete', 'deletecollection'] },
    { level: 'Metadata' },
  ],
});

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

interface Started {
  child: ChildProcess;
  /** The end of what it wrote to stderr. */
  tail(): string;
}

function start(command: string, args: string[]): Started {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let tail = '';
  child.stderr.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4_000);
  });
  child.on('exit', () => {
    running.delete(child);
  });
  return { child, tail: () => tail };
}

/** SIGKILL: the data is thrown away, and a graceful apiserver shutdown costs a second per test. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  child.kill('SIGKILL');
  await exited;
}

/** An RFC 3339 time with microseconds, to fractional ms (Date.parse keeps only ms). */
function epochMs(time: string): number {
  const micros = /\.(\d+)Z$/.exec(time)?.[1] ?? '0';
  return Date.parse(time.replace(/\.\d+Z$/, 'Z')) + Number(`0.${micros}`) * 1000;
}

function toAuditEntry(line: string): AuditEntry {
  const e = JSON.parse(line) as {
    verb: string;
    requestURI: string;
    user?: { username?: string };
    responseStatus?: { code?: number };
    objectRef?: {
      resource?: string;
      subresource?: string;
      namespace?: string;
      name?: string;
    };
    requestObject?: unknown;
    annotations?: Record<string, string>;
    requestReceivedTimestamp: string;
  };
  const ref = e.objectRef ?? {};
  return {
    verb: e.verb,
    uri: e.requestURI,
    user: e.user?.username ?? '',
    status: e.responseStatus?.code ?? 0,
    receivedAt: epochMs(e.requestReceivedTimestamp),
    ...(ref.resource === undefined ? {} : { resource: ref.resource }),
    ...(ref.subresource === undefined ? {} : { subresource: ref.subresource }),
    ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }),
    ...(ref.name === undefined ? {} : { name: ref.name }),
    ...(e.requestObject === undefined ? {} : { body: e.requestObject }),
    ...(e.annotations === undefined ? {} : { annotations: e.annotations }),
  };
}

async function waitReady(
  call: () => Promise<{ status: number; body: unknown }>,
  processes: Started[],
): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last = '';
  while (Date.now() < deadline) {
    for (const started of processes) {
      const { exitCode, spawnfile } = started.child;
      if (exitCode !== null) {
        throw new Error(`real cluster: ${spawnfile} exited ${exitCode}:\n${started.tail()}`);
      }
    }
    try {
      const answer = await call();
      if (answer.status === 200) return;
      last = `HTTP ${answer.status}: ${JSON.stringify(answer.body).slice(0, 400)}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const tails = processes.map((p) => p.tail()).join('\n');
  throw new Error(`real cluster not ready in 60 s: ${last}\n${tails}`);
}

export interface RealClusterOptions {
  /** More static tokens (token → user), each user in system:masters, as `admin` is. */
  tokens?: Record<string, string>;
}

/** The token file: the admin's line, then one line per extra token. */
function tokenFile(adminToken: string, tokens: Record<string, string>): string {
  const lines = [[adminToken, 'admin'], ...Object.entries(tokens)].map(
    ([token, user]) => `${token},${user},${user}-uid,"system:masters"\n`,
  );
  return lines.join('');
}

/** What a bind error says when the port was taken between freePort() and the bind. */
const PORT_TAKEN = /address already in use/;
const LAUNCHES = 3;

interface Launched {
  etcd: Started;
  apiserver: Started;
  url: string;
  agent: https.Agent;
  request: RealCluster['request'];
}

/** etcd and kube-apiserver on fresh data: every suite gets a cluster of its own. */
export async function startRealCluster(options: RealClusterOptions = {}): Promise<RealCluster> {
  const unavailable = realTierUnavailable();
  if (unavailable !== undefined) throw new Error(unavailable);
  const dir = await mkdtemp(join(tmpdir(), 'pvc-chonker-real-'));

  const ca = await createSimCa();
  const serving = await ca.issueServingCertificate([
    '127.0.0.1',
    NETNS_ADDRESS,
    'localhost',
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local',
  ]);
  const kubeletClient = await ca.issueClientCertificate('kube-apiserver-kubelet-client', [
    'kubeadm:cluster-admins',
  ]);
  const saKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const saKey = saKeys.privateKey.export({ type: 'pkcs8', format: 'pem' });
  const saPub = saKeys.publicKey.export({ type: 'spki', format: 'pem' });
  const adminToken = randomBytes(24).toString('hex');
  const files = {
    caCert: join(dir, 'ca.crt'),
    servingCert: join(dir, 'serving.crt'),
    servingKey: join(dir, 'serving.key'),
    kubeletCert: join(dir, 'kubelet-client.crt'),
    kubeletKey: join(dir, 'kubelet-client.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
    tokens: join(dir, 'tokens.csv'),
    auditPolicy: join(dir, 'audit-policy.yaml'),
    auditLog: join(dir, 'audit.log'),
  };
  await Promise.all([
    writeFile(files.caCert, ca.caPem),
    writeFile(files.servingCert, serving.certPem),
    writeFile(files.servingKey, serving.keyPem, { mode: 0o600 }),
    writeFile(files.kubeletCert, kubeletClient.certPem),
    writeFile(files.kubeletKey, kubeletClient.keyPem, { mode: 0o600 }),
    writeFile(files.saKey, saKey, { mode: 0o600 }),
    writeFile(files.saPub, saPub),
    writeFile(files.tokens, tokenFile(adminToken, options.tokens ?? {}), { mode: 0o600 }),
    writeFile(files.auditPolicy, AUDIT_POLICY),
  ]);

  /** etcd and kube-apiserver on three ports just found free, ready or failed. */
  const launch = async (): Promise<Launched> => {
    const [etcdPort, peerPort, securePort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcd = start(BINARIES.etcd, [
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    const apiserver = start(BINARIES.apiserver, [
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${join(dir, 'certs')}`,
      `--tls-cert-file=${files.servingCert}`,
      `--tls-private-key-file=${files.servingKey}`,
      `--client-ca-file=${files.caCert}`,
      `--secure-port=${securePort}`,
      '--bind-address=127.0.0.1',
      `--advertise-address=${NETNS_ADDRESS}`,
      '--endpoint-reconciler-type=none',
      `--service-cluster-ip-range=${SERVICE_RANGE}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${files.saPub}`,
      `--service-account-signing-key-file=${files.saKey}`,
      `--token-auth-file=${files.tokens}`,
      '--authorization-mode=RBAC',
      '--disable-admission-plugins=ServiceAccount',
      '--enable-aggregator-routing=true',
      `--kubelet-client-certificate=${files.kubeletCert}`,
      `--kubelet-client-key=${files.kubeletKey}`,
      '--kubelet-preferred-address-types=InternalIP',
      `--audit-policy-file=${files.auditPolicy}`,
      `--audit-log-path=${files.auditLog}`,
      '--audit-log-mode=blocking',
      '--v=0',
    ]);

    const url = `https://127.0.0.1:${securePort}`;
    // Kept alive: the fake kubelets ask several times per summary, and a TLS handshake for each
    // made a summary cost ~30 ms of the tests' process.
    const agent = new https.Agent({ keepAlive: true, maxSockets: 32 });
    const request: RealCluster['request'] = (method, path, body, options = {}) =>
      jsonRequest(`${url}${path}`, {
        method,
        agent,
        token: options.token ?? adminToken,
        body,
        ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
        ca: ca.caPem,
      });
    try {
      await waitReady(() => request('GET', '/readyz'), [etcd, apiserver]);
    } catch (error) {
      agent.destroy();
      await stop(apiserver.child);
      await stop(etcd.child);
      throw error;
    }
    return { etcd, apiserver, url, agent, request };
  };
  // A port found free can be taken before etcd or the apiserver binds it (another suite's
  // connection, in the same ephemeral range): then start again on other ports, on fresh data.
  let launched: Launched | undefined;
  for (let attempt = 1; launched === undefined; attempt++) {
    try {
      launched = await launch();
    } catch (error) {
      if (attempt >= LAUNCHES || !PORT_TAKEN.test(String(error))) throw error;
      await rm(join(dir, 'etcd'), { recursive: true, force: true });
      await rm(files.auditLog, { force: true });
    }
  }
  const { etcd, apiserver, url, agent, request } = launched;
  const versionAnswer = await request('GET', '/version');
  const version = (versionAnswer.body as { gitVersion?: string }).gitVersion ?? 'unknown';

  return {
    url,
    ca,
    adminToken,
    version,
    dir,
    request,
    async writeKubeconfig(path, token = adminToken) {
      await writeFile(
        path,
        stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [
            {
              name: 'real',
              cluster: {
                server: url,
                'certificate-authority-data': Buffer.from(ca.caPem).toString('base64'),
              },
            },
          ],
          users: [{ name: 'real', user: { token } }],
          contexts: [{ name: 'real', context: { cluster: 'real', user: 'real' } }],
          'current-context': 'real',
        }),
        { mode: 0o600 },
      );
    },
    async audit() {
      const text = await readFile(files.auditLog, 'utf8').catch(() => '');
      // One entry per request, where it first appeared: a request logged at ResponseStarted
      // and again at ResponseComplete is kept once, with the final status.
      const byId = new Map<string, AuditEntry>();
      for (const line of text.split('\n')) {
        if (line === '') continue;
        const { auditID } = JSON.parse(line) as { auditID: string };
        byId.set(auditID, toAuditEntry(line));
      }
      return [...byId.values()];
    },
    async close() {
      agent.destroy();
      await stop(apiserver.child);
      await stop(etcd.child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
