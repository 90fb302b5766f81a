/**
 * Where a node's kubelet listens, from the Node object: the first InternalIP of status.addresses
 * and status.daemonEndpoints.kubeletEndpoint.Port (the kubelet reports the port it serves on;
 * JSON field `Port`, capitalised as in the API). Pure, for the direct kubelet reader.
 */
import { isRecord } from '../core/json.js';
import { err, ok, type Result } from '../core/result.js';

export interface KubeletEndpoint {
  host: string;
  port: number;
}

/** The kubelet's port when the Node does not say (--port's default). */
export const DEFAULT_KUBELET_PORT = 10250;

function internalIp(status: Record<string, unknown>): string | undefined {
  const addresses = Array.isArray(status['addresses']) ? (status['addresses'] as unknown[]) : [];
  for (const entry of addresses) {
    if (!isRecord(entry) || entry['type'] !== 'InternalIP') continue;
    const address = entry['address'];
    if (typeof address === 'string' && address !== '') return address;
  }
  return undefined;
}

function kubeletPort(status: Record<string, unknown>): number {
  const endpoints = status['daemonEndpoints'];
  const kubelet = isRecord(endpoints) ? endpoints['kubeletEndpoint'] : undefined;
  const port = isRecord(kubelet) ? kubelet['Port'] : undefined;
  return typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65_536
    ? port
    : DEFAULT_KUBELET_PORT;
}

/** The endpoint, or why the Node gives none. */
export function kubeletEndpoint(node: unknown): Result<KubeletEndpoint> {
  const status = isRecord(node) && isRecord(node['status']) ? node['status'] : {};
  const host = internalIp(status);
  if (host === undefined) return err('it has no InternalIP address');
  return ok({ host, port: kubeletPort(status) });
}

/** https://HOST:PORT/PATH, with an IPv6 address in brackets. */
export function kubeletUrl(endpoint: KubeletEndpoint, path: string): URL {
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return new URL(`https://${host}:${endpoint.port}${path}`);
}
