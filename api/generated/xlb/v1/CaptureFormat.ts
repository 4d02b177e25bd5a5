// Original file: proto/xlb/v1/xlb.proto

export const CaptureFormat = {
  /**
   * Same as PCAP.
   */
  CAPTURE_FORMAT_UNSPECIFIED: 'CAPTURE_FORMAT_UNSPECIFIED',
  /**
   * Classic pcap, nanosecond timestamps (magic a1b23c4d), LINKTYPE_ETHERNET.
   */
  CAPTURE_FORMAT_PCAP: 'CAPTURE_FORMAT_PCAP',
  /**
   * pcapng; each packet carries its observation point (inbound = ingress, outbound = egress).
   */
  CAPTURE_FORMAT_PCAPNG: 'CAPTURE_FORMAT_PCAPNG',
} as const;

export type CaptureFormat =
  /**
   * Same as PCAP.
   */
  | 'CAPTURE_FORMAT_UNSPECIFIED'
  | 0
  /**
   * Classic pcap, nanosecond timestamps (magic a1b23c4d), LINKTYPE_ETHERNET.
   */
  | 'CAPTURE_FORMAT_PCAP'
  | 1
  /**
   * pcapng; each packet carries its observation point (inbound = ingress, outbound = egress).
   */
  | 'CAPTURE_FORMAT_PCAPNG'
  | 2

export type CaptureFormat__Output = typeof CaptureFormat[keyof typeof CaptureFormat]
