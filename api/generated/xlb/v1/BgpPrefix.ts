// Original file: proto/xlb/v1/xlb.proto


export interface BgpPrefix {
  /**
   * e.g. "10.0.0.10/32", "2001:db8::10/128"
   */
  'prefix'?: (string);
  /**
   * In gobgpd's table now (sent to every established neighbour).
   */
  'announced'?: (boolean);
  /**
   * Why it is (not) announced: "healthy", "always", "no healthy backend", "node drained", ...
   */
  'reason'?: (string);
}

export interface BgpPrefix__Output {
  /**
   * e.g. "10.0.0.10/32", "2001:db8::10/128"
   */
  'prefix': (string);
  /**
   * In gobgpd's table now (sent to every established neighbour).
   */
  'announced': (boolean);
  /**
   * Why it is (not) announced: "healthy", "always", "no healthy backend", "node drained", ...
   */
  'reason': (string);
}
