// Leader election with a coordination.k8s.io/v1 Lease, the way client-go does it: the leader
// renews the Lease every retry period; the others watch it and take over once it has not changed
// for a whole lease duration *as measured on their own clock* (renewTime is another machine's
// clock, so it is recorded but never compared). Every write carries the resourceVersion it was
// based on, so of two candidates that race for an expired Lease exactly one wins (409 Conflict for
// the other). A leader that cannot renew for renewDeadline steps down on its own, before anyone
// else may take over; on shutdown it gives the Lease up so a successor need not wait.
// Lease times are MicroTime: the API server parses exactly six fractional digits, which a plain
// Date (milliseconds) does not give; V1MicroTime serialises them.
import { EventEmitter } from 'node:events';
import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import type { KubeApi } from './client.js';

export interface LeaderOptions {
  api: KubeApi;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  log?: { info(m: string): void; warn(m: string): void };
  now?: () => number;
}

interface Observed {
  holder: string;
  resourceVersion: string;
  renewTime: string;
  /** Local time at which this record was first seen. */
  at: number;
}

export class LeaderElector extends EventEmitter<{ change: [boolean] }> {
  readonly #o: LeaderOptions;
  readonly #now: () => number;
  #leader = false;
  #observed: Observed | undefined;
  #lastRenew = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = true;
  #running: Promise<void> | undefined;
  #lastError: string | undefined;

  constructor(o: LeaderOptions) {
    super();
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  /** Who holds the Lease as last seen ('' = nobody). */
  get holder(): string {
    return this.#observed?.holder ?? '';
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#tick();
  }

  /** Stops campaigning; a leader releases the Lease (holder cleared) so another node takes over at
   *  once, unless `release` is false (then the others wait for the Lease to expire). */
  async stop(o: { release?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    if (this.#leader && o.release === false) this.#set(false);
    if (this.#leader) {
      this.#set(false);
      try {
        const lease = await this.#o.api.readLease(this.#o.namespace, this.#o.name);
        if (lease?.spec?.holderIdentity === this.#o.identity) {
          lease.spec.holderIdentity = '';
          lease.spec.renewTime = new V1MicroTime(this.#now());
          lease.spec.leaseDurationSeconds = 1;
          await this.#o.api.replaceLease(this.#o.namespace, this.#o.name, lease);
          this.#o.log?.info(`kubernetes: released the leader Lease ${this.#o.namespace}/${this.#o.name}`);
        }
      } catch (e) {
        this.#o.log?.warn(`kubernetes: could not release the leader Lease: ${(e as Error).message}`);
      }
    }
  }

  #tick(): void {
    if (this.#stopped) return;
    this.#running = this.#attempt().finally(() => {
      this.#running = undefined;
      if (this.#stopped) return;
      this.#timer = setTimeout(() => this.#tick(), this.#o.retryPeriodMs);
      this.#timer.unref();
    });
  }

  #set(leader: boolean): void {
    if (leader === this.#leader) return;
    this.#leader = leader;
    this.#o.log?.info(
      leader
        ? `kubernetes: ${this.#o.identity} is the leader now (Lease ${this.#o.namespace}/${this.#o.name}): it allocates VIPs and writes Service status`
        : `kubernetes: ${this.#o.identity} is no longer the leader`,
    );
    this.emit('change', leader);
  }

  async #attempt(): Promise<void> {
    const { api, namespace, name, identity } = this.#o;
    const now = this.#now();
    try {
      const lease = await api.readLease(namespace, name);
      if (!lease) {
        const created = await api.createLease(namespace, this.#record(undefined, now));
        this.#observe(created, now);
        this.#renewed(now);
        return;
      }
      this.#observe(lease, now);
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const duration = (spec.leaseDurationSeconds ?? this.#o.leaseDurationSeconds) * 1000;
      const expired = holder === '' || now - this.#observed!.at > duration;
      if (holder !== identity && !expired) {
        this.#set(false);
        this.#lastError = undefined;
        return;
      }
      const updated = await api.replaceLease(namespace, name, this.#record(lease, now));
      this.#observe(updated, now);
      this.#renewed(now);
    } catch (e) {
      const err = e as Error & { status?: number };
      // 409: someone else wrote the Lease since we read it (a renewal or a rival's takeover).
      this.#lastError = err.status === 409 ? undefined : err.message;
      if (err.status !== 409) this.#o.log?.warn(`kubernetes: leader Lease ${namespace}/${name}: ${err.message}`);
      if (this.#leader && now - this.#lastRenew > this.#o.renewDeadlineMs) this.#set(false);
    }
  }

  #renewed(now: number): void {
    this.#lastRenew = now;
    this.#lastError = undefined;
    this.#set(true);
  }

  #observe(lease: V1Lease, now: number): void {
    const record = {
      holder: lease.spec?.holderIdentity ?? '',
      resourceVersion: lease.metadata?.resourceVersion ?? '',
      renewTime: String(lease.spec?.renewTime ?? ''),
    };
    const o = this.#observed;
    if (!o || o.holder !== record.holder || o.resourceVersion !== record.resourceVersion || o.renewTime !== record.renewTime) {
      this.#observed = { ...record, at: now };
    }
  }

  /** The Lease as this candidate writes it: holder, renew time, and acquire time and transitions
   *  when the holder changes. Keeps the read resourceVersion (optimistic concurrency). */
  #record(current: V1Lease | undefined, now: number): V1Lease {
    const spec = current?.spec ?? {};
    const takeover = spec.holderIdentity !== this.#o.identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...(current?.metadata ?? {}), name: this.#o.name, namespace: this.#o.namespace },
      spec: {
        ...spec,
        holderIdentity: this.#o.identity,
        leaseDurationSeconds: this.#o.leaseDurationSeconds,
        renewTime: new V1MicroTime(now),
        acquireTime: takeover || !spec.acquireTime ? new V1MicroTime(now) : spec.acquireTime,
        leaseTransitions: takeover && current ? (spec.leaseTransitions ?? 0) + 1 : (spec.leaseTransitions ?? 0),
      },
    };
  }
}
