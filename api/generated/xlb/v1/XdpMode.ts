// Original file: proto/xlb/v1/xlb.proto

export const XdpMode = {
  XDP_MODE_UNSPECIFIED: 'XDP_MODE_UNSPECIFIED',
  /**
   * Driver mode (xdpdrv): the fast path.
   */
  XDP_MODE_NATIVE: 'XDP_MODE_NATIVE',
  /**
   * Generic mode (xdpgeneric / SKB mode): works on any device, much slower.
   */
  XDP_MODE_GENERIC: 'XDP_MODE_GENERIC',
} as const;

export type XdpMode =
  | 'XDP_MODE_UNSPECIFIED'
  | 0
  /**
   * Driver mode (xdpdrv): the fast path.
   */
  | 'XDP_MODE_NATIVE'
  | 1
  /**
   * Generic mode (xdpgeneric / SKB mode): works on any device, much slower.
   */
  | 'XDP_MODE_GENERIC'
  | 2

export type XdpMode__Output = typeof XdpMode[keyof typeof XdpMode]
