// Original file: proto/xlb/v1/xlb.proto


export interface GetStatsRequest {
  /**
   * Empty: every service. Otherwise only this service (NOT_FOUND if it does not exist); global
   * figures are returned either way.
   */
  'serviceId'?: (string);
}

export interface GetStatsRequest__Output {
  /**
   * Empty: every service. Otherwise only this service (NOT_FOUND if it does not exist); global
   * figures are returned either way.
   */
  'serviceId': (string);
}
