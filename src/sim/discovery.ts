// Legacy (unaggregated) discovery documents. kubectl 1.33 asks for aggregated discovery
// (Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,...,application/json)
// and falls back to these when the response Content-Type is plain application/json.
import type { JsonObject } from './json.js';
import { RESOURCES, type ResourceInfo } from './resources.js';

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

const GROUPS = ['storage.k8s.io', 'events.k8s.io', 'admissionregistration.k8s.io'];

function groupDoc(name: string): JsonObject {
  const gv = { groupVersion: `${name}/v1`, version: 'v1' };
  return { name, versions: [gv], preferredVersion: gv };
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

export function discoveryDocument(path: string, serverAddress: string): JsonObject | undefined {
  if (path === '/version') return SERVER_VERSION;
  if (path === '/api') {
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
    };
  }
  if (path === '/apis')
    return { kind: 'APIGroupList', apiVersion: 'v1', groups: GROUPS.map(groupDoc) };
  const group = /^\/apis\/([^/]+)$/.exec(path)?.[1];
  if (group !== undefined && GROUPS.includes(group))
    return { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(group) };
  return resourceList(path);
}

function resourceList(path: string): JsonObject | undefined {
  const m = /^\/apis\/([^/]+)\/v1$/.exec(path);
  const group = path === '/api/v1' ? '' : m?.[1];
  if (group === undefined || (group !== '' && !GROUPS.includes(group))) return undefined;
  const resources = RESOURCES.filter((r) => r.group === group).flatMap(resourceEntries);
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group === '' ? 'v1' : `${group}/v1`,
    resources,
  };
}
