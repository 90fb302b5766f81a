// The sim's own certificate authority, as a kubeadm cluster has one: it signs the serving
// certificate (so clients can verify the sim through certificate-authority[-data]) and client
// certificates whose subject is an identity (CN = user, O = groups), which is how
// kube-apiserver's x509 authenticator reads them. ECDSA P-256 through @peculiar/x509 on webcrypto.
import { createCertificateAuthority, type KeyPair } from '../src/certificate-authority.js';

const DAY_MS = 86_400_000;

/**
 * The names kube-apiserver's own serving certificate carries (kubeadm), plus localhost: a client
 * may reach the sim on 127.0.0.1 and still verify `tls-server-name: kubernetes.default.svc`.
 */
export const SIM_SERVING_NAMES: readonly string[] = [
  '127.0.0.1',
  'localhost',
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
];

export type { KeyPair } from '../src/certificate-authority.js';

export interface SimCa {
  caPem: string;
  /** A certificate that the x509 authenticator maps to `user` (CN) in `groups` (O). */
  issueClientCertificate(user: string, groups?: string[]): Promise<KeyPair>;
  /** A serving certificate for DNS names and IP addresses (IP literals become IP SANs). */
  issueServingCertificate(names: readonly string[]): Promise<KeyPair>;
}

/** A new CA, valid for a year from `now`. */
export async function createSimCa(now: Date = new Date()): Promise<SimCa> {
  const ca = await createCertificateAuthority('pvc-chonker-sim-ca', now, 365 * DAY_MS);
  return {
    caPem: ca.caPem,
    issueClientCertificate: (user, groups = []) =>
      ca.issue({
        // One O attribute per group, in order, as `openssl req -subj /CN=u/O=g1/O=g2` writes them.
        subject: [{ CN: [user] }, ...groups.map((group) => ({ O: [group] }))],
        usage: 'clientAuth',
      }),
    issueServingCertificate: (names) =>
      ca.issue({ subject: [{ CN: [names[0] ?? 'localhost'] }], usage: 'serverAuth', names }),
  };
}
