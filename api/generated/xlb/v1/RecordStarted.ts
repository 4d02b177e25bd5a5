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
}
