// PVC update rules: ValidatePersistentVolumeClaimUpdate (pkg/apis/core/validation) followed by
// the PersistentVolumeClaimResize validating admission plugin, in the order the apiserver runs
// them (strategy validation in BeforeUpdate, then validating admission).
import {
  deepCopy,
  deepEqual,
  isObject,
  obj,
  readPath,
  str,
  stringMap,
  meta,
  nameOf,
  type JsonObject,
} from './json.js';
import { quantityBytes } from './quantity.js';
import { forbidden, forbiddenField, invalid, invalidValue, type FieldError } from './status.js';

const BETA_CLASS_ANNOTATION = 'volume.beta.kubernetes.io/storage-class';

export function pvcStorageClass(pvc: JsonObject): string {
  const fromSpec = str(readPath(pvc, 'spec.storageClassName'));
  if (fromSpec !== undefined) return fromSpec;
  return stringMap(meta(pvc)['annotations'])[BETA_CLASS_ANNOTATION] ?? '';
}

export function requestBytes(pvc: JsonObject): bigint {
  return quantityBytes(readPath(pvc, 'spec.resources.requests.storage')) ?? 0n;
}

export function capacityBytes(pvc: JsonObject): bigint {
  return quantityBytes(readPath(pvc, 'status.capacity.storage')) ?? 0n;
}

function isBound(pvc: JsonObject): boolean {
  return readPath(pvc, 'status.phase') === 'Bound';
}

/** A short cmp.Diff-like rendering; the real message embeds go-cmp output of the internal types. */
function specDiff(oldSpec: JsonObject, newSpec: JsonObject): string {
  const keys = [...new Set([...Object.keys(oldSpec), ...Object.keys(newSpec)])].sort();
  const lines = ['  core.PersistentVolumeClaimSpec{'];
  for (const key of keys) {
    const field = key.charAt(0).toUpperCase() + key.slice(1);
    if (deepEqual(oldSpec[key], newSpec[key])) continue;
    if (oldSpec[key] !== undefined) lines.push(`- \t${field}: ${JSON.stringify(oldSpec[key])},`);
    if (newSpec[key] !== undefined) lines.push(`+ \t${field}: ${JSON.stringify(newSpec[key])},`);
  }
  lines.push('  \t... // other fields unchanged', '  }');
  return lines.join('\n');
}

function validateSpecUpdate(oldPvc: JsonObject, newPvc: JsonObject): FieldError[] {
  const errs: FieldError[] = [];
  const oldSpec = obj(oldPvc['spec']);
  const newSpecClone = deepCopy(obj(newPvc['spec']));
  // Bound claims may change resources.requests and volumeAttributesClassName; nothing else.
  if (isBound(newPvc)) {
    const requests = readPath(newSpecClone, 'resources.requests');
    if (isObject(requests)) {
      const oldStorage = readPath(oldSpec, 'resources.requests.storage');
      if (oldStorage === undefined) delete requests['storage'];
      else requests['storage'] = oldStorage;
    }
    if (
      newSpecClone['volumeAttributesClassName'] !== undefined ||
      oldSpec['volumeAttributesClassName'] !== undefined
    ) {
      newSpecClone['volumeAttributesClassName'] = oldSpec['volumeAttributesClassName'];
      if (newSpecClone['volumeAttributesClassName'] === undefined)
        delete newSpecClone['volumeAttributesClassName'];
    }
  }
  if (!deepEqual(newSpecClone, oldSpec)) {
    errs.push(
      forbiddenField(
        'spec',
        `spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n${specDiff(oldSpec, newSpecClone)}`,
      ),
    );
  }
  return errs;
}

function validateSizeUpdate(oldPvc: JsonObject, newPvc: JsonObject): FieldError[] {
  const newSize = requestBytes(newPvc);
  // RecoverVolumeExpansionFailure is beta and on by default in 1.32-1.33 (GA in 1.34): a request
  // may go down to just above status.capacity, never to or below it.
  if (newSize < requestBytes(oldPvc) && newSize <= capacityBytes(oldPvc)) {
    return [
      forbiddenField(
        'spec.resources.requests.storage',
        'field can not be less than status.capacity',
      ),
    ];
  }
  return [];
}

function validateVolumeMode(oldPvc: JsonObject, newPvc: JsonObject): FieldError[] {
  const oldMode = readPath(oldPvc, 'spec.volumeMode');
  const newMode = readPath(newPvc, 'spec.volumeMode');
  if (deepEqual(oldMode, newMode)) return [];
  return [invalidValue('volumeMode', str(newMode) ?? 'null', 'field is immutable')];
}

export interface ClassLookup {
  allowsExpansion(className: string): boolean;
}

/** Throws the ApiError the real server would return for this update, if any. */
export function checkPvcUpdate(oldPvc: JsonObject, newPvc: JsonObject, classes: ClassLookup): void {
  const name = nameOf(oldPvc);
  const errs = [
    ...validateSpecUpdate(oldPvc, newPvc),
    ...validateSizeUpdate(oldPvc, newPvc),
    ...validateVolumeMode(oldPvc, newPvc),
  ];
  if (errs.length > 0) throw invalid('PersistentVolumeClaim', name, errs);

  if (requestBytes(newPvc) <= requestBytes(oldPvc)) return;
  if (!isBound(oldPvc)) {
    throw forbidden(
      'persistentvolumeclaims',
      name,
      'Only bound persistent volume claims can be expanded',
    );
  }
  const className = pvcStorageClass(newPvc);
  if (
    className === '' ||
    className !== pvcStorageClass(oldPvc) ||
    !classes.allowsExpansion(className)
  ) {
    throw forbidden(
      'persistentvolumeclaims',
      name,
      'only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize',
    );
  }
}
