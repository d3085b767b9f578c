/**
 * The run's certificate authority. Made per run, in memory: its private key is a WebCrypto key
 * created non-extractable, so it never exists as bytes anywhere, let alone on disk; it dies with
 * the run. Leaf certificates (ECDSA P-256) share one leaf key for the run and are made once per
 * host, on first use, then cached; concurrent first uses share one signing.
 */
import "reflect-metadata";
import { randomBytes, webcrypto } from "node:crypto";
import { isIP } from "node:net";
import { createSecureContext, type SecureContext } from "node:tls";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
/** Clients reject certificates from the future: start validity a little in the past. */
const CLOCK_SKEW_MS = 5 * 60_000;
const LIFETIME_MS = 7 * 24 * 3_600_000;

export class RunCA {
  private readonly contexts = new Map<string, Promise<SecureContext>>();

  private constructor(
    private readonly caKeys: CryptoKeyPair,
    private readonly caCert: x509.X509Certificate,
    private readonly leafPublicKey: CryptoKey,
    /** PEM of the leaf key: node:tls takes keys only as bytes. It lives in this process only. */
    private readonly leafKeyPem: string,
  ) {}

  static async create(label: string): Promise<RunCA> {
    const subtle = webcrypto.subtle;
    const caKeys = (await subtle.generateKey(ALG, false, ["sign", "verify"])) as CryptoKeyPair;
    const now = Date.now();
    const caCert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=enclave run CA ${label}, O=enclave`,
      notBefore: new Date(now - CLOCK_SKEW_MS),
      notAfter: new Date(now + LIFETIME_MS),
      keys: caKeys,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
      ],
    });
    const leaf = (await subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
    const pkcs8 = Buffer.from(await subtle.exportKey("pkcs8", leaf.privateKey));
    const pem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString("base64").replace(/.{64}/g, "$&\n")}\n-----END PRIVATE KEY-----\n`;
    pkcs8.fill(0);
    return new RunCA(caKeys, caCert, leaf.publicKey, pem);
  }

  /** The CA certificate the child must trust (public). */
  get certificatePem(): string {
    return this.caCert.toString("pem");
  }

  /** A TLS server context presenting a certificate for `host` (a DNS name or an IP literal). */
  contextFor(host: string): Promise<SecureContext> {
    let ctx = this.contexts.get(host);
    if (!ctx) {
      ctx = this.issue(host).then((pem) => createSecureContext({ key: this.leafKeyPem, cert: pem }));
      // A failed issue must not poison the cache.
      ctx.catch(() => this.contexts.delete(host));
      this.contexts.set(host, ctx);
    }
    return ctx;
  }

  private async issue(host: string): Promise<string> {
    const now = Date.now();
    const san = isIP(host) ? { type: "ip" as const, value: host } : { type: "dns" as const, value: host };
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${isIP(host) ? host : host.replace(/[,+="\\<>;#]/g, "")}`,
      issuer: this.caCert.subject,
      notBefore: new Date(now - CLOCK_SKEW_MS),
      notAfter: new Date(now + LIFETIME_MS),
      signingKey: this.caKeys.privateKey,
      publicKey: this.leafPublicKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([san]),
        await x509.AuthorityKeyIdentifierExtension.create(this.caKeys.publicKey),
      ],
    });
    return `${cert.toString("pem")}\n${this.certificatePem}`;
  }
}

/** A positive 16-byte serial (the top bit clear so DER keeps it positive). */
function serial(): string {
  const b = randomBytes(16);
  b[0]! &= 0x7f;
  return b.toString("hex");
}
