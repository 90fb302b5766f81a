/**
 * storage.k8s.io/v1 VolumeAttributesClass as kube-apiserver 1.37 validates it (checked against
 * the real tier): driverName a qualified name (validated lower-cased), at least one parameter,
 * no empty key; driverName and parameters immutable; the vac-protection finalizer on create.
 */
import { qualifiedNameErrors } from './events.js';
import { isObject, type JsonObject } from './json.js';
import { forbiddenField, invalid, invalidValue, required, type FieldError } from './status.js';

export const VAC_PROTECTION_FINALIZER = 'kubernetes.io/vac-protection';

function createErrors(o: JsonObject): FieldError[] {
  const errs: FieldError[] = [];
  const driver = o['driverName'];
  if (typeof driver !== 'string' || driver === '') errs.push(required('driverName'));
  else errs.push(...qualifiedNameErrors(driver.toLowerCase(), 'driverName'));
  const parameters = isObject(o['parameters']) ? o['parameters'] : {};
  if (Object.keys(parameters).length === 0)
    errs.push(required('parameters', 'must contain at least one key/value pair'));
  else if (Object.keys(parameters).some((key) => key === ''))
    errs.push(invalidValue('parameters', '', 'field can not be empty.'));
  return errs;
}

function updateErrors(o: JsonObject, existing: JsonObject): FieldError[] {
  const errs: FieldError[] = [];
  if (o['driverName'] !== existing['driverName'])
    errs.push(forbiddenField('driverName', 'updates to driverName are forbidden.'));
  if (JSON.stringify(o['parameters'] ?? {}) !== JSON.stringify(existing['parameters'] ?? {}))
    errs.push(forbiddenField('parameters', 'updates to parameters are forbidden.'));
  return errs;
}

/** Throws 422 Invalid as the real server does; adds the finalizer to a new class. */
export function prepareVolumeAttributesClass(
  o: JsonObject,
  existing: JsonObject | undefined,
): void {
  const errs = existing === undefined ? createErrors(o) : updateErrors(o, existing);
  const md = isObject(o['metadata']) ? o['metadata'] : {};
  if (errs.length > 0)
    throw invalid(
      'VolumeAttributesClass',
      typeof md['name'] === 'string' ? md['name'] : '',
      errs,
      'storage.k8s.io',
    );
  if (existing !== undefined) return;
  const finalizers = Array.isArray(md['finalizers']) ? (md['finalizers'] as unknown[]) : [];
  if (!finalizers.includes(VAC_PROTECTION_FINALIZER))
    md['finalizers'] = [...finalizers, VAC_PROTECTION_FINALIZER];
  o['metadata'] = md;
}
