// Original file: proto/xlb/v1/xlb.proto


export interface GatewayStatus {
  /**
   * The configured next-hop IP.
   */
  'ip'?: (string);
  /**
   * Its resolved MAC (lower case, colon separated); empty while unresolved.
   */
  'mac'?: (string);
  'resolved'?: (boolean);
  /**
   * Interface the route to the gateway leaves through.
   */
  'interface'?: (string);
}

export interface GatewayStatus__Output {
  /**
   * The configured next-hop IP.
   */
  'ip': (string);
  /**
   * Its resolved MAC (lower case, colon separated); empty while unresolved.
   */
  'mac': (string);
  'resolved': (boolean);
  /**
   * Interface the route to the gateway leaves through.
   */
  'interface': (string);
}
