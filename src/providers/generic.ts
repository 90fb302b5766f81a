/**
 * Every other storage driver (Ceph, Longhorn, NFS provisioners, ...): nothing to ask and no known
 * limits. The core's own rules (max-size annotation, StorageClass allowVolumeExpansion) apply.
 */
import { verdictOk, type ExpansionCandidate, type ProviderVerdict } from './types.js';

export function genericVerdict(candidate: ExpansionCandidate): ProviderVerdict {
  return verdictOk('generic', candidate.toBytes, []);
}
