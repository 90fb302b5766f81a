/**
 * Kubeconfig files → the one cluster and user a run talks to, with kubectl's rules: files merged
 * in order (the first to name a cluster, user or context wins, and the first current-context
 * wins), relative paths resolved against the file that holds them, `--context` over
 * current-context. Pure: the caller reads the files; errors are values that name the field.
 */
import { isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { isRecord as isEntry, withoutUndefined } from '../core/json.js';
import { err, ok, type Result } from '../core/result.js';

export interface KubeconfigFile {
  path: string;
  text: string;
}

/** A value given inline (`*-data`, base64) or as a file to read. */
export type Material = { data: string } | { file: string };

export interface ClusterEntry {
  server: string;
  certificateAuthority?: Material;
  insecureSkipTlsVerify: boolean;
  tlsServerName?: string;
  proxyUrl?: string;
}

/** An exec plugin or a legacy auth provider: run by client-node, see api-connection.ts. */
export interface CredentialPlugin {
  exec?: Record<string, unknown>;
  authProvider?: Record<string, unknown>;
}

export interface UserEntry {
  clientCertificate?: Material;
  clientKey?: Material;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  impersonate?: { user?: string; uid?: string; groups: string[] };
  plugin?: CredentialPlugin;
}

export interface KubeconfigTarget {
  context: string;
  cluster: ClusterEntry;
  user: UserEntry;
}

type Entry = Record<string, unknown>;

interface Named {
  /** The file the entry came from: its relative paths are resolved against its directory. */
  dir: string;
  where: string;
  body: Entry;
}

interface Merged {
  clusters: Map<string, Named>;
  users: Map<string, Named>;
  contexts: Map<string, Named>;
  currentContext: string | undefined;
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? (slash === 0 ? '/' : '.') : path.slice(0, slash);
}

/** One list (`clusters`, `users`, `contexts`) of one file into the merged map, first name wins. */
function mergeList(
  into: Map<string, Named>,
  list: unknown,
  key: 'clusters' | 'users' | 'contexts',
  file: KubeconfigFile,
): Result<void> {
  if (list === undefined || list === null) return ok(undefined);
  if (!Array.isArray(list)) return err(`${file.path}: ${key} is not a list`);
  for (const [index, item] of list.entries()) {
    const entry = namedEntry(item, `${file.path}: ${key}[${index}]`, INNER[key], dirOf(file.path));
    if (!entry.ok) return entry;
    const [name, named] = entry.value;
    if (!into.has(name)) into.set(name, named);
  }
  return ok(undefined);
}

const INNER = { clusters: 'cluster', users: 'user', contexts: 'context' } as const;

/** `{name: x, cluster: {...}}` → [x, its body]; a missing body is an empty one. */
function namedEntry(
  item: unknown,
  where: string,
  inner: string,
  dir: string,
): Result<[string, Named]> {
  const name = isEntry(item) ? item['name'] : undefined;
  if (!isEntry(item) || typeof name !== 'string' || name === '')
    return err(`${where}: an entry needs a name`);
  const body = item[inner] ?? {};
  if (!isEntry(body)) return err(`${where}.${inner} is not a map`);
  return ok([name, { dir, where: `${where}.${inner}`, body }]);
}

function parseDocument(file: KubeconfigFile): Result<Entry> {
  let document: unknown;
  try {
    // YAML 1.1, as kubectl's decoder (go-yaml v2) reads it: `yes` and `on` are true there.
    document = parse(file.text, { version: '1.1' });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return err(`${file.path}: not YAML: ${reason ?? ''}`);
  }
  // An empty file is an empty kubeconfig, as for kubectl.
  if (document === null || document === undefined) return ok({});
  return isEntry(document)
    ? ok(document)
    : err(`${file.path}: not a kubeconfig (a map is expected)`);
}

function merge(files: readonly KubeconfigFile[]): Result<Merged> {
  const merged: Merged = {
    clusters: new Map(),
    users: new Map(),
    contexts: new Map(),
    currentContext: undefined,
  };
  for (const file of files) {
    const parsed = parseDocument(file);
    if (!parsed.ok) return parsed;
    const document = parsed.value;
    for (const key of ['clusters', 'users', 'contexts'] as const) {
      const into = merged[key];
      const done = mergeList(into, document[key], key, file);
      if (!done.ok) return done;
    }
    const current = document['current-context'];
    if (merged.currentContext === undefined && typeof current === 'string' && current !== '')
      merged.currentContext = current;
  }
  return ok(merged);
}

/** Typed reads of one entry's fields; the first bad field is the error. */
class Fields {
  error: string | undefined;
  private readonly named: Named;
  constructor(named: Named) {
    this.named = named;
  }

  get where(): string {
    return this.named.where;
  }

  string(key: string): string | undefined {
    const value = this.named.body[key];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value === 'string') return value;
    this.error ??= `${this.named.where}.${key}: ${JSON.stringify(value)} is not a string`;
    return undefined;
  }

  boolean(key: string): boolean {
    const value = this.named.body[key];
    if (value === undefined || value === null) return false;
    if (typeof value === 'boolean') return value;
    this.error ??= `${this.named.where}.${key}: ${JSON.stringify(value)} is not true or false`;
    return false;
  }

  strings(key: string): string[] {
    const value = this.named.body[key];
    if (value === undefined || value === null) return [];
    if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value;
    this.error ??= `${this.named.where}.${key}: ${JSON.stringify(value)} is not a list of strings`;
    return [];
  }

  map(key: string): Entry | undefined {
    const value = this.named.body[key];
    if (value === undefined || value === null) return undefined;
    if (isEntry(value)) return value;
    this.error ??= `${this.named.where}.${key}: ${JSON.stringify(value)} is not a map`;
    return undefined;
  }

  /** A path, relative to the kubeconfig file that holds it, as kubectl resolves it. */
  path(key: string): string | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    return isAbsolute(value) ? value : join(this.named.dir, value);
  }

  /** `<key>-data` (base64) or `<key>` (a file); both is an error, as kubectl's validation has it. */
  material(key: string): Material | undefined {
    const data = this.string(`${key}-data`);
    const file = this.path(key);
    if (data !== undefined && file !== undefined)
      this.error ??= `${this.named.where}: ${key}-data and ${key} are both set; choose one`;
    if (data !== undefined) return { data };
    return file === undefined ? undefined : { file };
  }
}

function clusterEntry(named: Named): Result<ClusterEntry> {
  const fields = new Fields(named);
  const server = fields.string('server');
  const certificateAuthority = fields.material('certificate-authority');
  const insecureSkipTlsVerify = fields.boolean('insecure-skip-tls-verify');
  const tlsServerName = fields.string('tls-server-name');
  const proxyUrl = fields.string('proxy-url');
  if (fields.error !== undefined) return err(fields.error);
  if (server === undefined) return err(`${named.where}.server is missing`);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return err(`${named.where}.server: ${JSON.stringify(server)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return err(`${named.where}.server: ${JSON.stringify(server)} is not an http(s) URL`);
  // client-go refuses this pair: a CA that is then not checked is a mistake, not a choice.
  if (insecureSkipTlsVerify && certificateAuthority !== undefined)
    return err(
      `${named.where}: certificate-authority and insecure-skip-tls-verify are both set; a CA is not used when verification is skipped`,
    );
  return ok(
    withoutUndefined({
      server,
      insecureSkipTlsVerify,
      certificateAuthority,
      tlsServerName,
      proxyUrl,
    }),
  );
}

function userEntry(named: Named): Result<UserEntry> {
  const fields = new Fields(named);
  const user = withoutUndefined({
    clientCertificate: fields.material('client-certificate'),
    clientKey: fields.material('client-key'),
    token: fields.string('token'),
    tokenFile: fields.path('tokenFile'),
    username: fields.string('username'),
    password: fields.string('password'),
    impersonate: impersonation(fields),
    plugin: credentialPlugin(fields, named.dir),
  });
  if (fields.error !== undefined) return err(fields.error);
  if ((user.clientCertificate === undefined) !== (user.clientKey === undefined))
    return err(`${named.where}: client-certificate and client-key must be set together`);
  // As kubectl: one way to say who we are (a client certificate may come with any of them).
  const methods = [
    user.token !== undefined || user.tokenFile !== undefined ? 'token' : undefined,
    user.username !== undefined || user.password !== undefined ? 'basic auth' : undefined,
    user.plugin?.exec === undefined ? undefined : 'exec',
    user.plugin?.authProvider === undefined ? undefined : 'auth-provider',
  ].filter((method) => method !== undefined);
  if (methods.length > 1)
    return err(
      `${named.where}: more than one way to authenticate (${methods.join(', ')}); choose one`,
    );
  return ok(user);
}

function impersonation(fields: Fields): UserEntry['impersonate'] {
  const user = fields.string('as');
  const uid = fields.string('as-uid');
  const groups = fields.strings('as-groups');
  if (user === undefined && uid === undefined && groups.length === 0) return undefined;
  return { groups, ...withoutUndefined({ user, uid }) };
}

function credentialPlugin(fields: Fields, dir: string): CredentialPlugin | undefined {
  const exec = fields.map('exec');
  const authProvider = fields.map('auth-provider');
  if (exec !== undefined && authProvider !== undefined) {
    fields.error ??= `${fields.where}: exec and auth-provider are both set; choose one`;
    return undefined;
  }
  if (exec !== undefined) return { exec: execWithCommandPath(exec, dir) };
  return authProvider === undefined ? undefined : { authProvider };
}

/**
 * kubectl runs an exec plugin whose command is a relative path with a separator (./bin/token)
 * from the kubeconfig's directory; a bare name is looked up on PATH.
 */
function execWithCommandPath(exec: Entry, dir: string): Entry {
  const command = exec['command'];
  if (typeof command !== 'string' || !command.includes('/') || isAbsolute(command)) return exec;
  return { ...exec, command: join(dir, command) };
}

/** Every context of the merged files, in the order they first appear (for --all-contexts). */
export function contextNames(files: readonly KubeconfigFile[]): Result<string[]> {
  const merged = merge(files);
  return merged.ok ? ok([...merged.value.contexts.keys()]) : merged;
}

/**
 * The context to use (`--context`, else the first current-context) and its cluster and user.
 * A context without a user is allowed (no credentials), as in kubectl.
 */
export function resolveKubeconfig(
  files: readonly KubeconfigFile[],
  context: string | undefined,
): Result<KubeconfigTarget> {
  const merged = merge(files);
  if (!merged.ok) return merged;
  const chosen = context ?? merged.value.currentContext;
  if (chosen === undefined) return err('no current-context is set; pass --context');
  const named = merged.value.contexts.get(chosen);
  if (named === undefined)
    return err(
      context === undefined
        ? `current-context ${JSON.stringify(chosen)} is not a context in the kubeconfig`
        : `--context: "${chosen}" is not a context in the kubeconfig`,
    );
  const fields = new Fields(named);
  const clusterName = fields.string('cluster');
  const userName = fields.string('user');
  if (fields.error !== undefined) return err(fields.error);
  const cluster = lookUp(
    merged.value.clusters,
    { kind: 'cluster', name: clusterName, context: chosen },
    clusterEntry,
  );
  if (!cluster.ok) return cluster;
  // A context without a user sends no credentials, as with kubectl.
  const user =
    userName === undefined
      ? ok<UserEntry>({})
      : lookUp(merged.value.users, { kind: 'user', name: userName, context: chosen }, userEntry);
  if (!user.ok) return user;
  return ok({ context: chosen, cluster: cluster.value, user: user.value });
}

function lookUp<T>(
  entries: ReadonlyMap<string, Named>,
  reference: { kind: 'cluster' | 'user'; name: string | undefined; context: string },
  read: (named: Named) => Result<T>,
): Result<T> {
  const { kind, name, context } = reference;
  if (name === undefined) return err(`context ${JSON.stringify(context)} names no ${kind}`);
  const named = entries.get(name);
  return named === undefined
    ? err(`${kind} ${JSON.stringify(name)} was not found for context ${JSON.stringify(context)}`)
    : read(named);
}
