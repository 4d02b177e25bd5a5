// Original file: proto/xlb/v1/xlb.proto


/**
 * A Kubernetes object by namespace and name.
 */
export interface KubernetesRef {
  'namespace'?: (string);
  'name'?: (string);
}

/**
 * A Kubernetes object by namespace and name.
 */
export interface KubernetesRef__Output {
  'namespace': (string);
  'name': (string);
}
