/**
 * The provider gate: run.ts calls `check` once per run, between decide and apply, with every
 * expansion the core decided on. Each candidate gets a verdict from the cloud behind its volume:
 * go ahead (maybe with a capped size), or a refusal with a reason from the report vocabulary.
 */
import type { Logger } from 'pino';
import {
  pvcKey,
  type PersistentVolumeInfo,
  type PvcSnapshot,
  type StorageClassInfo,
} from '../core/pvc.js';
import { checkAws, loadEc2Sdk, type AwsDeps } from './aws.js';
import { azureVerdict } from './azure.js';
import { checkGcp, createPassThroughAuth, loadComputeSdk, type GcpDeps } from './gcp.js';
import { genericVerdict } from './generic.js';
import { checkLonghorn } from './longhorn.js';
import { checkTopolvm } from './topolvm.js';
import { realSleep } from '../retry.js';
import { createCircuitBreaker, type ProviderRetry } from './resilience.js';
import { errorMessage, type Env, type ProviderRuntime } from './runtime.js';
import { chooseProvider, detectsProvider, PROVIDER_ANNOTATION } from './select.js';
import {
  verdictRefused,
  type ExpansionCandidate,
  type KubeReader,
  type ProviderGate,
  type ProviderName,
  type ProviderOptions,
  type ProviderVerdict,
} from './types.js';

export type {
  AwsModificationRule,
  ExpansionCandidate,
  HistoryEntry,
  KubeReader,
  ProviderGate,
  ProviderName,
  ProviderOptions,
  ProviderRefusal,
  ProviderVerdict,
} from './types.js';
export {
  parseProviderOptions,
  PROVIDER_FLAGS,
  type ProviderFlag,
  type RawProviderOptions,
} from './options.js';
export { AWS_VOLUME_TYPE_ANNOTATION, PROVIDER_ANNOTATION } from './select.js';

/** Upper bound of one backoff delay. */
const RETRY_MAX_DELAY_MS = 20_000;

export interface ProviderGateDeps {
  log: Logger;
  /** The process environment (main passes process.env): AWS_* and GOOGLE_CLOUD_PROJECT are read. */
  env: Env;
  /** The pass's Kubernetes client, for TopoLVM's Nodes and Longhorn's custom resources. */
  kube: KubeReader;
  sleep?: (ms: number) => Promise<void>;
  /** [0, 1) for backoff jitter; Math.random by default. */
  random?: () => number;
}

/** Memoises a lazy import and logs when it happens, so a test can see which SDKs a run loaded. */
function lazy<T>(provider: ProviderName, log: Logger, load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().then((module) => {
      log.debug({ provider }, 'provider sdk loaded');
      return module;
    });
    return loading;
  };
}

function failAll(
  provider: ProviderName,
  candidates: readonly ExpansionCandidate[],
  error: unknown,
): Map<string, ProviderVerdict> {
  const detail = `${provider} provider failed: ${errorMessage(error)}`;
  return new Map(
    candidates.map((c) => [pvcKey(c.pvc), verdictRefused(provider, 'provider-error', detail)]),
  );
}

export function createProviderGate(options: ProviderOptions, deps: ProviderGateDeps): ProviderGate {
  const { log, env } = deps;
  const retry: ProviderRetry = {
    // maxRetries counts retries; the policy counts attempts, the first included.
    policy: {
      attempts: options.maxRetries + 1,
      baseDelayMs: options.retryBaseDelayMs,
      maxDelayMs: RETRY_MAX_DELAY_MS,
    },
    sleep: deps.sleep ?? realSleep,
    random: deps.random ?? Math.random,
  };
  // One breaker per provider for the life of the gate, i.e. one run.
  const runtime = (provider: ProviderName): ProviderRuntime => ({
    provider,
    options,
    log,
    env,
    retry,
    breaker: createCircuitBreaker(options.breakerThreshold),
  });
  const awsRt = runtime('aws');
  const gcpRt = runtime('gcp');
  const topolvmRt = runtime('topolvm');
  const longhornRt = runtime('longhorn');
  const awsDeps: AwsDeps = { loadSdk: lazy('aws', log, loadEc2Sdk) };
  const gcpDeps: GcpDeps = {
    loadSdk: lazy('gcp', log, loadComputeSdk),
    createNoAuthClient: createPassThroughAuth,
  };

  async function guarded(
    provider: ProviderName,
    candidates: readonly ExpansionCandidate[],
    run: () => Promise<Map<string, ProviderVerdict>>,
  ): Promise<Map<string, ProviderVerdict>> {
    if (candidates.length === 0) return new Map();
    try {
      return await run();
    } catch (error: unknown) {
      // Expected cloud errors never get here; this is a bug or a broken SDK install.
      log.error({ provider, err: errorMessage(error) }, 'provider check failed');
      return failAll(provider, candidates, error);
    }
  }

  return {
    providerFor(
      pvc: PvcSnapshot,
      pv: PersistentVolumeInfo | undefined,
      storageClass: StorageClassInfo | undefined,
    ) {
      return chooseProvider(pvc, pv, storageClass, options.provider).provider;
    },

    detectsFromVolume: (pvc) => detectsProvider(pvc, options.provider),

    // Their verdicts come from the sizes alone: no volume ID, zone or node to look up.
    checksVolume: (provider) => provider !== 'generic' && provider !== 'azure',

    // Their candidates share a volume group's or a disk's free space (onprem-fit.ts).
    checksTogether: (provider) => provider === 'topolvm' || provider === 'longhorn',

    async check(candidates, now) {
      const verdicts = new Map<string, ProviderVerdict>();
      const groups: Record<ProviderName, ExpansionCandidate[]> = {
        aws: [],
        gcp: [],
        azure: [],
        topolvm: [],
        longhorn: [],
        generic: [],
      };
      for (const candidate of candidates) {
        const choice = chooseProvider(
          candidate.pvc,
          candidate.pv,
          candidate.storageClass,
          options.provider,
        );
        if (choice.ok) {
          groups[choice.provider].push(candidate);
        } else {
          const detail = `invalid ${PROVIDER_ANNOTATION} annotation '${choice.invalid}': expected auto, aws, gcp, azure, topolvm, longhorn or generic`;
          verdicts.set(
            pvcKey(candidate.pvc),
            verdictRefused(choice.provider, 'provider-refused', detail),
          );
        }
      }
      for (const c of groups.azure) verdicts.set(pvcKey(c.pvc), azureVerdict(c));
      for (const c of groups.generic) verdicts.set(pvcKey(c.pvc), genericVerdict(c));
      // Each provider is asked only when it has a candidate: no list of Nodes or Longhorn
      // resources, no SDK import, on a cluster without its volumes.
      const answers = await Promise.all([
        guarded('aws', groups.aws, () => checkAws(groups.aws, awsRt, awsDeps, now)),
        guarded('gcp', groups.gcp, () => checkGcp(groups.gcp, gcpRt, gcpDeps)),
        guarded('topolvm', groups.topolvm, () =>
          checkTopolvm(groups.topolvm, topolvmRt, deps.kube),
        ),
        guarded('longhorn', groups.longhorn, () =>
          checkLonghorn(groups.longhorn, longhornRt, deps.kube),
        ),
      ]);
      for (const [key, verdict] of answers.flatMap((answer) => [...answer]))
        verdicts.set(key, verdict);
      return verdicts;
    },
  };
}
