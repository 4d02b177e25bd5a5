// Original file: proto/xlb/v1/xlb.proto


/**
 * A service's health check. Every backend is probed every `interval`; `fall` failures in a row take
 * it out of the Maglev table (its established flows are re-placed), `rise` successes bring it back.
 */
export interface HealthCheck {
  /**
   * "tcp" (connect), "http" (GET path, expect a status in expect_status), "udp" (send payload,
   * any reply within the timeout is success) or "none" (no check; in UpdateService: remove it).
   */
  'kind'?: (string);
  /**
   * "tunnel" (default): connect to VIP:port from the LB node, encapsulated to that one backend,
   * exactly as client traffic arrives; "direct": connect to the backend's own address.
   */
  'mode'?: (string);
  /**
   * Durations with a unit: "2s", "500ms". Defaults: interval 2s, timeout 1s (at most half the
   * interval); the timeout must be shorter than the interval. interval: 100ms..1h.
   */
  'interval'?: (string);
  'timeout'?: (string);
  'rise'?: (number);
  'fall'?: (number);
  /**
   * Port probed; 0 = the service's port (required for an all-ports service).
   */
  'port'?: (number);
  /**
   * http only: path (must start with '/', default "/"), Host header (default: the probed
   * address), accepted status codes "200-399" (default) or "200".
   */
  'path'?: (string);
  'host'?: (string);
  'expectStatus'?: (string);
  /**
   * udp only: the datagram sent, as text or as hex bytes (not both); default an empty datagram.
   */
  'payload'?: (string);
  'payloadHex'?: (string);
  'failOpen'?: (boolean);
  /**
   * Successes in a row that bring a backend up, failures in a row that take it down: 1..100;
   * absent = default (rise 2, fall 3).
   */
  'optionalRise'?: "rise";
  'optionalFall'?: "fall";
  /**
   * When every backend is down: keep sending new flows to all of them (true, the default: fail
   * open) or to none (false). Either way it is logged loudly and shown in status.
   */
  'optionalFailOpen'?: "failOpen";
}

/**
 * A service's health check. Every backend is probed every `interval`; `fall` failures in a row take
 * it out of the Maglev table (its established flows are re-placed), `rise` successes bring it back.
 */
export interface HealthCheck__Output {
  /**
   * "tcp" (connect), "http" (GET path, expect a status in expect_status), "udp" (send payload,
   * any reply within the timeout is success) or "none" (no check; in UpdateService: remove it).
   */
  'kind': (string);
  /**
   * "tunnel" (default): connect to VIP:port from the LB node, encapsulated to that one backend,
   * exactly as client traffic arrives; "direct": connect to the backend's own address.
   */
  'mode': (string);
  /**
   * Durations with a unit: "2s", "500ms". Defaults: interval 2s, timeout 1s (at most half the
   * interval); the timeout must be shorter than the interval. interval: 100ms..1h.
   */
  'interval': (string);
  'timeout': (string);
  'rise'?: (number);
  'fall'?: (number);
  /**
   * Port probed; 0 = the service's port (required for an all-ports service).
   */
  'port': (number);
  /**
   * http only: path (must start with '/', default "/"), Host header (default: the probed
   * address), accepted status codes "200-399" (default) or "200".
   */
  'path': (string);
  'host': (string);
  'expectStatus': (string);
  /**
   * udp only: the datagram sent, as text or as hex bytes (not both); default an empty datagram.
   */
  'payload': (string);
  'payloadHex': (string);
  'failOpen'?: (boolean);
  /**
   * Successes in a row that bring a backend up, failures in a row that take it down: 1..100;
   * absent = default (rise 2, fall 3).
   */
  'optionalRise'?: "rise";
  'optionalFall'?: "fall";
  /**
   * When every backend is down: keep sending new flows to all of them (true, the default: fail
   * open) or to none (false). Either way it is logged loudly and shown in status.
   */
  'optionalFailOpen'?: "failOpen";
}
