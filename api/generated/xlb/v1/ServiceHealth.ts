// Original file: proto/xlb/v1/xlb.proto


/**
 * Output only: what the health checks mean for the service as a whole.
 */
export interface ServiceHealth {
  /**
   * Every active backend is down.
   */
  'allBackendsDown'?: (boolean);
  /**
   * ... and the service fails open: new flows still go to all of them.
   */
  'failingOpen'?: (boolean);
}

/**
 * Output only: what the health checks mean for the service as a whole.
 */
export interface ServiceHealth__Output {
  /**
   * Every active backend is down.
   */
  'allBackendsDown': (boolean);
  /**
   * ... and the service fails open: new flows still go to all of them.
   */
  'failingOpen': (boolean);
}
