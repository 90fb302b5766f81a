/**
 * A small certificate authority: an ECDSA P-256 CA certificate and the leaf certificates it signs
 * (serving and client), built by @peculiar/x509 on Node's webcrypto. The webhook's --auto-tls and
 * the simulated cluster's HTTPS both use it. Every certificate starts 5 minutes before `now`, to
 * tolerate clock skew between the machines that check it.
 */
import 'reflect-metadata'; // @peculiar/x509's dependency injection (tsyringe) needs it loaded first
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const CLOCK_SKEW_MS = 5 * 60_000;

export interface KeyPair {
  certPem: string;
  keyPem: string;
}

export interface Leaf {
  /** e.g. `[{ CN: ['user'] }, { O: ['group'] }]`. */
  subject: x509.JsonName;
  usage: 'serverAuth' | 'clientAuth';
  /** Subject alternative names: IP literals become IP SANs, the rest DNS names. */
  names?: readonly string[];
}

export interface CertificateAuthority {
  caPem: string;
  notAfter: Date;
  issue(leaf: Leaf): Promise<KeyPair>;
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

/** A new CA named `commonName`; it and its leaves are valid from `now` for `validityMs`. */
export async function createCertificateAuthority(
  commonName: string,
  now: Date,
  validityMs: number,
): Promise<CertificateAuthority> {
  const notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
  const notAfter = new Date(now.getTime() + validityMs);
  const caKeys = await generateKeys();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: [{ CN: [commonName] }],
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

  return {
    caPem: ca.toString('pem'),
    notAfter,
    async issue(leaf) {
      const keys = await generateKeys();
      const extensions: x509.Extension[] = [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage[leaf.usage]]),
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
    },
  };
}
