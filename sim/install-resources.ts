// The kinds an install of pvc-chonker creates (the Helm chart, cronjob/, examples/), so that real
// kubectl can apply them to the simulated cluster. They are stored and served with the generic
// semantics (create/get/list/patch/update/delete, resourceVersion, status subresource where the
// real server has one); no controller acts on them: a CronJob here never starts a Job. Secrets
// and the webhook configurations have their own modules with the real server's rules
// (secrets.ts, webhook-configs.ts).
import type { ResourceInfo } from './resources.js';

export type InstallKind =
  | 'ServiceAccount'
  | 'ConfigMap'
  | 'Service'
  | 'ClusterRole'
  | 'ClusterRoleBinding'
  | 'Role'
  | 'RoleBinding'
  | 'CronJob'
  | 'Job'
  | 'Deployment'
  | 'StatefulSet'
  | 'PodDisruptionBudget';

const RW = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function info(
  kind: InstallKind,
  group: string,
  scope: { namespaced: boolean; shortNames?: string[]; status?: boolean },
): ResourceInfo {
  const singular = kind.toLowerCase();
  const resource = singular.endsWith('y')
    ? `${singular.slice(0, -1)}ies`
    : singular.endsWith('s')
      ? `${singular}es`
      : `${singular}s`;
  return {
    kind,
    resource,
    singular,
    group,
    version: 'v1',
    namespaced: scope.namespaced,
    shortNames: scope.shortNames ?? [],
    verbs: RW,
    subresources: scope.status === true ? ['status'] : [],
  };
}

export const INSTALL_RESOURCES: readonly ResourceInfo[] = [
  info('ServiceAccount', '', { namespaced: true, shortNames: ['sa'] }),
  info('ConfigMap', '', { namespaced: true, shortNames: ['cm'] }),
  info('Service', '', { namespaced: true, shortNames: ['svc'], status: true }),
  info('ClusterRole', 'rbac.authorization.k8s.io', { namespaced: false }),
  info('ClusterRoleBinding', 'rbac.authorization.k8s.io', { namespaced: false }),
  info('Role', 'rbac.authorization.k8s.io', { namespaced: true }),
  info('RoleBinding', 'rbac.authorization.k8s.io', { namespaced: true }),
  info('CronJob', 'batch', { namespaced: true, shortNames: ['cj'], status: true }),
  info('Job', 'batch', { namespaced: true, status: true }),
  info('Deployment', 'apps', { namespaced: true, shortNames: ['deploy'], status: true }),
  info('StatefulSet', 'apps', { namespaced: true, shortNames: ['sts'], status: true }),
  info('PodDisruptionBudget', 'policy', { namespaced: true, shortNames: ['pdb'], status: true }),
];

/** The API groups these kinds add to discovery (all at version v1). */
export const INSTALL_GROUPS: readonly string[] = [
  ...new Set(INSTALL_RESOURCES.map((r) => r.group).filter((g) => g !== '')),
];
