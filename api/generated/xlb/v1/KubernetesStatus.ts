// Original file: proto/xlb/v1/xlb.proto


export interface KubernetesStatus {
  /**
   * The API server's URL.
   */
  'server'?: (string);
  /**
   * Every watched resource has been listed and the kubernetes services reflect the cluster.
   */
  'synced'?: (boolean);
  /**
   * This node holds the leader Lease: it allocates VIPs, writes Service status and records Events.
   */
  'leader'?: (boolean);
  /**
   * Who holds the Lease, as last seen; this node's own identity.
   */
  'leaderIdentity'?: (string);
  'identity'?: (string);
  /**
   * Kubernetes Services served (each is one xlb service per VIP and port).
   */
  'services'?: (number);
  /**
   * The spec.loadBalancerClass served, and whether Services without a class are served too.
   */
  'loadBalancerClass'?: (string);
  'defaultClass'?: (boolean);
  /**
   * The latest problem talking to the API server (empty when all is well).
   */
  'lastError'?: (string);
}

export interface KubernetesStatus__Output {
  /**
   * The API server's URL.
   */
  'server': (string);
  /**
   * Every watched resource has been listed and the kubernetes services reflect the cluster.
   */
  'synced': (boolean);
  /**
   * This node holds the leader Lease: it allocates VIPs, writes Service status and records Events.
   */
  'leader': (boolean);
  /**
   * Who holds the Lease, as last seen; this node's own identity.
   */
  'leaderIdentity': (string);
  'identity': (string);
  /**
   * Kubernetes Services served (each is one xlb service per VIP and port).
   */
  'services': (number);
  /**
   * The spec.loadBalancerClass served, and whether Services without a class are served too.
   */
  'loadBalancerClass': (string);
  'defaultClass': (boolean);
  /**
   * The latest problem talking to the API server (empty when all is well).
   */
  'lastError': (string);
}
