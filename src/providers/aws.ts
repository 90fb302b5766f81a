/**
 * AWS EBS: one DescribeVolumes and one DescribeVolumesModifications per region for all of the
 * run's EBS volumes (chunked at the EC2 filter-value limit), then a pure verdict per volume.
 * The SDK is imported only when the run has an EBS candidate.
 */
import type * as Ec2 from '@aws-sdk/client-ec2';
import { pvcKey } from '../core/pvc.js';
import { evaluateModificationRule, type EbsModification } from './aws-rule.js';
import { EBS_MAX_GIB, fitSize, GIB } from './limits.js';
import {
  circuitOpenVerdict,
  errorMessage,
  guardedCall,
  type CallResult,
  type Env,
  type ErrorClassifier,
  type ProviderRuntime,
} from './runtime.js';
import { AWS_VOLUME_TYPE_ANNOTATION, awsRegionFromZone, ebsVolumeRef } from './select.js';
import {
  verdictRefused,
  type AwsModificationRule,
  type ExpansionCandidate,
  type ProviderVerdict,
} from './types.js';

type Ec2Module = typeof Ec2;

/** EC2 accepts at most 200 filter values in one call (FilterLimitExceeded beyond). */
export const EC2_FILTER_VALUES_MAX = 200;
const REQUEST_TIMEOUT_MS = 30_000;

/** The parts of DescribeVolumes' answer the verdict needs. */
export interface EbsVolume {
  volumeId: string;
  sizeGib: number | undefined;
  volumeType: string | undefined;
  /** creating | available | in-use | deleting | deleted | error. */
  state: string | undefined;
}

const THROTTLE_CODES = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'TooManyRequestsException',
  'ServiceUnavailable',
  'Unavailable',
]);
/** The API's own modification refusals: a rule, not an outage. */
const REFUSAL_CODES = new Set(['VolumeModificationRateExceeded', 'IncorrectModificationState']);
const PERMISSION_CODES = new Set(['UnauthorizedOperation', 'AuthFailure', 'AccessDenied']);

function awsErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const named = error as { name?: unknown; Code?: unknown };
  if (typeof named.Code === 'string') return named.Code;
  return typeof named.name === 'string' ? named.name : undefined;
}

function awsHttpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const meta = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  return typeof meta?.httpStatusCode === 'number' ? meta.httpStatusCode : undefined;
}

export const awsErrors: ErrorClassifier = {
  isRetryable: (error) => {
    const status = awsHttpStatus(error);
    return THROTTLE_CODES.has(awsErrorCode(error) ?? '') || status === 429 || status === 503;
  },
  countsAgainstProvider: (error) => !REFUSAL_CODES.has(awsErrorCode(error) ?? ''),
};

/** The verdict for volumes whose EC2 call failed; the API's refusals map to provider-refused. */
export function awsFailureVerdict(operation: string, error: unknown): ProviderVerdict {
  const code = awsErrorCode(error) ?? 'Error';
  const message = `${operation} failed: ${code}: ${errorMessage(error)}`;
  if (REFUSAL_CODES.has(code)) return verdictRefused('aws', 'provider-refused', message);
  if (PERMISSION_CODES.has(code)) {
    return verdictRefused('aws', 'provider-error', `${message} (grant ec2:${operation})`);
  }
  return verdictRefused('aws', 'provider-error', message);
}

interface AwsItem {
  key: string;
  candidate: ExpansionCandidate;
  volumeId: string;
  region: string;
}

export interface AwsDeps {
  loadSdk: () => Promise<Ec2Module>;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function clientConfig(region: string, env: Env): Ec2.EC2ClientConfig {
  const endpoint = env.AWS_ENDPOINT_URL_EC2 ?? env.AWS_ENDPOINT_URL;
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  return {
    region,
    // Retries are ours (withRetry), so the breaker sees each exhausted call exactly once.
    maxAttempts: 1,
    requestHandler: { requestTimeout: REQUEST_TIMEOUT_MS, connectionTimeout: REQUEST_TIMEOUT_MS },
    ...(endpoint === undefined ? {} : { endpoint }),
    // Static keys from the injected environment; otherwise the default chain (IRSA, Pod Identity).
    ...(accessKeyId === undefined || secretAccessKey === undefined
      ? {}
      : {
          credentials: {
            accessKeyId,
            secretAccessKey,
            ...(env.AWS_SESSION_TOKEN === undefined ? {} : { sessionToken: env.AWS_SESSION_TOKEN }),
          },
        }),
  };
}

async function describeVolumes(
  sdk: Ec2Module,
  client: Ec2.EC2Client,
  ids: readonly string[],
): Promise<EbsVolume[]> {
  const out: EbsVolume[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new sdk.DescribeVolumesCommand({
        // A filter, not VolumeIds: one missing volume must not fail the whole batch.
        Filters: [{ Name: 'volume-id', Values: [...ids] }],
        ...(nextToken === undefined ? {} : { NextToken: nextToken }),
      }),
    );
    for (const v of page.Volumes ?? []) {
      if (v.VolumeId === undefined) continue;
      out.push({ volumeId: v.VolumeId, sizeGib: v.Size, volumeType: v.VolumeType, state: v.State });
    }
    nextToken = page.NextToken === '' ? undefined : page.NextToken;
  } while (nextToken !== undefined);
  return out;
}

async function describeModifications(
  sdk: Ec2Module,
  client: Ec2.EC2Client,
  ids: readonly string[],
): Promise<EbsModification[]> {
  const out: EbsModification[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new sdk.DescribeVolumesModificationsCommand({
        // A filter, not VolumeIds: a never-modified volume would fail the batch with
        // InvalidVolumeModification.NotFound.
        Filters: [{ Name: 'volume-id', Values: [...ids] }],
        ...(nextToken === undefined ? {} : { NextToken: nextToken }),
      }),
    );
    for (const m of page.VolumesModifications ?? []) {
      if (m.VolumeId === undefined) continue;
      out.push({
        volumeId: m.VolumeId,
        state: m.ModificationState,
        startTime: m.StartTime,
        endTime: m.EndTime,
        progress: m.Progress,
        targetSizeGib: m.TargetSize,
      });
    }
    nextToken = page.NextToken === '' ? undefined : page.NextToken;
  } while (nextToken !== undefined);
  return out;
}

/** Merges chunk results: any failed or skipped chunk makes the region's answer that outcome. */
async function callChunks<T extends { volumeId: string }>(
  rt: ProviderRuntime,
  operation: string,
  chunks: readonly string[][],
  fetch: (ids: readonly string[]) => Promise<T[]>,
): Promise<Map<string, CallResult<T | undefined>>> {
  const byVolume = new Map<string, CallResult<T | undefined>>();
  for (const ids of chunks) {
    const result = await guardedCall(rt, operation, () => fetch(ids), awsErrors);
    const found = new Map(result.kind === 'ok' ? result.value.map((v) => [v.volumeId, v]) : []);
    for (const id of ids) {
      byVolume.set(id, result.kind === 'ok' ? { kind: 'ok', value: found.get(id) } : result);
    }
  }
  return byVolume;
}

interface VolumeFacts {
  volume: CallResult<EbsVolume | undefined>;
  modification: CallResult<EbsModification | undefined>;
}

async function factsForRegion(
  rt: ProviderRuntime,
  sdk: Ec2Module,
  region: string,
  ids: readonly string[],
): Promise<Map<string, VolumeFacts>> {
  const client = new sdk.EC2Client(clientConfig(region, rt.env));
  try {
    const volumes = await callChunks(
      rt,
      'DescribeVolumes',
      chunk(ids, EC2_FILTER_VALUES_MAX),
      (c) => describeVolumes(sdk, client, c),
    );
    // Only volumes that exist need their modification history.
    const found = ids.filter((id) => {
      const v = volumes.get(id);
      return v?.kind === 'ok' && v.value !== undefined;
    });
    const modifications = await callChunks(
      rt,
      'DescribeVolumesModifications',
      chunk(found, EC2_FILTER_VALUES_MAX),
      (c) => describeModifications(sdk, client, c),
    );
    const facts = new Map<string, VolumeFacts>();
    for (const id of ids) {
      facts.set(id, {
        volume: volumes.get(id) ?? { kind: 'circuit-open' },
        modification: modifications.get(id) ?? { kind: 'ok', value: undefined },
      });
    }
    return facts;
  } finally {
    client.destroy();
  }
}

function declaredTypeWarning(
  candidate: ExpansionCandidate,
  volumeId: string,
  type: string | undefined,
): string[] {
  const declared = candidate.pvc.annotations[AWS_VOLUME_TYPE_ANNOTATION]?.trim();
  if (declared === undefined || declared === '' || declared === type) return [];
  return [
    `${AWS_VOLUME_TYPE_ANNOTATION} says ${declared} but EBS volume ${volumeId} is ${type ?? 'of unknown type'}`,
  ];
}

/** Size limits of the volume's type, and the warning when the type is unknown. */
function ebsFit(
  candidate: ExpansionCandidate,
  volume: EbsVolume,
  warnings: string[],
): ProviderVerdict {
  const type = volume.volumeType;
  const maxGib = type === undefined ? undefined : EBS_MAX_GIB[type];
  const unknown =
    maxGib === undefined
      ? [`unknown EBS volume type ${type ?? '(none)'}: no maximum size checked`]
      : [];
  return fitSize(
    {
      provider: 'aws',
      fromBytes: candidate.fromBytes,
      toBytes: candidate.toBytes,
      cloudBytes: volume.sizeGib === undefined ? undefined : BigInt(volume.sizeGib) * GIB,
      warnings: [...warnings, ...unknown],
    },
    {
      label: type ?? 'EBS',
      maxBytes: maxGib === undefined ? undefined : maxGib * GIB,
      stepBytes: GIB,
    },
  );
}

/** The pure verdict for one EBS volume once EC2 has answered. */
export function ebsVerdict(
  item: { candidate: ExpansionCandidate; volumeId: string; region: string },
  facts: { volume: EbsVolume | undefined; modification: EbsModification | undefined },
  rule: AwsModificationRule,
  now: Date,
): ProviderVerdict {
  const { candidate, volumeId, region } = item;
  const { volume, modification } = facts;
  if (volume === undefined) {
    return verdictRefused('aws', 'provider-error', `EBS volume ${volumeId} not found in ${region}`);
  }
  if (volume.state !== 'in-use' && volume.state !== 'available') {
    const state = volume.state ?? 'in an unknown state';
    return verdictRefused('aws', 'provider-refused', `EBS volume ${volumeId} is ${state}`);
  }
  const outcome = evaluateModificationRule(
    { rule, volumeId, modification, history: candidate.history },
    now,
  );
  if (!outcome.allowed)
    return verdictRefused('aws', 'provider-refused', outcome.detail, outcome.retryAt);
  const warnings = [
    ...outcome.warnings,
    ...declaredTypeWarning(candidate, volumeId, volume.volumeType),
  ];
  const verdict = ebsFit(candidate, volume, warnings);
  return verdict.ok && volume.volumeType !== undefined
    ? { ...verdict, volumeType: volume.volumeType }
    : verdict;
}

function verdictFromFacts(
  item: AwsItem,
  facts: VolumeFacts | undefined,
  rt: ProviderRuntime,
  now: Date,
): ProviderVerdict {
  if (facts === undefined) return circuitOpenVerdict(rt);
  const { volume, modification } = facts;
  if (volume.kind === 'circuit-open') return circuitOpenVerdict(rt);
  if (volume.kind === 'failed') return awsFailureVerdict('DescribeVolumes', volume.error);
  if (modification.kind === 'circuit-open') return circuitOpenVerdict(rt);
  if (modification.kind === 'failed')
    return awsFailureVerdict('DescribeVolumesModifications', modification.error);
  return ebsVerdict(
    item,
    { volume: volume.value, modification: modification.value },
    rt.options.awsModificationRule,
    now,
  );
}

/** Resolves each candidate's volume ID and region, or its verdict when it has none. */
function locate(
  candidates: readonly ExpansionCandidate[],
  env: Env,
  verdicts: Map<string, ProviderVerdict>,
): AwsItem[] {
  const items: AwsItem[] = [];
  for (const candidate of candidates) {
    const key = pvcKey(candidate.pvc);
    const ref = ebsVolumeRef(candidate.pv);
    if (ref === undefined) {
      verdicts.set(
        key,
        verdictRefused('aws', 'provider-error', 'no EBS volume ID in the PersistentVolume'),
      );
      continue;
    }
    const region = awsRegionFromZone(ref.zone) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (region === undefined) {
      verdicts.set(
        key,
        verdictRefused(
          'aws',
          'provider-error',
          `no AWS region for ${ref.volumeId}: no zone on the PV and AWS_REGION unset`,
        ),
      );
      continue;
    }
    items.push({ key, candidate, volumeId: ref.volumeId, region });
  }
  return items;
}

export async function checkAws(
  candidates: readonly ExpansionCandidate[],
  rt: ProviderRuntime,
  deps: AwsDeps,
  now: Date,
): Promise<Map<string, ProviderVerdict>> {
  const verdicts = new Map<string, ProviderVerdict>();
  const items = locate(candidates, rt.env, verdicts);
  if (items.length === 0) return verdicts;
  const sdk = await deps.loadSdk();
  const regions = new Map<string, Set<string>>();
  for (const item of items) {
    const ids = regions.get(item.region) ?? new Set<string>();
    ids.add(item.volumeId);
    regions.set(item.region, ids);
  }
  const facts = new Map<string, Map<string, VolumeFacts>>();
  for (const [region, ids] of regions) {
    facts.set(region, await factsForRegion(rt, sdk, region, [...ids]));
  }
  for (const item of items) {
    verdicts.set(
      item.key,
      verdictFromFacts(item, facts.get(item.region)?.get(item.volumeId), rt, now),
    );
  }
  return verdicts;
}

/** Imports the EC2 SDK, silencing its Node-version notice (stderr carries only JSON log lines). */
export async function loadEc2Sdk(): Promise<Ec2Module> {
  try {
    const core = await import('@aws-sdk/core/client');
    core.state.warningEmitted = true;
  } catch {
    // An SDK layout without this switch: the notice may print once, nothing else changes.
  }
  return import('@aws-sdk/client-ec2');
}
