// Original file: proto/xlb/v1/xlb.proto


export interface DeleteServiceRequest {
  'serviceId'?: (string);
}

export interface DeleteServiceRequest__Output {
  'serviceId': (string);
}
