// admissionregistration.k8s.io/v1 Mutating- and ValidatingWebhookConfiguration: the defaults
// the real server fills in and the validation it applies
// (pkg/apis/admissionregistration/v1/defaults.go, validation/validation.go), for the fields
// pvc-chonker's manifests use.
import { arr, isObject, nameOf, obj, str, type JsonObject } from './json.js';
import { BASE64 } from './secrets.js';
import { badRequest, invalid, invalidValue, required, type FieldError } from './status.js';

const GROUP = 'admissionregistration.k8s.io';
// eslint-disable-next-line security/detect-unsafe-regex -- one optional group of a character class: linear
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export type WebhookConfigKind = 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration';

function defaultWebhook(kind: WebhookConfigKind, webhook: JsonObject): void {
  webhook['failurePolicy'] ??= 'Fail';
  webhook['matchPolicy'] ??= 'Equivalent';
  webhook['namespaceSelector'] ??= {};
  webhook['objectSelector'] ??= {};
  webhook['timeoutSeconds'] ??= 10;
  if (kind === 'MutatingWebhookConfiguration') webhook['reinvocationPolicy'] ??= 'Never';
  defaultRulesAndService(webhook);
}

function defaultRulesAndService(webhook: JsonObject): void {
  for (const rule of arr(webhook['rules'])) if (isObject(rule)) rule['scope'] ??= '*';
  const service = obj(webhook['clientConfig'])['service'];
  if (isObject(service)) service['port'] ??= 443;
}

function validateClientConfig(path: string, config: JsonObject): FieldError[] {
  const hasUrl = str(config['url']) !== undefined;
  const hasService = isObject(config['service']);
  if (hasUrl === hasService) return [required(path, 'exactly one of url or service is required')];
  const ca = config['caBundle'];
  if (ca !== undefined && (typeof ca !== 'string' || !BASE64.test(ca))) {
    throw badRequest(
      `${GROUP}/v1 cannot decode the configuration: illegal base64 data in ${path}.caBundle`,
    );
  }
  return [];
}

function validateName(path: string, webhook: JsonObject, seen: Set<string>): FieldError[] {
  const errs: FieldError[] = [];
  const name = str(webhook['name']) ?? '';
  if (name === '') errs.push(required(`${path}.name`));
  else if (name.split('.').length < 3 || !name.split('.').every((l) => DNS_LABEL.test(l)))
    errs.push(
      invalidValue(
        `${path}.name`,
        name,
        'should be a domain with at least three segments separated by dots',
      ),
    );
  else if (seen.has(name))
    errs.push({
      type: 'FieldValueDuplicate',
      field: `${path}.name`,
      body: `Duplicate value: ${JSON.stringify(name)}`,
    });
  seen.add(name);
  return errs;
}

function validateWebhook(path: string, webhook: JsonObject, seen: Set<string>): FieldError[] {
  const errs = validateName(path, webhook, seen);
  const sideEffects = str(webhook['sideEffects']);
  if (sideEffects === undefined)
    errs.push(required(`${path}.sideEffects`, 'must specify one of None, NoneOnDryRun'));
  else if (sideEffects !== 'None' && sideEffects !== 'NoneOnDryRun')
    errs.push({
      type: 'FieldValueNotSupported',
      field: `${path}.sideEffects`,
      body: `Unsupported value: ${JSON.stringify(sideEffects)}: supported values: "None", "NoneOnDryRun"`,
    });
  if (arr(webhook['admissionReviewVersions']).length === 0)
    errs.push(required(`${path}.admissionReviewVersions`, 'must specify one of v1, v1beta1'));
  const timeout = webhook['timeoutSeconds'];
  if (typeof timeout !== 'number' || timeout < 1 || timeout > 30)
    errs.push({
      type: 'FieldValueInvalid',
      field: `${path}.timeoutSeconds`,
      body: `Invalid value: ${String(timeout)}: the timeout value must be between 1 and 30 seconds`,
    });
  errs.push(...validateClientConfig(`${path}.clientConfig`, obj(webhook['clientConfig'])));
  return errs;
}

/** Fills the defaults and validates a configuration about to be stored (create or update). */
export function prepareWebhookConfig(kind: WebhookConfigKind, config: JsonObject): void {
  const webhooks = config['webhooks'];
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  arr(webhooks).forEach((webhook, i) => {
    if (!isObject(webhook)) return;
    defaultWebhook(kind, webhook);
    errs.push(...validateWebhook(`webhooks[${i}]`, webhook, seen));
  });
  if (errs.length > 0) throw invalid(kind, nameOf(config), errs, GROUP);
}
