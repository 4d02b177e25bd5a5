// Original file: proto/xlb/v1/xlb.proto


export interface RecordStarted {
  /**
   * Server-assigned recording id (also in pcapng comments / interface names).
   */
  'recordingId'?: (number);
  /**
   * Effective snaplen after applying the default.
   */
  'snaplen'?: (number);
  /**
   * The filters in canonical form (the `xlb record` grammar), in request order.
   */
  'filters'?: (string)[];
}

export interface RecordStarted__Output {
  /**
   * Server-assigned recording id (also in pcapng comments / interface names).
   */
  'recordingId': (number);
  /**
   * Effective snaplen after applying the default.
   */
  'snaplen': (number);
  /**
   * The filters in canonical form (the `xlb record` grammar), in request order.
   */
  'filters': (string)[];
}
