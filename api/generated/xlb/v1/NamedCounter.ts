// Original file: proto/xlb/v1/xlb.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A named datapath counter, e.g. a drop reason ("no_backend", "fragment", "ip_options",
 * "too_big", "malformed", "ipv6_ext_header", ...) or an XDP verdict ("pass", "tx", "drop",
 * "aborted"). Names are lower_snake_case and stable; new ones may appear in new versions, so
 * clients must not reject unknown names.
 */
export interface NamedCounter {
  'name'?: (string);
  'packets'?: (number | string | Long);
}

/**
 * A named datapath counter, e.g. a drop reason ("no_backend", "fragment", "ip_options",
 * "too_big", "malformed", "ipv6_ext_header", ...) or an XDP verdict ("pass", "tx", "drop",
 * "aborted"). Names are lower_snake_case and stable; new ones may appear in new versions, so
 * clients must not reject unknown names.
 */
export interface NamedCounter__Output {
  'name': (string);
  'packets': (string);
}
