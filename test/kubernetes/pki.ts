// Certificates for the API server stand-in (openssl, a throw-away CA) and kubeconfigs that point
// xlbd at it. The official client refuses plain http unless TLS verification is switched off, so
// the stand-in speaks HTTPS with a certificate that a real CA (ours) signed, as a cluster's does.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface StandInPki {
  caPem: string;
  certPem: string;
  keyPem: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA and a server certificate for these IP addresses (and "localhost"). */
export function makeStandInPki(dir: string, ips: readonly string[]): StandInPki {
  const p = (f: string) => join(dir, f);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '2', '-subj', '/CN=xlb-test-kubernetes-ca']);
  openssl(['req', '-new', ...ec, '-keyout', p('apiserver.key'), '-out', p('apiserver.csr'), '-subj', '/CN=kube-apiserver']);
  const san = ['DNS:localhost', ...ips.map((ip) => `IP:${ip}`)].join(',');
  writeFileSync(p('apiserver.ext'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
  openssl(['x509', '-req', '-in', p('apiserver.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('apiserver.crt'), '-days', '2', '-extfile', p('apiserver.ext')]);
  return { caPem: readFileSync(p('ca.crt'), 'utf8'), certPem: readFileSync(p('apiserver.crt'), 'utf8'), keyPem: readFileSync(p('apiserver.key'), 'utf8') };
}

/** A kubeconfig with the CA inline (certificate-authority-data) and a bearer token. */
export function kubeconfigText(server: string, caPem: string, token: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'stand-in', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: 'xlbd', user: { token } }],
    contexts: [{ name: 'xlbd@stand-in', context: { cluster: 'stand-in', user: 'xlbd' } }],
    'current-context': 'xlbd@stand-in',
  });
}

/** The tokens the tests use: xlbd's service account (RBAC from deploy/kubernetes/) and an admin. */
export const TOKENS = {
  xlbd: 'xlbd-service-account-token',
  admin: 'cluster-admin-token',
} as const;

export const XLBD_SERVICE_ACCOUNT = { namespace: 'xlb-system', name: 'xlbd' } as const;

export function standInIdentities(): Record<string, { user: string; serviceAccount?: { namespace: string; name: string } }> {
  return {
    [TOKENS.xlbd]: { user: `system:serviceaccount:${XLBD_SERVICE_ACCOUNT.namespace}:${XLBD_SERVICE_ACCOUNT.name}`, serviceAccount: { ...XLBD_SERVICE_ACCOUNT } },
    [TOKENS.admin]: { user: 'kubernetes-admin' },
  };
}
