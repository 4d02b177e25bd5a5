// Original file: proto/xlb/v1/xlb.proto


/**
 * Per-service behaviour switches. New flags are added as new fields; false is always the default.
 */
export interface ServiceFlags {
  /**
   * Client persistence: choose the backend by hashing the client (source) address only, so every
   * connection of one client lands on the same backend. Default: the whole 5-tuple is hashed.
   */
  'sourceHash'?: (boolean);
}

/**
 * Per-service behaviour switches. New flags are added as new fields; false is always the default.
 */
export interface ServiceFlags__Output {
  /**
   * Client persistence: choose the backend by hashing the client (source) address only, so every
   * connection of one client lands on the same backend. Default: the whole 5-tuple is hashed.
   */
  'sourceHash': (boolean);
}
