/**
 * PVCPolicies and PVCGroups in memory, kept by list + watch (a reflector, like client-go's): one
 * list, then a watch from its resourceVersion; a dropped watch resumes from the last version
 * seen, a 410 Gone re-lists, and while a watch cannot be held the list is repeated every
 * `relistMs` (10 s). Admission requests read the snapshot only: no API call on the hot path.
 */
import type { Logger } from 'pino';
import { admissionSnapshot, type AdmissionSnapshot } from '../core/admission.js';
import { parsePvcGroup, type PvcGroup } from '../core/pvc-group.js';
import { parsePvcPolicy, type PvcPolicy } from '../core/pvc-policy.js';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/errors.js';

const BASE = '/apis/pvc-chonker.io/v1alpha1';

export interface PolicyCache {
  snapshot(): AdmissionSnapshot;
  /** True once both kinds were listed (or found not installed). */
  synced(): boolean;
  stop(): void;
}

export interface CacheOptions {
  relistMs: number;
  pageSize: number;
  log: Logger;
}

/** The server ends a watch after this (timeoutSeconds); the client's deadline is a bit later. */
const WATCH_SECONDS = 300;
const WATCH_DEADLINE_MS = (WATCH_SECONDS + 30) * 1000;

interface Entry {
  key: string;
  object: unknown;
}

/** One kind's reflector: the objects by key, kept current; calls onChange after each change. */
class Reflector {
  readonly objects = new Map<string, unknown>();
  synced = false;
  private resourceVersion = '';
  private readonly abort = new AbortController();
  private readonly resource: string;
  private readonly client: KubeClient;
  private readonly options: CacheOptions;
  private readonly onChange: () => void;

  constructor(resource: string, client: KubeClient, options: CacheOptions, onChange: () => void) {
    this.resource = resource;
    this.client = client;
    this.options = options;
    this.onChange = onChange;
  }

  stop(): void {
    this.abort.abort();
  }

  /** Lists every page; false when the CRD is not installed (404): the kind is then empty. */
  private async list(): Promise<boolean> {
    const fresh = new Map<string, unknown>();
    let resourceVersion = '';
    try {
      for await (const page of this.client.pages<unknown>(
        `list ${this.resource}`,
        `${BASE}/${this.resource}`,
        { limit: String(this.options.pageSize) },
        { stop: this.abort.signal },
      )) {
        // Listed again from the start (410): only the new listing is the truth.
        if (page.restarted) fresh.clear();
        addEntries(fresh, page.items);
        resourceVersion = page.resourceVersion ?? '';
      }
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 404)) throw error;
      this.replace(new Map(), '');
      return false;
    }
    this.replace(fresh, resourceVersion);
    return true;
  }

  private replace(objects: Map<string, unknown>, resourceVersion: string): void {
    this.objects.clear();
    for (const [k, v] of objects) this.objects.set(k, v);
    this.resourceVersion = resourceVersion;
    this.synced = true;
    this.onChange();
  }

  /** Applies one watch event; returns false on an ERROR event (410: re-list). */
  private apply(event: unknown): boolean {
    const { type, object } = (event ?? {}) as { type?: string; object?: unknown };
    if (type === 'ERROR') return false;
    const rv = (object as { metadata?: { resourceVersion?: string } } | undefined)?.metadata
      ?.resourceVersion;
    if (rv !== undefined) this.resourceVersion = rv;
    if (type === 'BOOKMARK') return true;
    const entry = entryOf(object);
    if (!entry) return true;
    if (type === 'DELETED') this.objects.delete(entry.key);
    else this.objects.set(entry.key, entry.object);
    this.onChange();
    return true;
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.abort.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }

  /** Watches until the stream ends; 'relist' when its resourceVersion is gone. */
  private async watchOnce(): Promise<'ended' | 'relist'> {
    const state = { gone: false };
    await this.client.watch(
      `watch ${this.resource}`,
      `${BASE}/${this.resource}`,
      {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: 'true',
        timeoutSeconds: String(WATCH_SECONDS),
      },
      {
        deadlineMs: WATCH_DEADLINE_MS,
        stop: this.abort.signal,
        onEvent: (event) => {
          if (!this.apply(event)) state.gone = true;
        },
      },
    );
    return state.gone ? 'relist' : 'ended';
  }

  private stopped(): boolean {
    return this.abort.signal.aborted;
  }

  /** One list (when needed) and one watch; true when the next step must list again. */
  private async step(needList: boolean): Promise<boolean> {
    if (needList && !(await this.list())) {
      await this.sleep(this.options.relistMs);
      return true;
    }
    const started = Date.now();
    const outcome = await this.watchOnce();
    // A server that ends watches at once must not turn this into a busy loop.
    if (Date.now() - started < 1000) await this.sleep(1000);
    return outcome === 'relist';
  }

  /** The reflector loop: list, then watch; on trouble, list again every relistMs. */
  async run(): Promise<void> {
    let needList = true;
    while (!this.stopped()) {
      try {
        needList = await this.step(needList);
      } catch (error) {
        if (this.stopped()) return;
        this.options.log.warn(
          { resource: this.resource, err: error instanceof Error ? error.message : String(error) },
          'policy cache: list or watch failed; listing again',
        );
        needList = true;
        await this.sleep(this.options.relistMs);
      }
    }
  }
}

function addEntries(objects: Map<string, unknown>, items: readonly unknown[]): void {
  for (const item of items) {
    const entry = entryOf(item);
    if (entry) objects.set(entry.key, entry.object);
  }
}

function entryOf(object: unknown): Entry | undefined {
  const md = (object as { metadata?: { name?: unknown; namespace?: unknown } } | undefined)
    ?.metadata;
  if (typeof md?.name !== 'string') return undefined;
  const ns = typeof md.namespace === 'string' ? md.namespace : '';
  return { key: `${ns}/${md.name}`, object };
}

export function startPolicyCache(client: KubeClient, options: CacheOptions): PolicyCache {
  let current: AdmissionSnapshot | undefined;
  const invalidate = (): void => {
    current = undefined;
  };
  const policies = new Reflector('pvcpolicies', client, options, invalidate);
  const groups = new Reflector('pvcgroups', client, options, invalidate);
  void policies.run();
  void groups.run();

  // Parsed and indexed once per change: a request costs a few map lookups.
  function build(): AdmissionSnapshot {
    const parsedPolicies: PvcPolicy[] = [];
    for (const object of policies.objects.values()) {
      const policy = parsePvcPolicy(object);
      if (policy) parsedPolicies.push(policy);
    }
    const parsedGroups: PvcGroup[] = [];
    for (const object of groups.objects.values()) {
      const group = parsePvcGroup(object);
      if (group) parsedGroups.push(group);
    }
    return admissionSnapshot(parsedPolicies, parsedGroups);
  }

  return {
    snapshot() {
      current ??= build();
      return current;
    },
    synced: () => policies.synced && groups.synced,
    stop() {
      policies.stop();
      groups.stop();
    },
  };
}
