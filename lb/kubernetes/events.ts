// Kubernetes Events on Services (what `kubectl describe service` shows): why a Service is not
// served as asked, and which address it got. Only the leader records them, once per distinct
// (Service, reason, message) while the Service lives, so a re-list or a new resourceVersion does not
// repeat them; failures to record are logged, never retried in a loop.
import { randomBytes } from 'node:crypto';
import type { CoreV1Event } from '@kubernetes/client-node';
import type { KubeApi } from './client.js';

export interface EventTarget {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
}

export const EVENT_COMPONENT = 'xlbd';
export const REPORTING_CONTROLLER = 'xlb.dev/xlbd';

export class EventRecorder {
  readonly #api: KubeApi;
  readonly #node: string;
  readonly #instance: string;
  readonly #log: { warn(m: string): void } | undefined;
  readonly #now: () => number;
  /** uid → keys already recorded. */
  readonly #sent = new Map<string, Set<string>>();

  constructor(o: { api: KubeApi; nodeName: string; instance: string; log?: { warn(m: string): void }; now?: () => number }) {
    this.#api = o.api;
    this.#node = o.nodeName;
    this.#instance = o.instance;
    this.#log = o.log;
    this.#now = o.now ?? Date.now;
  }

  /** Records the event unless this exact one was recorded for this Service already. */
  async record(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): Promise<boolean> {
    const key = `${type}|${reason}|${message}`;
    let sent = this.#sent.get(target.uid);
    if (!sent) this.#sent.set(target.uid, (sent = new Set()));
    if (sent.has(key)) return false;
    sent.add(key);
    const now = new Date(this.#now());
    const event: CoreV1Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${target.name}.${randomBytes(8).toString('hex')}`, namespace: target.namespace },
      involvedObject: { apiVersion: 'v1', kind: 'Service', namespace: target.namespace, name: target.name, uid: target.uid, resourceVersion: target.resourceVersion },
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: EVENT_COMPONENT, host: this.#node },
      reportingComponent: REPORTING_CONTROLLER,
      reportingInstance: this.#instance,
    };
    try {
      await this.#api.createEvent(target.namespace, event);
      return true;
    } catch (e) {
      this.#log?.warn(`kubernetes: could not record event ${reason} on Service ${target.namespace}/${target.name}: ${(e as Error).message}`);
      return false;
    }
  }

  /** Forgets the Warnings of a Service that no longer apply, so that a problem which comes back
   *  after a fix is recorded again. */
  settle(uid: string, liveWarnings: ReadonlySet<string>): void {
    const sent = this.#sent.get(uid);
    if (!sent) return;
    for (const key of sent) {
      const [type, reason, ...rest] = key.split('|');
      if (type === 'Warning' && !liveWarnings.has(`${reason}|${rest.join('|')}`)) sent.delete(key);
    }
  }

  /** Forgets Services that are gone (so memory follows the cluster). */
  retain(uids: ReadonlySet<string>): void {
    for (const uid of this.#sent.keys()) if (!uids.has(uid)) this.#sent.delete(uid);
  }

  /** A new leader records what it sees again (the previous one's memory is not shared). */
  reset(): void {
    this.#sent.clear();
  }
}
