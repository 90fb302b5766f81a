/**
 * Where the API server is and what every request to it carries (TLS material, Authorization and
 * impersonation headers), from --kubeconfig / KUBECONFIG / the pod's service account /
 * ~/.kube/config, in kubectl's order of precedence.
 *
 * Static credentials (token, tokenFile, client certificate, basic) are handled here. Exec plugins
 * and legacy auth providers are run by client-node's KubeConfig, imported only for such a
 * kubeconfig: loading it costs 30 MiB and 50 ms at start, and the CronJob, which uses its service
 * account, never needs it.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { OutgoingHttpHeaders } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { withoutUndefined } from '../core/json.js';
import { err, ok, type Result } from '../core/result.js';
import {
  contextNames,
  resolveKubeconfig,
  type ClusterEntry,
  type CredentialPlugin,
  type KubeconfigFile,
  type Material,
  type UserEntry,
} from './kubeconfig.js';

/** What node:https takes for the server's identity and ours. */
export interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface RequestCredentials {
  tls: TlsOptions;
  headers: OutgoingHttpHeaders;
}

export interface ApiConnection {
  server: URL;
  /** Where it came from, for the log: a kubeconfig context or the service account. */
  source: string;
  /** What the run ignores of the kubeconfig (proxy-url), for the log. */
  warnings: string[];
  /**
   * TLS options and headers for the next requests. Token files are read again at each call, so
   * the caller caches the answer for a few seconds; a plugin's credential is cached by
   * client-node until it expires.
   */
  credentials(): Promise<RequestCredentials>;
  /**
   * The largest answer read from this server (default MAX_ANSWER_BYTES): a kubelet or gateway
   * that streams without end fails its own call instead of filling the heap.
   */
  maxAnswerBytes?: number;
}

/** The parts of the server URL node:http takes; an IPv6 host loses its URL brackets. */
export interface RequestTarget {
  protocol: 'http:' | 'https:';
  hostname: string;
  port: string;
  /** The server URL's path (a proxied API server), without its trailing slash. */
  basePath: string;
}

export function requestTarget(server: URL): RequestTarget {
  return {
    protocol: server.protocol === 'http:' ? 'http:' : 'https:',
    hostname: server.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: server.port,
    basePath: server.pathname.replace(/\/$/, ''),
  };
}

/** A request's path under the server's base path, with its query string if it has one. */
export function pathWithQuery(
  basePath: string,
  path: string,
  query: Readonly<Record<string, string>> | undefined,
): string {
  const search = query === undefined ? '' : new URLSearchParams(query).toString();
  return `${basePath}${path}${search === '' ? '' : `?${search}`}`;
}

export interface ConnectionChoice {
  kubeconfig?: string | undefined;
  context?: string | undefined;
}

/** Where a pod's service account token and CA are mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface ConnectionEnvironment {
  env: NodeJS.ProcessEnv;
  /** Default: ~/.kube/config's directory's parent (the home directory). */
  home?: string;
  /** Default: SERVICE_ACCOUNT_DIR. */
  serviceAccountDir?: string;
}

function readText(path: string): Result<string> {
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- a path of the operator's kubeconfig or the pod's service account
    return ok(readFileSync(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    return err(`cannot read ${path}${code === '' ? '' : ` (${code})`}`);
  }
}

function materialText(material: Material, what: string): Result<string> {
  if ('file' in material) return readText(material.file);
  const text = Buffer.from(material.data, 'base64').toString('utf8');
  return text.trim() === '' ? err(`${what}-data is not base64`) : ok(text);
}

function basicAuthorization(username: string, password: string | undefined): string {
  return `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
}

function impersonationHeaders(user: UserEntry): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  const as = user.impersonate;
  if (as === undefined) return headers;
  if (as.user !== undefined) headers['Impersonate-User'] = as.user;
  if (as.uid !== undefined) headers['Impersonate-Uid'] = as.uid;
  if (as.groups.length > 0) headers['Impersonate-Group'] = as.groups;
  return headers;
}

/** The cluster's half of the TLS options, read once. */
function clusterTls(cluster: ClusterEntry): Result<TlsOptions> {
  const tls: TlsOptions = { rejectUnauthorized: !cluster.insecureSkipTlsVerify };
  if (cluster.tlsServerName !== undefined) tls.servername = cluster.tlsServerName;
  if (cluster.certificateAuthority !== undefined) {
    const ca = materialText(cluster.certificateAuthority, 'certificate-authority');
    if (!ca.ok) return ca;
    tls.ca = ca.value;
  }
  return ok(tls);
}

type PluginCredentials = () => Promise<{ authorization?: string; cert?: string; key?: string }>;

/** An exec plugin or auth provider, run by client-node (its own caching and expiry apply). */
function pluginCredentials(cluster: ClusterEntry, plugin: CredentialPlugin): PluginCredentials {
  let loaded: Promise<{ applyToHTTPSOptions(options: unknown): Promise<void> }> | undefined;
  const load = async (): Promise<{ applyToHTTPSOptions(options: unknown): Promise<void> }> => {
    const { KubeConfig } = await import('@kubernetes/client-node/dist/config.js');
    const config = new KubeConfig();
    config.loadFromClusterAndUser(
      { name: 'cluster', server: cluster.server, skipTLSVerify: cluster.insecureSkipTlsVerify },
      {
        name: 'user',
        ...(plugin.exec === undefined ? {} : { exec: plugin.exec }),
        ...(plugin.authProvider === undefined ? {} : { authProvider: plugin.authProvider }),
      },
    );
    return config;
  };
  return async () => {
    loaded ??= load();
    const config = await loaded;
    const options: { headers: Record<string, unknown>; cert?: unknown; key?: unknown } = {
      headers: {},
    };
    await config.applyToHTTPSOptions(options);
    const authorization = options.headers['Authorization'] ?? options.headers['authorization'];
    return {
      ...(typeof authorization === 'string' ? { authorization } : {}),
      ...withoutUndefined({ cert: pemText(options.cert), key: pemText(options.key) }),
    };
  };
}

/** client-node gives a plugin's certificate and key as Buffers or strings. */
function pemText(value: unknown): string | undefined {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return typeof value === 'string' ? value : undefined;
}

/** The Authorization header of static credentials: a token file's current token first. */
function staticAuthorization(user: UserEntry): () => string | undefined {
  const { tokenFile, token, username, password } = user;
  if (tokenFile !== undefined)
    return () => {
      const read = readText(tokenFile);
      if (!read.ok) throw new Error(read.error);
      return `Bearer ${read.value.trim()}`;
    };
  // eslint-disable-next-line security/detect-possible-timing-attacks -- a presence check, not a comparison of secrets
  if (token !== undefined) return () => `Bearer ${token}`;
  if (username !== undefined) return () => basicAuthorization(username, password);
  return () => undefined;
}

/** A resolved kubeconfig context → a connection; the files it names are read here, once. */
function fromTarget(cluster: ClusterEntry, user: UserEntry, source: string): Result<ApiConnection> {
  const tls = clusterTls(cluster);
  if (!tls.ok) return tls;
  if (user.clientCertificate !== undefined && user.clientKey !== undefined) {
    const cert = materialText(user.clientCertificate, 'client-certificate');
    if (!cert.ok) return cert;
    const key = materialText(user.clientKey, 'client-key');
    if (!key.ok) return key;
    tls.value.cert = cert.value;
    tls.value.key = key.value;
  }
  // A token file is read now too, so that a missing one is a start-up error, not 1,000 failures.
  if (user.tokenFile !== undefined) {
    const first = readText(user.tokenFile);
    if (!first.ok) return first;
  }
  const authorization = staticAuthorization(user);
  const fixed = impersonationHeaders(user);
  const plugin = user.plugin === undefined ? undefined : pluginCredentials(cluster, user.plugin);
  const warnings =
    cluster.proxyUrl === undefined
      ? []
      : [`the kubeconfig's proxy-url ${cluster.proxyUrl} is not supported: connecting directly`];
  return ok({
    server: new URL(cluster.server),
    source,
    warnings,
    async credentials() {
      const headers: OutgoingHttpHeaders = { ...fixed };
      const requestTls = { ...tls.value };
      if (plugin !== undefined) {
        // client-node caches the plugin's credential until it expires, and runs it again then.
        const applied = await plugin();
        if (applied.authorization !== undefined) headers['Authorization'] = applied.authorization;
        if (applied.cert !== undefined) requestTls.cert = applied.cert;
        if (applied.key !== undefined) requestTls.key = applied.key;
      } else {
        const value = authorization();
        if (value !== undefined) headers['Authorization'] = value;
      }
      return { tls: requestTls, headers };
    },
  });
}

/** The pod's service account, as client-go's InClusterConfig reads it. */
function inCluster(env: NodeJS.ProcessEnv, dir: string): Result<ApiConnection> {
  const host = env['KUBERNETES_SERVICE_HOST'] ?? '';
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '';
  if (host === '' || port === '')
    return err('KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both be set in a pod');
  const tokenFile = join(dir, 'token');
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the service account's mount
  if (!existsSync(tokenFile))
    return err(`in a pod, but ${tokenFile} does not exist: is automountServiceAccountToken false?`);
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return fromTarget(
    { server, insecureSkipTlsVerify: false, certificateAuthority: { file: join(dir, 'ca.crt') } },
    { tokenFile },
    'in-cluster service account',
  );
}

function fromFiles(
  paths: readonly string[],
  context: string | undefined,
  label: string,
): Result<ApiConnection> {
  const files: KubeconfigFile[] = [];
  for (const path of paths) {
    const text = readText(path);
    if (!text.ok) return text;
    files.push({ path, text: text.value });
  }
  const target = resolveKubeconfig(files, context);
  // A bad --context is the flag's error; the rest is the file's.
  if (!target.ok)
    return target.error.startsWith('--context')
      ? target
      : err(`cannot load kubeconfig ${JSON.stringify(label)}: ${target.error}`);
  const { cluster, user } = target.value;
  const connection = fromTarget(cluster, user, `${label}, context ${target.value.context}`);
  return connection.ok
    ? connection
    : err(`cannot load kubeconfig ${JSON.stringify(label)}: ${connection.error}`);
}

/** Where the connection comes from: kubeconfig files (and how to name them), or the pod. */
type Source = { kind: 'files'; paths: string[]; label: string } | { kind: 'in-cluster' };

/**
 * kubectl's precedence: --kubeconfig (each file must exist), else KUBECONFIG (a colon-separated
 * list; missing files are skipped), else the pod's service account, else ~/.kube/config.
 */
function locate(choice: ConnectionChoice, environment: ConnectionEnvironment): Result<Source> {
  const { env } = environment;
  const split = (list: string): string[] => list.split(':').filter((file) => file !== '');
  const exists = (file: string): boolean =>
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- a kubeconfig path the operator named
    existsSync(file);
  if (choice.kubeconfig !== undefined && choice.kubeconfig !== '') {
    const files = split(choice.kubeconfig);
    const missing = files.find((file) => !exists(file));
    if (missing !== undefined) return err(`--kubeconfig: "${missing}" does not exist`);
    return ok({ kind: 'files', paths: files, label: choice.kubeconfig });
  }
  const fromEnv = env['KUBECONFIG'];
  if (fromEnv !== undefined && fromEnv !== '') {
    const files = split(fromEnv).filter(exists);
    if (files.length === 0) return err(`KUBECONFIG: none of "${fromEnv}" exists`);
    return ok({ kind: 'files', paths: files, label: fromEnv });
  }
  if (env['KUBERNETES_SERVICE_HOST'] !== undefined) return ok({ kind: 'in-cluster' });
  const file = join(environment.home ?? homedir(), '.kube', 'config');
  if (!exists(file))
    return err(
      `no kubeconfig: pass --kubeconfig, set KUBECONFIG, or run in a cluster (${file} does not exist)`,
    );
  return ok({ kind: 'files', paths: [file], label: file });
}

/** The connection to the API server, found in kubectl's order of precedence (see locate). */
export function loadApiConnection(
  choice: ConnectionChoice,
  environment: ConnectionEnvironment,
): Result<ApiConnection> {
  const source = locate(choice, environment);
  if (!source.ok) return source;
  if (source.value.kind === 'files')
    return fromFiles(source.value.paths, choice.context, source.value.label);
  if (choice.context !== undefined)
    return err(`--context: "${choice.context}" needs a kubeconfig; in a pod there is none`);
  return inCluster(environment.env, environment.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
}

/** The kubeconfig's context names (several clusters in one run); a pod has none. */
export function listContexts(
  choice: Pick<ConnectionChoice, 'kubeconfig'>,
  environment: ConnectionEnvironment,
): Result<string[]> {
  const source = locate(choice, environment);
  if (!source.ok) return source;
  if (source.value.kind === 'in-cluster')
    return err('several clusters need a kubeconfig with their contexts; in a pod there is none');
  const files: KubeconfigFile[] = [];
  for (const path of source.value.paths) {
    const text = readText(path);
    if (!text.ok) return text;
    files.push({ path, text: text.value });
  }
  const names = contextNames(files);
  return names.ok
    ? names
    : err(`cannot load kubeconfig ${JSON.stringify(source.value.label)}: ${names.error}`);
}
