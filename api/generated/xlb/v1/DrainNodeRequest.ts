// Original file: proto/xlb/v1/xlb.proto


export interface DrainNodeRequest {
  /**
   * Announce again (end a drain).
   */
  'undo'?: (boolean);
}

export interface DrainNodeRequest__Output {
  /**
   * Announce again (end a drain).
   */
  'undo': (boolean);
}
