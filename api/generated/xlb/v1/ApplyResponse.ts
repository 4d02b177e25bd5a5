// Original file: proto/xlb/v1/xlb.proto


export interface ApplyResponse {
  /**
   * Canonical ids, each list ordered like ListServices.
   */
  'created'?: (string)[];
  'updated'?: (string)[];
  'deleted'?: (string)[];
  'unchanged'?: (string)[];
  /**
   * True when dry_run was set: the lists say what would have changed.
   */
  'dryRun'?: (boolean);
}

export interface ApplyResponse__Output {
  /**
   * Canonical ids, each list ordered like ListServices.
   */
  'created': (string)[];
  'updated': (string)[];
  'deleted': (string)[];
  'unchanged': (string)[];
  /**
   * True when dry_run was set: the lists say what would have changed.
   */
  'dryRun': (boolean);
}
