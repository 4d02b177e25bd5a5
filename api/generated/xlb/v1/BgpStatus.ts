// Original file: proto/xlb/v1/xlb.proto

import type { BgpNeighborStatus as _xlb_v1_BgpNeighborStatus, BgpNeighborStatus__Output as _xlb_v1_BgpNeighborStatus__Output } from '../../xlb/v1/BgpNeighborStatus.js';
import type { BgpPrefix as _xlb_v1_BgpPrefix, BgpPrefix__Output as _xlb_v1_BgpPrefix__Output } from '../../xlb/v1/BgpPrefix.js';

export interface BgpStatus {
  /**
   * A `bgp:` section is configured.
   */
  'enabled'?: (boolean);
  /**
   * gobgpd's gRPC API answers.
   */
  'connected'?: (boolean);
  'gobgpApi'?: (string);
  /**
   * The last problem, with the configuration field it concerns when there is one (e.g.
   * "bgp.neighbors[1]: gobgpd refused the neighbour: ..."); empty when all is well.
   */
  'error'?: (string);
  'neighbors'?: (_xlb_v1_BgpNeighborStatus)[];
  'prefixes'?: (_xlb_v1_BgpPrefix)[];
  /**
   * xlb drain-node is in effect: every prefix is withdrawn.
   */
  'drained'?: (boolean);
  /**
   * "when_healthy" or "always".
   */
  'announce'?: (string);
  'nextHop'?: (string);
  'nextHopV6'?: (string);
}

export interface BgpStatus__Output {
  /**
   * A `bgp:` section is configured.
   */
  'enabled': (boolean);
  /**
   * gobgpd's gRPC API answers.
   */
  'connected': (boolean);
  'gobgpApi': (string);
  /**
   * The last problem, with the configuration field it concerns when there is one (e.g.
   * "bgp.neighbors[1]: gobgpd refused the neighbour: ..."); empty when all is well.
   */
  'error': (string);
  'neighbors': (_xlb_v1_BgpNeighborStatus__Output)[];
  'prefixes': (_xlb_v1_BgpPrefix__Output)[];
  /**
   * xlb drain-node is in effect: every prefix is withdrawn.
   */
  'drained': (boolean);
  /**
   * "when_healthy" or "always".
   */
  'announce': (string);
  'nextHop': (string);
  'nextHopV6': (string);
}
