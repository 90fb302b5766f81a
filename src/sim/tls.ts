// The sim's own certificate authority, as a kubeadm cluster has one: it signs the serving
// certificate (so clients can verify the sim through certificate-authority[-data]) and client
// certificates whose subject is an identity (CN = user, O = groups), which is how
// kube-apiserver's x509 authenticator reads them. ECDSA P-256 through @peculiar/x509 on webcrypto.
import 'reflect-metadata'; // @peculiar/x509's dependency injection (tsyringe) needs it loaded first
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
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

export interface KeyPair {
  certPem: string;
  keyPem: string;
}

export interface SimCa {
  caPem: string;
  /** A certificate that the x509 authenticator maps to `user` (CN) in `groups` (O). */
  issueClientCertificate(user: string, groups?: string[]): Promise<KeyPair>;
  /** A serving certificate for DNS names and IP addresses (IP literals become IP SANs). */
  issueServingCertificate(names: readonly string[]): Promise<KeyPair>;
}

function serial(): string {
  // Positive 16-byte serial: the high bit clear keeps the DER integer positive.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

async function pkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
}

interface Leaf {
  subject: x509.JsonName;
  usage: x509.ExtendedKeyUsageType;
  names?: readonly string[];
}

/** A new CA, valid for a year from `now` (and 5 minutes before it, for clock skew). */
export async function createSimCa(now: Date = new Date()): Promise<SimCa> {
  const notBefore = new Date(now.getTime() - 5 * 60_000);
  const notAfter = new Date(now.getTime() + 365 * DAY_MS);
  const caKeys = await generateKeys();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: [{ CN: ['pvc-chonker-sim-ca'] }],
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  async function issue(leaf: Leaf): Promise<KeyPair> {
    const keys = await generateKeys();
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([leaf.usage]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ];
    if (leaf.names !== undefined)
      extensions.push(
        new x509.SubjectAlternativeNameExtension(
          leaf.names.map((value) => ({ type: isIP(value) === 0 ? 'dns' : 'ip', value })),
        ),
      );
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: leaf.subject,
      issuer: ca.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: ALGORITHM,
      extensions,
    });
    return { certPem: cert.toString('pem'), keyPem: await pkcs8Pem(keys.privateKey) };
  }

  return {
    caPem: ca.toString('pem'),
    issueClientCertificate: (user, groups = []) =>
      issue({
        // One O attribute per group, in order, as `openssl req -subj /CN=u/O=g1/O=g2` writes them.
        subject: [{ CN: [user] }, ...groups.map((group) => ({ O: [group] }))],
        usage: x509.ExtendedKeyUsage.clientAuth,
      }),
    issueServingCertificate: (names) =>
      issue({
        subject: [{ CN: [names[0] ?? 'localhost'] }],
        usage: x509.ExtendedKeyUsage.serverAuth,
        names,
      }),
  };
}
