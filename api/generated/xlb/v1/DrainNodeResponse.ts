// Original file: proto/xlb/v1/xlb.proto


export interface DrainNodeResponse {
  'drained'?: (boolean);
  /**
   * Prefixes withdrawn (drain) or announced again (undo) by this call.
   */
  'withdrawn'?: (string)[];
  'announced'?: (string)[];
}

export interface DrainNodeResponse__Output {
  'drained': (boolean);
  /**
   * Prefixes withdrawn (drain) or announced again (undo) by this call.
   */
  'withdrawn': (string)[];
  'announced': (string)[];
}
