// Throw-away PKI for the mTLS tests, made with openssl in a temp dir: a CA, a server certificate
// for 127.0.0.1, two client certificates from the same CA (CN xlb-operator, CN other-operator),
// and a client certificate from another CA.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestPki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  rogueCert: string;
  rogueKey: string;
  /** From the right CA, but another subject (CN=other-operator). */
  otherCert: string;
  otherKey: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function keyAndCsr(dir: string, name: string, cn: string): void {
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.csr`), '-subj', `/CN=${cn}`]);
}

function ca(dir: string, name: string): void {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`), '-days', '2', '-subj', `/CN=${name}`]);
}

function sign(dir: string, name: string, caName: string, ext: string): void {
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ext);
  openssl(['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, `${caName}.crt`), '-CAkey', join(dir, `${caName}.key`), '-CAcreateserial', '-out', join(dir, `${name}.crt`), '-days', '2', '-extfile', extFile]);
}

export function makeTestPki(dir: string): TestPki {
  ca(dir, 'xlb-test-ca');
  ca(dir, 'rogue-ca');
  keyAndCsr(dir, 'server', 'xlbd');
  sign(dir, 'server', 'xlb-test-ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  keyAndCsr(dir, 'client', 'xlb-operator');
  sign(dir, 'client', 'xlb-test-ca', 'extendedKeyUsage=clientAuth\n');
  keyAndCsr(dir, 'other', 'other-operator');
  sign(dir, 'other', 'xlb-test-ca', 'extendedKeyUsage=clientAuth\n');
  keyAndCsr(dir, 'rogue', 'intruder');
  sign(dir, 'rogue', 'rogue-ca', 'extendedKeyUsage=clientAuth\n');
  const p = (f: string) => join(dir, f);
  return {
    ca: p('xlb-test-ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    rogueCert: p('rogue.crt'),
    rogueKey: p('rogue.key'),
    otherCert: p('other.crt'),
    otherKey: p('other.key'),
  };
}
