/**
 * Whole lists through the one Kubernetes client, for the readers that want every item at once
 * (the on-premises providers' Nodes and Longhorn resources): each page is one retried,
 * time-limited GET.
 */
import type { KubeReader } from '../ports.js';
import type { KubeClient } from './client.js';

export function listReader(client: Pick<KubeClient, 'pages'>): KubeReader {
  return {
    async list(operation, path, query) {
      const items: unknown[] = [];
      for await (const page of client.pages<unknown>(operation, path, query)) {
        // A list restarted after its continue token expired repeats what it had sent.
        if (page.restarted) items.length = 0;
        items.push(...page.items);
      }
      return items;
    },
  };
}
