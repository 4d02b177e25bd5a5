// Original file: proto/xlb/v1/xlb.proto


export interface GetServiceRequest {
  'serviceId'?: (string);
}

export interface GetServiceRequest__Output {
  'serviceId': (string);
}
