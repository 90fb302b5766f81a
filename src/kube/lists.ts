/**
 * Whole lists through the pass's client, for the readers that want every item at once (the
 * on-premises providers' Nodes and Longhorn resources): each page is one retried, time-limited GET.
 */
import type { KubeReader } from '../ports.js';
import type { KubeCluster } from './cluster.js';

export function listReader(cluster: Pick<KubeCluster, 'pages'>): KubeReader {
  return {
    async list(operation, path, query) {
      const items: unknown[] = [];
      for await (const page of cluster.pages<unknown>(operation, path, query)) items.push(...page);
      return items;
    },
  };
}
