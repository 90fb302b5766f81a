// Legacy (unaggregated) discovery documents. kubectl 1.33 asks for aggregated discovery
// (Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,...,application/json)
// and falls back to these when the response Content-Type is plain application/json.
import { discoveryEntries } from './crds.js';
import { INSTALL_GROUPS } from './install-resources.js';
import { servedCustomVersions } from './openapi.js';
import { readPath, str, type JsonObject } from './json.js';
import { RESOURCES, type ResourceInfo } from './resources.js';
import type { ObjectStore } from './store.js';

export const SERVER_VERSION: JsonObject = {
  major: '1',
  minor: '33',
  emulationMajor: '1',
  emulationMinor: '33',
  minCompatibilityMajor: '1',
  minCompatibilityMinor: '32',
  gitVersion: 'v1.33.4',
  gitCommit: '74cdb426e9f3bd4d8fb8e6e1b6f3a0c3e6a5f7d1',
  gitTreeState: 'clean',
  buildDate: '2025-08-12T18:57:23Z',
  goVersion: 'go1.24.5',
  compiler: 'gc',
  platform: 'linux/amd64',
};

const GROUPS = [
  'storage.k8s.io',
  'events.k8s.io',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  ...INSTALL_GROUPS,
];

interface GroupVersion {
  group: string;
  version: string;
}

/** Built-in groups (v1), then the groups and versions of the stored CRDs. */
function groupVersions(store: ObjectStore): GroupVersion[] {
  const builtIn = GROUPS.map((group) => ({ group, version: 'v1' }));
  const custom = servedCustomVersions(store).map(({ group, version }) => ({ group, version }));
  const seen = new Set<string>();
  return [...builtIn, ...custom].filter((gv) => {
    const key = `${gv.group}/${gv.version}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function groupDoc(name: string, versions: readonly GroupVersion[]): JsonObject {
  const list = versions
    .filter((gv) => gv.group === name)
    .map((gv) => ({ groupVersion: `${name}/${gv.version}`, version: gv.version }));
  return { name, versions: list, preferredVersion: list[0] ?? {} };
}

function groupNames(versions: readonly GroupVersion[]): string[] {
  return [...new Set(versions.map((gv) => gv.group))];
}

function resourceEntries(info: ResourceInfo): JsonObject[] {
  const main: JsonObject = {
    name: info.resource,
    singularName: info.singular,
    namespaced: info.namespaced,
    kind: info.kind,
    verbs: info.verbs,
  };
  if (info.shortNames.length > 0) main['shortNames'] = info.shortNames;
  if (info.categories) main['categories'] = info.categories;
  const subs = info.subresources.map((sub): JsonObject => ({
    name: `${info.resource}/${sub}`,
    singularName: '',
    namespaced: info.namespaced,
    kind: sub === 'proxy' ? `${info.kind}ProxyOptions` : info.kind,
    verbs:
      sub === 'proxy' ? ['create', 'delete', 'get', 'patch', 'update'] : ['get', 'patch', 'update'],
  }));
  return [main, ...subs];
}

export function discoveryDocument(
  path: string,
  serverAddress: string,
  store: ObjectStore,
): JsonObject | undefined {
  const versions = groupVersions(store);
  if (path === '/version') return SERVER_VERSION;
  if (path === '/api') {
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
    };
  }
  if (path === '/apis')
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: groupNames(versions).map((name) => groupDoc(name, versions)),
    };
  const group = /^\/apis\/([^/]+)$/.exec(path)?.[1];
  if (group !== undefined && groupNames(versions).includes(group))
    return { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(group, versions) };
  return resourceList(path, versions, store);
}

function resourceList(
  path: string,
  versions: readonly GroupVersion[],
  store: ObjectStore,
): JsonObject | undefined {
  const m = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
  const group = path === '/api/v1' ? '' : m?.[1];
  const version = path === '/api/v1' ? 'v1' : (m?.[2] ?? '');
  if (group === undefined) return undefined;
  if (group !== '' && !versions.some((gv) => gv.group === group && gv.version === version))
    return undefined;
  const builtIn = RESOURCES.filter(
    (r) => r.group === group && r.version === version && r.crd === undefined,
  ).flatMap(resourceEntries);
  const custom = store
    .list('CustomResourceDefinition')
    .filter((crd) => str(readPath(crd, 'spec.group')) === group)
    .flatMap(discoveryEntries);
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group === '' ? 'v1' : `${group}/${version}`,
    resources: [...builtIn, ...custom],
  };
}
