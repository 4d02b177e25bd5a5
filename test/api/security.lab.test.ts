// Who may talk to xlbd. The unix socket (default transport) has mode 0660 and the configured group,
// in a directory the daemon creates; a live socket is never stolen, a stale one is replaced. TCP
// needs TLS with a client certificate from the configured CA (mTLS): no certificate, a certificate
// from another CA, or plaintext are refused; the right certificate is accepted. Plaintext TCP is
// allowed only on loopback and only when asked for; on any other address the daemon refuses to
// start (config check) and the server refuses to bind (second check at bind time).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialsFor, ListenError } from '../../api/server/index.js';
import { parseListen } from '../../lb/config/index.js';
import { repoRoot } from '../lab/paths.js';
import { Lab } from '../lab/lab.js';
import { makeTestPki, type TestPki } from '../daemon/certs.js';
import { XlbdInstance } from '../daemon/xlbd.js';

const PROBE = join(repoRoot, 'test', 'daemon', 'grpc-probe.ts');

let lab: Lab;
let pkiDir: string;
let pki: TestPki;
const instances: XlbdInstance[] = [];

function daemon(config: Record<string, unknown> = {}): XlbdInstance {
  // Several daemons take turns on lb1's eth0: each detaches when stopped.
  const x = new XlbdInstance({ lab, config: { detach_on_exit: true, ...config } });
  instances.push(x);
  return x;
}

type ProbeResult = { ok: boolean; code: number; details: string };

async function probe(node: string, args: object): Promise<ProbeResult> {
  const r = await lab.execTs(node, PROBE, [JSON.stringify(args)], { timeoutMs: 30_000 });
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

/** Several calls from one probe process (each process start costs seconds). */
async function probes(node: string, list: object[]): Promise<ProbeResult[]> {
  const r = await lab.execTs(node, PROBE, [JSON.stringify(list)], { timeoutMs: 30_000 });
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

beforeAll(async () => {
  pkiDir = mkdtempSync(join(tmpdir(), 'xlb-pki-'));
  pki = makeTestPki(pkiDir);
  lab = await Lab.create({ backends: 1, clients: 1, lbNodes: 1, ipv6: false, http: false, decap: false });
}, 120_000);

afterAll(async () => {
  for (const x of instances) await x.dispose();
  await lab?.destroy();
  if (pkiDir) rmSync(pkiDir, { recursive: true, force: true });
});

describe('unix socket', () => {
  it('is created in a new directory with mode 0660 and the configured group', async () => {
    const x = daemon();
    x.writeConfig({ api: { listen: `unix://${x.socket}`, socket_group: 'daemon' } });
    await x.start();
    const st = statSync(x.socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o660);
    expect(st.gid).toBe(1); // Debian's "daemon" group
    expect((await x.client.call('GetStatus')).instance).toBe(x.instance);
    await x.stop();
  });

  it('replaces a stale socket after kill -9, refuses one that is in use', async () => {
    const x = daemon();
    await x.start();
    await x.kill9();
    expect(statSync(x.socket).isSocket()).toBe(true); // left behind by the killed daemon
    await x.start();
    expect((await x.client.call('GetStatus')).instance).toBe(x.instance);

    // Another instance configured onto the same (live) socket must not take it over.
    const other = daemon();
    other.writeConfig({ api: { listen: `unix://${x.socket}` } });
    const failed = await other.startExpectingFailure();
    expect(failed.code).toBe(1);
    expect(failed.output).toMatch(/is in use: another xlbd/);
    expect((await x.client.call('GetStatus')).instance).toBe(x.instance);
    await x.stop();
  });
});

describe('TCP', () => {
  it('requires a client certificate from the configured CA (mTLS), with a listed subject (api.tls.allowed_clients); changes log who made them', async () => {
    const port = 50051 + Math.floor(Math.random() * 1000);
    const x = daemon();
    x.writeConfig({
      api: { listen: `127.0.0.1:${port}`, tls: { cert: pki.serverCert, key: pki.serverKey, client_ca: pki.ca, allowed_clients: ['xlb-operator'] } },
    });
    await x.start();
    const target = `127.0.0.1:${port}`;
    const create = { service: { id: '10.100.0.10:80/tcp' } };
    const otherCreds = { target, ca: pki.ca, cert: pki.otherCert, key: pki.otherKey };
    const goodCreds = { target, ca: pki.ca, cert: pki.clientCert, key: pki.clientKey };
    const [noCert, rogue, plaintext, other, otherCreate, good] = await probes('lb1', [
      { target, ca: pki.ca },
      { target, ca: pki.ca, cert: pki.rogueCert, key: pki.rogueKey },
      { target, plaintext: true },
      otherCreds,
      { ...otherCreds, method: 'CreateService', request: create },
      goodCreds,
    ]);
    expect(noCert).toMatchObject({ ok: false, code: 14 }); // UNAVAILABLE: the TLS handshake was refused
    expect(rogue).toMatchObject({ ok: false, code: 14 });
    expect(plaintext!.ok).toBe(false);
    // The right CA but a subject that is not listed.
    expect(other).toEqual({ ok: false, code: 7, details: 'client certificate CN=other-operator is not in api.tls.allowed_clients' });
    expect(otherCreate!.code).toBe(7); // PERMISSION_DENIED
    expect(good).toEqual({ ok: true, code: 0, details: x.instance });

    expect((await probe('lb1', { ...goodCreds, method: 'CreateService', request: create })).ok).toBe(true);
    expect(x.output).toMatch(/xlbd info: services created 10\.100\.0\.10:80\/tcp \(by CN=xlb-operator from 127\.0\.0\.1:\d+\)/);
    expect(x.output).toMatch(/refused a call from CN=other-operator \(127\.0\.0\.1:\d+\): not in api\.tls\.allowed_clients/);
    await x.stop();
  });

  it('plaintext TCP works on loopback only with insecure: true', async () => {
    const port = 52051 + Math.floor(Math.random() * 1000);
    const x = daemon();
    x.writeConfig({ api: { listen: `127.0.0.1:${port}`, insecure: true } });
    await x.start();
    expect(x.output).toMatch(/without TLS \(api\.insecure: true\)/);
    expect(await probe('lb1', { target: `127.0.0.1:${port}`, plaintext: true })).toEqual({ ok: true, code: 0, details: x.instance });
    await x.stop();
  });

  it('refuses to start with plaintext on a non-loopback address, or TCP without TLS', async () => {
    const ctx = lab.lbContext('lb1');
    const x = daemon();
    x.writeConfig({ api: { listen: `${ctx.ipv4}:50051`, insecure: true } });
    const insecure = await x.startExpectingFailure();
    expect(insecure.code).toBe(2);
    expect(insecure.output).toMatch(/api\.insecure: plaintext is allowed only on loopback/);

    x.writeConfig({ api: { listen: `127.0.0.1:50051` } });
    const noTls = await x.startExpectingFailure();
    expect(noTls.code).toBe(2);
    expect(noTls.output).toMatch(/api\.listen: 127\.0\.0\.1:50051 is a TCP address: configure api\.tls/);
  });

  it('the server re-checks at bind time, whatever the config said', () => {
    const outside = parseListen('10.2.1.2:50051');
    expect(() => credentialsFor(outside, { insecure: true })).toThrow(ListenError);
    expect(() => credentialsFor(outside, { insecure: true })).toThrow(/refusing plaintext gRPC on 10\.2\.1\.2:50051/);
    expect(() => credentialsFor(parseListen('127.0.0.1:50051'), {})).toThrow(/without TLS/);
    expect(() => credentialsFor(parseListen('[::1]:50051'), { insecure: true })).not.toThrow();
  });
});
