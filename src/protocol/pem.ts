import { X509Certificate } from 'node:crypto';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Why a CA bundle is unusable, or undefined when it holds at least one certificate and each parses.
 * Checked up front because tls.createSecureContext accepts a CA file with no certificate in it
 * (garbage text), and the mistake would only show as every handshake failing.
 */
export function caBundleProblem(pem: Buffer): string | undefined {
  const blocks = pem.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) return 'it holds no PEM certificate';
  for (const [index, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (error) {
      return `certificate ${index + 1} does not parse: ${(error as Error).message}`;
    }
  }
  return undefined;
}
