// The volume expansion lifecycle the external-resizer and kubelet drive after a PVC's request
// grows (KEP-1790 field names, RecoverVolumeExpansionFailure on, as in Kubernetes 1.33):
//   1. status.allocatedResources = new size, allocatedResourceStatuses.storage =
//      ControllerResizeInProgress, condition Resizing
//   2. PV spec.capacity grows; NodeResizePending, condition FileSystemResizePending
//   3. kubelet grows the filesystem: status.capacity = new size, conditions and
//      allocatedResourceStatuses cleared (allocatedResources stays)
// and, kubeletLagMs later, the kubelet's cached volume stats report the new capacityBytes.
import {
  child,
  deepCopy,
  meta,
  nameOf,
  namespaceOf,
  readPath,
  str,
  stringMap,
  type JsonObject,
} from './json.js';
import { formatQuantity } from './quantity.js';
import { capacityBytes, requestBytes } from './pvc-rules.js';
import { kubeTime, objectKey, type ObjectStore } from './store.js';

/** Annotation on a PVC choosing how its next expansion ends. */
export const RESIZE_OUTCOME_ANNOTATION = 'sim.pvc-chonker.io/resize-outcome';
export type ResizeOutcome = 'success' | 'infeasible' | 'node-infeasible' | 'stuck';

export const FS_RESIZE_PENDING_MESSAGE =
  'Waiting for user to (re-)start a pod to finish file system resize of volume on node.';

export interface ResizeOptions {
  resizeDelayMs: number;
  kubeletLagMs: number;
  now: () => Date;
}

export interface ResizeController {
  /** Called after every accepted PVC write; starts or restarts a resize when the request grew. */
  onPvcWritten(before: JsonObject | undefined, after: JsonObject): void;
  /** Size the kubelet currently reports for the volume's filesystem (before fs overhead). */
  kubeletCapacityBytes(pvc: JsonObject): bigint;
  /** Runs every pending step now, in order. */
  settle(): void;
  close(): void;
}

interface Step {
  atMs: number;
  run: () => void;
}

interface Pending {
  steps: Step[];
  timers: NodeJS.Timeout[];
}

function outcomeOf(pvc: JsonObject): ResizeOutcome {
  const value = stringMap(meta(pvc)['annotations'])[RESIZE_OUTCOME_ANNOTATION];
  return value === 'infeasible' || value === 'node-infeasible' || value === 'stuck'
    ? value
    : 'success';
}

function condition(type: string, now: Date, message?: string): JsonObject {
  const c: JsonObject = {
    type,
    status: 'True',
    lastProbeTime: null,
    lastTransitionTime: kubeTime(now),
  };
  if (message !== undefined) c['message'] = message;
  return c;
}

export function createResizeController(
  store: ObjectStore,
  options: ResizeOptions,
): ResizeController {
  const pending = new Map<string, Pending>();
  // Filesystem size the kubelet still reports while its stats cache lags behind status.capacity.
  const kubeletOverride = new Map<string, bigint>();

  function keyOf(pvc: JsonObject): string {
    return objectKey(namespaceOf(pvc), nameOf(pvc));
  }

  /** Re-reads the PVC, lets `mutate` edit a copy of it, and writes it back (bumping resourceVersion). */
  function updatePvc(
    namespace: string | undefined,
    name: string,
    mutate: (pvc: JsonObject) => void,
  ): JsonObject | undefined {
    const current = store.get('PersistentVolumeClaim', namespace, name);
    if (!current) return undefined;
    const copy = deepCopy(current);
    mutate(copy);
    return store.put('PersistentVolumeClaim', copy);
  }

  function growPv(pvc: JsonObject, size: string): void {
    const pvName = str(readPath(pvc, 'spec.volumeName'));
    const pv = pvName === undefined ? undefined : store.get('PersistentVolume', undefined, pvName);
    if (!pv) return;
    const copy = deepCopy(pv);
    child(child(copy, 'spec'), 'capacity')['storage'] = size;
    store.put('PersistentVolume', copy);
  }

  function resizerMessage(pvc: JsonObject): string {
    const pv = str(readPath(pvc, 'spec.volumeName')) ?? nameOf(pvc);
    return `resize volume "${pv}" by resizer "sim.csi.pvc-chonker.io" failed: rpc error: code = OutOfRange desc = requested size exceeds the maximum size the volume type supports`;
  }

  function setStatus(status: JsonObject, resizeStatus: string, conditions: JsonObject[]): void {
    child(status, 'allocatedResourceStatuses')['storage'] = resizeStatus;
    status['conditions'] = conditions;
  }

  function buildSteps(pvc: JsonObject, size: string): Step[] {
    const ns = namespaceOf(pvc);
    const name = nameOf(pvc);
    const key = keyOf(pvc);
    const d = options.resizeDelayMs;
    const outcome = outcomeOf(pvc);
    const start: Step = {
      atMs: d * 0.25,
      run: () =>
        updatePvc(ns, name, (p) => {
          const status = child(p, 'status');
          child(status, 'allocatedResources')['storage'] = size;
          setStatus(status, 'ControllerResizeInProgress', [condition('Resizing', options.now())]);
        }),
    };
    if (outcome === 'stuck') return [start];
    if (outcome === 'infeasible') {
      const fail: Step = {
        atMs: d * 0.6,
        run: () =>
          updatePvc(ns, name, (p) => {
            setStatus(child(p, 'status'), 'ControllerResizeInfeasible', [
              condition('ControllerResizeError', options.now(), resizerMessage(p)),
            ]);
          }),
      };
      return [start, fail];
    }
    const controllerDone: Step = {
      atMs: d * 0.6,
      run: () => {
        const p = updatePvc(ns, name, (q) => {
          setStatus(child(q, 'status'), 'NodeResizePending', [
            condition('FileSystemResizePending', options.now(), FS_RESIZE_PENDING_MESSAGE),
          ]);
        });
        if (p) growPv(p, size);
      },
    };
    if (outcome === 'node-infeasible') {
      const fail: Step = {
        atMs: d,
        run: () =>
          updatePvc(ns, name, (p) => {
            setStatus(child(p, 'status'), 'NodeResizeInfeasible', [
              condition(
                'NodeResizeError',
                options.now(),
                `MountVolume.NodeExpandVolume failed for volume "${str(readPath(p, 'spec.volumeName')) ?? ''}" : resize2fs: filesystem does not support online resize`,
              ),
            ]);
          }),
      };
      return [start, controllerDone, fail];
    }
    const nodeDone: Step = {
      atMs: d,
      run: () => {
        const before = store.get('PersistentVolumeClaim', ns, name);
        if (!before) return;
        if (options.kubeletLagMs > 0) kubeletOverride.set(key, capacityBytes(before));
        updatePvc(ns, name, (p) => {
          const status = child(p, 'status');
          child(status, 'capacity')['storage'] = size;
          delete status['allocatedResourceStatuses'];
          delete status['conditions'];
        });
      },
    };
    const kubeletDone: Step = {
      atMs: d + options.kubeletLagMs,
      run: () => kubeletOverride.delete(key),
    };
    return [start, controllerDone, nodeDone, kubeletDone];
  }

  function cancel(key: string): void {
    const p = pending.get(key);
    if (!p) return;
    for (const t of p.timers) clearTimeout(t);
    pending.delete(key);
  }

  function schedule(pvc: JsonObject): void {
    const key = keyOf(pvc);
    cancel(key);
    const size =
      str(readPath(pvc, 'spec.resources.requests.storage')) ?? formatQuantity(requestBytes(pvc));
    const entry: Pending = { steps: buildSteps(pvc, size), timers: [] };
    pending.set(key, entry);
    for (const step of entry.steps) {
      const timer = setTimeout(() => {
        entry.steps = entry.steps.filter((s) => s !== step);
        step.run();
        if (entry.steps.length === 0 && pending.get(key) === entry) pending.delete(key);
      }, step.atMs);
      timer.unref();
      entry.timers.push(timer);
    }
  }

  return {
    onPvcWritten(before, after) {
      const grew = before === undefined || requestBytes(after) > requestBytes(before);
      if (
        grew &&
        requestBytes(after) > capacityBytes(after) &&
        readPath(after, 'status.phase') === 'Bound'
      ) {
        schedule(after);
      }
    },
    kubeletCapacityBytes(pvc) {
      return kubeletOverride.get(keyOf(pvc)) ?? capacityBytes(pvc);
    },
    settle() {
      for (const [key, entry] of [...pending.entries()]) {
        for (const t of entry.timers) clearTimeout(t);
        pending.delete(key);
        for (const step of entry.steps) step.run();
      }
    },
    close() {
      for (const key of [...pending.keys()]) cancel(key);
    },
  };
}
