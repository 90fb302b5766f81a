// The Helm chart, with the real helm 4 binary: lint, render, schema, no drift from cronjob/,
// Kubernetes schemas of the rendered objects, and real kubectl applying them to the sim.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimCluster, type SimCluster } from '../../sim/index.js';
import {
  CHART,
  HAVE_HELM,
  HAVE_KUBECTL,
  HELM,
  KUBECTL,
  ROOT,
  helmTemplate,
  keyOf,
  parseObjects,
  run,
  validatorFor,
  type K8sObject,
} from './tools.js';

if (!HAVE_HELM) process.stderr.write(`chart.test.ts skipped: ${HELM} is missing; run make tools\n`);

/** Every optional part on (the webhook in its default auto TLS mode). */
const ALL_ON = [
  '--set',
  'sharding.enabled=true',
  '--set',
  'webhook.enabled=true',
  '--set',
  'monitoring.prometheusRule.enabled=true',
  '--set',
  'monitoring.dashboard.enabled=true',
  '--set',
  'pushgatewayAuth.type=basic',
  '--set',
  'pushgatewayAuth.existingSecret=pushgateway-auth',
  '--set',
  'serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::111122223333:role/pvc-chonker',
  '--set',
  'config.threshold=85%',
  '--set',
  'config.namespace={databases,search}',
  '--set',
  'config.dryRun=true',
  '--set',
  'image.digest=sha256:' + 'a'.repeat(64),
  '--set',
  'imagePullSecrets={registry}',
  '--set',
  'priorityClassName=system-cluster-critical',
  '--set',
  'nodeSelector.kubernetes\\.io/os=linux',
];
const CERT_MANAGER = ['--set', 'webhook.enabled=true', '--set', 'webhook.tls.mode=cert-manager'];
const SECRET_TLS = [
  '--set',
  'webhook.enabled=true',
  '--set',
  'webhook.tls.mode=secret',
  '--set',
  'webhook.tls.secretName=my-tls',
  '--set',
  'webhook.tls.caBundle=' + Buffer.from('-----BEGIN CERTIFICATE-----').toString('base64'),
];

/** The stats flags and the values of the chart's `stats` section that set them. */
const STATS_VALUES: Record<string, string> = {
  statsSource: 'stats.source',
  kubeletInsecureSkipTlsVerify: 'stats.kubelet.insecureSkipTlsVerify',
  kubeletCaFile: 'stats.kubelet.caConfigMap',
  prometheusUrl: 'stats.prometheus.url',
  prometheusSelector: 'stats.prometheus.selector',
  prometheusMaxAge: 'stats.prometheus.maxAge',
  prometheusHeader: 'stats.prometheus.headers',
  prometheusBearerTokenFile: 'stats.prometheus.tokenKey',
  prometheusCaFile: 'stats.prometheus.caKey',
};

/** Labels only Helm adds; the rest of an object must equal its cronjob/ twin. */
const HELM_LABELS = [
  'helm.sh/chart',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/managed-by',
  'app.kubernetes.io/version',
];

/** A comparable copy: Helm's labels dropped, env lists in name order (the chart sorts keys). */
function normalize(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => normalize(v));
    if (key === 'env') {
      const name = (o: unknown): string =>
        typeof o === 'object' && o !== null ? String((o as { name?: unknown }).name) : '';
      return items.sort((a, b) => name(a).localeCompare(name(b)));
    }
    return items;
  }
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === 'labels' && typeof v === 'object' && v !== null) {
      const kept = Object.fromEntries(
        Object.entries(v).filter(([label]) => !HELM_LABELS.includes(label)),
      );
      if (Object.keys(kept).length > 0) out[k] = kept;
      continue;
    }
    out[k] = normalize(v, k);
  }
  return out;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
    .map((f) => join(dir, f));
}

/**
 * The objects of the plain manifests: `kubectl kustomize` of cronjob/ (and of cronjob/webhook/
 * when it exists), plus the YAML files of those directories the kustomization leaves out
 * (cronjob/sharded-job.yaml), so every manifest a user can apply is compared.
 */
async function manifestObjects(): Promise<Map<string, K8sObject>> {
  const objects = new Map<string, K8sObject>();
  const add = (list: K8sObject[]): void => {
    for (const o of list) if (typeof o.kind === 'string') objects.set(keyOf(o), o);
  };
  for (const dir of ['cronjob', 'cronjob/webhook']) {
    const abs = join(ROOT, dir);
    if (!existsSync(abs)) continue;
    if (existsSync(join(abs, 'kustomization.yaml'))) {
      const k = await run(KUBECTL, ['kustomize', abs]);
      expect(k.code, k.stderr).toBe(0);
      add(parseObjects(k.stdout));
    }
    for (const file of yamlFiles(abs)) add(parseObjects(readFileSync(file, 'utf8')));
  }
  return objects;
}

/** Compares every object both define; returns the keys compared. */
function compareShared(chart: K8sObject[], manifests: Map<string, K8sObject>): string[] {
  const compared: string[] = [];
  for (const o of chart) {
    const twin = manifests.get(keyOf(o));
    if (twin === undefined) continue;
    expect(normalize(o), `${keyOf(o)}: the chart and cronjob/ differ`).toEqual(normalize(twin));
    compared.push(keyOf(o));
  }
  return compared;
}

async function validateAll(objects: K8sObject[]): Promise<void> {
  for (const o of objects) {
    const validate = await validatorFor(o.apiVersion, o.kind);
    expect(() => {
      validate(o);
    }, keyOf(o)).not.toThrow();
  }
}

describe.skipIf(!HAVE_HELM)('Helm chart charts/pvc-chonker', () => {
  it('passes helm lint --strict with the defaults and with every optional part on', async () => {
    for (const args of [[], ALL_ON, CERT_MANAGER, SECRET_TLS]) {
      const lint = await run(HELM, ['lint', '--strict', CHART, ...args]);

      expect(lint.code, `${args.join(' ')}\n${lint.stdout}${lint.stderr}`).toBe(0);
      expect(lint.stdout).toContain('0 chart(s) failed');
    }
  });

  it('renders the CronJob, ServiceAccount, ClusterRole and binding by default', async () => {
    const objects = await helmTemplate();

    expect(objects.map(keyOf).sort()).toEqual([
      'ClusterRole//pvc-chonker',
      'ClusterRoleBinding//pvc-chonker',
      'CronJob/pvc-chonker/pvc-chonker',
      'ServiceAccount/pvc-chonker/pvc-chonker',
    ]);
  });

  it('renders every optional part when asked', async () => {
    const all = (await helmTemplate(...ALL_ON)).map(keyOf);
    const certManager = (await helmTemplate(...CERT_MANAGER)).map(keyOf);

    expect(all).toEqual(
      expect.arrayContaining([
        'CronJob/pvc-chonker/pvc-chonker-sharded',
        'Deployment/pvc-chonker/pvc-chonker-webhook',
        'PodDisruptionBudget/pvc-chonker/pvc-chonker-webhook',
        'Service/pvc-chonker/pvc-chonker-webhook',
        'MutatingWebhookConfiguration//pvc-chonker',
        'ValidatingWebhookConfiguration//pvc-chonker',
        'Role/pvc-chonker/pvc-chonker-webhook',
        'PrometheusRule/pvc-chonker/pvc-chonker',
        'ConfigMap/pvc-chonker/pvc-chonker-dashboard',
      ]),
    );
    // The sharded CronJob replaces the single-pod one.
    expect(all).not.toContain('CronJob/pvc-chonker/pvc-chonker');
    expect(certManager).toEqual(
      expect.arrayContaining([
        'Certificate/pvc-chonker/pvc-chonker-webhook',
        'Issuer/pvc-chonker/pvc-chonker-webhook',
      ]),
    );
    // cert-manager brings the certificate: the webhook writes no Secret itself.
    expect(certManager).not.toContain('Role/pvc-chonker/pvc-chonker-webhook');
  });

  it('passes the settings as PVC_CHONKER_* variables, the auth as files, the IRSA annotation', async () => {
    const objects = await helmTemplate(...ALL_ON);
    const cron = objects.find((o) => keyOf(o) === 'CronJob/pvc-chonker/pvc-chonker-sharded');
    const sa = objects.find(
      (o) => o.kind === 'ServiceAccount' && o.metadata.name === 'pvc-chonker',
    );
    const pod = (
      cron as unknown as {
        spec: { jobTemplate: { spec: { template: { spec: Record<string, unknown> } } } };
      }
    ).spec.jobTemplate.spec.template.spec;
    const container = (pod['containers'] as Record<string, unknown>[])[0] ?? {};
    const env = container['env'] as { name: string; value?: string }[];

    expect(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value])).toEqual(
      expect.arrayContaining([
        ['PVC_CHONKER_THRESHOLD', '85%'],
        ['PVC_CHONKER_NAMESPACE', 'databases,search'],
        ['PVC_CHONKER_DRY_RUN', 'true'],
        [
          'PVC_CHONKER_PUSHGATEWAY_PASSWORD_FILE',
          '/var/run/secrets/pvc-chonker/pushgateway/password',
        ],
      ]),
    );
    // SHARD_INDEX must come before the entry that expands $(SHARD_INDEX).
    const names = env.map((e) => e.name);
    expect(names.indexOf('SHARD_INDEX')).toBeLessThan(names.indexOf('PVC_CHONKER_JOB_NAME'));
    expect(names.filter((n) => n === 'PVC_CHONKER_JOB_NAME')).toHaveLength(1);
    expect(container['image']).toBe(`ghcr.io/pvc-chonker/pvc-chonker@sha256:${'a'.repeat(64)}`);
    expect(pod['priorityClassName']).toBe('system-cluster-critical');
    expect(sa?.metadata).toMatchObject({
      annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/pvc-chonker' },
    });
  });

  it('refuses an unknown top-level key, a typo in a setting and a malformed value', async () => {
    const cases: [string, RegExp][] = [
      ['someUnknownKey=1', /additional properties 'someUnknownKey' not allowed/],
      ['config.treshold=80%', /additional properties 'treshold' not allowed/],
      ['config.threshold=eighty', /\/config\/threshold/],
      ['webhook.tls.mode=magic', /\/webhook\/tls\/mode/],
    ];
    for (const [set, message] of cases) {
      const r = await run(HELM, ['template', 'x', CHART, '--set', set]);

      expect(r.code, set).not.toBe(0);
      expect(r.stderr, set).toMatch(message);
    }
  });

  it('names every config key after a flag of pvc-chonker run, and covers every global flag', async () => {
    const help = await run(process.execPath, [join(ROOT, 'dist/pvc-chonker.mjs'), 'run', '--help']);
    const flags = [...help.stdout.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1] ?? '');
    const camel = (flag: string): string =>
      flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const values = parseObjects(readFileSync(join(CHART, 'values.yaml'), 'utf8'))[0] as unknown as {
      config: Record<string, unknown>;
      stats: Record<string, Record<string, unknown> | string>;
    };
    // Connection, output and per-pod flags are not settings of an in-cluster install, and neither
    // are those of a run over several kubeconfig contexts (a central Job, docs/operations.md).
    const notSettings = [
      'kubeconfig',
      'context',
      'allContexts',
      'clusterConcurrency',
      'output',
      'shardIndex',
      'shardCount',
      'help',
      // --now fixes the pass's clock, for replay and tests only.
      'now',
    ];
    // The stats source's flags have a section of their own (files come from mounted objects).
    const statsKeys = Object.keys(STATS_VALUES);
    const flagKeys = new Set(
      flags.map(camel).filter((k) => !notSettings.includes(k) && !statsKeys.includes(k)),
    );
    const statsValue = (path: string): unknown =>
      path.split('.').reduce<unknown>((o, key) => (o as Record<string, unknown>)[key], values);

    expect(help.code, help.stderr).toBe(0);
    expect(Object.keys(values.config).filter((k) => !flagKeys.has(k))).toEqual([]);
    expect([...flagKeys].filter((k) => !(k in values.config))).toEqual([]);
    expect(statsKeys.filter((k) => !flags.map(camel).includes(k))).toEqual([]);
    expect(Object.values(STATS_VALUES).filter((path) => statsValue(path) === undefined)).toEqual(
      [],
    );
  });

  it('does not drift from cronjob/: every object both define is the same', async () => {
    const manifests = await manifestObjects();

    const byDefault = compareShared(await helmTemplate(), manifests);
    const sharded = compareShared(await helmTemplate('--set', 'sharding.enabled=true'), manifests);
    const webhook = compareShared(await helmTemplate('--set', 'webhook.enabled=true'), manifests);

    expect(byDefault).toEqual(
      expect.arrayContaining([
        'CronJob/pvc-chonker/pvc-chonker',
        'ServiceAccount/pvc-chonker/pvc-chonker',
        'ClusterRole//pvc-chonker',
        'ClusterRoleBinding//pvc-chonker',
      ]),
    );
    expect(sharded).toContain('CronJob/pvc-chonker/pvc-chonker-sharded');
    // cronjob/webhook/ comes with the webhook; from then on its objects are compared too.
    // Every one of them: an object the chart names differently would otherwise go uncompared.
    if (existsSync(join(ROOT, 'cronjob/webhook'))) {
      const k = await run(KUBECTL, ['kustomize', join(ROOT, 'cronjob/webhook')]);
      const webhookManifests = parseObjects(k.stdout).map(keyOf);

      expect(webhookManifests).toContain('Deployment/pvc-chonker/pvc-chonker-webhook');
      expect(webhook.filter((key) => webhookManifests.includes(key)).sort()).toEqual(
        webhookManifests.sort(),
      );
    }
  });

  it('ships the CRDs of cronjob/crds and the monitoring files of cronjob/monitoring unchanged', () => {
    const chartCrds = readdirSync(join(CHART, 'crds')).filter((f) => /\.ya?ml$/.test(f));
    const crdDir = join(ROOT, 'cronjob/crds');
    const files = ['pvc-chonker-rules.yaml', 'pvc-chonker-dashboard.json'];

    if (existsSync(crdDir)) {
      const crds = readdirSync(crdDir).filter(
        (f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml',
      );
      expect(chartCrds.sort()).toEqual(crds.sort());
      for (const f of crds) {
        expect(
          parseObjects(readFileSync(join(CHART, 'crds', f), 'utf8')),
          `charts/pvc-chonker/crds/${f} differs from cronjob/crds/${f}`,
        ).toEqual(parseObjects(readFileSync(join(crdDir, f), 'utf8')));
      }
    } else {
      // Nothing in crds/ that no test compares.
      expect(chartCrds).toEqual([]);
    }
    for (const f of files) {
      expect(
        readFileSync(join(CHART, 'files', f), 'utf8'),
        `cp cronjob/monitoring/${f} charts/pvc-chonker/files/`,
      ).toBe(readFileSync(join(ROOT, 'cronjob/monitoring', f), 'utf8'));
    }
  });

  it('renders a PrometheusRule whose rules pass promtool, with the schedule interval of the values', async () => {
    const objects = await helmTemplate(
      '--set',
      'monitoring.prometheusRule.enabled=true',
      '--set',
      'monitoring.prometheusRule.scheduleIntervalSeconds=3600',
    );
    const rule = objects.find((o) => o.kind === 'PrometheusRule') as unknown as { spec: unknown };
    const file = join(await mkdtemp(join(tmpdir(), 'rules-')), 'rules.yaml');
    await writeFile(file, stringify(rule.spec));

    const check = await run('promtool', ['check', 'rules', file]);

    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(stringify(rule.spec)).toContain('expr: vector(3600)');
    expect(stringify(rule.spec)).not.toContain('vector(300)');
  });

  it('has a README whose values table matches values.yaml', async () => {
    const check = await run(process.execPath, ['scripts/chart-readme.mjs', '--check']);

    expect(check.code, check.stderr).toBe(0);
  });

  it('renders objects that match the Kubernetes schemas, in every mode', async () => {
    for (const args of [[], ALL_ON, CERT_MANAGER, SECRET_TLS])
      await validateAll(await helmTemplate(...args));
  });

  it('has a schema check that can fail', async () => {
    const cron = (await helmTemplate()).find((o) => o.kind === 'CronJob');
    const broken = structuredClone(cron) as unknown as { spec: Record<string, unknown> };
    broken.spec['schedule'] = 5;
    const validate = await validatorFor('batch/v1', 'CronJob');

    expect(() => {
      validate(broken);
    }).toThrow(/schedule must be string/);
  });
});

describe.skipIf(!HAVE_HELM || !HAVE_KUBECTL)('the rendered chart applied with real kubectl', () => {
  let sim: SimCluster;
  let kubeconfig: string;
  let dir: string;

  function kubectl(...args: string[]) {
    return run(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args], {
      timeoutMs: 30_000,
    });
  }

  beforeAll(async () => {
    sim = await startSimCluster({ seed: { objects: [], usage: [] } });
    dir = await mkdtemp(join(tmpdir(), 'chart-apply-'));
    kubeconfig = join(dir, 'kubeconfig');
    await sim.writeKubeconfig(kubeconfig);
  });
  afterAll(async () => {
    await sim.close();
  });

  it('applies cronjob/ with kubectl apply -k, as the README says', async () => {
    const r = await kubectl('apply', '--validate=false', '-k', join(ROOT, 'cronjob'));

    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/namespace\/pvc-chonker (created|unchanged)/);
    expect(r.stdout).toMatch(/cronjob.batch\/pvc-chonker created/);
    expect(r.stdout).toMatch(
      /clusterrole.rbac.authorization.k8s.io\/pvc-chonker (created|configured)/,
    );
  });

  it('creates every object, and a second apply changes nothing', async () => {
    // The sim has no prometheus-operator nor cert-manager CRDs, like a bare cluster: those
    // objects are checked against their schemas above, not applied.
    const objects = (await helmTemplate(...ALL_ON)).filter(
      (o) => !['monitoring.coreos.com/v1', 'cert-manager.io/v1'].includes(o.apiVersion),
    );
    const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'pvc-chonker' } };
    const file = join(dir, 'chart.yaml');
    const text = [namespace, ...objects].map((o) => stringify(o)).join('---\n');
    await writeFile(file, text);

    // The sim serves no OpenAPI document, so kubectl's client-side validation is off; the
    // schemas were checked with kubernetes-models.
    const first = await kubectl('apply', '--validate=false', '-f', file);
    const second = await kubectl('apply', '--validate=false', '-f', file);
    const cron = await kubectl(
      'get',
      'cronjob',
      'pvc-chonker-sharded',
      '-n',
      'pvc-chonker',
      '-o',
      'json',
    );

    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim().split('\n')).toHaveLength(objects.length + 1);
    expect(first.stdout).toMatch(/cronjob.batch\/pvc-chonker-sharded created/);
    expect(first.stdout).toMatch(
      /validatingwebhookconfiguration.admissionregistration.k8s.io\/pvc-chonker created/,
    );
    expect(second.code, second.stderr).toBe(0);
    // A PDB's selector has patchStrategy "replace", and the API server defaults rules[].scope of
    // the webhooks (cronjob/webhook/ leaves it out): client-side apply sends those again and says
    // "configured", against a real API server too; the objects themselves do not change.
    expect(
      second.stdout
        .trim()
        .split('\n')
        .filter((l) => !l.endsWith(' unchanged')),
    ).toEqual([
      'poddisruptionbudget.policy/pvc-chonker-webhook configured',
      'mutatingwebhookconfiguration.admissionregistration.k8s.io/pvc-chonker configured',
      'validatingwebhookconfiguration.admissionregistration.k8s.io/pvc-chonker configured',
    ]);
    // The resent webhook is merged by name into the stored one, not put in its place.
    const validating = await kubectl(
      'get',
      'validatingwebhookconfiguration',
      'pvc-chonker',
      '-o',
      'json',
    );
    expect(JSON.parse(validating.stdout)).toMatchObject({
      webhooks: [
        {
          name: 'validate.pvc-chonker.io',
          sideEffects: 'None',
          clientConfig: { service: { name: 'pvc-chonker-webhook', path: '/validate' } },
        },
      ],
    });
    expect(cron.code, cron.stderr).toBe(0);
    expect(JSON.parse(cron.stdout)).toMatchObject({
      spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { completions: 4 } } },
    });
  });
});

/**
 * The stats source's node rules of a rendered or built ClusterRole pvc-chonker, as `resource verb`
 * pairs: `get` on core nodes and their subresources (TopoLVM's `list` of nodes, a provider's
 * rule, and Longhorn's own `nodes` are not the source's).
 */
function nodeRules(objects: K8sObject[]): string[] {
  const role = objects.find((o) => keyOf(o) === 'ClusterRole//pvc-chonker') as unknown as {
    rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  };
  return role.rules
    .filter((r) => r.apiGroups.includes(''))
    .flatMap((r) => r.resources.flatMap((res) => r.verbs.map((v) => `${res} ${v}`)))
    .filter((pair) => pair === 'nodes get' || pair.startsWith('nodes/'));
}

/** `kubectl kustomize` of an overlay of cronjob/ with one component of cronjob/components/. */
async function withComponent(component: string | undefined): Promise<K8sObject[]> {
  const dir = await mkdtemp(join(tmpdir(), 'pvc-chonker-profile-'));
  await run('ln', ['-s', join(ROOT, 'cronjob'), join(dir, 'cronjob')]);
  const lines = ['resources: [../cronjob]'];
  if (component !== undefined) lines.push(`components: [../cronjob/components/${component}]`);
  await run('mkdir', [join(dir, 'overlay')]);
  await writeFile(join(dir, 'overlay/kustomization.yaml'), `${lines.join('\n')}\n`);
  const k = await run(KUBECTL, ['kustomize', join(dir, 'overlay')]);
  expect(k.code, k.stderr).toBe(0);
  return parseObjects(k.stdout);
}

/** The three RBAC profiles: a kustomize component and the chart value that render each. */
const PROFILES: {
  profile: string;
  component: string | undefined;
  values: string[];
  rules: string[];
}[] = [
  {
    profile: 'default (auto: the kubelet, directly)',
    component: undefined,
    values: [],
    rules: ['nodes get', 'nodes/stats get'],
  },
  {
    profile: 'kubelet-proxy',
    component: 'kubelet-proxy',
    values: ['--set', 'stats.source=kubelet-proxy'],
    rules: ['nodes/proxy get'],
  },
  {
    profile: 'prometheus',
    component: 'prometheus',
    values: [
      '--set',
      'stats.source=prometheus',
      '--set',
      'stats.prometheus.url=http://prometheus-operated.monitoring.svc:9090',
    ],
    rules: [],
  },
];

describe.skipIf(!HAVE_HELM || !HAVE_KUBECTL)('stats source RBAC profiles', () => {
  it.each(PROFILES)(
    '$profile: the chart value and the kustomize component grant the same node rules',
    async ({ component, values, rules }) => {
      const built = await withComponent(component);
      const rendered = await helmTemplate(...values);
      const keys = ['ClusterRole//pvc-chonker', 'CronJob/pvc-chonker/pvc-chonker'];

      expect(nodeRules(built)).toEqual(rules);
      expect(nodeRules(rendered)).toEqual(rules);
      for (const key of keys)
        expect(
          normalize(rendered.find((o) => keyOf(o) === key)),
          `${key}: the chart and cronjob/components differ`,
        ).toEqual(normalize(built.find((o) => keyOf(o) === key)));
    },
  );

  it('no default install holds nodes/proxy anywhere: cronjob/, the chart, the sharded job', async () => {
    const renders = [
      await run(KUBECTL, ['kustomize', join(ROOT, 'cronjob')]),
      await run(HELM, ['template', 'x', CHART]),
      await run(HELM, ['template', 'x', CHART, '--set', 'sharding.enabled=true']),
      await run(HELM, ['template', 'x', CHART, '--set', 'webhook.enabled=true']),
    ];
    const proxy = await run(HELM, ['template', 'x', CHART, '--set', 'stats.source=kubelet-proxy']);

    for (const render of renders) {
      expect(render.code, render.stderr).toBe(0);
      // Not even in a comment: `… | grep -c nodes/proxy` says 0.
      expect(render.stdout).not.toContain('nodes/proxy');
    }
    expect(proxy.stdout).toContain('nodes/proxy');
  });

  it('passes the Prometheus settings as variables and its Secret, and a kubelet CA, as files', async () => {
    const objects = await helmTemplate(
      '--set',
      'stats.prometheus.url=https://mimir.example:8080/prometheus',
      '--set',
      'stats.prometheus.selector=job="kubelet"',
      '--set',
      'stats.prometheus.maxAge=2m',
      '--set',
      'stats.prometheus.headers={X-Scope-OrgID: tenant-1}',
      '--set',
      'stats.prometheus.existingSecret=prometheus-auth',
      '--set',
      'stats.prometheus.tokenKey=token',
      '--set',
      'stats.prometheus.caKey=ca.crt',
    );
    const cron = objects.find((o) => keyOf(o) === 'CronJob/pvc-chonker/pvc-chonker') as unknown as {
      spec: { jobTemplate: { spec: { template: { spec: Record<string, unknown> } } } };
    };
    const pod = cron.spec.jobTemplate.spec.template.spec;
    const container = (pod['containers'] as Record<string, unknown>[])[0] ?? {};
    const env = container['env'] as { name: string; value?: string }[];

    expect(nodeRules(objects)).toEqual([]);
    expect(env.filter((e) => e.name.startsWith('PVC_CHONKER_PROMETHEUS_'))).toEqual([
      { name: 'PVC_CHONKER_PROMETHEUS_URL', value: 'https://mimir.example:8080/prometheus' },
      { name: 'PVC_CHONKER_PROMETHEUS_SELECTOR', value: 'job="kubelet"' },
      { name: 'PVC_CHONKER_PROMETHEUS_MAX_AGE', value: '2m' },
      { name: 'PVC_CHONKER_PROMETHEUS_HEADER', value: 'X-Scope-OrgID: tenant-1' },
      {
        name: 'PVC_CHONKER_PROMETHEUS_BEARER_TOKEN_FILE',
        value: '/var/run/secrets/pvc-chonker/prometheus/token',
      },
      {
        name: 'PVC_CHONKER_PROMETHEUS_CA_FILE',
        value: '/var/run/secrets/pvc-chonker/prometheus/ca.crt',
      },
    ]);
    expect(pod['volumes']).toEqual([
      { name: 'prometheus-auth', secret: { secretName: 'prometheus-auth' } },
    ]);
    await validateAll(objects);
    const kubelet = await helmTemplate('--set', 'stats.kubelet.caConfigMap=kubelet-serving-ca');
    await validateAll(kubelet);
    expect(JSON.stringify(kubelet)).toContain(
      '"name":"PVC_CHONKER_KUBELET_CA_FILE","value":"/var/run/secrets/pvc-chonker/kubelet-ca/ca.crt"',
    );
  });

  it('refuses a stats source it does not know, and settings the source does not use', async () => {
    const cases: [string[], RegExp][] = [
      [['stats.source=nodes'], /\/stats\/source/],
      [['stats.source=prometheus'], /\/stats\/prometheus\/url/],
      [
        ['stats.source=kubelet-proxy', 'stats.prometheus.url=http://p:9090'],
        /\/stats\/prometheus\/url/,
      ],
      [
        [
          'stats.source=prometheus',
          'stats.prometheus.url=http://p:9090',
          'stats.kubelet.insecureSkipTlsVerify=true',
        ],
        /\/stats\/kubelet\/insecureSkipTlsVerify/,
      ],
      [['stats.prometheus.headers={no colon}'], /\/stats\/prometheus\/headers/],
    ];
    for (const [sets, message] of cases) {
      const r = await run(HELM, ['template', 'x', CHART, ...sets.flatMap((s) => ['--set', s])]);

      expect(r.code, sets.join(' ')).not.toBe(0);
      expect(r.stderr, sets.join(' ')).toMatch(message);
    }
  });
});
