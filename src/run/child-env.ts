/**
 * The child's environment: what it inherits minus every credential it could use to go around
 * the broker, plus the run's proxy and CA bundle. Removed variables are reported by name (never
 * value) so the operator can turn what the child needs into a grant.
 */

/** Kept by `--clean-env`: what programs need to start and behave, nothing more. */
const MINIMAL = new Set([
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "TERM",
  "COLORTERM",
  "LANG",
  "LANGUAGE",
  "TZ",
  "TMPDIR",
]);

/** Credential variables of common tools, removed by name. */
const CREDENTIAL_NAMES = new Set([
  "GITHUB_TOKEN",
  "GH_TOKEN",
  "GH_ENTERPRISE_TOKEN",
  "GITHUB_ENTERPRISE_TOKEN",
  "GITLAB_TOKEN",
  "NPM_TOKEN",
  "NODE_AUTH_TOKEN",
  "DOCKER_AUTH_CONFIG",
  "SSH_AUTH_SOCK",
  "GOOGLE_APPLICATION_CREDENTIALS",
  "KUBECONFIG",
  "VAULT_TOKEN",
  "NETRC",
]);

/** Prefixes that belong to credential systems (AWS's chain, enclave's own vault location). */
const CREDENTIAL_PREFIXES = ["AWS_", "ENCLAVE_", "AZURE_", "ARM_CLIENT_"];
/** Names that say what they hold. */
const CREDENTIAL_SUFFIX =
  /(?:TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|APIKEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?)$/i;
/** Proxy settings are the run's own: an inherited one would send traffic elsewhere or around it. */
const PROXY_VARS = /^(?:https?|all|no|ftp)_proxy$/i;

/** Removed with their prefix's family but hold no credential: not worth reporting. */
const CONFIGURATION_ONLY = new Set([
  "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED",
  "AWS_CA_BUNDLE",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_EC2_METADATA_DISABLED",
  "AWS_PAGER",
  "ENCLAVE_HOME",
  "ENCLAVE_RUNTIME_DIR",
  "ENCLAVE_DEBUG",
]);

export const CA_BUNDLE_VARS = [
  "SSL_CERT_FILE",
  "NODE_EXTRA_CA_CERTS",
  "REQUESTS_CA_BUNDLE",
  "CURL_CA_BUNDLE",
  "GIT_SSL_CAINFO",
  "AWS_CA_BUNDLE",
] as const;

export function isCredentialVariable(name: string): boolean {
  return (
    CREDENTIAL_NAMES.has(name) ||
    CREDENTIAL_PREFIXES.some((p) => name.startsWith(p)) ||
    CREDENTIAL_SUFFIX.test(name)
  );
}

export interface ChildEnvOptions {
  inherited: NodeJS.ProcessEnv;
  cleanEnv: boolean;
  /** http://enclave:TOKEN@127.0.0.1:PORT */
  proxyUrl: string;
  caBundle: string;
  /** Set last: placeholders, env grants, the AWS profile. */
  extra: Record<string, string>;
}

export function buildChildEnv(o: ChildEnvOptions): { env: Record<string, string>; removed: string[] } {
  const env: Record<string, string> = {};
  const removed: string[] = [];
  for (const [name, value] of Object.entries(o.inherited)) {
    if (value === undefined || PROXY_VARS.test(name)) continue;
    if (isCredentialVariable(name)) {
      if (!CONFIGURATION_ONLY.has(name)) removed.push(name);
      continue;
    }
    if (o.cleanEnv && !MINIMAL.has(name) && !name.startsWith("LC_")) continue;
    env[name] = value;
  }
  for (const v of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"])
    env[v] = o.proxyUrl;
  for (const v of CA_BUNDLE_VARS) env[v] = o.caBundle;
  Object.assign(env, o.extra);
  return { env, removed: removed.sort() };
}
