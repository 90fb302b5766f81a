/**
 * Whole lists through the one client, for the readers that want every item at once (the
 * on-premises providers' Nodes and Longhorn resources): each page is one retried, time-limited GET.
 */
import type { KubeReader } from '../ports.js';
import type { KubeClient } from './client.js';

export function listReader(client: Pick<KubeClient, 'pages'>): KubeReader {
  return {
    async list(operation, path, query) {
      const items: unknown[] = [];
      for await (const page of client.pages<unknown>(operation, path, query)) {
        // Listed again from the start (410): what came before would count twice.
        if (page.restarted) items.length = 0;
        items.push(...page.items);
      }
      return items;
    },
  };
}
